//===- Matmul.cpp - quantized matmul, dequantize, embedding -----------------===//
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

} // namespace

void mlir::qt::populateQTMatmulToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerQuantizedMatmul, LowerDequantize, LowerEmbedding>(patterns.getContext());
}
