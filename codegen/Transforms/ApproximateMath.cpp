//===- ApproximateMath.cpp - Vectorizable erf, exp and tanh ---------------===//
//
// libm calls keep the loops around them scalar; MLIR's polynomial
// approximations are arithmetic LLVM vectorizes.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::qt {
#define GEN_PASS_DEF_QTAPPROXIMATEMATH
#include "codegen/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;

namespace {

struct ApproximateMathPass
    : qt::impl::QTApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) {
          name.consume_front("math.");
          return name == "erf" || name == "exp" || name == "tanh";
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // The approximations evaluate polynomials with math.fma, which the
    // pipeline's libm conversion would turn into fmaf calls: make them the
    // LLVM intrinsic (one instruction with FMA, exact either way).
    getOperation()->walk([](math::FmaOp fma) {
      OpBuilder b(fma);
      Value r = LLVM::FMAOp::create(b, fma.getLoc(), fma.getA(), fma.getB(),
                                    fma.getC());
      fma.replaceAllUsesWith(r);
      fma.erase();
    });
  }
};

} // namespace
