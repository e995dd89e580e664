//===- Elementwise.cpp - activations, norms, softmax ------------------------===//
#include "codegen/Conversion/QTToLinalg.h"
#include "codegen/Conversion/QTToLinalg/Patterns.h"

#include "dialects/QT/IR/QTOps.h"
#include "dialects/QT/Utils/TensorBuilders.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>
#include <numeric>

using namespace mlir;
using namespace mlir::qt;
using namespace mlir::qt::detail;
using namespace qtc::ir;

namespace {

/// linalg.softmax (what the ONNX frontend emits for Softmax) has no upstream
/// lowering to loops; its own decomposition into max / exp / sum / divide
/// generics is applied here so the CPU pipeline handles it like the qt ops.
struct DecomposeSoftmax : OpRewritePattern<linalg::SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::SoftmaxOp op,
                                PatternRewriter &b) const override {
    FailureOr<SmallVector<Value>> parts =
        cast<linalg::AggregatedOpInterface>(op.getOperation())
            .decomposeOperation(b);
    if (failed(parts))
      return failure();
    b.replaceOp(op, *parts);
    return success();
  }
};

template <typename OpTy>
struct LowerActivation : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &b) const override {
    auto type = dyn_cast<RankedTensorType>(op.getType());
    if (!type)
      return failure(); // scalars fold or stay
    Type elem = type.getElementType();
    Value y = mapElements(
        b, op.getLoc(), ValueRange{op.getInput()}, elem,
        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Value x = a[0];
          Value half = scalarConstant(nb, l, elem, 0.5);
          Value one = scalarConstant(nb, l, elem, 1.0);
          if constexpr (std::is_same_v<OpTy, SiluOp>) {
            Value e = math::ExpOp::create(nb, l, arith::NegFOp::create(nb, l, x));
            return arith::DivFOp::create(nb, l, x,
                                         arith::AddFOp::create(nb, l, one, e));
          } else {
            Value inner;
            if (op.getApproximation() == GeluApproximation::Tanh) {
              Value x3 = arith::MulFOp::create(
                  nb, l, x, arith::MulFOp::create(nb, l, x, x));
              Value t = arith::AddFOp::create(
                  nb, l, x,
                  arith::MulFOp::create(nb, l, scalarConstant(nb, l, elem, 0.044715), x3));
              inner = math::TanhOp::create(
                  nb, l,
                  arith::MulFOp::create(
                      nb, l, scalarConstant(nb, l, elem, 0.7978845608028654), t));
            } else {
              inner = math::ErfOp::create(
                  nb, l,
                  arith::MulFOp::create(nb, l, x,
                                        scalarConstant(nb, l, elem, M_SQRT1_2)));
            }
            Value hx = arith::MulFOp::create(nb, l, half, x);
            return arith::MulFOp::create(nb, l, hx,
                                         arith::AddFOp::create(nb, l, one, inner));
          }
        });
    b.replaceOp(op, y);
    return success();
  }
};

/// rms_norm / layer_norm over the last dim.
template <typename OpTy>
struct LowerNorm : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &b) const override {
    constexpr bool isRms = std::is_same_v<OpTy, RmsNormOp>;
    Location l = op.getLoc();
    Value x = op.getInput();
    RankedTensorType t = typeOf(x);
    Type elem = t.getElementType();
    int64_t last = t.getRank() - 1, d = t.getDimSize(last);
    if (ShapedType::isDynamic(d))
      return failure();
    SmallVector<OpFoldResult> sizes = mixedSizes(b, l, x);
    Value dV = scalarConstant(b, l, elem, static_cast<double>(d));
    Value eps = scalarConstant(b, l, elem, op.getEpsilon().convertToDouble());
    auto sum = [&](Value v) {
      return reduce(b, l, v, {last}, /*keepDims=*/true, 0.0,
                    [](OpBuilder &nb, Location nl, Value a, Value acc) {
                      return arith::AddFOp::create(nb, nl, a, acc);
                    });
    };
    Value centered = x;
    if constexpr (!isRms) {
      Value mean = mapElements(b, l, sum(x), elem,
                               [&](OpBuilder &nb, Location nl, ValueRange a) {
                                 return arith::DivFOp::create(nb, nl, a[0], dV);
                               });
      centered = mapElements(b, l, ValueRange{x, broadcastTo(b, l, mean, sizes)},
                             elem, [](OpBuilder &nb, Location nl, ValueRange a) {
                               return arith::SubFOp::create(nb, nl, a[0], a[1]);
                             });
    }
    Value sq = mapElements(b, l, centered, elem,
                           [](OpBuilder &nb, Location nl, ValueRange a) {
                             return arith::MulFOp::create(nb, nl, a[0], a[0]);
                           });
    Value inv = mapElements(
        b, l, sum(sq), elem, [&](OpBuilder &nb, Location nl, ValueRange a) {
          Value var = arith::DivFOp::create(nb, nl, a[0], dV);
          Value root = math::SqrtOp::create(
              nb, nl, arith::AddFOp::create(nb, nl, var, eps));
          return arith::DivFOp::create(nb, nl, scalarConstant(nb, nl, elem, 1.0),
                                       root);
        });
    SmallVector<Value> ins = {centered, broadcastTo(b, l, inv, sizes),
                              broadcastTo(b, l, op.getWeight(), sizes)};
    Value bias;
    if constexpr (!isRms)
      bias = op.getBias();
    if (bias)
      ins.push_back(broadcastTo(b, l, bias, sizes));
    Value y = mapElements(b, l, ins, elem,
                          [&](OpBuilder &nb, Location nl, ValueRange a) {
                            Value v = arith::MulFOp::create(
                                nb, nl, arith::MulFOp::create(nb, nl, a[0], a[1]),
                                a[2]);
                            if (a.size() == 4)
                              v = arith::AddFOp::create(nb, nl, v, a[3]);
                            return v;
                          });
    b.replaceOp(op, y);
    return success();
  }
};

} // namespace

void mlir::qt::populateQTElementwiseToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerActivation<GeluOp>, LowerActivation<SiluOp>, LowerNorm<RmsNormOp>,
               LowerNorm<LayerNormOp>, DecomposeSoftmax>(patterns.getContext());
}
