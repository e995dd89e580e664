//===- FuseDequantMatmul.cpp - dequantize + matmul -> quantized_matmul ----===//

#include "passes/Passes.h"
#include "passes/MatmulMatchers.h"

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

struct FuseDequantIntoMatmul : OpRewritePattern<linalg::MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
        !isZeroFilled(op.getDpsInits()[0]))
      return failure();
    Value a = op.getDpsInputs()[0], bIn = op.getDpsInputs()[1];
    DequantizeOp dq;
    if (!op.hasUserDefinedMaps()) {
      // B = transpose(dequantize(...)) with permutation [1, 0].
      auto t = bIn.getDefiningOp<linalg::TransposeOp>();
      if (!t || t.getPermutation() != ArrayRef<int64_t>{1, 0})
        return failure();
      dq = t.getInput().getDefiningOp<DequantizeOp>();
    } else if (hasMatmulMaps(op, /*transposedB=*/true)) {
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
