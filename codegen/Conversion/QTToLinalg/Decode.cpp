//===- Decode.cpp - Decoding packed codes inside loop bodies ----------------===//
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

/// Decodes code (row `n`, column `k`) of `weights` per `format` into a value
/// of `type`: unpack (two bytes read when a code may straddle), sign-extend
/// or not, subtract the zero point, multiply by the scale.
Value mlir::qt::detail::decodeWeight(OpBuilder &b, Location l, Value weights, Value n, Value k,
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
Value mlir::qt::detail::scaleCode(OpBuilder &b, Location l, Value code, PackedAttr format,
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
  auto toType = [&](Value s) -> Value {
    if (s.getType() == type)
      return s;
    unsigned from = s.getType().getIntOrFloatBitWidth(),
             to = type.getIntOrFloatBitWidth();
    // f16 <-> bf16 (equal widths) go through f32: truncf must narrow.
    if (from == to)
      s = arith::ExtFOp::create(b, l, b.getF32Type(), s);
    return to > s.getType().getIntOrFloatBitWidth()
               ? (Value)arith::ExtFOp::create(b, l, type, s)
               : (Value)arith::TruncFOp::create(b, l, type, s);
  };
  Value w = arith::SIToFPOp::create(b, l, type, code);
  if (format.getHasMin())
    // code * scale + min, rounded after each step (as llama.cpp's
    // reference dequantizers and gguf-py compute it).
    return arith::AddFOp::create(
        b, l, arith::MulFOp::create(b, l, w, toType(scale)),
        toType(zeroPoint));
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
  Value s = toType(scale);
  return arith::MulFOp::create(b, l, arith::SubFOp::create(b, l, w, zp), s);
}

/// Maps of the group-indexed operands: (n, k) -> (n, k floordiv group) in
/// the iteration space `dims` with n at `nDim` and k at `kDim`.
AffineMap mlir::qt::detail::groupMap(MLIRContext *ctx, unsigned dims, unsigned nDim, unsigned kDim,
                   int64_t group) {
  return AffineMap::get(
      dims, 0,
      {getAffineDimExpr(nDim, ctx), getAffineDimExpr(kDim, ctx).floorDiv(group)},
      ctx);
}

/// The body of a running range: yields (min(lo, v), max(hi, v)) with `v`
/// widened to f32.
void mlir::qt::detail::yieldRange(OpBuilder &b, Location l, Value v, Value lo, Value hi) {
  Type f32 = b.getF32Type();
  if (v.getType() != f32)
    v = arith::ExtFOp::create(b, l, f32, v);
  linalg::YieldOp::create(b, l,
                          ValueRange{arith::MinimumFOp::create(b, l, lo, v),
                                     arith::MaximumFOp::create(b, l, hi, v)});
}
