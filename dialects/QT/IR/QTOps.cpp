//===- QTOps.cpp - qt dialect operations ----------------------------------===//
//
// Verifiers name the operand or attribute at fault and the shape they expect;
// canonicalization patterns drop operands that carry no information.
//
//===----------------------------------------------------------------------===//

#include "dialects/QT/IR/QTOps.h"

#include "mlir/Dialect/CommonFolders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <cstring>
#include <string>

using namespace mlir;
using namespace mlir::qt;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

/// "[4, ?, 8]"
std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::interleave(
      shape,
      [&](int64_t d) {
        s += ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
      },
      [&] { s += ", "; });
  return s + "]";
}

bool dimsMatch(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

bool shapesMatch(ArrayRef<int64_t> actual, ArrayRef<int64_t> expected) {
  if (actual.size() != expected.size())
    return false;
  for (auto [a, e] : llvm::zip_equal(actual, expected))
    if (!dimsMatch(a, e))
      return false;
  return true;
}

bool isRealFloat(Type t) { return t.isF32() || t.isF16() || t.isBF16(); }

RankedTensorType tensorType(Value v) {
  return v ? cast<RankedTensorType>(v.getType()) : RankedTensorType();
}

/// Emits "'<name>' must have shape <expected>, got <actual>" unless the shapes
/// agree (a dynamic dimension matches anything).
LogicalResult checkShape(Operation *op, StringRef name, RankedTensorType type,
                         ArrayRef<int64_t> expected, StringRef why = "") {
  if (shapesMatch(type.getShape(), expected))
    return success();
  auto diag = op->emitOpError() << "'" << name << "' must have shape "
                                << shapeString(expected);
  if (!why.empty())
    diag << " (" << why << ")";
  diag << ", got " << shapeString(type.getShape());
  return diag;
}

LogicalResult checkElementType(Operation *op, StringRef name,
                               RankedTensorType type, Type expected) {
  if (type.getElementType() == expected)
    return success();
  return op->emitOpError() << "'" << name << "' must have element type "
                           << expected << ", got " << type.getElementType();
}

LogicalResult checkFloatTensor(Operation *op, StringRef name,
                               RankedTensorType type, int64_t minRank = 0) {
  if (!isRealFloat(type.getElementType()))
    return op->emitOpError() << "'" << name
                             << "' must have f32, f16 or bf16 elements, got "
                             << type.getElementType();
  if (type.getRank() < minRank)
    return op->emitOpError() << "'" << name << "' must have rank >= "
                             << minRank << ", got " << type.getRank();
  return success();
}

/// Checks the operands that hold a packed `rows` x `rowLength` code matrix.
LogicalResult verifyPackedOperands(Operation *op, PackedAttr format,
                                   int64_t rowLength, StringRef weightsName,
                                   RankedTensorType weights,
                                   RankedTensorType scales,
                                   RankedTensorType zeroPoints) {
  if (weights.getRank() != 2 || !weights.getElementType().isInteger(8))
    return op->emitOpError()
           << "'" << weightsName
           << "' must be a rank-2 tensor of packed i8 bytes, got " << weights;
  if (ShapedType::isDynamic(rowLength))
    return op->emitOpError()
           << "needs a static reduction dimension to read packed '"
           << weightsName << "'";
  int64_t group = format.getGroupSize();
  if (rowLength % group != 0)
    return op->emitOpError()
           << "format group_size " << group
           << " does not divide the reduction dimension " << rowLength;
  int64_t rows = weights.getDimSize(0);
  int64_t rowBytes = format.getPackedRowBytes(rowLength);
  std::string why = std::to_string(rowLength) + " codes of " +
                    std::to_string(format.getBits()) + " bits per row";
  if (failed(checkShape(op, weightsName, weights, {rows, rowBytes}, why)))
    return failure();
  int64_t groups = rowLength / group;
  std::string groupWhy = "one per group of " + std::to_string(group) +
                         " along K = " + std::to_string(rowLength);
  if (!scales)
    return op->emitOpError() << "packed '" << weightsName
                             << "' needs a 'scales' operand";
  if (failed(checkShape(op, "scales", scales, {rows, groups}, groupWhy)) ||
      failed(checkElementType(op, "scales", scales, format.getScaleType())))
    return failure();
  if (format.hasOffsets() && !zeroPoints)
    return op->emitOpError()
           << "format has '" << (format.getHasMin() ? "min" : "zero_point")
           << "' but no 'zero_points' operand is given";
  if (!format.hasOffsets() && zeroPoints)
    return op->emitOpError() << "'zero_points' operand is given but the "
                                "format has no 'zero_point' or 'min'";
  if (zeroPoints) {
    if (failed(checkShape(op, "zero_points", zeroPoints, {rows, groups},
                          groupWhy)))
      return failure();
    Type zpElem = zeroPoints.getElementType();
    if (format.getHasMin() && zpElem != format.getScaleType())
      return op->emitOpError()
             << "the mins in 'zero_points' must have the scale type "
             << format.getScaleType() << ", got " << zpElem;
    if (!zpElem.isInteger(8) && zpElem != format.getScaleType())
      return op->emitOpError()
             << "'zero_points' must hold i8 codes or values of the scale "
                "type "
             << format.getScaleType() << ", got " << zpElem;
  }
  return success();
}

/// Calls `fn` with the raw bits of every element of the constant `value`
/// (a dense literal or a dense_resource blob) until it returns false.
/// Returns false if `value` is not such a constant of integer or float
/// elements, or if `fn` returned false.
bool allConstantElements(Value value,
                         llvm::function_ref<bool(const APInt &)> fn) {
  ElementsAttr attr;
  if (!value || !matchPattern(value, m_Constant(&attr)))
    return false;
  Type elem = attr.getElementType();
  if (!elem.isIntOrFloat())
    return false;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (isa<FloatType>(elem))
      return llvm::all_of(dense.getValues<APFloat>(), [&](const APFloat &v) {
        return fn(v.bitcastToAPInt());
      });
    return llvm::all_of(dense.getValues<APInt>(), fn);
  }
  auto resource = dyn_cast<DenseResourceElementsAttr>(attr);
  AsmResourceBlob *blob =
      resource ? resource.getRawHandle().getBlob() : nullptr;
  if (!blob)
    return false;
  unsigned bits = elem.getIntOrFloatBitWidth();
  if (bits % 8 != 0)
    return false;
  ArrayRef<char> data = blob->getData();
  size_t bytes = bits / 8;
  if (data.size() != bytes * static_cast<size_t>(attr.getNumElements()))
    return false;
  for (size_t offset = 0; offset < data.size(); offset += bytes) {
    uint64_t raw = 0;
    std::memcpy(&raw, data.data() + offset, bytes); // little-endian host
    if (!fn(APInt(bits, raw)))
      return false;
  }
  return true;
}

/// The real value of the raw element bits `raw` of type `elem`.
double elementValue(Type elem, const APInt &raw, bool isSigned) {
  if (auto fp = dyn_cast<FloatType>(elem))
    return APFloat(fp.getFloatSemantics(), raw).convertToDouble();
  return isSigned ? static_cast<double>(raw.getSExtValue())
                  : static_cast<double>(raw.getZExtValue());
}

/// True if `value` is a constant whose elements are all zero.
bool isConstantZero(Value value) {
  if (!value)
    return false;
  Type elem = getElementTypeOrSelf(value.getType());
  return allConstantElements(value, [&](const APInt &raw) {
    return elementValue(elem, raw, /*isSigned=*/true) == 0.0;
  });
}

/// True if `zeroPoints` is a constant equal everywhere to the format's
/// implicit zero point (so the op means the same without it). Integer codes
/// are stored in i8 bytes and read with the format's signedness.
bool isImplicitZeroPoint(Value zeroPoints, PackedAttr format) {
  if (!zeroPoints)
    return false;
  Type elem = getElementTypeOrSelf(zeroPoints.getType());
  double implicit = static_cast<double>(format.getImplicitZeroPoint());
  bool isSigned = format.isSignedCodes();
  return allConstantElements(zeroPoints, [&](const APInt &raw) {
    return elementValue(elem, raw, isSigned) == implicit;
  });
}

/// zero_points(splat of the implicit zero point) -> no zero_points.
template <typename OpTy>
struct DropImplicitZeroPoints : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    PackedAttr format = op.getFormatAttr();
    if (!format || !op.getZeroPoints() ||
        !isImplicitZeroPoint(op.getZeroPoints(), format))
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.getZeroPointsMutable().clear();
      op.setFormatAttr(format.withZeroPoint(false));
    });
    return success();
  }
};

/// bias(all zeros) -> no bias.
template <typename OpTy>
struct DropZeroBias : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    if (!op.getBias() || !isConstantZero(op.getBias()))
      return failure();
    rewriter.modifyOpInPlace(op, [&] { op.getBiasMutable().clear(); });
    return success();
  }
};

} // namespace

//===----------------------------------------------------------------------===//
// QuantizedMatmulOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizedMatmulOp::verify() {
  Operation *op = getOperation();
  RankedTensorType input = tensorType(getInput());
  RankedTensorType result = tensorType(getResult());
  if (failed(checkFloatTensor(op, "input", input, /*minRank=*/1)))
    return failure();
  int64_t k = input.getDimSize(input.getRank() - 1);
  if (failed(verifyPackedOperands(op, getFormat(), k, "weights",
                                  tensorType(getWeights()),
                                  tensorType(getScales()),
                                  tensorType(getZeroPoints()))))
    return failure();
  int64_t n = getPackedRowCount();
  if (getBias()) {
    RankedTensorType bias = tensorType(getBias());
    if (failed(checkShape(op, "bias", bias, {n}, "one per output channel")) ||
        failed(checkElementType(op, "bias", bias, input.getElementType())))
      return failure();
  }
  SmallVector<int64_t> expected(input.getShape());
  expected.back() = n;
  if (failed(checkShape(op, "result", result, expected)) ||
      failed(checkElementType(op, "result", result, input.getElementType())))
    return failure();
  return success();
}

int64_t QuantizedMatmulOp::getPackedRowCount() {
  return tensorType(getWeights()).getDimSize(0);
}

int64_t QuantizedMatmulOp::getPackedRowLength() {
  RankedTensorType input = tensorType(getInput());
  return input.getDimSize(input.getRank() - 1);
}

void QuantizedMatmulOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                    MLIRContext *context) {
  results.add<DropImplicitZeroPoints<QuantizedMatmulOp>,
              DropZeroBias<QuantizedMatmulOp>>(context);
}

//===----------------------------------------------------------------------===//
// DequantizeOp
//===----------------------------------------------------------------------===//

LogicalResult DequantizeOp::verify() {
  Operation *op = getOperation();
  RankedTensorType result = tensorType(getResult());
  if (failed(checkFloatTensor(op, "result", result)))
    return failure();
  if (result.getRank() != 2)
    return emitOpError() << "'result' must be a rank-2 [N, K] tensor, got "
                         << result;
  if (failed(verifyPackedOperands(op, getFormat(), result.getDimSize(1),
                                  "weights", tensorType(getWeights()),
                                  tensorType(getScales()),
                                  tensorType(getZeroPoints()))))
    return failure();
  return checkShape(op, "result", result,
                    {getPackedRowCount(), result.getDimSize(1)});
}

int64_t DequantizeOp::getPackedRowCount() {
  return tensorType(getWeights()).getDimSize(0);
}

int64_t DequantizeOp::getPackedRowLength() {
  return tensorType(getResult()).getDimSize(1);
}

void DequantizeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                               MLIRContext *context) {
  results.add<DropImplicitZeroPoints<DequantizeOp>>(context);
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  Operation *op = getOperation();
  RankedTensorType table = tensorType(getTable());
  RankedTensorType indices = tensorType(getIndices());
  RankedTensorType result = tensorType(getResult());
  if (!isa<IntegerType>(indices.getElementType()) ||
      (indices.getElementTypeBitWidth() != 32 &&
       indices.getElementTypeBitWidth() != 64))
    return emitOpError() << "'indices' must hold i32 or i64 values, got "
                         << indices.getElementType();
  if (failed(checkFloatTensor(op, "result", result, /*minRank=*/1)))
    return failure();
  int64_t rowLength = result.getDimSize(result.getRank() - 1);
  if (PackedAttr format = getFormatAttr()) {
    if (failed(verifyPackedOperands(op, format, rowLength, "table", table,
                                    tensorType(getScales()),
                                    tensorType(getZeroPoints()))))
      return failure();
  } else {
    if (getScales() || getZeroPoints())
      return emitOpError() << "'scales' and 'zero_points' need a packed "
                              "'format' attribute";
    if (failed(checkFloatTensor(op, "table", table)))
      return failure();
    if (table.getRank() != 2)
      return emitOpError() << "'table' must be a rank-2 [V, D] tensor, got "
                           << table;
    rowLength = table.getDimSize(1);
    if (failed(checkElementType(op, "result", result,
                                table.getElementType())))
      return failure();
  }
  SmallVector<int64_t> expected(indices.getShape());
  expected.push_back(rowLength);
  return checkShape(op, "result", result, expected,
                    "indices' shape followed by the row length");
}

OpOperand &EmbeddingOp::getPackedWeightsMutable() { return getTableMutable(); }

int64_t EmbeddingOp::getPackedRowCount() {
  return tensorType(getTable()).getDimSize(0);
}

int64_t EmbeddingOp::getPackedRowLength() {
  RankedTensorType result = tensorType(getResult());
  return result.getDimSize(result.getRank() - 1);
}

void EmbeddingOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<DropImplicitZeroPoints<EmbeddingOp>>(context);
}

//===----------------------------------------------------------------------===//
// DynamicQuantizeOp
//===----------------------------------------------------------------------===//

LogicalResult Int8DotOp::verify() {
  int64_t lanes = getAcc().getType().getDimSize(0);
  if (getLhs().getType().getDimSize(0) != 4 * lanes)
    return emitOpError("needs 4 bytes per i32 lane: ")
           << getLhs().getType() << " for " << getAcc().getType();
  return success();
}

LogicalResult LookupOp::verify() {
  int64_t lanes = getTable().getType().getDimSize(0);
  if (lanes != 8 && lanes != 16)
    return emitOpError("needs a table of 8 or 16 lanes, got ")
           << getTable().getType();
  if (getIndex().getType().getDimSize(0) != lanes)
    return emitOpError("needs one index per table lane: ")
           << getIndex().getType() << " for " << getTable().getType();
  return success();
}

LogicalResult DynamicQuantizeOp::verify() {
  Operation *op = getOperation();
  RankedTensorType input = tensorType(getInput());
  if (failed(checkFloatTensor(op, "input", input)))
    return failure();
  RankedTensorType output = tensorType(getOutput());
  if (failed(checkShape(op, "output", output, input.getShape())))
    return failure();
  if (!output.getElementType().isSignlessInteger(8))
    return emitOpError() << "'output' must hold i8 codes, got "
                         << output.getElementType();
  SmallVector<int64_t> scaleShape;
  std::string why = "per tensor";
  if (std::optional<uint64_t> group = getGroupSize()) {
    if (input.getRank() == 0)
      return emitOpError() << "'group_size' needs an input of rank >= 1";
    int64_t last = input.getDimSize(input.getRank() - 1);
    if (ShapedType::isDynamic(last))
      return emitOpError() << "'group_size' needs a static last dimension";
    if (last % static_cast<int64_t>(*group) != 0)
      return emitOpError() << "'group_size' " << *group
                           << " does not divide the last dimension " << last;
    scaleShape.assign(input.getShape().begin(), input.getShape().end());
    scaleShape.back() = last / static_cast<int64_t>(*group);
    why = "one per group of " + std::to_string(*group) +
          " along the last dimension";
  }
  RankedTensorType scale = tensorType(getScale());
  if (failed(checkShape(op, "scale", scale, scaleShape, why)) ||
      failed(checkElementType(op, "scale", scale,
                              Float32Type::get(getContext()))))
    return failure();
  if (getSymmetric() && getZeroPoint())
    return emitOpError() << "symmetric quantization has no 'zero_point' "
                            "result";
  if (!getSymmetric() && !getZeroPoint())
    return emitOpError() << "asymmetric quantization needs a 'zero_point' "
                            "result";
  if (getZeroPoint()) {
    RankedTensorType zp = tensorType(getZeroPoint());
    if (failed(checkShape(op, "zero_point", zp, scaleShape, why)))
      return failure();
    if (!zp.getElementType().isSignlessInteger(8))
      return emitOpError() << "'zero_point' must hold i8 codes, got "
                           << zp.getElementType();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// KV-cache quantization
//===----------------------------------------------------------------------===//

namespace {
/// Checks a quantized cache tensor (codes, scales, mins named with `prefix`)
/// that holds the real-valued `shape` [B, H, T, D].
LogicalResult verifyKVFormat(Operation *op, StringRef prefix,
                             ArrayRef<int64_t> shape, Value codes, Value scales,
                             Value mins, int64_t bits, int64_t group,
                             bool perChannel) {
  if (bits != 2 && bits != 4 && bits != 8)
    return op->emitOpError() << "'bits' must be 2, 4 or 8, got " << bits;
  int64_t d = shape[3], perByte = 8 / bits;
  if (ShapedType::isDynamic(d))
    return op->emitOpError() << "needs a static head dimension";
  if (d % perByte != 0)
    return op->emitOpError() << "head dimension " << d
                             << " is not a multiple of the " << perByte
                             << " codes per byte";
  if (!perChannel && d % group != 0)
    return op->emitOpError() << "'group_size' " << group
                             << " does not divide the head dimension " << d;
  int64_t t = shape[2];
  SmallVector<int64_t> codeShape(shape), groupShape(shape);
  codeShape[3] = d / perByte;
  std::string why;
  if (perChannel) {
    groupShape[2] = ShapedType::isDynamic(t) ? t : (t + group - 1) / group;
    why = "one per channel and group of " + std::to_string(group) + " tokens";
  } else {
    groupShape[3] = d / group;
    why = "one per token and group of " + std::to_string(group) + " channels";
  }
  Type f16 = Float16Type::get(op->getContext());
  std::string c = (prefix + "codes").str(), s = (prefix + "scales").str(),
              m = (prefix + "mins").str();
  if (failed(checkShape(op, c, tensorType(codes), codeShape,
                        std::to_string(bits) + "-bit codes packed along D")) ||
      failed(checkElementType(op, c, tensorType(codes),
                              IntegerType::get(op->getContext(), 8))) ||
      failed(checkShape(op, s, tensorType(scales), groupShape, why)) ||
      failed(checkElementType(op, s, tensorType(scales), f16)) ||
      failed(checkShape(op, m, tensorType(mins), groupShape, why)) ||
      failed(checkElementType(op, m, tensorType(mins), f16)))
    return failure();
  return success();
}
} // namespace

LogicalResult KVDequantizeOp::verify() {
  RankedTensorType result = tensorType(getResult());
  if (failed(checkFloatTensor(*this, "result", result)))
    return failure();
  if (result.getRank() != 4)
    return emitOpError() << "'result' must have rank 4 [B, H, T, D], got "
                         << result.getRank();
  return verifyKVFormat(*this, "", result.getShape(), getCodes(), getScales(),
                        getMins(), getBits(), getGroupSize(), getPerChannel());
}

LogicalResult KVQuantizeOp::verify() {
  RankedTensorType input = tensorType(getInput());
  if (failed(checkFloatTensor(*this, "input", input)))
    return failure();
  if (input.getRank() != 4)
    return emitOpError() << "'input' must have rank 4 [B, H, T, D], got "
                         << input.getRank();
  if (failed(verifyKVFormat(*this, "", input.getShape(), getCodes(),
                            getScales(), getMins(), getBits(), getGroupSize(),
                            getPerChannel())))
    return failure();
  SmallVector<int64_t> past(input.getShape());
  past[2] = tensorType(getPastCodes()).getRank() == 4
                ? tensorType(getPastCodes()).getDimSize(2)
                : ShapedType::kDynamic;
  if (!ShapedType::isDynamic(past[2]) && !ShapedType::isDynamic(input.getDimSize(2)) &&
      past[2] > input.getDimSize(2))
    return emitOpError() << "the past (" << past[2]
                         << " tokens) is longer than 'input' ("
                         << input.getDimSize(2) << " tokens)";
  return verifyKVFormat(*this, "past_", past, getPastCodes(), getPastScales(),
                        getPastMins(), getBits(), getGroupSize(),
                        getPerChannel());
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

namespace {
/// Shared checks of rms_norm and layer_norm: a float input normalized over
/// its last dimension D, per-feature parameters of shape [D].
LogicalResult verifyNorm(Operation *op, Value inputValue,
                         ArrayRef<std::pair<StringRef, Value>> params,
                         float epsilon) {
  RankedTensorType input = tensorType(inputValue);
  if (failed(checkFloatTensor(op, "input", input, /*minRank=*/1)))
    return failure();
  int64_t d = input.getDimSize(input.getRank() - 1);
  for (auto [name, value] : params) {
    if (!value)
      continue;
    RankedTensorType type = tensorType(value);
    if (failed(checkShape(op, name, type, {d},
                          "one per feature of the last dimension")) ||
        failed(checkElementType(op, name, type, input.getElementType())))
      return failure();
  }
  if (!(epsilon >= 0.0f) || std::isinf(epsilon))
    return op->emitOpError() << "'epsilon' must be finite and non-negative, "
                                "got "
                             << epsilon;
  return success();
}
} // namespace

LogicalResult RmsNormOp::verify() {
  return verifyNorm(getOperation(), getInput(), {{"weight", getWeight()}},
                    getEpsilon().convertToFloat());
}

LogicalResult LayerNormOp::verify() {
  return verifyNorm(getOperation(), getInput(),
                    {{"weight", getWeight()}, {"bias", getBias()}},
                    getEpsilon().convertToFloat());
}

void LayerNormOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<DropZeroBias<LayerNormOp>>(context);
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  Operation *op = getOperation();
  RankedTensorType q = tensorType(getQuery());
  RankedTensorType k = tensorType(getKey());
  RankedTensorType v = tensorType(getValue());
  for (auto [name, type] : {std::pair<StringRef, RankedTensorType>{"query", q},
                            {"key", k},
                            {"value", v}}) {
    if (failed(checkFloatTensor(op, name, type)))
      return failure();
    if (type.getRank() != 4)
      return emitOpError() << "'" << name
                           << "' must be a rank-4 [batch, heads, sequence, "
                              "head_dim] tensor, got "
                           << type;
  }
  Type elem = q.getElementType();
  if (failed(checkElementType(op, "key", k, elem)) ||
      failed(checkElementType(op, "value", v, elem)))
    return failure();
  int64_t b = q.getDimSize(0), hq = q.getDimSize(1), s = q.getDimSize(2),
          d = q.getDimSize(3);
  int64_t hkv = k.getDimSize(1), t = k.getDimSize(2), dv = v.getDimSize(3);
  if (failed(checkShape(op, "key", k, {b, hkv, t, d},
                        "batch and head_dim of 'query'")) ||
      failed(checkShape(op, "value", v, {b, hkv, t, dv},
                        "batch, heads and sequence of 'key'")))
    return failure();
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv) &&
      (hkv == 0 || hq % hkv != 0))
    return emitOpError() << "query heads (" << hq
                         << ") must be a multiple of key/value heads (" << hkv
                         << ")";
  if (std::optional<APFloat> scale = getScale()) {
    float f = scale->convertToFloat();
    if (!(f > 0.0f) || std::isinf(f))
      return emitOpError() << "'scale' must be positive and finite, got " << f;
  } else if (ShapedType::isDynamic(d)) {
    return emitOpError()
           << "needs a static head_dim or an explicit 'scale' attribute";
  }

  // KV cache.
  int64_t total = t;
  if (static_cast<bool>(getPastKey()) != static_cast<bool>(getPastValue()))
    return emitOpError() << "'past_key' and 'past_value' must be given "
                            "together";
  if (getPastKey()) {
    RankedTensorType pk = tensorType(getPastKey());
    RankedTensorType pv = tensorType(getPastValue());
    if (pk.getRank() != 4)
      return emitOpError() << "'past_key' must be a rank-4 tensor, got " << pk;
    int64_t p = pk.getDimSize(2);
    if (failed(checkShape(op, "past_key", pk, {b, hkv, p, d})) ||
        failed(checkElementType(op, "past_key", pk, elem)) ||
        failed(checkShape(op, "past_value", pv, {b, hkv, p, dv})) ||
        failed(checkElementType(op, "past_value", pv, elem)))
      return failure();
    total = (ShapedType::isDynamic(p) || ShapedType::isDynamic(t))
                ? ShapedType::kDynamic
                : p + t;
  }
  bool hasCache = static_cast<bool>(getPastKey());
  if (static_cast<bool>(getPresentKey()) != hasCache ||
      static_cast<bool>(getPresentValue()) != hasCache)
    return emitOpError() << "the 'present_key' and 'present_value' results "
                            "come exactly when a cache is given";
  if (hasCache) {
    RankedTensorType presentK = tensorType(getPresentKey());
    RankedTensorType presentV = tensorType(getPresentValue());
    if (failed(checkShape(op, "present_key", presentK, {b, hkv, total, d},
                          "past followed by new keys")) ||
        failed(checkElementType(op, "present_key", presentK, elem)) ||
        failed(checkShape(op, "present_value", presentV, {b, hkv, total, dv},
                          "past followed by new values")) ||
        failed(checkElementType(op, "present_value", presentV, elem)))
      return failure();
  }

  if (Value maskValue = getMask()) {
    RankedTensorType mask = tensorType(maskValue);
    Type maskElem = mask.getElementType();
    if (maskElem != elem && !maskElem.isInteger(1))
      return emitOpError() << "'mask' must hold i1 or " << elem
                           << " values, got " << maskElem;
    SmallVector<int64_t> scores = {b, hq, s, total};
    if (mask.getRank() > 4)
      return emitOpError() << "'mask' must broadcast to "
                           << shapeString(scores) << ", got rank "
                           << mask.getRank();
    ArrayRef<int64_t> ms = mask.getShape();
    for (int64_t i = 0, e = mask.getRank(); i < e; ++i) {
      int64_t m = ms[e - 1 - i], want = scores[3 - i];
      if (m != 1 && !dimsMatch(m, want))
        return emitOpError() << "'mask' of shape " << shapeString(ms)
                             << " does not broadcast to scores of shape "
                             << shapeString(scores);
    }
  }

  if (getWindow() && !getCausal())
    return emitOpError() << "'window' needs 'causal' (it counts back from "
                            "each query's position)";
  if (std::optional<APFloat> cap = getSoftcap())
    if (!(cap->convertToDouble() > 0) || cap->isInfinity())
      return emitOpError() << "'softcap' must be positive and finite";
  RankedTensorType output = tensorType(getOutput());
  if (failed(checkShape(op, "output", output, {b, hq, s, dv})))
    return failure();
  return checkElementType(op, "output", output, elem);
}

double AttentionOp::getEffectiveScale() {
  if (std::optional<APFloat> scale = getScale())
    return scale->convertToDouble();
  return 1.0 / std::sqrt(static_cast<double>(
                   tensorType(getQuery()).getDimSize(3)));
}

namespace {
/// mask(all zeros, additive) or mask(all true, boolean) -> no mask.
struct DropTrivialMask : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Value mask = op.getMask();
    if (!mask)
      return failure();
    bool trivial = false;
    if (tensorType(mask).getElementType().isInteger(1)) {
      trivial = allConstantElements(
          mask, [](const APInt &raw) { return raw.isAllOnes(); });
    } else {
      trivial = isConstantZero(mask);
    }
    if (!trivial)
      return failure();
    rewriter.modifyOpInPlace(op, [&] { op.getMaskMutable().clear(); });
    return success();
  }
};
} // namespace

void AttentionOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<DropTrivialMask>(context);
}

//===----------------------------------------------------------------------===//
// RotaryEmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult RotaryEmbeddingOp::verify() {
  Operation *op = getOperation();
  RankedTensorType input = tensorType(getInput());
  if (failed(checkFloatTensor(op, "input", input)))
    return failure();
  if (input.getRank() != 4)
    return emitOpError() << "'input' must be a rank-4 [batch, heads, "
                            "sequence, head_dim] tensor, got "
                         << input;
  int64_t d = input.getDimSize(3);
  int64_t rotary = d;
  if (std::optional<uint64_t> r = getRotaryDim())
    rotary = static_cast<int64_t>(*r);
  if (ShapedType::isDynamic(rotary))
    return emitOpError() << "needs a static head_dim or a 'rotary_dim'";
  if (rotary % 2 != 0)
    return emitOpError() << "rotary dimension must be even, got " << rotary;
  if (!ShapedType::isDynamic(d) && rotary > d)
    return emitOpError() << "'rotary_dim' " << rotary
                         << " exceeds the head dimension " << d;
  RankedTensorType cos = tensorType(getCos());
  RankedTensorType sin = tensorType(getSin());
  int64_t positions = cos.getRank() == 2 ? cos.getDimSize(0) : 0;
  std::string why = "one row per position, rotary_dim / 2 = " +
                    std::to_string(rotary / 2) + " columns";
  for (auto [name, table] : {std::pair<StringRef, RankedTensorType>{"cos", cos},
                             {"sin", sin}}) {
    if (table.getRank() != 2)
      return emitOpError() << "'" << name
                           << "' must be a rank-2 [positions, rotary_dim / 2] "
                              "table, got "
                           << table;
    if (failed(checkShape(op, name, table, {positions, rotary / 2}, why)) ||
        failed(checkElementType(op, name, table, input.getElementType())))
      return failure();
  }
  int64_t b = input.getDimSize(0), s = input.getDimSize(2);
  if (Value posValue = getPositionIds()) {
    RankedTensorType pos = tensorType(posValue);
    if (!isa<IntegerType>(pos.getElementType()) ||
        (pos.getElementTypeBitWidth() != 32 &&
         pos.getElementTypeBitWidth() != 64))
      return emitOpError() << "'position_ids' must hold i32 or i64 values, "
                              "got "
                           << pos.getElementType();
    if (failed(checkShape(op, "position_ids", pos, {b, s},
                          "one per batch entry and token")))
      return failure();
  } else if (!ShapedType::isDynamic(positions) && !ShapedType::isDynamic(s) &&
             positions < s) {
    return emitOpError() << "'cos'/'sin' have " << positions
                         << " positions, fewer than the " << s
                         << " tokens of 'input'";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

namespace {
/// Folds a unary float op over a constant operand, computing in double and
/// rounding once to the element type.
template <typename Fn>
OpFoldResult foldUnaryFloat(Attribute operand, Fn &&fn) {
  return constFoldUnaryOp<FloatAttr, FloatAttr::ValueType, void>(
      {operand}, [&](const APFloat &a) -> APFloat {
        APFloat r(fn(a.convertToDouble()));
        bool losesInfo = false;
        r.convert(a.getSemantics(), APFloat::rmNearestTiesToEven, &losesInfo);
        return r;
      });
}
} // namespace

OpFoldResult GeluOp::fold(FoldAdaptor adaptor) {
  bool useTanh = getApproximation() == GeluApproximation::Tanh;
  return foldUnaryFloat(adaptor.getInput(), [&](double x) {
    if (useTanh) {
      constexpr double kAlpha = 0.7978845608028654; // sqrt(2 / pi)
      return 0.5 * x * (1.0 + std::tanh(kAlpha * (x + 0.044715 * x * x * x)));
    }
    return 0.5 * x * (1.0 + std::erf(x * M_SQRT1_2));
  });
}

OpFoldResult SiluOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getInput(),
                        [](double x) { return x / (1.0 + std::exp(-x)); });
}

#define GET_OP_CLASSES
#include "dialects/QT/IR/QTOps.cpp.inc"
