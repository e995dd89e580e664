//===- QTToLinalg.cpp - qt ops -> linalg on tensors -----------------------===//
//
// The first backend stage. Quantized weights are decoded inside the
// contraction's body, code by code, so the packed bytes are the only copy of
// a weight matrix the generated code reads. The patterns live next to this
// file, one per op family; this pass applies them as a dialect conversion
// whose target declares every qt op illegal except those later backend
// stages lower (qt.int8_dot, qt.lookup), so an op no pattern lowers is an
// error naming it and its location instead of staying in the IR.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/QTToLinalg.h"
#include "codegen/Conversion/QTToLinalg/Patterns.h"
#include "codegen/Passes.h"

#include "dialects/QT/Utils/TensorBuilders.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::qt {
#define GEN_PASS_DEF_CONVERTQTTOLINALG
#include "codegen/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;
using namespace mlir::qt;
using namespace qtc::ir;

Value mlir::qt::finishQuantizedMatmul(OpBuilder &b, QuantizedMatmulOp op,
                                      Value y) {
  Location l = op.getLoc();
  Type elem = typeOf(y).getElementType();
  int64_t n = op.getPackedRowCount();
  if (Value bias = op.getBias()) {
    Value bb = broadcastTo(b, l, bias, mixedSizes(b, l, y));
    y = mapElements(b, l, ValueRange{y, bb}, elem,
                    [](OpBuilder &nb, Location nl, ValueRange v) {
                      return arith::AddFOp::create(nb, nl, v[0], v[1]);
                    });
  }
  if (typeOf(op.getInput()).getRank() != 2) {
    SmallVector<OpFoldResult> outSizes = mixedSizes(b, l, op.getInput());
    outSizes.back() = b.getIndexAttr(n);
    y = reshapeTo(b, l, y, outSizes);
  }
  if (y.getType() != op.getType())
    y = tensor::CastOp::create(b, l, op.getType(), y);
  return y;
}


void mlir::qt::populateQTToLinalgPatterns(RewritePatternSet &patterns) {
  populateQTMatmulToLinalgPatterns(patterns);
  populateQTElementwiseToLinalgPatterns(patterns);
  populateQTAttentionToLinalgPatterns(patterns);
  populateQTKVCacheToLinalgPatterns(patterns);
  populateQTDynamicQuantizeToLinalgPatterns(patterns);
}

void mlir::qt::configureQTToLinalgTarget(ConversionTarget &target) {
  target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                         arith::ArithDialect, math::MathDialect,
                         scf::SCFDialect, vector::VectorDialect,
                         affine::AffineDialect,
                         bufferization::BufferizationDialect>();
  target.addIllegalDialect<QTDialect>();
  // Lowered after bufferization by qt-lower-int8-dot.
  target.addLegalOp<Int8DotOp, LookupOp>();
  // The ONNX frontend's softmax is decomposed here like the qt ops.
  target.addIllegalOp<linalg::SoftmaxOp>();
  // Everything else (func, upstream ops of other dialects) is left alone.
  target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
}

namespace {

struct ConvertQTToLinalgPass
    : qt::impl::ConvertQTToLinalgBase<ConvertQTToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateQTToLinalgPatterns(patterns);
    ConversionTarget target(getContext());
    configureQTToLinalgTarget(target);
    // An op that stays illegal makes the conversion fail with "failed to
    // legalize operation 'qt.x'" at that op's location.
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
