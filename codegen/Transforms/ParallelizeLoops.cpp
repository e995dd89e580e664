//===- ParallelizeLoops.cpp - Large linalg ops onto the thread pool --------===//
//
// Only the matmuls' weight tiles ran on the runtime's thread pool; the rest
// of a model (layer norms, GELU, softmax, attention's batched products,
// quantization of activations) ran on the calling thread. This pass splits
// each large enough linalg op at function level into chunks of one
// parallel dimension under an scf.forall, which qt-cpu-pipeline turns into
// an OpenMP region like the matmul tiles.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Interfaces/TilingInterface.h"

namespace mlir::qt {
#define GEN_PASS_DEF_QTPARALLELIZELOOPS
#include "codegen/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;

namespace {

struct ParallelizeLoopsPass
    : qt::impl::QTParallelizeLoopsBase<ParallelizeLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (chunks < 1) {
      getOperation()->emitError()
          << "qt-parallelize-loops: chunks must be at least 1, not "
          << static_cast<int64_t>(chunks);
      return signalPassFailure();
    }
    SmallVector<linalg::LinalgOp> candidates;
    getOperation()->walk([&](linalg::LinalgOp op) {
      // Function level only: ops inside loops (a matmul's tiles, a decode
      // step) already are one chunk of something larger.
      if (isa<FunctionOpInterface>(op->getParentOp()) &&
          op.hasPureTensorSemantics() &&
          !isa<linalg::MatmulOp, linalg::FillOp>(op.getOperation()) &&
          isa<TilingInterface>(op.getOperation()))
        candidates.push_back(op);
    });
    for (linalg::LinalgOp op : candidates)
      parallelize(op);
  }

  /// Tiles the first parallel loop of `op` with at least two iterations
  /// into at most `chunks` equal pieces (a divisor of its range, so every
  /// piece keeps static shapes) when the iteration space has at least
  /// `min-iterations` points.
  void parallelize(linalg::LinalgOp op) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (ranges.empty() || llvm::any_of(ranges, ShapedType::isDynamic))
      return;
    int64_t points = 1;
    for (int64_t r : ranges)
      points *= r;
    if (points < static_cast<int64_t>(minIterations))
      return;
    SmallVector<utils::IteratorType> kinds = op.getIteratorTypesArray();
    for (auto [d, kind] : llvm::enumerate(kinds)) {
      int64_t range = ranges[d];
      if (kind != utils::IteratorType::parallel || range < 2)
        continue;
      // The smallest piece that still gives at most `chunks` of them.
      int64_t n = chunks;
      int64_t want = (range + n - 1) / n;
      int64_t size = want;
      while (range % size)
        ++size;
      if (size == range)
        return;
      IRRewriter rewriter(op);
      rewriter.setInsertionPoint(op);
      SmallVector<OpFoldResult> sizes(ranges.size(), rewriter.getIndexAttr(0));
      sizes[d] = rewriter.getIndexAttr(size);
      scf::SCFTilingOptions options;
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      options.setTileSizes(sizes);
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (succeeded(tiled))
        rewriter.replaceOp(op, tiled->replacements);
      return;
    }
  }
};

} // namespace
