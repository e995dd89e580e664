//===- TensorBuilders.cpp - IR building helpers shared by the frontends ---===//
//
// Broadcasting, elementwise maps, reductions, reshapes and transposes on
// ranked tensors, built from upstream tensor and linalg ops. Dynamic
// dimensions are kept: their sizes come from tensor.dim of an operand.
//
//===----------------------------------------------------------------------===//

#include "dialects/QT/Utils/TensorBuilders.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

using qtc::ir::staticShape;

SmallVector<int64_t> qtc::ir::staticShape(ArrayRef<OpFoldResult> sizes) {
  SmallVector<int64_t> shape;
  for (OpFoldResult s : sizes) {
    std::optional<int64_t> c = getConstantIntValue(s);
    shape.push_back(c ? *c : ShapedType::kDynamic);
  }
  return shape;
}

std::string qtc::ir::resourceKey(llvm::StringRef name) {
  std::string out;
  for (char c : name)
    out.push_back(llvm::isAlnum(c) || c == '_' || c == '.' ? c : '_');
  if (out.empty() || llvm::isDigit(out[0]))
    out.insert(out.begin(), 'w');
  return out;
}

SmallVector<OpFoldResult> qtc::ir::mixedSizes(OpBuilder &b, Location loc,
                                                Value value) {
  return tensor::getMixedSizes(b, loc, value);
}

Value qtc::ir::emptyLike(OpBuilder &b, Location loc, Value value,
                           Type elementType) {
  return tensor::EmptyOp::create(b, loc, mixedSizes(b, loc, value),
                                 elementType);
}

Value qtc::ir::scalarConstant(OpBuilder &b, Location loc, Type type,
                                double value) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(ft, value));
  return arith::ConstantOp::create(
      b, loc, b.getIntegerAttr(type, static_cast<int64_t>(value)));
}

Value qtc::ir::zeros(OpBuilder &b, Location loc,
                       ArrayRef<OpFoldResult> sizes, Type type) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, type);
  Value zero = scalarConstant(b, loc, type, 0.0);
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

Value qtc::ir::broadcastTo(OpBuilder &b, Location loc, Value value,
                             ArrayRef<OpFoldResult> sizes) {
  RankedTensorType type = typeOf(value);
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

Value qtc::ir::mapElements(
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

Value qtc::ir::reshapeTo(OpBuilder &b, Location loc, Value value,
                           ArrayRef<OpFoldResult> sizes) {
  RankedTensorType type = typeOf(value);
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

Value qtc::ir::collapseLeading(OpBuilder &b, Location loc, Value value,
                                 int64_t keep) {
  RankedTensorType type = typeOf(value);
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

Value qtc::ir::insertUnitDims(OpBuilder &b, Location loc, Value value,
                                ArrayRef<int64_t> axes) {
  if (axes.empty())
    return value;
  RankedTensorType type = typeOf(value);
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

Value qtc::ir::dropUnitDims(OpBuilder &b, Location loc, Value value,
                              ArrayRef<int64_t> axes) {
  if (axes.empty())
    return value;
  RankedTensorType type = typeOf(value);
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

Value qtc::ir::transpose(OpBuilder &b, Location loc, Value value,
                           ArrayRef<int64_t> permutation) {
  RankedTensorType type = typeOf(value);
  SmallVector<OpFoldResult> in = mixedSizes(b, loc, value);
  SmallVector<OpFoldResult> out;
  for (int64_t p : permutation)
    out.push_back(in[p]);
  Value init = tensor::EmptyOp::create(b, loc, out, type.getElementType());
  return linalg::TransposeOp::create(b, loc, value, init, permutation)
      ->getResult(0);
}

Value qtc::ir::reduce(
    OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> axes,
    bool keepDims, double init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  RankedTensorType type = typeOf(value);
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

