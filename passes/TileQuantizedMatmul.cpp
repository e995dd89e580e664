//===- TileQuantizedMatmul.cpp - Cache tiling of quantized GEMMs ----------===//
//
// A quantized matmul decodes every weight once per row when the codes are
// unpacked inside the contraction, in a loop body LLVM vectorizes poorly.
// This pass splits the matmul into tiles of the weight matrix sized to the
// target's L1 cache: each tile is decoded once, by a dense loop, into a
// small real-valued panel and multiplied with all rows, so decoding is
// amortized over the rows while the full real-valued matrix never exists.
// Real-valued matmuls get column tiles and a loop order that reads their
// weights row by row. Tile sizes are chosen here, from the target's cache
// and vector sizes, so that later performance work changes them in one
// place.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "codegen/Conversion/QTToLinalg.h"
#include "dialects/QT/IR/QTOps.h"
#include "frontends/common/TensorBuilders.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Builders.h"
#include "llvm/TargetParser/Host.h"

#include <unistd.h>

namespace mlir::qt {
#define GEN_PASS_DEF_QTTILEQUANTIZEDMATMUL
#include "passes/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;
using namespace mlir::qt;
using namespace qtc::ir;

namespace {

/// The host's L1 data cache in bytes (32 KiB when unknown).
int64_t hostL1Bytes() {
#ifdef _SC_LEVEL1_DCACHE_SIZE
  long size = sysconf(_SC_LEVEL1_DCACHE_SIZE);
  if (size > 0)
    return size;
#endif
  return 32 * 1024;
}

/// The host's widest vector register in bits.
int64_t hostVectorBits() {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  if (features.lookup("avx512f"))
    return 512;
  if (features.lookup("avx2") || features.lookup("avx"))
    return 256;
  return 128;
}

/// The largest divisor of `n` that is at most `limit` and a multiple of
/// `step`, or 0.
int64_t largestDivisor(int64_t n, int64_t limit, int64_t step) {
  for (int64_t t = (std::min(limit, n) / step) * step; t >= step; t -= step)
    if (n % t == 0)
      return t;
  return 0;
}

struct TileQuantizedMatmulPass
    : qt::impl::QTTileQuantizedMatmulBase<TileQuantizedMatmulPass> {
  using QTTileQuantizedMatmulBase::QTTileQuantizedMatmulBase;

  void runOnOperation() override {
    int64_t l1 = l1Bytes ? static_cast<int64_t>(l1Bytes) : hostL1Bytes();
    int64_t vbits = vectorBits ? static_cast<int64_t>(vectorBits) : hostVectorBits();
    SmallVector<QuantizedMatmulOp> ops;
    getOperation()->walk([&](QuantizedMatmulOp op) { ops.push_back(op); });
    for (QuantizedMatmulOp op : ops)
      tile(op, l1, vbits);
    // Real-valued matmuls (fp32 models, kept layers) have nothing to decode;
    // their column tiles go to the thread pool when large enough, and the
    // (tiled) matmul reads B row by row.
    SmallVector<linalg::MatmulOp> matmuls;
    getOperation()->walk([&](linalg::MatmulOp op) { matmuls.push_back(op); });
    for (linalg::MatmulOp op : matmuls)
      reorderKN(tileRealMatmul(op, l1));
  }

  /// B read as (k, n) (ONNX MatMul's [K, N] weights): loop over (m, k, n)
  /// so the innermost loop runs along contiguous rows of B and C, a form
  /// LLVM vectorizes; (m, n, k) would stride down B's columns.
  static void reorderKN(linalg::MatmulOp op) {
    if (!op || !op.hasPureTensorSemantics())
      return;
    MLIRContext *ctx = op.getContext();
    AffineExpr m, n, k;
    bindDims(ctx, m, n, k);
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    if (maps.size() != 3 || maps[1] != AffineMap::get(3, 0, {k, n}, ctx) ||
        maps[0] != AffineMap::get(3, 0, {m, k}, ctx) ||
        maps[2] != AffineMap::get(3, 0, {m, n}, ctx))
      return;
    IRRewriter rewriter(op);
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::GenericOp> generic = linalg::generalizeNamedOp(rewriter, op);
    if (failed(generic))
      return;
    (void)linalg::interchangeGenericOp(rewriter, *generic, {0, 2, 1});
  }

  /// Column tiles of `op` on the pool; returns the matmul left to compute
  /// (the tile's, or `op` itself when it is not tiled).
  linalg::MatmulOp tileRealMatmul(linalg::MatmulOp op, int64_t l1) {
    if (!op.hasPureTensorSemantics())
      return op;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges(); // m, n, k
    if (ranges.size() != 3 || llvm::any_of(ranges, ShapedType::isDynamic))
      return op;
    int64_t m = ranges[0], n = ranges[1], k = ranges[2];
    if (m * n * k < static_cast<int64_t>(parallelMinMacs))
      return op;
    auto elem = cast<ShapedType>(op.getResultTypes()[0]).getElementType();
    int64_t elemBytes = elem.getIntOrFloatBitWidth() / 8;
    // Columns whose weights (K of them each) fill half of L1.
    int64_t tn = largestDivisor(n, std::max<int64_t>(1, l1 / 2 / (k * elemBytes)), 1);
    if (tn == 0 || tn == n)
      return op;
    IRRewriter rewriter(op);
    rewriter.setInsertionPoint(op);
    scf::SCFTilingOptions options;
    options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
    options.setTileSizes({rewriter.getIndexAttr(0), rewriter.getIndexAttr(tn),
                          rewriter.getIndexAttr(0)});
    FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
        rewriter, cast<TilingInterface>(op.getOperation()), options);
    if (failed(tiled))
      return op;
    rewriter.replaceOp(op, tiled->replacements);
    return tiled->tiledOps.empty()
               ? linalg::MatmulOp()
               : dyn_cast<linalg::MatmulOp>(tiled->tiledOps.front());
  }

  void tile(QuantizedMatmulOp op, int64_t l1, int64_t vbits) {
    auto xt = cast<RankedTensorType>(op.getInput().getType());
    int64_t k = xt.getDimSize(xt.getRank() - 1);
    int64_t rows = 1;
    for (int64_t d : xt.getShape().drop_back())
      rows = ShapedType::isDynamic(d) || ShapedType::isDynamic(rows)
                 ? ShapedType::kDynamic
                 : rows * d;
    // Below the row threshold (min-rows) and with dynamic shapes the fused
    // lowering stays.
    if (ShapedType::isDynamic(rows) || ShapedType::isDynamic(k) ||
        rows < static_cast<int64_t>(minRows))
      return;
    PackedAttr format = op.getFormat();
    int64_t group = format.getGroupSize();
    int64_t n = op.getPackedRowCount();
    // K tile: a few vectors' worth of a row's contraction, whole groups and
    // whole bytes; N tile: as many panel rows as fill half of L1.
    int64_t lanes = std::max<int64_t>(1, vbits / 32);
    int64_t step = std::lcm(group, int64_t(8));
    int64_t tk = largestDivisor(k, std::max(16 * lanes, step), step);
    if (tk == 0)
      return;
    int64_t elemBytes = xt.getElementType().getIntOrFloatBitWidth() / 8;
    int64_t tn = largestDivisor(n, std::max<int64_t>(1, l1 / 2 / (tk * elemBytes)), 1);
    if (tn == 0 || (tn == n && tk == k))
      return; // one tile would be the whole matrix
    // Forking the thread pool costs tens of microseconds; small matmuls
    // keep their tiles on the calling thread.
    bool parallel = rows * n * k >= static_cast<int64_t>(parallelMinMacs);
    rewrite(op, rows, k, n, tk, tn, parallel);
  }

  static void rewrite(QuantizedMatmulOp op, int64_t rows, int64_t k, int64_t n,
                      int64_t tk, int64_t tn, bool parallel) {
    OpBuilder b(op);
    Location l = op.getLoc();
    MLIRContext *ctx = op.getContext();
    PackedAttr format = op.getFormat();
    int64_t group = format.getGroupSize(), bits = format.getBits();
    Value x = collapseLeading(b, l, op.getInput(), 1);
    Type elem = typeOf(x).getElementType();
    auto idx = [&](int64_t v) { return arith::ConstantIndexOp::create(b, l, v); };
    Value init = zeros(b, l, {b.getIndexAttr(rows), b.getIndexAttr(n)}, elem);
    Value weights = op.getWeights(), scales = op.getScales(),
          zps = op.getZeroPoints();
    // Loop bounds and index arithmetic constants, made once before the loops.
    Value c0 = idx(0), cK = idx(k), cTk = idx(tk), cTn = idx(tn),
          cBits = idx(bits), c8 = idx(8), cGroup = idx(group);
    // One tile of columns [n0, n0 + tn): the k loop over panels, accumulated
    // into the tile of `out`. Returns (n0, the tile's result).
    auto computeTile = [&](OpBuilder &nb, Location nl, Value t,
                           Value out) -> std::pair<Value, Value> {
      auto attr = [&](int64_t v) { return nb.getIndexAttr(v); };
      auto slice = [&](OpBuilder &sb, Value src, ArrayRef<OpFoldResult> off,
                       ArrayRef<int64_t> sizes) -> Value {
        SmallVector<OpFoldResult> sz, st(sizes.size(), attr(1));
        for (int64_t v : sizes)
          sz.push_back(attr(v));
        return tensor::ExtractSliceOp::create(sb, nl, src, off, sz, st);
      };
      Value n0 = arith::MulIOp::create(nb, nl, t, cTn);
      Value yTile = slice(nb, out, {attr(0), n0}, {rows, tn});
      auto kLoop = scf::ForOp::create(
          nb, nl, c0, cK, cTk, ValueRange{yTile},
          [&](OpBuilder &kb, Location kl, Value k0, ValueRange kArgs) {
            Value byte0 = arith::DivUIOp::create(
                kb, kl, arith::MulIOp::create(kb, kl, k0, cBits), c8);
            Value g0 = arith::DivUIOp::create(kb, kl, k0, cGroup);
            Value w = slice(kb, weights, {n0, byte0}, {tn, tk * bits / 8});
            Value s = slice(kb, scales, {n0, g0}, {tn, tk / group});
            Value z = zps ? slice(kb, zps, {n0, g0}, {tn, tk / group}) : Value();
            auto panelType = RankedTensorType::get({tn, tk}, elem);
            Value panel = DequantizeOp::create(kb, kl, panelType, w, s, z, format);
            Value xTile = slice(kb, x, {attr(0), k0}, {rows, tk});
            AffineExpr m, nn, kk;
            bindDims(ctx, m, nn, kk);
            Value acc =
                linalg::GenericOp::create(
                    kb, kl, TypeRange{kArgs[0].getType()},
                    ValueRange{xTile, panel}, ValueRange{kArgs[0]},
                    SmallVector<AffineMap>{AffineMap::get(3, 0, {m, kk}, ctx),
                                           AffineMap::get(3, 0, {nn, kk}, ctx),
                                           AffineMap::get(3, 0, {m, nn}, ctx)},
                    SmallVector<utils::IteratorType>{
                        utils::IteratorType::parallel,
                        utils::IteratorType::parallel,
                        utils::IteratorType::reduction},
                    [&](OpBuilder &gb, Location gl, ValueRange a) {
                      Value p = arith::MulFOp::create(gb, gl, a[0], a[1]);
                      linalg::YieldOp::create(
                          gb, gl, arith::AddFOp::create(gb, gl, a[2], p).getResult());
                    })
                    ->getResult(0);
            scf::YieldOp::create(kb, kl, acc);
          });
      return {n0, kLoop.getResult(0)};
    };
    SmallVector<OpFoldResult> tileSizes = {b.getIndexAttr(rows), b.getIndexAttr(tn)},
                              unitStrides = {b.getIndexAttr(1), b.getIndexAttr(1)};
    Value y;
    if (parallel) {
      // The n tiles write disjoint columns: an scf.forall, run by the
      // runtime's thread pool after lowering.
      auto nLoop = scf::ForallOp::create(
          b, l, ArrayRef<OpFoldResult>{b.getIndexAttr(n / tn)}, ValueRange{init},
          std::nullopt, [&](OpBuilder &nb, Location nl, ValueRange args) {
            auto [n0, tile] = computeTile(nb, nl, args[0], args[1]);
            auto inParallel = scf::InParallelOp::create(nb, nl);
            OpBuilder::InsertionGuard guard(nb);
            nb.setInsertionPointToStart(inParallel.getBody());
            SmallVector<OpFoldResult> off = {nb.getIndexAttr(0), n0};
            tensor::ParallelInsertSliceOp::create(nb, nl, tile, args[1], off,
                                                  tileSizes, unitStrides);
          });
      y = nLoop.getResult(0);
    } else {
      auto nLoop = scf::ForOp::create(
          b, l, c0, idx(n / tn), idx(1), ValueRange{init},
          [&](OpBuilder &nb, Location nl, Value t, ValueRange args) {
            auto [n0, tile] = computeTile(nb, nl, t, args[0]);
            SmallVector<OpFoldResult> off = {nb.getIndexAttr(0), n0};
            Value updated = tensor::InsertSliceOp::create(
                nb, nl, tile, args[0], off, tileSizes, unitStrides);
            scf::YieldOp::create(nb, nl, updated);
          });
      y = nLoop.getResult(0);
    }
    y = finishQuantizedMatmul(b, op, y);
    op.replaceAllUsesWith(y);
    op.erase();
  }
};

} // namespace
