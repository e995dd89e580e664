//===- QTToLinalg.cpp - qt ops -> linalg on tensors -----------------------===//
//
// The first backend stage. Quantized weights are decoded inside the
// contraction's body, code by code, so the packed bytes are the only copy of
// a weight matrix the generated code reads.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/QTToLinalg.h"
#include "passes/Passes.h"

#include "dialects/QT/IR/QTOps.h"
#include "frontends/common/TensorBuilders.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <numeric>

namespace mlir::qt {
#define GEN_PASS_DEF_CONVERTQTTOLINALG
#include "passes/Passes.h.inc"
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

namespace {

/// Decodes code (row `n`, column `k`) of `weights` per `format` into a value
/// of `type`: unpack (two bytes read when a code may straddle), sign-extend
/// or not, subtract the zero point, multiply by the scale.
Value scaleCode(OpBuilder &b, Location l, Value code, PackedAttr format,
                Value scale, Value zeroPoint, Type type);

Value decodeWeight(OpBuilder &b, Location l, Value weights, Value n, Value k,
                   PackedAttr format, Value scale, Value zeroPoint, Type type) {
  unsigned bits = format.getBits();
  Type i32 = b.getI32Type();
  auto idx = [&](int64_t v) { return arith::ConstantIndexOp::create(b, l, v); };
  Value bitOffset = arith::MulIOp::create(b, l, k, idx(bits));
  Value byte = arith::DivUIOp::create(b, l, bitOffset, idx(8));
  Value shift = arith::RemUIOp::create(b, l, bitOffset, idx(8));
  auto load = [&](Value at) -> Value {
    Value v = tensor::ExtractOp::create(b, l, weights, ValueRange{n, at});
    return arith::ExtUIOp::create(b, l, i32, v);
  };
  Value word = load(byte);
  if (8 % bits != 0) {
    // Codes of 3, 5, 6 or 7 bits may continue into the next byte (read only
    // when they do, so the row's last byte is never passed).
    Value rowBytes = tensor::DimOp::create(b, l, weights, 1);
    Value next = arith::AddIOp::create(b, l, byte, idx(1));
    Value inRow = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, next,
                                        rowBytes);
    Value safe = arith::SelectOp::create(b, l, inRow, next, byte);
    Value hi = arith::ShLIOp::create(
        b, l, load(safe), arith::ConstantIntOp::create(b, l, 8, 32));
    Value zero = arith::ConstantIntOp::create(b, l, 0, 32);
    word = arith::OrIOp::create(b, l, word,
                                arith::SelectOp::create(b, l, inRow, hi, zero));
  }
  Value shift32 = arith::IndexCastOp::create(b, l, i32, shift);
  Value code = arith::AndIOp::create(
      b, l, arith::ShRUIOp::create(b, l, word, shift32),
      arith::ConstantIntOp::create(b, l, (1 << bits) - 1, 32));
  return scaleCode(b, l, code, format, scale, zeroPoint, type);
}

/// Turns an unpacked code (i32, `bits` wide, not yet sign-extended) into a
/// value of `type`: sign-extend or not, subtract the zero point, scale.
Value scaleCode(OpBuilder &b, Location l, Value code, PackedAttr format,
                Value scale, Value zeroPoint, Type type) {
  unsigned bits = format.getBits();
  Type i32 = b.getI32Type();
  if (format.hasLevels()) {
    // levels[code] * scale in f32, rounded once to `type` (as onnxruntime's
    // MatMulBnb4 does): the (unsigned) code indexes the format's grid.
    Type f32 = b.getF32Type();
    ArrayRef<float> levels = format.getLevels().asArrayRef();
    auto tableType =
        RankedTensorType::get({static_cast<int64_t>(levels.size())}, f32);
    Value table = arith::ConstantOp::create(
        b, l, DenseElementsAttr::get(tableType, levels));
    Value at = arith::IndexCastUIOp::create(b, l, b.getIndexType(), code);
    Value level = tensor::ExtractOp::create(b, l, table, ValueRange{at});
    Value s = scale.getType() == f32
                  ? scale
                  : (Value)arith::ExtFOp::create(b, l, f32, scale);
    Value w = arith::MulFOp::create(b, l, level, s);
    return type == f32 ? w : (Value)arith::TruncFOp::create(b, l, type, w);
  }
  if (format.isSignedCodes()) {
    Value up = arith::ConstantIntOp::create(b, l, 32 - bits, 32);
    code = arith::ShRSIOp::create(b, l, arith::ShLIOp::create(b, l, code, up),
                                  up);
  }
  Value w = arith::SIToFPOp::create(b, l, type, code);
  Value zp;
  if (zeroPoint) {
    if (isa<FloatType>(zeroPoint.getType())) {
      zp = zeroPoint.getType() == type
               ? zeroPoint
               : (Value)arith::ExtFOp::create(b, l, type, zeroPoint);
    } else {
      Value z = format.isSignedCodes()
                    ? (Value)arith::ExtSIOp::create(b, l, i32, zeroPoint)
                    : (Value)arith::ExtUIOp::create(b, l, i32, zeroPoint);
      zp = arith::SIToFPOp::create(b, l, type, z);
    }
  } else {
    zp = scalarConstant(b, l, type,
                        static_cast<double>(format.getImplicitZeroPoint()));
  }
  Value s = scale;
  if (s.getType() != type) {
    unsigned from = s.getType().getIntOrFloatBitWidth(),
             to = type.getIntOrFloatBitWidth();
    // f16 <-> bf16 (equal widths) go through f32: truncf must narrow.
    if (from == to)
      s = arith::ExtFOp::create(b, l, b.getF32Type(), s);
    s = to > s.getType().getIntOrFloatBitWidth()
            ? (Value)arith::ExtFOp::create(b, l, type, s)
            : (Value)arith::TruncFOp::create(b, l, type, s);
  }
  return arith::MulFOp::create(b, l, arith::SubFOp::create(b, l, w, zp), s);
}

/// Maps of the group-indexed operands: (n, k) -> (n, k floordiv group) in
/// the iteration space `dims` with n at `nDim` and k at `kDim`.
AffineMap groupMap(MLIRContext *ctx, unsigned dims, unsigned nDim, unsigned kDim,
                   int64_t group) {
  return AffineMap::get(
      dims, 0,
      {getAffineDimExpr(nDim, ctx), getAffineDimExpr(kDim, ctx).floorDiv(group)},
      ctx);
}

struct LowerQuantizedMatmul : OpRewritePattern<QuantizedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizedMatmulOp op,
                                PatternRewriter &b) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = op.getContext();
    PackedAttr format = op.getFormat();
    Value x = collapseLeading(b, l, op.getInput(), 1);
    Type elem = typeOf(x).getElementType();
    int64_t n = op.getPackedRowCount();
    SmallVector<OpFoldResult> xs = mixedSizes(b, l, x);
    Value init = zeros(b, l, {xs[0], b.getIndexAttr(n)}, elem);
    int64_t group = format.getGroupSize();
    int64_t kSize = typeOf(x).getDimSize(1);
    unsigned bits = format.getBits();
    int64_t perByte = 8 % bits == 0 ? 8 / bits : 0;
    if (perByte && !ShapedType::isDynamic(kSize) && kSize % group == 0 &&
        group % perByte == 0) {
      // Iterate (m, n, group, byte in group) and decode every code of the
      // byte in one body: the byte is one contiguous load, scale and zero
      // point are invariant in the innermost loop, and the activations are
      // read as `perByte` interleaved streams, a form LLVM vectorizes.
      int64_t bytesPerGroup = group / perByte;
      auto xt = cast<RankedTensorType>(x.getType());
      auto grouped = RankedTensorType::get(
          {xt.getDimSize(0), kSize / group, bytesPerGroup, perByte}, elem);
      Value xg = tensor::ExpandShapeOp::create(
          b, l, grouped, x, SmallVector<ReassociationIndices>{{0}, {1, 2, 3}},
          SmallVector<OpFoldResult>{xs[0], b.getIndexAttr(kSize / group),
                                    b.getIndexAttr(bytesPerGroup),
                                    b.getIndexAttr(perByte)});
      AffineExpr m, nn, g, j;
      bindDims(ctx, m, nn, g, j);
      SmallVector<Value> ins;
      SmallVector<AffineMap> maps;
      for (int64_t c = 0; c < perByte; ++c) {
        ins.push_back(xg);
        maps.push_back(AffineMap::get(
            4, 0, {m, g, j, getAffineConstantExpr(c, ctx)}, ctx));
      }
      ins.push_back(op.getScales());
      maps.push_back(AffineMap::get(4, 0, {nn, g}, ctx));
      bool hasZp = static_cast<bool>(op.getZeroPoints());
      if (hasZp) {
        ins.push_back(op.getZeroPoints());
        maps.push_back(AffineMap::get(4, 0, {nn, g}, ctx));
      }
      maps.push_back(AffineMap::get(4, 0, {m, nn}, ctx));
      SmallVector<utils::IteratorType> iters = {
          utils::IteratorType::parallel, utils::IteratorType::parallel,
          utils::IteratorType::reduction, utils::IteratorType::reduction};
      Value weights = op.getWeights();
      Value y =
          linalg::GenericOp::create(
              b, l, TypeRange{init.getType()}, ins, ValueRange{init}, maps, iters,
              [&](OpBuilder &nb, Location nl, ValueRange a) {
                Type i32 = nb.getI32Type();
                Value ni = linalg::IndexOp::create(nb, nl, 1);
                Value gi = linalg::IndexOp::create(nb, nl, 2);
                Value ji = linalg::IndexOp::create(nb, nl, 3);
                Value at = arith::AddIOp::create(
                    nb, nl,
                    arith::MulIOp::create(
                        nb, nl, gi,
                        arith::ConstantIndexOp::create(nb, nl, bytesPerGroup)),
                    ji);
                Value byte = arith::ExtUIOp::create(
                    nb, nl, i32,
                    tensor::ExtractOp::create(nb, nl, weights, ValueRange{ni, at}));
                Value scale = a[perByte];
                Value zp = hasZp ? a[perByte + 1] : Value();
                Value acc = a.back();
                for (int64_t c = 0; c < perByte; ++c) {
                  Value code = byte;
                  if (c)
                    code = arith::ShRUIOp::create(
                        nb, nl, code,
                        arith::ConstantIntOp::create(nb, nl, c * bits, 32));
                  if (bits < 8)
                    code = arith::AndIOp::create(
                        nb, nl, code,
                        arith::ConstantIntOp::create(nb, nl, (1 << bits) - 1, 32));
                  Value w = scaleCode(nb, nl, code, format, scale, zp, elem);
                  acc = arith::AddFOp::create(
                      nb, nl, acc, arith::MulFOp::create(nb, nl, a[c], w));
                }
                linalg::YieldOp::create(nb, nl, acc);
              })
              ->getResult(0);
      return finish(op, b, y);
    }
    AffineExpr m, nn, k;
    bindDims(ctx, m, nn, k);
    SmallVector<Value> ins = {x, op.getScales()};
    SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {m, k}, ctx),
                                   groupMap(ctx, 3, 1, 2, format.getGroupSize())};
    if (op.getZeroPoints()) {
      ins.push_back(op.getZeroPoints());
      maps.push_back(groupMap(ctx, 3, 1, 2, format.getGroupSize()));
    }
    maps.push_back(AffineMap::get(3, 0, {m, nn}, ctx));
    SmallVector<utils::IteratorType> iters = {utils::IteratorType::parallel,
                                              utils::IteratorType::parallel,
                                              utils::IteratorType::reduction};
    Value weights = op.getWeights();
    bool hasZp = static_cast<bool>(op.getZeroPoints());
    Value y =
        linalg::GenericOp::create(
            b, l, TypeRange{init.getType()}, ins, ValueRange{init}, maps, iters,
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              Value ni = linalg::IndexOp::create(nb, nl, 1);
              Value ki = linalg::IndexOp::create(nb, nl, 2);
              Value w = decodeWeight(nb, nl, weights, ni, ki, format, a[1],
                                     hasZp ? a[2] : Value(), elem);
              Value acc = a.back();
              Value prod = arith::MulFOp::create(nb, nl, a[0], w);
              linalg::YieldOp::create(
                  nb, nl, arith::AddFOp::create(nb, nl, acc, prod).getResult());
            })
            ->getResult(0);
    return finish(op, b, y);
  }

  static LogicalResult finish(QuantizedMatmulOp op, PatternRewriter &b, Value y) {
    b.replaceOp(op, finishQuantizedMatmul(b, op, y));
    return success();
  }
};

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

struct LowerDequantize : OpRewritePattern<DequantizeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DequantizeOp op,
                                PatternRewriter &b) const override {
    Location l = op.getLoc();
    MLIRContext *ctx = op.getContext();
    PackedAttr format = op.getFormat();
    auto rt = cast<RankedTensorType>(op.getType());
    Value weights = op.getWeights();
    bool hasZp = static_cast<bool>(op.getZeroPoints());
    int64_t bits = format.getBits(), group = format.getGroupSize();
    // Codes come in words of `wordBytes` bytes holding `perWord` codes
    // (1 byte for 2/4/8 bits, 3 bytes of 8 codes for 3 bits, ...).
    int64_t wordBits = std::lcm(bits, int64_t(8));
    int64_t wordBytes = wordBits / 8, perWord = wordBits / bits;
    int64_t rows = rt.getDimSize(0), cols = rt.getDimSize(1);
    auto wt = cast<RankedTensorType>(weights.getType());
    if (rt.hasStaticShape() && cols % perWord == 0 && group % perWord == 0 &&
        wt.getDimSize(1) == cols / perWord * wordBytes) {
      // Iterate (n, word, code in word): the word's bytes are plain indexed
      // inputs (no address arithmetic per code, a form LLVM vectorizes) and
      // the result is written as [N, K / perWord, perWord].
      AffineExpr n, word, c;
      bindDims(ctx, n, word, c);
      int64_t words = cols / perWord;
      Value wv = weights;
      SmallVector<Value> ins;
      SmallVector<AffineMap> maps;
      if (wordBytes > 1) {
        wv = tensor::ExpandShapeOp::create(
            b, l, RankedTensorType::get({rows, words, wordBytes}, wt.getElementType()),
            weights, SmallVector<ReassociationIndices>{{0}, {1, 2}});
        for (int64_t j = 0; j < wordBytes; ++j) {
          ins.push_back(wv);
          maps.push_back(
              AffineMap::get(3, 0, {n, word, getAffineConstantExpr(j, ctx)}, ctx));
        }
      } else {
        ins.push_back(wv);
        maps.push_back(AffineMap::get(3, 0, {n, word}, ctx));
      }
      AffineMap groupOf =
          AffineMap::get(3, 0, {n, word.floorDiv(group / perWord)}, ctx);
      ins.push_back(op.getScales());
      maps.push_back(groupOf);
      if (hasZp) {
        ins.push_back(op.getZeroPoints());
        maps.push_back(groupOf);
      }
      maps.push_back(b.getMultiDimIdentityMap(3));
      Value init = tensor::EmptyOp::create(
          b, l, ArrayRef<int64_t>{rows, words, perWord}, rt.getElementType());
      Value y =
          linalg::GenericOp::create(
              b, l, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
              SmallVector<utils::IteratorType>(3, utils::IteratorType::parallel),
              [&](OpBuilder &nb, Location nl, ValueRange a) {
                unsigned width = wordBits > 32 ? 64 : 32;
                Type wordType = nb.getIntegerType(width);
                Value w = arith::ExtUIOp::create(nb, nl, wordType, a[0]);
                for (int64_t j = 1; j < wordBytes; ++j)
                  w = arith::OrIOp::create(
                      nb, nl, w,
                      arith::ShLIOp::create(
                          nb, nl, arith::ExtUIOp::create(nb, nl, wordType, a[j]),
                          arith::ConstantIntOp::create(nb, nl, 8 * j, width)));
                if (bits < 8) {
                  Value ci = arith::IndexCastOp::create(
                      nb, nl, wordType, linalg::IndexOp::create(nb, nl, 2));
                  Value shift = arith::MulIOp::create(
                      nb, nl, ci, arith::ConstantIntOp::create(nb, nl, bits, width));
                  w = arith::AndIOp::create(
                      nb, nl, arith::ShRUIOp::create(nb, nl, w, shift),
                      arith::ConstantIntOp::create(nb, nl, (1 << bits) - 1, width));
                }
                Value code = width == 32 ? w
                                         : (Value)arith::TruncIOp::create(
                                               nb, nl, nb.getI32Type(), w);
                Value scale = a[wordBytes];
                Value zp = hasZp ? a[wordBytes + 1] : Value();
                linalg::YieldOp::create(
                    nb, nl, scaleCode(nb, nl, code, format, scale, zp,
                                      rt.getElementType()));
              })
              ->getResult(0);
      y = tensor::CollapseShapeOp::create(
          b, l, rt, y, SmallVector<ReassociationIndices>{{0}, {1, 2}});
      b.replaceOp(op, y);
      return success();
    }
    Value init = tensor::EmptyOp::create(b, l, rt.getShape(), rt.getElementType());
    SmallVector<Value> ins = {op.getScales()};
    SmallVector<AffineMap> maps = {groupMap(ctx, 2, 0, 1, format.getGroupSize())};
    if (op.getZeroPoints()) {
      ins.push_back(op.getZeroPoints());
      maps.push_back(groupMap(ctx, 2, 0, 1, format.getGroupSize()));
    }
    maps.push_back(b.getMultiDimIdentityMap(2));
    SmallVector<utils::IteratorType> iters(2, utils::IteratorType::parallel);
    Value y = linalg::GenericOp::create(
                  b, l, TypeRange{rt}, ins, ValueRange{init}, maps, iters,
                  [&](OpBuilder &nb, Location nl, ValueRange a) {
                    Value ni = linalg::IndexOp::create(nb, nl, 0);
                    Value ki = linalg::IndexOp::create(nb, nl, 1);
                    linalg::YieldOp::create(
                        nb, nl,
                        decodeWeight(nb, nl, weights, ni, ki, format, a[0],
                                     hasZp ? a[1] : Value(),
                                     rt.getElementType()));
                  })
                  ->getResult(0);
    b.replaceOp(op, y);
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
    Value logits =
        linalg::GenericOp::create(
            b, l, TypeRange{sInit.getType()}, ins,
            ValueRange{tensor::EmptyOp::create(b, l, mixedSizes(b, l, scores), elem)},
            maps, SmallVector<utils::IteratorType>(4, par),
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              Value x = arith::MulFOp::create(nb, nl, a[0], scale);
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

/// Embedding: result[i..., d] = table[indices[i...], d], decoding packed rows
/// code by code.
struct LowerEmbedding : OpRewritePattern<EmbeddingOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EmbeddingOp op,
                                PatternRewriter &b) const override {
    Location l = op.getLoc();
    auto rt = cast<RankedTensorType>(op.getType());
    int64_t r = rt.getRank();
    SmallVector<OpFoldResult> sizes = mixedSizes(b, l, op.getIndices());
    sizes.push_back(b.getIndexAttr(rt.getDimSize(r - 1)));
    Value init = tensor::EmptyOp::create(b, l, sizes, rt.getElementType());
    SmallVector<AffineExpr> idxExprs;
    for (int64_t i = 0; i + 1 < r; ++i)
      idxExprs.push_back(b.getAffineDimExpr(i));
    SmallVector<AffineMap> maps = {
        AffineMap::get(r, 0, idxExprs, b.getContext()),
        b.getMultiDimIdentityMap(r)};
    PackedAttr format = op.getFormatAttr();
    Value table = op.getTable(), scales = op.getScales(), zps = op.getZeroPoints();
    Value out =
        linalg::GenericOp::create(
            b, l, TypeRange{init.getType()}, ValueRange{op.getIndices()},
            ValueRange{init}, maps,
            SmallVector<utils::IteratorType>(r, utils::IteratorType::parallel),
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              Value row = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), a[0]);
              // Out-of-range ids are clamped: never a read outside the table.
              row = arith::MaxSIOp::create(
                  nb, nl, row, arith::ConstantIndexOp::create(nb, nl, 0));
              row = arith::MinSIOp::create(
                  nb, nl, row,
                  arith::SubIOp::create(nb, nl,
                                        tensor::DimOp::create(nb, nl, table, 0),
                                        arith::ConstantIndexOp::create(nb, nl, 1)));
              Value col = linalg::IndexOp::create(nb, nl, r - 1);
              Value v;
              if (!format) {
                v = tensor::ExtractOp::create(nb, nl, table, ValueRange{row, col});
              } else {
                Value g = arith::DivUIOp::create(
                    nb, nl, col,
                    arith::ConstantIndexOp::create(nb, nl, format.getGroupSize()));
                Value s = tensor::ExtractOp::create(nb, nl, scales, ValueRange{row, g});
                Value z = zps ? (Value)tensor::ExtractOp::create(nb, nl, zps,
                                                                 ValueRange{row, g})
                              : Value();
                v = decodeWeight(nb, nl, table, row, col, format, s, z,
                                 rt.getElementType());
              }
              linalg::YieldOp::create(nb, nl, v);
            })
            ->getResult(0);
    if (out.getType() != op.getType())
      out = tensor::CastOp::create(b, l, op.getType(), out);
    b.replaceOp(op, out);
    return success();
  }
};

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

/// The body of a running range: yields (min(lo, v), max(hi, v)) with `v`
/// widened to f32.
static void yieldRange(OpBuilder &b, Location l, Value v, Value lo, Value hi) {
  Type f32 = b.getF32Type();
  if (v.getType() != f32)
    v = arith::ExtFOp::create(b, l, f32, v);
  linalg::YieldOp::create(b, l,
                          ValueRange{arith::MinimumFOp::create(b, l, lo, v),
                                     arith::MaximumFOp::create(b, l, hi, v)});
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

struct ConvertQTToLinalgPass
    : qt::impl::ConvertQTToLinalgBase<ConvertQTToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerQuantizedMatmul, LowerDequantize, LowerActivation<GeluOp>,
                 LowerActivation<SiluOp>, LowerNorm<RmsNormOp>,
                 LowerNorm<LayerNormOp>, LowerAttention, LowerRotary,
                 LowerEmbedding, LowerKVDequantize, LowerKVQuantize,
                 LowerDynamicQuantize, DecomposeSoftmax>(&getContext());
    GreedyRewriteConfig config;
    config.setUseTopDownTraversal(true);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      return signalPassFailure();
  }
};

} // namespace
