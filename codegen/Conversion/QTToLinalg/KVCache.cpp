//===- KVCache.cpp - quantized KV cache -------------------------------------===//
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

/// Index of the scale group of element (t, d) of a quantized cache tensor.
std::pair<Value, Value> kvGroupIndex(OpBuilder &b, Location l, Value t, Value d,
                                     int64_t group, bool perChannel) {
  Value g = arith::ConstantIndexOp::create(b, l, group);
  if (perChannel)
    return {arith::DivUIOp::create(b, l, t, g), d};
  return {t, arith::DivUIOp::create(b, l, d, g)};
}

/// Value of `code` (i32) with f16 scale and min: q * scale + min, in `type`.
Value kvDecode(OpBuilder &b, Location l, Value code, Value scale, Value min,
               Type type) {
  Type f32 = b.getF32Type();
  Value q = arith::UIToFPOp::create(b, l, f32, code);
  Value v = arith::AddFOp::create(
      b, l,
      arith::MulFOp::create(b, l, q, arith::ExtFOp::create(b, l, f32, scale)),
      arith::ExtFOp::create(b, l, f32, min));
  if (type == f32)
    return v;
  return type.getIntOrFloatBitWidth() > 32
             ? (Value)arith::ExtFOp::create(b, l, type, v)
             : (Value)arith::TruncFOp::create(b, l, type, v);
}

/// Decodes a quantized cache tensor element by element: the byte holding
/// code (t, d), its bits, and the group's scale and min.
struct LowerKVDequantize : OpRewritePattern<KVDequantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(KVDequantizeOp op,
                                PatternRewriter &b) const override {
    Location l = op.getLoc();
    auto rt = cast<RankedTensorType>(op.getType());
    int64_t bits = op.getBits(), group = op.getGroupSize(),
            perByte = op.getCodesPerByte();
    bool perChannel = op.getPerChannel();
    SmallVector<OpFoldResult> sizes = mixedSizes(b, l, op.getCodes());
    sizes[3] = b.getIndexAttr(rt.getDimSize(3));
    Value init = tensor::EmptyOp::create(b, l, sizes, rt.getElementType());
    Value codes = op.getCodes(), scales = op.getScales(), mins = op.getMins();
    Value out =
        linalg::GenericOp::create(
            b, l, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
            SmallVector<AffineMap>{b.getMultiDimIdentityMap(4)},
            SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location nl, ValueRange) {
              SmallVector<Value> i;
              for (unsigned d = 0; d < 4; ++d)
                i.push_back(linalg::IndexOp::create(nb, nl, d));
              auto idx = [&](int64_t v) {
                return arith::ConstantIndexOp::create(nb, nl, v);
              };
              Value byteAt = arith::DivUIOp::create(nb, nl, i[3], idx(perByte));
              Value byte = arith::ExtUIOp::create(
                  nb, nl, nb.getI32Type(),
                  tensor::ExtractOp::create(nb, nl, codes,
                                            ValueRange{i[0], i[1], i[2], byteAt}));
              Value shift = arith::IndexCastOp::create(
                  nb, nl, nb.getI32Type(),
                  arith::MulIOp::create(
                      nb, nl, arith::RemUIOp::create(nb, nl, i[3], idx(perByte)),
                      idx(bits)));
              Value code = arith::AndIOp::create(
                  nb, nl, arith::ShRUIOp::create(nb, nl, byte, shift),
                  arith::ConstantIntOp::create(nb, nl, (1 << bits) - 1, 32));
              auto [gt, gd] = kvGroupIndex(nb, nl, i[2], i[3], group, perChannel);
              SmallVector<Value> at = {i[0], i[1], gt, gd};
              Value s = tensor::ExtractOp::create(nb, nl, scales, at);
              Value m = tensor::ExtractOp::create(nb, nl, mins, at);
              linalg::YieldOp::create(
                  nb, nl, kvDecode(nb, nl, code, s, m, rt.getElementType()));
            })
            ->getResult(0);
    if (out.getType() != op.getType())
      out = tensor::CastOp::create(b, l, op.getType(), out);
    b.replaceOp(op, out);
    return success();
  }
};

/// Quantizes the next cache in three generics: each group's min and max
/// (a reduction over the group's tokens or channels), the f16 scales and
/// mins (the past's for frozen groups), then the packed codes (the past's
/// bytes for frozen tokens).
struct LowerKVQuantize : OpRewritePattern<KVQuantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(KVQuantizeOp op,
                                PatternRewriter &b) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Value x = op.getInput();
    int64_t bits = op.getBits(), group = op.getGroupSize(),
            perByte = op.getCodesPerByte(), levels = (1 << bits) - 1;
    bool perChannel = op.getPerChannel();
    Type f32 = b.getF32Type(), f16 = b.getF16Type(), i32 = b.getI32Type();
    Value pastLen = tensor::DimOp::create(b, l, op.getPastCodes(), 2);
    Value groupC = arith::ConstantIndexOp::create(b, l, group);
    // Groups (and tokens) below these limits keep the past's rounding.
    Value frozenGroups = perChannel
                             ? (Value)arith::DivUIOp::create(b, l, pastLen, groupC)
                             : pastLen;
    Value frozenTokens = perChannel
                             ? (Value)arith::MulIOp::create(b, l, frozenGroups, groupC)
                             : pastLen;
    SmallVector<OpFoldResult> xs = mixedSizes(b, l, x);
    Value tokens = getValueOrCreateConstantIndexOp(b, l, xs[2]);
    // Shapes come from the input (the op's own results are being replaced).
    int64_t headDim = typeOf(x).getDimSize(3);
    SmallVector<OpFoldResult> gs(xs), cs(xs);
    cs[3] = b.getIndexAttr(headDim / perByte);
    if (perChannel) {
      AffineExpr t;
      bindDims(ctx, t);
      gs[2] = affine::makeComposedFoldedAffineApply(
          b, l, t.ceilDiv(group), ArrayRef<OpFoldResult>{xs[2]});
    } else {
      gs[3] = b.getIndexAttr(headDim / group);
    }
    auto par = utils::IteratorType::parallel, red = utils::IteratorType::reduction;

    // 1. min and max of every group, over a (B, H, G0, G1, group) space.
    Value dummy = tensor::EmptyOp::create(b, l, ArrayRef<int64_t>{group}, f32);
    auto filled = [&](double v) {
      Value c = scalarConstant(b, l, f32, v);
      Value e = tensor::EmptyOp::create(b, l, gs, f32);
      return linalg::FillOp::create(b, l, c, e).getResult(0);
    };
    AffineExpr d0, d1, d2, d3, d4;
    bindDims(ctx, d0, d1, d2, d3, d4);
    AffineMap groupMap = AffineMap::get(5, 0, {d0, d1, d2, d3}, ctx);
    Value lo0 = filled(INFINITY), hi0 = filled(-INFINITY);
    auto ranges = linalg::GenericOp::create(
        b, l, TypeRange{lo0.getType(), hi0.getType()}, ValueRange{dummy},
        ValueRange{lo0, hi0},
        SmallVector<AffineMap>{AffineMap::get(5, 0, {d4}, ctx), groupMap,
                               groupMap},
        SmallVector<utils::IteratorType>{par, par, par, par, red},
        [&](OpBuilder &nb, Location nl, ValueRange a) {
          SmallVector<Value> i;
          for (unsigned d = 0; d < 5; ++d)
            i.push_back(linalg::IndexOp::create(nb, nl, d));
          Value member = arith::AddIOp::create(
              nb, nl,
              arith::MulIOp::create(nb, nl, i[perChannel ? 2 : 3],
                                    arith::ConstantIndexOp::create(nb, nl, group)),
              i[4]);
          SmallVector<Value> at = {i[0], i[1], i[2], i[3]};
          if (perChannel) {
            // The last group may be short: repeating its last token leaves
            // the min and max as they are.
            Value last = arith::SubIOp::create(
                nb, nl, tokens, arith::ConstantIndexOp::create(nb, nl, 1));
            at[2] = arith::MinUIOp::create(nb, nl, member, last);
          } else {
            at[3] = member;
          }
          yieldRange(nb, nl, tensor::ExtractOp::create(nb, nl, x, at), a[1],
                     a[2]);
        });
    Value lo = ranges.getResult(0), hi = ranges.getResult(1);

    // 2. f16 scales and mins; frozen groups copy the past's.
    Value pastScales = op.getPastScales(), pastMins = op.getPastMins();
    Value sInit = tensor::EmptyOp::create(b, l, gs, f16);
    auto params = linalg::GenericOp::create(
        b, l, TypeRange{sInit.getType(), sInit.getType()}, ValueRange{lo, hi},
        ValueRange{sInit, sInit},
        SmallVector<AffineMap>(4, b.getMultiDimIdentityMap(4)),
        SmallVector<utils::IteratorType>(4, par),
        [&](OpBuilder &nb, Location nl, ValueRange a) {
          SmallVector<Value> i;
          for (unsigned d = 0; d < 4; ++d)
            i.push_back(linalg::IndexOp::create(nb, nl, d));
          Value frozen = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                               i[2], frozenGroups);
          auto ifOp = scf::IfOp::create(
              nb, nl, frozen,
              [&](OpBuilder &tb, Location tl) {
                Value s = tensor::ExtractOp::create(tb, tl, pastScales, i);
                Value m = tensor::ExtractOp::create(tb, tl, pastMins, i);
                scf::YieldOp::create(tb, tl, ValueRange{s, m});
              },
              [&](OpBuilder &eb, Location el) {
                Value range = arith::SubFOp::create(eb, el, a[1], a[0]);
                Value s = arith::TruncFOp::create(
                    eb, el, f16,
                    arith::DivFOp::create(
                        eb, el, range,
                        scalarConstant(eb, el, f32, static_cast<double>(levels))));
                Value m = arith::TruncFOp::create(eb, el, f16, a[0]);
                scf::YieldOp::create(eb, el, ValueRange{s, m});
              });
          linalg::YieldOp::create(nb, nl, ifOp.getResults());
        });
    Value scales = params.getResult(0), mins = params.getResult(1);

    // 3. Packed codes; frozen tokens copy the past's bytes.
    Value cInit = tensor::EmptyOp::create(b, l, cs, b.getI8Type());
    Value pastCodes = op.getPastCodes();
    Value codes =
        linalg::GenericOp::create(
            b, l, TypeRange{cInit.getType()}, ValueRange{}, ValueRange{cInit},
            SmallVector<AffineMap>{b.getMultiDimIdentityMap(4)},
            SmallVector<utils::IteratorType>(4, par),
            [&](OpBuilder &nb, Location nl, ValueRange) {
              SmallVector<Value> i;
              for (unsigned d = 0; d < 4; ++d)
                i.push_back(linalg::IndexOp::create(nb, nl, d));
              Value frozen = arith::CmpIOp::create(
                  nb, nl, arith::CmpIPredicate::ult, i[2], frozenTokens);
              auto ifOp = scf::IfOp::create(
                  nb, nl, frozen,
                  [&](OpBuilder &tb, Location tl) {
                    scf::YieldOp::create(
                        tb, tl,
                        tensor::ExtractOp::create(tb, tl, pastCodes, i).getResult());
                  },
                  [&](OpBuilder &eb, Location el) {
                    Value word = arith::ConstantIntOp::create(eb, el, 0, 32);
                    Value zero = scalarConstant(eb, el, f32, 0.0);
                    Value top = scalarConstant(eb, el, f32, static_cast<double>(levels));
                    for (int64_t c = 0; c < perByte; ++c) {
                      Value d = arith::AddIOp::create(
                          eb, el,
                          arith::MulIOp::create(
                              eb, el, i[3],
                              arith::ConstantIndexOp::create(eb, el, perByte)),
                          arith::ConstantIndexOp::create(eb, el, c));
                      Value v = tensor::ExtractOp::create(
                          eb, el, x, ValueRange{i[0], i[1], i[2], d});
                      if (v.getType() != f32)
                        v = arith::ExtFOp::create(eb, el, f32, v);
                      auto [gt, gd] = kvGroupIndex(eb, el, i[2], d, group, perChannel);
                      SmallVector<Value> at = {i[0], i[1], gt, gd};
                      Value s = arith::ExtFOp::create(
                          eb, el, f32, tensor::ExtractOp::create(eb, el, scales, at).getResult());
                      Value m = arith::ExtFOp::create(
                          eb, el, f32, tensor::ExtractOp::create(eb, el, mins, at).getResult());
                      Value q = math::RoundEvenOp::create(
                          eb, el,
                          arith::DivFOp::create(
                              eb, el, arith::SubFOp::create(eb, el, v, m), s));
                      q = arith::MinimumFOp::create(
                          eb, el, arith::MaximumFOp::create(eb, el, q, zero), top);
                      // A zero scale (a constant group) gives NaN: code 0.
                      Value isNan = arith::CmpFOp::create(
                          eb, el, arith::CmpFPredicate::UNO, q, q);
                      q = arith::SelectOp::create(eb, el, isNan, zero, q);
                      Value code = arith::FPToUIOp::create(eb, el, i32, q);
                      if (c)
                        code = arith::ShLIOp::create(
                            eb, el, code,
                            arith::ConstantIntOp::create(eb, el, c * bits, 32));
                      word = arith::OrIOp::create(eb, el, word, code);
                    }
                    scf::YieldOp::create(
                        eb, el,
                        arith::TruncIOp::create(eb, el, eb.getI8Type(), word)
                            .getResult());
                  });
              linalg::YieldOp::create(nb, nl, ifOp.getResult(0));
            })
            ->getResult(0);
    SmallVector<Value> results = {codes, scales, mins};
    for (auto [i, r] : llvm::enumerate(results))
      if (r.getType() != op->getResult(i).getType())
        results[i] = tensor::CastOp::create(b, l, op->getResult(i).getType(), r);
    b.replaceOp(op, results);
    return success();
  }
};

} // namespace

void mlir::qt::populateQTKVCacheToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerKVDequantize, LowerKVQuantize>(patterns.getContext());
}
