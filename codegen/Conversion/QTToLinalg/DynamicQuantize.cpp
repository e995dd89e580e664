//===- DynamicQuantize.cpp - run-time activation quantization ---------------===//
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

/// qt.dynamic_quantize: per tensor or per group of the last dimension,
/// (1) the range of each group, (2) its scale (and zero point), (3) codes.
/// Asymmetric (ONNX DynamicQuantizeLinear): the range [min(x, 0),
/// max(x, 0)] over 255 steps, zero point round(-min / scale), codes
/// clamp(round(x / scale) + zero point, 0, 255). Symmetric: max|x| over 127
/// steps, codes clamp(round(x / scale), -127, 127). Rounding is half to
/// even; an all-zero group gets scale 1 (as onnxruntime does), not 0.
struct LowerDynamicQuantize : OpRewritePattern<DynamicQuantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DynamicQuantizeOp op,
                                PatternRewriter &b) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value x = op.getInput();
    RankedTensorType xt = typeOf(x);
    int64_t rank = xt.getRank();
    bool symmetric = op.getSymmetric();
    std::optional<uint64_t> groupAttr = op.getGroupSize();
    int64_t group = groupAttr ? static_cast<int64_t>(*groupAttr) : 0;
    Type f32 = b.getF32Type(), i8 = b.getI8Type(), i32 = b.getI32Type();
    auto par = utils::IteratorType::parallel, red = utils::IteratorType::reduction;
    SmallVector<OpFoldResult> xs = mixedSizes(b, l, x);

    // 1. min and max per group (or of the whole tensor).
    SmallVector<OpFoldResult> gs; // the scale's shape
    Value source = x;
    SmallVector<AffineMap> rangeMaps;
    SmallVector<utils::IteratorType> rangeIters;
    if (group) {
      gs.assign(xs.begin(), xs.end());
      gs.back() = b.getIndexAttr(xt.getDimSize(rank - 1) / group);
      SmallVector<OpFoldResult> expanded(gs);
      expanded.push_back(b.getIndexAttr(group));
      SmallVector<int64_t> shape(xt.getShape());
      shape.back() /= group;
      shape.push_back(group);
      SmallVector<ReassociationIndices> assoc;
      for (int64_t d = 0; d + 1 < rank; ++d)
        assoc.push_back({d});
      assoc.push_back({rank - 1, rank});
      source = tensor::ExpandShapeOp::create(
          b, l, RankedTensorType::get(shape, xt.getElementType()), x, assoc,
          expanded);
      rangeMaps = {b.getMultiDimIdentityMap(rank + 1),
                   AffineMap::getMultiDimIdentityMap(rank + 1, ctx).dropResult(rank)};
      rangeIters.assign(rank, par);
      rangeIters.push_back(red);
    } else {
      rangeMaps = {b.getMultiDimIdentityMap(rank), AffineMap::get(rank, 0, ctx)};
      rangeIters.assign(rank, red);
    }
    rangeMaps.push_back(rangeMaps[1]);
    auto filled = [&](double v) {
      Value e = tensor::EmptyOp::create(b, l, gs, f32);
      return linalg::FillOp::create(b, l, scalarConstant(b, l, f32, v), e)
          .getResult(0);
    };
    Value loRange, hiRange;
    int64_t count = xt.hasStaticShape() ? xt.getNumElements() : 0;
    if (!group && xt.getElementType().isF32() && count >= 16 && count % 16 == 0) {
      // The whole tensor's range as 16-lane vector minima and maxima
      // (minimumf / maximumf are exact in any order). The scalar reduction
      // loops do not vectorize: their accumulator, a rank-0 buffer, may
      // alias the input as far as LLVM can tell.
      SmallVector<ReassociationIndices> all(1);
      for (int64_t d = 0; d < rank; ++d)
        all[0].push_back(d);
      Value flat = rank == 1 ? x
                             : tensor::CollapseShapeOp::create(b, l, x, all)
                                   .getResult();
      auto vt = VectorType::get({16}, f32);
      auto splat = [&](double v) -> Value {
        return arith::ConstantOp::create(
            b, l, DenseElementsAttr::get(vt, b.getF32FloatAttr(v)));
      };
      auto idx = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, l, v);
      };
      Value pad = scalarConstant(b, l, f32, 0.0);
      auto loop = scf::ForOp::create(
          b, l, idx(0), idx(count), idx(16),
          ValueRange{splat(INFINITY), splat(-INFINITY)},
          [&](OpBuilder &nb, Location nl, Value i, ValueRange acc) {
            Value v = vector::TransferReadOp::create(
                nb, nl, vt, flat, ValueRange{i}, pad, ArrayRef<bool>{true});
            scf::YieldOp::create(
                nb, nl,
                ValueRange{arith::MinimumFOp::create(nb, nl, acc[0], v),
                           arith::MaximumFOp::create(nb, nl, acc[1], v)});
          });
      auto scalar = [&](vector::CombiningKind kind, Value v) -> Value {
        Value r = vector::ReductionOp::create(b, l, kind, v);
        return tensor::FromElementsOp::create(
            b, l, RankedTensorType::get({}, f32), ValueRange{r});
      };
      loRange = scalar(vector::CombiningKind::MINIMUMF, loop.getResult(0));
      hiRange = scalar(vector::CombiningKind::MAXIMUMF, loop.getResult(1));
    } else {
      Value lo0 = filled(INFINITY), hi0 = filled(-INFINITY);
      auto ranges = linalg::GenericOp::create(
          b, l, TypeRange{lo0.getType(), hi0.getType()}, ValueRange{source},
          ValueRange{lo0, hi0}, rangeMaps, rangeIters,
          [&](OpBuilder &nb, Location nl, ValueRange a) {
            yieldRange(nb, nl, a[0], a[1], a[2]);
          });
      loRange = ranges.getResult(0);
      hiRange = ranges.getResult(1);
    }

    // 2. scale (and zero point) per group.
    int64_t grank = static_cast<int64_t>(gs.size());
    Value sInit = tensor::EmptyOp::create(b, l, gs, f32);
    Value zInit = tensor::EmptyOp::create(b, l, gs, i8);
    SmallVector<Value> paramInits = {sInit};
    if (!symmetric)
      paramInits.push_back(zInit);
    SmallVector<Type> paramTypes;
    for (Value v : paramInits)
      paramTypes.push_back(v.getType());
    auto params = linalg::GenericOp::create(
        b, l, paramTypes, ValueRange{loRange, hiRange},
        paramInits,
        SmallVector<AffineMap>(2 + paramInits.size(),
                               b.getMultiDimIdentityMap(grank)),
        SmallVector<utils::IteratorType>(grank, par),
        [&](OpBuilder &nb, Location nl, ValueRange a) {
          auto cst = [&](double v) { return scalarConstant(nb, nl, f32, v); };
          Value zero = cst(0.0);
          Value range, lo;
          if (symmetric) {
            range = arith::MaximumFOp::create(
                nb, nl, math::AbsFOp::create(nb, nl, a[0]),
                math::AbsFOp::create(nb, nl, a[1]));
          } else {
            lo = arith::MinimumFOp::create(nb, nl, a[0], zero);
            Value hi = arith::MaximumFOp::create(nb, nl, a[1], zero);
            range = arith::SubFOp::create(nb, nl, hi, lo);
          }
          Value steps = arith::DivFOp::create(nb, nl, range,
                                              cst(symmetric ? 127.0 : 255.0));
          Value isZero = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ,
                                               steps, zero);
          Value scale = arith::SelectOp::create(nb, nl, isZero, cst(1.0), steps);
          SmallVector<Value> out = {scale};
          if (!symmetric) {
            Value z = math::RoundEvenOp::create(
                nb, nl,
                arith::SubFOp::create(nb, nl, zero,
                                      arith::DivFOp::create(nb, nl, lo, scale)));
            z = arith::MinimumFOp::create(
                nb, nl, arith::MaximumFOp::create(nb, nl, z, zero), cst(255.0));
            out.push_back(arith::TruncIOp::create(
                nb, nl, i8, arith::FPToSIOp::create(nb, nl, i32, z)));
          }
          linalg::YieldOp::create(nb, nl, out);
        });

    // 3. codes.
    AffineMap identity = b.getMultiDimIdentityMap(rank);
    AffineMap groupOf = AffineMap::get(rank, 0, ctx);
    if (group) {
      SmallVector<AffineExpr> e;
      for (int64_t d = 0; d < rank; ++d)
        e.push_back(b.getAffineDimExpr(d));
      e.back() = e.back().floorDiv(group);
      groupOf = AffineMap::get(rank, 0, e, ctx);
    }
    SmallVector<Value> ins = {x, params.getResult(0)};
    SmallVector<AffineMap> maps = {identity, groupOf};
    if (!symmetric) {
      ins.push_back(params.getResult(1));
      maps.push_back(groupOf);
    }
    maps.push_back(identity);
    Value qInit = tensor::EmptyOp::create(b, l, xs, i8);
    Value codes =
        linalg::GenericOp::create(
            b, l, TypeRange{qInit.getType()}, ins, ValueRange{qInit}, maps,
            SmallVector<utils::IteratorType>(rank, par),
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              auto cst = [&](double v) { return scalarConstant(nb, nl, f32, v); };
              Value v = a[0];
              if (v.getType() != f32)
                v = arith::ExtFOp::create(nb, nl, f32, v);
              Value q = math::RoundEvenOp::create(
                  nb, nl, arith::DivFOp::create(nb, nl, v, a[1]));
              double lo = -127.0, hi = 127.0;
              if (!symmetric) {
                // Zero points are stored as i8 holding unsigned values.
                Value z = arith::UIToFPOp::create(nb, nl, f32, a[2]);
                q = arith::AddFOp::create(nb, nl, q, z);
                lo = 0.0;
                hi = 255.0;
              }
              q = arith::MinimumFOp::create(
                  nb, nl, arith::MaximumFOp::create(nb, nl, q, cst(lo)), cst(hi));
              linalg::YieldOp::create(
                  nb, nl,
                  arith::TruncIOp::create(nb, nl, i8,
                                          arith::FPToSIOp::create(nb, nl, i32, q))
                      .getResult());
            })
            .getResult(0);
    SmallVector<Value> results = {codes, params.getResult(0)};
    if (!symmetric)
      results.push_back(params.getResult(1));
    b.replaceOp(op, results);
    return success();
  }
};

} // namespace

void mlir::qt::populateQTDynamicQuantizeToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerDynamicQuantize>(patterns.getContext());
}
