//===- Attention.cpp - attention and rotary embeddings ----------------------===//
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

/// Scaled dot-product attention with grouped heads, masks and the cache:
/// scores = q . k^T per head (key/value head h / group), scaled, masked
/// (additive, boolean, causal from position P + s), softmax over keys, then
/// . v. The present key/value are the cache followed by the new entries.
struct LowerAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &b) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = op.getContext();
    auto qt = cast<RankedTensorType>(op.getQuery().getType());
    auto kt = cast<RankedTensorType>(op.getKey().getType());
    int64_t hq = qt.getDimSize(1), hk = kt.getDimSize(1);
    if (ShapedType::isDynamic(hq) || ShapedType::isDynamic(hk))
      return b.notifyMatchFailure(op, "needs static head counts");
    int64_t group = hq / hk;
    Type elem = qt.getElementType();
    Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
    Value past = arith::ConstantIndexOp::create(b, l, 0);
    SmallVector<Value> presents;
    if (op.getPastKey()) {
      past = tensor::DimOp::create(b, l, op.getPastKey(), 2);
      k = tensor::ConcatOp::create(b, l, 2, ValueRange{op.getPastKey(), k});
      v = tensor::ConcatOp::create(b, l, 2, ValueRange{op.getPastValue(), v});
      presents = {k, v};
    }
    SmallVector<OpFoldResult> qs = mixedSizes(b, l, q), ks = mixedSizes(b, l, k),
                              vs = mixedSizes(b, l, v);
    AffineExpr d0, d1, d2, d3, d4;
    bindDims(ctx, d0, d1, d2, d3, d4);
    auto par = utils::IteratorType::parallel, red = utils::IteratorType::reduction;
    // scores[b, h, s, t] = sum_d q[b, h, s, d] * k[b, h / G, t, d]
    Value sInit = zeros(b, l, {qs[0], qs[1], qs[2], ks[2]}, elem);
    Value scores =
        linalg::GenericOp::create(
            b, l, TypeRange{sInit.getType()}, ValueRange{q, k}, ValueRange{sInit},
            SmallVector<AffineMap>{
                AffineMap::get(5, 0, {d0, d1, d2, d4}, ctx),
                AffineMap::get(5, 0, {d0, d1.floorDiv(group), d3, d4}, ctx),
                AffineMap::get(5, 0, {d0, d1, d2, d3}, ctx)},
            SmallVector<utils::IteratorType>{par, par, par, par, red},
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              Value p = arith::MulFOp::create(nb, nl, a[0], a[1]);
              linalg::YieldOp::create(
                  nb, nl, arith::AddFOp::create(nb, nl, a[2], p).getResult());
            })
            ->getResult(0);
    // Scale and mask.
    Value scale = scalarConstant(b, l, elem, op.getEffectiveScale());
    Value lowest = arith::ConstantOp::create(
        b, l, b.getFloatAttr(elem, -llvm::APFloat::getLargest(
                                         cast<FloatType>(elem).getFloatSemantics())
                                         .convertToDouble()));
    SmallVector<Value> ins = {scores};
    SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(4)};
    Value mask = op.getMask();
    if (mask) {
      auto mt = cast<RankedTensorType>(mask.getType());
      SmallVector<AffineExpr> exprs;
      for (int64_t i = 0; i < mt.getRank(); ++i) {
        int64_t dim = 4 - mt.getRank() + i;
        exprs.push_back(mt.getDimSize(i) == 1 ? getAffineConstantExpr(0, ctx)
                                              : getAffineDimExpr(dim, ctx));
      }
      ins.push_back(mask);
      maps.push_back(AffineMap::get(4, 0, exprs, ctx));
    }
    maps.push_back(b.getMultiDimIdentityMap(4));
    bool causal = op.getCausal();
    std::optional<uint64_t> window = op.getWindow();
    std::optional<APFloat> softcap = op.getSoftcap();
    Value logits =
        linalg::GenericOp::create(
            b, l, TypeRange{sInit.getType()}, ins,
            ValueRange{tensor::EmptyOp::create(b, l, mixedSizes(b, l, scores), elem)},
            maps, SmallVector<utils::IteratorType>(4, par),
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              Value x = arith::MulFOp::create(nb, nl, a[0], scale);
              if (softcap) {
                Value cap =
                    scalarConstant(nb, nl, elem, softcap->convertToDouble());
                x = arith::MulFOp::create(
                    nb, nl,
                    math::TanhOp::create(nb, nl,
                                         arith::DivFOp::create(nb, nl, x, cap)),
                    cap);
              }
              if (mask) {
                if (a[1].getType().isInteger(1))
                  x = arith::SelectOp::create(nb, nl, a[1], x, lowest);
                else
                  x = arith::AddFOp::create(nb, nl, x, a[1]);
              }
              if (causal) {
                Value s = linalg::IndexOp::create(nb, nl, 2);
                Value t = linalg::IndexOp::create(nb, nl, 3);
                Value limit = arith::AddIOp::create(nb, nl, past, s);
                Value future = arith::CmpIOp::create(
                    nb, nl, arith::CmpIPredicate::ugt, t, limit);
                x = arith::SelectOp::create(nb, nl, future, lowest, x);
                if (window) {
                  // Out of the window: t + window <= P + s.
                  Value w = arith::ConstantIndexOp::create(
                      nb, nl, static_cast<int64_t>(*window));
                  Value old = arith::CmpIOp::create(
                      nb, nl, arith::CmpIPredicate::ule,
                      arith::AddIOp::create(nb, nl, t, w), limit);
                  x = arith::SelectOp::create(nb, nl, old, lowest, x);
                }
              }
              linalg::YieldOp::create(nb, nl, x);
            })
            ->getResult(0);
    // Softmax over keys.
    SmallVector<OpFoldResult> ls = mixedSizes(b, l, logits);
    Value mx = broadcastTo(
        b, l,
        reduce(b, l, logits, {3}, true, -INFINITY,
               [](OpBuilder &nb, Location nl, Value x, Value acc) {
                 return arith::MaximumFOp::create(nb, nl, x, acc);
               }),
        ls);
    Value e = mapElements(b, l, ValueRange{logits, mx}, elem,
                          [](OpBuilder &nb, Location nl, ValueRange a) {
                            return math::ExpOp::create(
                                nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
                          });
    Value sum = broadcastTo(
        b, l,
        reduce(b, l, e, {3}, true, 0.0,
               [](OpBuilder &nb, Location nl, Value x, Value acc) {
                 return arith::AddFOp::create(nb, nl, x, acc);
               }),
        ls);
    Value probs = mapElements(b, l, ValueRange{e, sum}, elem,
                              [](OpBuilder &nb, Location nl, ValueRange a) {
                                return arith::DivFOp::create(nb, nl, a[0], a[1]);
                              });
    // out[b, h, s, e] = sum_t p[b, h, s, t] * v[b, h / G, t, e]
    Value oInit = zeros(b, l, {qs[0], qs[1], qs[2], vs[3]}, elem);
    Value out =
        linalg::GenericOp::create(
            b, l, TypeRange{oInit.getType()}, ValueRange{probs, v},
            ValueRange{oInit},
            SmallVector<AffineMap>{
                AffineMap::get(5, 0, {d0, d1, d2, d4}, ctx),
                AffineMap::get(5, 0, {d0, d1.floorDiv(group), d4, d3}, ctx),
                AffineMap::get(5, 0, {d0, d1, d2, d3}, ctx)},
            SmallVector<utils::IteratorType>{par, par, par, par, red},
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              Value p = arith::MulFOp::create(nb, nl, a[0], a[1]);
              linalg::YieldOp::create(
                  nb, nl, arith::AddFOp::create(nb, nl, a[2], p).getResult());
            })
            ->getResult(0);
    SmallVector<Value> results = {out};
    results.append(presents);
    for (auto [i, r] : llvm::enumerate(results))
      if (r.getType() != op->getResult(i).getType())
        results[i] = tensor::CastOp::create(b, l, op->getResult(i).getType(), r);
    b.replaceOp(op, results);
    return success();
  }
};

/// Rotary embedding: for feature d < R at position p, pair j = d mod R/2
/// (or d / 2 interleaved) with its partner feature:
/// first of a pair: x cos - partner sin; second: x cos + partner sin.
struct LowerRotary : OpRewritePattern<RotaryEmbeddingOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RotaryEmbeddingOp op,
                                PatternRewriter &b) const override {
    Location l = op.getLoc();
    auto t = cast<RankedTensorType>(op.getType());
    int64_t d = t.getDimSize(3);
    int64_t rot = op.getRotaryDim() ? static_cast<int64_t>(*op.getRotaryDim()) : d;
    if (ShapedType::isDynamic(rot))
      return failure();
    bool interleaved = op.getInterleaved();
    Value x = op.getInput(), cosT = op.getCos(), sinT = op.getSin();
    Value pos = op.getPositionIds();
    Type elem = t.getElementType();
    Value init = emptyLike(b, l, x, elem);
    SmallVector<Value> ins = {x};
    SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(4)};
    if (pos) {
      ins.push_back(pos);
      maps.push_back(AffineMap::get(
          4, 0, {b.getAffineDimExpr(0), b.getAffineDimExpr(2)}, b.getContext()));
    }
    maps.push_back(b.getMultiDimIdentityMap(4));
    Value out =
        linalg::GenericOp::create(
            b, l, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
            SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              auto c = [&](int64_t v) {
                return arith::ConstantIndexOp::create(nb, nl, v);
              };
              Value bi = linalg::IndexOp::create(nb, nl, 0);
              Value hi = linalg::IndexOp::create(nb, nl, 1);
              Value si = linalg::IndexOp::create(nb, nl, 2);
              Value di = linalg::IndexOp::create(nb, nl, 3);
              Value p = pos ? (Value)arith::IndexCastOp::create(
                                  nb, nl, nb.getIndexType(), a[1])
                            : si;
              Value inRot = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                                  di, c(rot));
              // Clamp so that features past `rot` still index valid memory.
              Value dr = arith::SelectOp::create(nb, nl, inRot, di, c(0));
              Value j, partner, first;
              if (interleaved) {
                j = arith::DivUIOp::create(nb, nl, dr, c(2));
                Value odd = arith::RemUIOp::create(nb, nl, dr, c(2));
                first = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq,
                                              odd, c(0));
                partner = arith::SelectOp::create(
                    nb, nl, first, arith::AddIOp::create(nb, nl, dr, c(1)),
                    arith::SubIOp::create(nb, nl, dr, c(1)));
              } else {
                first = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                              dr, c(rot / 2));
                j = arith::SelectOp::create(
                    nb, nl, first, dr, arith::SubIOp::create(nb, nl, dr, c(rot / 2)));
                partner = arith::SelectOp::create(
                    nb, nl, first, arith::AddIOp::create(nb, nl, dr, c(rot / 2)),
                    j);
              }
              Value cv = tensor::ExtractOp::create(nb, nl, cosT, ValueRange{p, j});
              Value sv = tensor::ExtractOp::create(nb, nl, sinT, ValueRange{p, j});
              Value other = tensor::ExtractOp::create(
                  nb, nl, x, ValueRange{bi, hi, si, partner});
              Value xc = arith::MulFOp::create(nb, nl, a[0], cv);
              Value os = arith::MulFOp::create(nb, nl, other, sv);
              Value rotated = arith::SelectOp::create(
                  nb, nl, first, arith::SubFOp::create(nb, nl, xc, os),
                  arith::AddFOp::create(nb, nl, xc, os));
              linalg::YieldOp::create(
                  nb, nl,
                  arith::SelectOp::create(nb, nl, inRot, rotated, a[0]).getResult());
            })
            ->getResult(0);
    b.replaceOp(op, out);
    return success();
  }
};

} // namespace

void mlir::qt::populateQTAttentionToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerAttention, LowerRotary>(patterns.getContext());
}
