//===- TensorOps.cpp - Einsum and ScatterND -------------------------------===//
//
// Einsum with one or two operands becomes transposes, sums and one matmul
// (batch letters kept, contracted letters folded into K); ScatterND becomes
// an scf.for over the index tuples inserting (or combining) update slices.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/Importer.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <onnx/onnx_pb.h>

using namespace mlir;
using namespace qtc::onnx;
using llvm::Error;
using llvm::Expected;

namespace {


/// Product of sizes as one OpFoldResult.
OpFoldResult product(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes) {
  int64_t c = 1;
  bool allStatic = true;
  for (OpFoldResult s : sizes) {
    if (std::optional<int64_t> v = getConstantIntValue(s))
      c *= *v;
    else
      allStatic = false;
  }
  if (allStatic)
    return b.getIndexAttr(c);
  Value p = arith::ConstantIndexOp::create(b, loc, 1);
  for (OpFoldResult s : sizes)
    p = arith::MulIOp::create(b, loc, p,
                              getValueOrCreateConstantIndexOp(b, loc, s));
  return p;
}

/// Permutes `v` so its dims follow `order` (letters of `term`).
Value permuteTo(OpBuilder &b, Location loc, Value v, StringRef term,
                StringRef order) {
  SmallVector<int64_t> perm;
  for (char c : order)
    perm.push_back(term.find(c));
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i)
    identity &= perm[i] == static_cast<int64_t>(i);
  return identity ? v : transpose(b, loc, v, perm);
}

Error einsumOp(NodeContext &ctx, Results &results) {
  std::string eq = ctx.stringAttr("equation", "");
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
  if (eq.find("...") != std::string::npos)
    return ctx.error("ellipsis in the equation is not supported");
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow), out;
  SmallVector<std::string> terms;
  for (StringRef t : llvm::split(StringRef(lhs), ','))
    terms.push_back(t.str());
  if (arrow == std::string::npos) {
    // Implicit output: letters that appear once, alphabetically.
    for (char c = 'A'; c <= 'z'; ++c)
      if (llvm::count(lhs, c) == 1)
        out.push_back(c);
  } else {
    out = eq.substr(arrow + 2);
  }
  if (terms.size() != ctx.numInputs() || terms.size() > 2 || terms.empty())
    return ctx.error("equation '" + eq + "' must have one or two operands "
                     "matching the inputs");
  SmallVector<Value> ins;
  for (size_t i = 0; i < terms.size(); ++i) {
    Expected<Value> v = ctx.input(i);
    if (!v)
      return v.takeError();
    if (typeOf(*v).getRank() != static_cast<int64_t>(terms[i].size()))
      return ctx.error("term '" + terms[i] + "' does not match input " +
                       Twine(i) + "'s rank");
    for (char c : terms[i])
      if (llvm::count(terms[i], c) != 1)
        return ctx.error("repeated letters (diagonals) are not supported");
    ins.push_back(*v);
  }
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc;
  int32_t dtype = ctx.inputs[0]->dtype;
  auto sumOut = [&](Value v, std::string &term, StringRef keep) -> Value {
    // Sums the letters of `term` that are not in `keep`.
    SmallVector<int64_t> axes;
    std::string kept;
    for (auto [i, c] : llvm::enumerate(term)) {
      if (keep.contains(c))
        kept.push_back(c);
      else
        axes.push_back(i);
    }
    if (axes.empty())
      return v;
    term = kept;
    return reduce(b, loc, v, axes, /*keepDims=*/false, 0.0,
                  [](OpBuilder &nb, Location l, Value x, Value acc) {
                    return arith::AddFOp::create(nb, l, x, acc);
                  });
  };
  if (terms.size() == 1) {
    Value v = sumOut(ins[0], terms[0], out);
    results.push_back(tensorOf(permuteTo(b, loc, v, terms[0], out), dtype));
    return Error::success();
  }
  std::string &ta = terms[0], &tb = terms[1];
  // Letters only in one operand and not in the output are summed first.
  std::string keepA = out + tb, keepB = out + ta;
  Value a = sumOut(ins[0], ta, keepA), bv = sumOut(ins[1], tb, keepB);
  std::string batch, left, right, contract;
  for (char c : ta) {
    bool inB = tb.find(c) != std::string::npos;
    bool inOut = out.find(c) != std::string::npos;
    if (inB && inOut) batch.push_back(c);
    else if (inB) contract.push_back(c);
    else left.push_back(c);
  }
  for (char c : tb)
    if (ta.find(c) == std::string::npos)
      right.push_back(c);
  a = permuteTo(b, loc, a, ta, batch + left + contract);
  bv = permuteTo(b, loc, bv, tb, batch + contract + right);
  SmallVector<OpFoldResult> as = mixedSizes(b, loc, a), bs = mixedSizes(b, loc, bv);
  size_t nb = batch.size(), nl = left.size(), nc = contract.size();
  SmallVector<OpFoldResult> aShape(as.begin(), as.begin() + nb);
  aShape.push_back(product(b, loc, ArrayRef(as).slice(nb, nl)));
  aShape.push_back(product(b, loc, ArrayRef(as).slice(nb + nl, nc)));
  SmallVector<OpFoldResult> bShape(bs.begin(), bs.begin() + nb);
  bShape.push_back(product(b, loc, ArrayRef(bs).slice(nb, nc)));
  bShape.push_back(product(b, loc, ArrayRef(bs).drop_front(nb + nc)));
  Expected<Value> mm = matmul(ctx, reshapeTo(b, loc, a, aShape),
                              reshapeTo(b, loc, bv, bShape));
  if (!mm)
    return mm.takeError();
  SmallVector<OpFoldResult> rShape(as.begin(), as.begin() + nb + nl);
  rShape.append(bs.begin() + nb + nc, bs.end());
  Value r = reshapeTo(b, loc, *mm, rShape);
  results.push_back(
      tensorOf(permuteTo(b, loc, r, batch + left + right, out), dtype));
  return Error::success();
}

Error scatterNDOp(NodeContext &ctx, Results &results) {
  if (Error e = ctx.checkAttributes({"reduction"}))
    return e;
  std::string reduction = ctx.stringAttr("reduction", "none");
  if (reduction != "none" && reduction != "add" && reduction != "mul" &&
      reduction != "max" && reduction != "min")
    return ctx.error("unsupported reduction '" + reduction + "'");
  Expected<Value> data = ctx.input(0);
  if (!data) return data.takeError();
  Expected<Value> indices = ctx.input(1);
  if (!indices) return indices.takeError();
  Expected<Value> updates = ctx.input(2);
  if (!updates) return updates.takeError();
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc;
  RankedTensorType dt = typeOf(*data), it = typeOf(*indices);
  int64_t r = dt.getRank(), q = it.getRank();
  if (q < 1)
    return ctx.error("indices must have rank >= 1");
  int64_t k = it.getDimSize(q - 1);
  if (ShapedType::isDynamic(k) || k < 1 || k > r)
    return ctx.error("the last dim of indices must be static and in [1, " +
                     Twine(r) + "]");
  // indices -> [n, k], updates -> [n, slice dims].
  SmallVector<OpFoldResult> is = mixedSizes(b, loc, *indices);
  SmallVector<OpFoldResult> ds = mixedSizes(b, loc, *data);
  OpFoldResult n = product(b, loc, ArrayRef(is).drop_back());
  Value idx2 = reshapeTo(b, loc, *indices, {n, b.getIndexAttr(k)});
  SmallVector<OpFoldResult> sliceSizes(ds.begin() + k, ds.end());
  SmallVector<OpFoldResult> upShape = {n};
  upShape.append(sliceSizes);
  Value up2 = reshapeTo(b, loc, *updates, upShape);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value count = getValueOrCreateConstantIndexOp(b, loc, n);
  Type elem = dt.getElementType();
  bool isFloat = isa<FloatType>(elem);
  auto loop = scf::ForOp::create(
      b, loc, zero, count, one, ValueRange{*data},
      [&](OpBuilder &lb, Location l, Value i, ValueRange iter) {
        SmallVector<OpFoldResult> offsets, sizes, strides;
        for (int64_t j = 0; j < k; ++j) {
          Value jv = arith::ConstantIndexOp::create(lb, l, j);
          Value raw = tensor::ExtractOp::create(lb, l, idx2, ValueRange{i, jv});
          Value index = arith::IndexCastOp::create(lb, l, lb.getIndexType(), raw);
          Value dim = getValueOrCreateConstantIndexOp(lb, l, ds[j]);
          Value neg = arith::CmpIOp::create(lb, l, arith::CmpIPredicate::slt,
                                            index, zero);
          index = arith::SelectOp::create(
              lb, l, neg, arith::AddIOp::create(lb, l, index, dim), index);
          offsets.push_back(index);
          sizes.push_back(lb.getIndexAttr(1));
          strides.push_back(lb.getIndexAttr(1));
        }
        for (OpFoldResult s : sliceSizes) {
          offsets.push_back(lb.getIndexAttr(0));
          sizes.push_back(s);
          strides.push_back(lb.getIndexAttr(1));
        }
        // The update slice for tuple i, rank-reduced to the slice dims.
        SmallVector<OpFoldResult> uOff = {i}, uSize = {lb.getIndexAttr(1)},
                                  uStride = {lb.getIndexAttr(1)};
        for (OpFoldResult s : sliceSizes) {
          uOff.push_back(lb.getIndexAttr(0));
          uSize.push_back(s);
          uStride.push_back(lb.getIndexAttr(1));
        }
        SmallVector<int64_t> sliceShape;
        for (int64_t d = k; d < r; ++d)
          sliceShape.push_back(dt.getDimSize(d));
        auto sliceType = RankedTensorType::get(sliceShape, elem);
        Value update = tensor::ExtractSliceOp::create(lb, l, sliceType, up2,
                                                      uOff, uSize, uStride);
        if (reduction != "none") {
          Value old = tensor::ExtractSliceOp::create(lb, l, sliceType, iter[0],
                                                     offsets, sizes, strides);
          update = mapElements(
              lb, l, ValueRange{old, update}, elem,
              [&](OpBuilder &mb, Location ml, ValueRange a) -> Value {
                if (reduction == "add")
                  return isFloat ? (Value)arith::AddFOp::create(mb, ml, a[0], a[1])
                                 : (Value)arith::AddIOp::create(mb, ml, a[0], a[1]);
                if (reduction == "mul")
                  return isFloat ? (Value)arith::MulFOp::create(mb, ml, a[0], a[1])
                                 : (Value)arith::MulIOp::create(mb, ml, a[0], a[1]);
                if (reduction == "max")
                  return isFloat ? (Value)arith::MaximumFOp::create(mb, ml, a[0], a[1])
                                 : (Value)arith::MaxSIOp::create(mb, ml, a[0], a[1]);
                return isFloat ? (Value)arith::MinimumFOp::create(mb, ml, a[0], a[1])
                               : (Value)arith::MinSIOp::create(mb, ml, a[0], a[1]);
              });
        }
        Value next = tensor::InsertSliceOp::create(lb, l, update, iter[0],
                                                   offsets, sizes, strides);
        scf::YieldOp::create(lb, l, next);
      });
  results.push_back(tensorOf(loop.getResult(0), ctx.inputs[0]->dtype));
  return Error::success();
}

} // namespace

void qtc::onnx::addTensorOps(OpTable &t) {
  t.add("", "Einsum", 12, einsumOp);
  t.add("", "ScatterND", 11, scatterNDOp);
}
