//===- Builders.cpp - numpy broadcasting and matmul for the ONNX importer -===//
//
// The helpers that report errors through the node being imported; the
// generic ones are in dialects/QT/Utils/TensorBuilders.cpp.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/Importer.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace qtc::onnx;

namespace {
std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += ShapedType::isDynamic(shape[i]) ? "?" : std::to_string(shape[i]);
  }
  return s + "]";
}

} // namespace

llvm::Expected<SmallVector<Value>>
qtc::onnx::broadcastValues(NodeContext &ctx, ArrayRef<Value> values) {
  OpBuilder &b = ctx.builder();
  int64_t rank = 0;
  for (Value v : values)
    rank = std::max(rank, typeOf(v).getRank());
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t size = 1;
    Value dynamicSource;
    int64_t dynamicDim = -1;
    for (Value v : values) {
      RankedTensorType type = typeOf(v);
      int64_t i = d - (rank - type.getRank());
      if (i < 0)
        continue;
      int64_t vs = type.getDimSize(i);
      if (ShapedType::isDynamic(vs)) {
        if (!dynamicSource) {
          dynamicSource = v;
          dynamicDim = i;
        }
        continue;
      }
      if (vs == 1)
        continue;
      if (size != 1 && size != vs) {
        std::string shapes;
        for (Value w : values)
          shapes += (shapes.empty() ? "" : " and ") +
                    shapeStr(typeOf(w).getShape());
        return ctx.error("cannot broadcast shapes " + shapes);
      }
      size = vs;
    }
    if (size != 1 || !dynamicSource)
      sizes.push_back(b.getIndexAttr(size));
    else
      sizes.push_back(
          tensor::DimOp::create(b, ctx.loc, dynamicSource, dynamicDim)
              .getResult());
  }
  SmallVector<Value> out;
  for (Value v : values)
    out.push_back(broadcastTo(b, ctx.loc, v, sizes));
  return out;
}

llvm::Expected<Value> qtc::onnx::matmul(NodeContext &ctx, Value a, Value bv) {
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc;
  RankedTensorType at = typeOf(a), bt = typeOf(bv);
  if (at.getRank() == 0 || bt.getRank() == 0)
    return ctx.error("MatMul operands must have rank >= 1");
  if (at.getElementType() != bt.getElementType())
    return ctx.error("MatMul operands have different element types");
  bool squeezeA = at.getRank() == 1, squeezeB = bt.getRank() == 1;
  if (squeezeA)
    a = insertUnitDims(b, loc, a, {0});
  if (squeezeB)
    bv = insertUnitDims(b, loc, bv, {1});
  at = typeOf(a);
  bt = typeOf(bv);
  int64_t k1 = at.getDimSize(at.getRank() - 1);
  int64_t k2 = bt.getDimSize(bt.getRank() - 2);
  if (!ShapedType::isDynamic(k1) && !ShapedType::isDynamic(k2) && k1 != k2)
    return ctx.error("MatMul reduction dims differ: " +
                     shapeStr(at.getShape()) + " x " + shapeStr(bt.getShape()));
  Type elem = at.getElementType();
  SmallVector<OpFoldResult> aSizes = mixedSizes(b, loc, a);
  SmallVector<OpFoldResult> bSizes = mixedSizes(b, loc, bv);
  Value result;
  SmallVector<OpFoldResult> outSizes;
  if (bt.getRank() == 2) {
    // [..., M, K] x [K, N]: fold the leading dims into M.
    Value a2 = collapseLeading(b, loc, a, 1);
    SmallVector<OpFoldResult> a2Sizes = mixedSizes(b, loc, a2);
    Value init = zeros(b, loc, {a2Sizes[0], bSizes[1]}, elem);
    result = linalg::MatmulOp::create(b, loc, TypeRange{init.getType()},
                                      ValueRange{a2, bv}, ValueRange{init})
                 ->getResult(0);
    outSizes.assign(aSizes.begin(), aSizes.end() - 1);
    outSizes.push_back(bSizes[1]);
  } else {
    // Batched: broadcast the batch dims, fold them into one.
    int64_t batchRank = std::max(at.getRank(), bt.getRank()) - 2;
    SmallVector<OpFoldResult> batch;
    for (int64_t d = 0; d < batchRank; ++d) {
      int64_t ia = d - (batchRank - (at.getRank() - 2));
      int64_t ib = d - (batchRank - (bt.getRank() - 2));
      int64_t sa = ia >= 0 ? at.getDimSize(ia) : 1;
      int64_t sb = ib >= 0 ? bt.getDimSize(ib) : 1;
      if (sa != 1 && !ShapedType::isDynamic(sa))
        batch.push_back(aSizes[ia]);
      else if (sb != 1 && !ShapedType::isDynamic(sb))
        batch.push_back(bSizes[ib]);
      else if (ShapedType::isDynamic(sa))
        batch.push_back(aSizes[ia]);
      else if (ib >= 0 && ShapedType::isDynamic(sb))
        batch.push_back(bSizes[ib]);
      else
        batch.push_back(b.getIndexAttr(1));
    }
    auto withMatrix = [&](ArrayRef<OpFoldResult> sizes) {
      SmallVector<OpFoldResult> s(batch);
      s.append(sizes.end() - 2, sizes.end());
      return s;
    };
    a = broadcastTo(b, loc, a, withMatrix(aSizes));
    bv = broadcastTo(b, loc, bv, withMatrix(bSizes));
    Value a3 = collapseLeading(b, loc, a, 2);
    Value b3 = collapseLeading(b, loc, bv, 2);
    if (batchRank == 0) {
      a3 = insertUnitDims(b, loc, a3, {0});
      b3 = insertUnitDims(b, loc, b3, {0});
    }
    SmallVector<OpFoldResult> a3Sizes = mixedSizes(b, loc, a3);
    SmallVector<OpFoldResult> b3Sizes = mixedSizes(b, loc, b3);
    Value init = zeros(b, loc, {a3Sizes[0], a3Sizes[1], b3Sizes[2]}, elem);
    result = linalg::BatchMatmulOp::create(b, loc, TypeRange{init.getType()},
                                           ValueRange{a3, b3}, ValueRange{init})
                 ->getResult(0);
    outSizes = batch;
    outSizes.push_back(aSizes[aSizes.size() - 2]);
    outSizes.push_back(bSizes.back());
  }
  // Restore the leading dims.
  RankedTensorType rt = typeOf(result);
  if (static_cast<int64_t>(outSizes.size()) != rt.getRank()) {
    SmallVector<ReassociationIndices> groups;
    int64_t outRank = outSizes.size();
    ReassociationIndices first;
    for (int64_t i = 0; i <= outRank - rt.getRank(); ++i)
      first.push_back(i);
    groups.push_back(first);
    for (int64_t i = outRank - rt.getRank() + 1; i < outRank; ++i)
      groups.push_back({i});
    auto outType = RankedTensorType::get(staticShape(outSizes), elem);
    result = tensor::ExpandShapeOp::create(b, loc, outType, result, groups,
                                           outSizes);
  }
  SmallVector<int64_t> squeeze;
  int64_t r = typeOf(result).getRank();
  if (squeezeA)
    squeeze.push_back(r - 2);
  if (squeezeB)
    squeeze.push_back(r - 1);
  return dropUnitDims(b, loc, result, squeeze);
}
