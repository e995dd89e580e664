//===- Builders.cpp - IR building helpers for the ONNX importer -----------===//
//
// numpy broadcasting, elementwise maps, reductions, reshapes and matrix
// products on tensors, built from upstream tensor and linalg ops. Dynamic
// dimensions are kept: their sizes come from tensor.dim of an operand.
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

SmallVector<int64_t> staticShape(ArrayRef<OpFoldResult> sizes) {
  SmallVector<int64_t> shape;
  for (OpFoldResult s : sizes) {
    std::optional<int64_t> c = getConstantIntValue(s);
    shape.push_back(c ? *c : ShapedType::kDynamic);
  }
  return shape;
}

RankedTensorType tensorTypeOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}
} // namespace

SmallVector<OpFoldResult> qtc::onnx::mixedSizes(OpBuilder &b, Location loc,
                                                Value value) {
  return tensor::getMixedSizes(b, loc, value);
}

Value qtc::onnx::emptyLike(OpBuilder &b, Location loc, Value value,
                           Type elementType) {
  return tensor::EmptyOp::create(b, loc, mixedSizes(b, loc, value),
                                 elementType);
}

Value qtc::onnx::scalarConstant(OpBuilder &b, Location loc, Type type,
                                double value) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(ft, value));
  return arith::ConstantOp::create(
      b, loc, b.getIntegerAttr(type, static_cast<int64_t>(value)));
}

Value qtc::onnx::zeros(OpBuilder &b, Location loc,
                       ArrayRef<OpFoldResult> sizes, Type type) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, type);
  Value zero = scalarConstant(b, loc, type, 0.0);
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

Value qtc::onnx::broadcastTo(OpBuilder &b, Location loc, Value value,
                             ArrayRef<OpFoldResult> sizes) {
  RankedTensorType type = tensorTypeOf(value);
  int64_t s = type.getRank(), t = sizes.size(), offset = t - s;
  SmallVector<int64_t> target = staticShape(sizes);
  SmallVector<bool> dropped(s, false);
  bool any = offset > 0;
  for (int64_t i = 0; i < s; ++i) {
    if (type.getDimSize(i) == 1 && target[offset + i] != 1) {
      dropped[i] = true;
      any = true;
    }
  }
  if (!any)
    return value;
  // Drop the unit dims that broadcast.
  Value source = value;
  SmallVector<int64_t> keptTarget;
  if (llvm::is_contained(dropped, true)) {
    SmallVector<ReassociationIndices> groups;
    ReassociationIndices current;
    SmallVector<int64_t> collapsedShape;
    for (int64_t i = 0; i < s; ++i) {
      current.push_back(i);
      if (!dropped[i]) {
        groups.push_back(current);
        current.clear();
        collapsedShape.push_back(type.getDimSize(i));
      }
    }
    if (!current.empty() && !groups.empty())
      groups.back().append(current.begin(), current.end());
    auto collapsedType =
        RankedTensorType::get(collapsedShape, type.getElementType());
    source = tensor::CollapseShapeOp::create(b, loc, collapsedType, value,
                                             groups);
  }
  SmallVector<int64_t> addedDims;
  SmallVector<bool> isKept(t, false);
  for (int64_t i = 0; i < s; ++i)
    if (!dropped[i])
      isKept[offset + i] = true;
  for (int64_t i = 0; i < t; ++i)
    if (!isKept[i])
      addedDims.push_back(i);
  Value init = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  return linalg::BroadcastOp::create(b, loc, source, init, addedDims)
      ->getResult(0);
}

llvm::Expected<SmallVector<Value>>
qtc::onnx::broadcastValues(NodeContext &ctx, ArrayRef<Value> values) {
  OpBuilder &b = ctx.builder();
  int64_t rank = 0;
  for (Value v : values)
    rank = std::max(rank, tensorTypeOf(v).getRank());
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t size = 1;
    Value dynamicSource;
    int64_t dynamicDim = -1;
    for (Value v : values) {
      RankedTensorType type = tensorTypeOf(v);
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
                    shapeStr(tensorTypeOf(w).getShape());
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

Value qtc::onnx::mapElements(
    OpBuilder &b, Location loc, ValueRange inputs, Type resultElement,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  Value init = emptyLike(b, loc, inputs.front(), resultElement);
  auto map = linalg::MapOp::create(
      b, loc, inputs, init,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        // The region also receives the init element; the body sees inputs.
        Value r = body(nb, nloc, args.take_front(inputs.size()));
        linalg::YieldOp::create(nb, nloc, r);
      });
  return map->getResult(0);
}

Value qtc::onnx::reshapeTo(OpBuilder &b, Location loc, Value value,
                           ArrayRef<OpFoldResult> sizes) {
  RankedTensorType type = tensorTypeOf(value);
  SmallVector<int64_t> shape = staticShape(sizes);
  if (type.getShape() == ArrayRef<int64_t>(shape))
    return value;
  SmallVector<Value> elems;
  for (OpFoldResult s : sizes)
    elems.push_back(arith::IndexCastOp::create(
        b, loc, b.getI64Type(), getValueOrCreateConstantIndexOp(b, loc, s)));
  Value shapeTensor = tensor::FromElementsOp::create(
      b, loc,
      RankedTensorType::get({static_cast<int64_t>(elems.size())},
                            b.getI64Type()),
      elems);
  return tensor::ReshapeOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), value,
      shapeTensor);
}

Value qtc::onnx::collapseLeading(OpBuilder &b, Location loc, Value value,
                                 int64_t keep) {
  RankedTensorType type = tensorTypeOf(value);
  int64_t rank = type.getRank();
  if (rank - keep <= 1)
    return value;
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices first;
  for (int64_t i = 0; i <= rank - keep - 1; ++i)
    first.push_back(i);
  groups.push_back(first);
  for (int64_t i = rank - keep; i < rank; ++i)
    groups.push_back({i});
  return tensor::CollapseShapeOp::create(b, loc, value, groups);
}

Value qtc::onnx::insertUnitDims(OpBuilder &b, Location loc, Value value,
                                ArrayRef<int64_t> axes) {
  if (axes.empty())
    return value;
  RankedTensorType type = tensorTypeOf(value);
  int64_t outRank = type.getRank() + axes.size();
  SmallVector<OpFoldResult> inSizes = mixedSizes(b, loc, value);
  SmallVector<OpFoldResult> outSizes;
  SmallVector<int64_t> outShape;
  SmallVector<ReassociationIndices> groups;
  int64_t src = 0;
  ReassociationIndices pending;
  for (int64_t i = 0; i < outRank; ++i) {
    bool unit = llvm::is_contained(axes, i);
    pending.push_back(i);
    if (unit) {
      outSizes.push_back(b.getIndexAttr(1));
      outShape.push_back(1);
    } else {
      outSizes.push_back(inSizes[src]);
      outShape.push_back(type.getDimSize(src));
      ++src;
      groups.push_back(pending);
      pending.clear();
    }
  }
  if (!pending.empty()) {
    if (groups.empty()) {
      // Rank-0 source: no groups at all.
    } else {
      groups.back().append(pending.begin(), pending.end());
    }
  }
  auto outType = RankedTensorType::get(outShape, type.getElementType());
  return tensor::ExpandShapeOp::create(b, loc, outType, value, groups,
                                       outSizes);
}

Value qtc::onnx::dropUnitDims(OpBuilder &b, Location loc, Value value,
                              ArrayRef<int64_t> axes) {
  if (axes.empty())
    return value;
  RankedTensorType type = tensorTypeOf(value);
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices current;
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    current.push_back(i);
    if (!llvm::is_contained(axes, i)) {
      groups.push_back(current);
      current.clear();
      shape.push_back(type.getDimSize(i));
    }
  }
  if (!current.empty() && !groups.empty())
    groups.back().append(current.begin(), current.end());
  return tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), value,
      groups);
}

Value qtc::onnx::transpose(OpBuilder &b, Location loc, Value value,
                           ArrayRef<int64_t> permutation) {
  RankedTensorType type = tensorTypeOf(value);
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, value);
  SmallVector<OpFoldResult> out;
  for (int64_t p : permutation)
    out.push_back(in[p]);
  Value init = tensor::EmptyOp::create(b, loc, out, type.getElementType());
  return linalg::TransposeOp::create(b, loc, value, init, permutation)
      ->getResult(0);
}

Value qtc::onnx::reduce(
    OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> axes,
    bool keepDims, double init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  RankedTensorType type = tensorTypeOf(value);
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, value);
  SmallVector<OpFoldResult> out;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (!llvm::is_contained(axes, i))
      out.push_back(in[i]);
  Type elem = type.getElementType();
  Value empty = tensor::EmptyOp::create(b, loc, out, elem);
  Value initValue = scalarConstant(b, loc, elem, init);
  Value filled = linalg::FillOp::create(b, loc, initValue, empty).getResult(0);
  SmallVector<int64_t> sortedAxes(axes);
  llvm::sort(sortedAxes);
  Value reduced =
      linalg::ReduceOp::create(
          b, loc, ValueRange{value}, ValueRange{filled}, sortedAxes,
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            linalg::YieldOp::create(nb, nloc,
                                    combine(nb, nloc, args[0], args[1]));
          })
          ->getResult(0);
  if (keepDims)
    reduced = insertUnitDims(b, loc, reduced, sortedAxes);
  return reduced;
}

llvm::Expected<Value> qtc::onnx::matmul(NodeContext &ctx, Value a, Value bv) {
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc;
  RankedTensorType at = tensorTypeOf(a), bt = tensorTypeOf(bv);
  if (at.getRank() == 0 || bt.getRank() == 0)
    return ctx.error("MatMul operands must have rank >= 1");
  if (at.getElementType() != bt.getElementType())
    return ctx.error("MatMul operands have different element types");
  bool squeezeA = at.getRank() == 1, squeezeB = bt.getRank() == 1;
  if (squeezeA)
    a = insertUnitDims(b, loc, a, {0});
  if (squeezeB)
    bv = insertUnitDims(b, loc, bv, {1});
  at = tensorTypeOf(a);
  bt = tensorTypeOf(bv);
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
  RankedTensorType rt = tensorTypeOf(result);
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
  int64_t r = tensorTypeOf(result).getRank();
  if (squeezeA)
    squeeze.push_back(r - 2);
  if (squeezeB)
    squeeze.push_back(r - 1);
  return dropUnitDims(b, loc, result, squeeze);
}
