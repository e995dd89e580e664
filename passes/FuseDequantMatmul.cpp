//===- FuseDequantMatmul.cpp - dequantize + matmul -> quantized_matmul ----===//

#include "passes/Passes.h"

#include "dialects/QT/IR/QTOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringExtras.h"

#include <set>

namespace mlir::qt {
#define GEN_PASS_DEF_QTFUSEDEQUANTMATMUL
#include "passes/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;
using namespace mlir::qt;

namespace {

/// True if `init` is a linalg.fill of constant zero (so the matmul does not
/// accumulate into earlier values).
bool isZeroInit(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  if (!fill)
    return false;
  Value v = fill.getInputs()[0];
  return matchPattern(v, m_AnyZeroFloat()) || matchPattern(v, m_Zero());
}

/// The maps of C[m, n] += A[m, k] * B[n, k].
bool hasTransposedBMaps(linalg::MatmulOp op) {
  MLIRContext *ctx = op.getContext();
  AffineExpr m, n, k;
  bindDims(ctx, m, n, k);
  SmallVector<AffineMap> want = {AffineMap::get(3, 0, {m, k}, ctx),
                                 AffineMap::get(3, 0, {n, k}, ctx),
                                 AffineMap::get(3, 0, {m, n}, ctx)};
  return op.getIndexingMapsArray() == want;
}

struct FuseDequantIntoMatmul : OpRewritePattern<linalg::MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
        !isZeroInit(op.getDpsInits()[0]))
      return failure();
    Value a = op.getDpsInputs()[0], bIn = op.getDpsInputs()[1];
    DequantizeOp dq;
    if (!op.hasUserDefinedMaps()) {
      // B = transpose(dequantize(...)) with permutation [1, 0].
      auto t = bIn.getDefiningOp<linalg::TransposeOp>();
      if (!t || t.getPermutation() != ArrayRef<int64_t>{1, 0})
        return failure();
      dq = t.getInput().getDefiningOp<DequantizeOp>();
    } else if (hasTransposedBMaps(op)) {
      dq = bIn.getDefiningOp<DequantizeOp>();
    }
    if (!dq)
      return rewriter.notifyMatchFailure(op, "B is not a dequantized weight");
    auto at = cast<RankedTensorType>(a.getType());
    auto rt = cast<RankedTensorType>(op->getResult(0).getType());
    auto wt = cast<RankedTensorType>(dq.getResult().getType());
    if (at.getElementType() != rt.getElementType() ||
        at.isDynamicDim(1) || at.getDimSize(1) != wt.getDimSize(1))
      return rewriter.notifyMatchFailure(op, "types do not fit");
    rewriter.replaceOpWithNewOp<QuantizedMatmulOp>(
        op, rt, a, dq.getWeights(), dq.getScales(), dq.getZeroPoints(),
        Value(), dq.getFormatAttr());
    return success();
  }
};

struct FuseDequantMatmulPass
    : qt::impl::QTFuseDequantMatmulBase<FuseDequantMatmulPass> {
  using QTFuseDequantMatmulBase::QTFuseDequantMatmulBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseDequantIntoMatmul>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    if (!report)
      return;
    getOperation()->walk([](DequantizeOp dq) {
      std::set<std::string> users;
      for (Operation *user : dq->getUsers())
        users.insert(user->getName().getStringRef().str());
      InFlightDiagnostic d = dq.emitRemark("dequantize left unfused");
      if (!users.empty())
        d << ": used by " << llvm::join(users, ", ");
    });
  }
};

} // namespace
