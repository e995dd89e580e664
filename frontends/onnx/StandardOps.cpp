//===- StandardOps.cpp - ai.onnx op handlers ------------------------------===//
//
// Elementwise ops become linalg.map (after numpy broadcasting), MatMul and
// Gemm linalg.matmul / batch_matmul, reductions linalg.reduce, Softmax
// linalg.softmax, reshapes tensor ops; LayerNormalization, RMSNormalization
// and Gelu become their qt ops. Small int64 vectors from shape computations
// (Shape, Gather, Concat, Unsqueeze, ...) are followed at import time so
// that Reshape gets static sizes where the model allows.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/Importer.h"

#include "dialects/QT/IR/QTOps.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace qtc::onnx;
using llvm::Error;
using llvm::Expected;

namespace {


/// Known contents of a small int vector (shape arithmetic), if any.
std::optional<SmallVector<ShapeEntry>> knownEntries(const Tensor *t,
                                                    bool *isScalar = nullptr) {
  if (!t)
    return std::nullopt;
  if (t->known) {
    if (isScalar)
      *isScalar = t->knownIsScalar;
    return t->known;
  }
  if (t->constant && !dtypeIsFloat(t->constant->dtype) &&
      t->constant->dims.size() <= 1 && t->constant->numElements() <= 64 &&
      dtypeBits(t->constant->dtype) >= 8) {
    SmallVector<ShapeEntry> out;
    for (int64_t v : t->constant->ints()) {
      ShapeEntry e;
      e.constant = v;
      out.push_back(e);
    }
    if (isScalar)
      *isScalar = t->constant->dims.empty();
    return out;
  }
  return std::nullopt;
}

Tensor knownTensor(SmallVector<ShapeEntry> entries, bool scalar) {
  Tensor t;
  t.dtype = kInt64;
  t.known = std::move(entries);
  t.knownIsScalar = scalar;
  return t;
}

/// Constant int64 contents of input i (attribute-or-input style operands).
Expected<SmallVector<int64_t>> constInts(NodeContext &ctx, size_t i,
                                         StringRef what) {
  std::optional<SmallVector<ShapeEntry>> known =
      knownEntries(ctx.hasInput(i) ? ctx.inputs[i] : nullptr);
  if (!known)
    return ctx.error(what + " must be a constant");
  SmallVector<int64_t> out;
  for (const ShapeEntry &e : *known) {
    if (!e.isConstant())
      return ctx.error(what + " must be a constant");
    out.push_back(e.constant);
  }
  return out;
}

/// Axes from the `axes` attribute (older opsets) or input `inputIndex`.
Expected<std::optional<SmallVector<int64_t>>>
axesOf(NodeContext &ctx, int64_t inputSinceOpset, size_t inputIndex) {
  if (ctx.opset < inputSinceOpset)
    return ctx.intsAttr("axes");
  if (!ctx.hasInput(inputIndex))
    return std::optional<SmallVector<int64_t>>();
  Expected<SmallVector<int64_t>> axes = constInts(ctx, inputIndex, "axes");
  if (!axes)
    return axes.takeError();
  return std::optional<SmallVector<int64_t>>(*axes);
}

Expected<SmallVector<int64_t>> normalizeAxes(NodeContext &ctx,
                                             ArrayRef<int64_t> axes,
                                             int64_t rank) {
  SmallVector<int64_t> out;
  for (int64_t a : axes) {
    Expected<int64_t> n = ctx.normalizeAxis(a, rank, "axis");
    if (!n)
      return n.takeError();
    if (llvm::is_contained(out, *n))
      return ctx.error("axis " + Twine(a) + " is repeated");
    out.push_back(*n);
  }
  llvm::sort(out);
  return out;
}

bool isFloatType(Type t) { return isa<FloatType>(t); }

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

using ScalarFn = function_ref<Value(OpBuilder &, Location, ValueRange, Type)>;

/// Broadcasts all present inputs and maps `fn` over them.
Error elementwise(NodeContext &ctx, Results &results, Type resultElement,
                  int32_t resultDtype,
                  function_ref<Value(OpBuilder &, Location, ValueRange)> fn) {
  SmallVector<Value> ins;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    Expected<Value> v = ctx.input(i);
    if (!v)
      return v.takeError();
    ins.push_back(*v);
  }
  Expected<SmallVector<Value>> bc = broadcastValues(ctx, ins);
  if (!bc)
    return bc.takeError();
  Value out = mapElements(ctx.builder(), ctx.loc, *bc, resultElement, fn);
  results.push_back(tensorOf(out, resultDtype));
  return Error::success();
}

/// Folds an elementwise op over known small int vectors (shape
/// arithmetic), broadcasting length-1 operands. `fn` returns nullopt when an
/// entry cannot be decided at import time; then nothing is folded.
using KnownFn = std::function<std::optional<ShapeEntry>(
    OpBuilder &, Location, ArrayRef<ShapeEntry>)>;
bool foldKnown(NodeContext &ctx, Results &results, const KnownFn &fn,
               int32_t dtype) {
  if (ctx.numInputs() == 0)
    return false;
  SmallVector<SmallVector<ShapeEntry>> ins;
  bool allScalar = true;
  size_t n = 1;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    bool scalar = false;
    auto k = knownEntries(ctx.inputs[i], &scalar);
    if (!k)
      return false;
    allScalar &= scalar;
    if (k->size() != 1) {
      if (n != 1 && n != k->size())
        return false;
      n = k->size();
    }
    ins.push_back(*k);
  }
  SmallVector<ShapeEntry> out;
  for (size_t j = 0; j < n; ++j) {
    SmallVector<ShapeEntry> args;
    for (auto &k : ins)
      args.push_back(k[k.size() == 1 ? 0 : j]);
    std::optional<ShapeEntry> r = fn(ctx.builder(), ctx.loc, args);
    if (!r)
      return false;
    out.push_back(*r);
  }
  Tensor t = knownTensor(std::move(out), allScalar);
  t.dtype = dtype;
  results.push_back(std::move(t));
  return true;
}

ShapeEntry constantEntry(int64_t v) {
  ShapeEntry e;
  e.constant = v;
  return e;
}

/// An index value holding `e` (constants, dims, runtime values).
Value entryValue(OpBuilder &b, Location loc, const ShapeEntry &e) {
  if (e.isConstant())
    return arith::ConstantIndexOp::create(b, loc, e.constant);
  if (e.isSymbol())
    return tensor::DimOp::create(b, loc, e.source, e.dim);
  return e.runtime;
}

OpFoldResult entrySize(OpBuilder &b, Location loc, const ShapeEntry &e) {
  if (e.isConstant())
    return b.getIndexAttr(e.constant);
  return entryValue(b, loc, e);
}

/// Integer arithmetic on entries: constants fold, x + 0 and x * 1 keep x,
/// anything else on sizes becomes an index computation at run time.
enum class ArithKind { Add, Sub, Mul, Div };
KnownFn arithmeticFold(std::optional<int64_t> (*fn)(int64_t, int64_t),
                       ArithKind kind) {
  return [fn, kind](OpBuilder &b, Location loc,
                    ArrayRef<ShapeEntry> a) -> std::optional<ShapeEntry> {
    if (a.size() != 2 || !a[0].isKnown() || !a[1].isKnown())
      return std::nullopt;
    if (a[0].isConstant() && a[1].isConstant()) {
      std::optional<int64_t> v = fn(a[0].constant, a[1].constant);
      if (!v)
        return std::nullopt;
      return constantEntry(*v);
    }
    int64_t identity = (kind == ArithKind::Add || kind == ArithKind::Sub) ? 0 : 1;
    if (a[1].isConstant() && a[1].constant == identity)
      return a[0];
    if (kind != ArithKind::Sub && kind != ArithKind::Div && a[0].isConstant() &&
        a[0].constant == identity)
      return a[1];
    Value x = entryValue(b, loc, a[0]), y = entryValue(b, loc, a[1]);
    ShapeEntry r;
    switch (kind) {
    case ArithKind::Add: r.runtime = arith::AddIOp::create(b, loc, x, y); break;
    case ArithKind::Sub: r.runtime = arith::SubIOp::create(b, loc, x, y); break;
    case ArithKind::Mul: r.runtime = arith::MulIOp::create(b, loc, x, y); break;
    case ArithKind::Div: r.runtime = arith::DivSIOp::create(b, loc, x, y); break;
    }
    r.nonNegative = kind != ArithKind::Sub && a[0].isSize() && a[1].isSize();
    return r;
  };
}

/// Comparisons; a size (symbol) is never negative.
KnownFn compareFold(std::optional<bool> (*fn)(int64_t, int64_t)) {
  return [fn](OpBuilder &, Location,
              ArrayRef<ShapeEntry> a) -> std::optional<ShapeEntry> {
    if (a.size() != 2)
      return std::nullopt;
    if (a[0].isConstant() && a[1].isConstant()) {
      std::optional<bool> v = fn(a[0].constant, a[1].constant);
      if (!v)
        return std::nullopt;
      return constantEntry(*v ? 1 : 0);
    }
    if (a[0].isSymbol() && a[1].isSymbol() && a[0].source == a[1].source &&
        a[0].dim == a[1].dim)
      return fn(0, 0) ? std::optional<ShapeEntry>(constantEntry(*fn(0, 0)))
                      : std::nullopt;
    // size vs negative constant: only "equal" is decidable (false).
    const ShapeEntry &sym = a[0].isConstant() ? a[1] : a[0];
    const ShapeEntry &cst = a[0].isConstant() ? a[0] : a[1];
    if (!sym.isConstant() && sym.isSize() && cst.isConstant() &&
        cst.constant < 0 &&
        fn(1, 2) == std::optional<bool>(false) &&
        fn(2, 1) == std::optional<bool>(false))
      return constantEntry(0);
    return std::nullopt;
  };
}

void addBinary(OpTable &t, StringRef op,
               function_ref<Value(OpBuilder &, Location, Value, Value)> fp,
               function_ref<Value(OpBuilder &, Location, Value, Value)> ip,
               std::optional<int64_t> (*fold)(int64_t, int64_t) = nullptr) {
  // Copy the callables (the table outlives this call); a null integer
  // form stays null.
  std::function<Value(OpBuilder &, Location, Value, Value)> f = fp, g;
  if (ip)
    g = ip;
  t.add("", op, 1, [f, g, fold, op = op.str()](NodeContext &ctx,
                                               Results &results) -> Error {
    if (fold) {
      std::optional<int64_t> identity;
      ArithKind kind = op == "Add"   ? ArithKind::Add
                       : op == "Sub" ? ArithKind::Sub
                       : op == "Mul" ? ArithKind::Mul
                                     : ArithKind::Div;
      (void)identity;
      if (foldKnown(ctx, results, arithmeticFold(fold, kind),
                    ctx.inputs.empty() || !ctx.inputs[0] ? kInt64
                                                         : ctx.inputs[0]->dtype))
        return Error::success();
    }
    if (ctx.numInputs() != 2)
      return ctx.error("expects 2 inputs");
    Expected<RankedTensorType> type = ctx.inputType(0);
    if (!type)
      return type.takeError();
    Type elem = type->getElementType();
    bool isFloat = isFloatType(elem);
    if (!isFloat && !g)
      return ctx.error("integer inputs are not supported");
    return elementwise(ctx, results, elem, ctx.inputs[0]->dtype,
                       [&](OpBuilder &b, Location l, ValueRange a) {
                         return isFloat ? f(b, l, a[0], a[1])
                                        : g(b, l, a[0], a[1]);
                       });
  });
}

void addUnaryFloat(OpTable &t, StringRef op,
                   function_ref<Value(OpBuilder &, Location, Value)> fn) {
  std::function<Value(OpBuilder &, Location, Value)> f = fn;
  t.add("", op, 1, [f](NodeContext &ctx, Results &results) -> Error {
    Expected<RankedTensorType> type = ctx.inputType(0);
    if (!type)
      return type.takeError();
    if (!isFloatType(type->getElementType()))
      return ctx.error("expects a floating-point input, got " +
                       dtypeName(ctx.inputs[0]->dtype));
    return elementwise(ctx, results, type->getElementType(),
                       ctx.inputs[0]->dtype,
                       [&](OpBuilder &b, Location l, ValueRange a) {
                         return f(b, l, a[0]);
                       });
  });
}

Value cmp(OpBuilder &b, Location l, Value x, Value y, arith::CmpFPredicate fp,
          arith::CmpIPredicate ip) {
  if (isFloatType(x.getType()))
    return arith::CmpFOp::create(b, l, fp, x, y);
  return arith::CmpIOp::create(b, l, ip, x, y);
}

void addCompare(OpTable &t, StringRef op, arith::CmpFPredicate fp,
                arith::CmpIPredicate ip,
                std::optional<bool> (*fold)(int64_t, int64_t)) {
  t.add("", op, 1, [fp, ip, fold](NodeContext &ctx, Results &results) -> Error {
    if (ctx.numInputs() != 2)
      return ctx.error("expects 2 inputs");
    if (foldKnown(ctx, results, compareFold(fold), kBool))
      return Error::success();
    return elementwise(ctx, results, ctx.builder().getI1Type(), kBool,
                       [&](OpBuilder &b, Location l, ValueRange a) {
                         return cmp(b, l, a[0], a[1], fp, ip);
                       });
  });
}

/// Element conversion for Cast.
Value convertScalar(OpBuilder &b, Location l, Value x, int32_t from,
                    int32_t to, Type toType) {
  Type fromType = x.getType();
  if (fromType == toType)
    return x;
  bool ff = isFloatType(fromType), tf = isFloatType(toType);
  if (toType.isInteger(1)) {
    Value zero = scalarConstant(b, l, fromType, 0.0);
    return ff ? (Value)arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNE, x,
                                             zero)
              : (Value)arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne, x,
                                             zero);
  }
  if (ff && tf) {
    if (fromType.getIntOrFloatBitWidth() < toType.getIntOrFloatBitWidth())
      return arith::ExtFOp::create(b, l, toType, x);
    if (fromType.getIntOrFloatBitWidth() > toType.getIntOrFloatBitWidth())
      return arith::TruncFOp::create(b, l, toType, x);
    // f16 <-> bf16 through f32.
    Value wide = arith::ExtFOp::create(b, l, b.getF32Type(), x);
    return arith::TruncFOp::create(b, l, toType, wide);
  }
  if (!ff && tf) {
    if (dtypeIsSigned(from))
      return arith::SIToFPOp::create(b, l, toType, x);
    return arith::UIToFPOp::create(b, l, toType, x);
  }
  if (ff && !tf) {
    if (dtypeIsSigned(to))
      return arith::FPToSIOp::create(b, l, toType, x);
    return arith::FPToUIOp::create(b, l, toType, x);
  }
  unsigned fw = fromType.getIntOrFloatBitWidth(),
           tw = toType.getIntOrFloatBitWidth();
  if (fw < tw)
    return (dtypeIsSigned(from) && from != kBool)
               ? (Value)arith::ExtSIOp::create(b, l, toType, x)
               : (Value)arith::ExtUIOp::create(b, l, toType, x);
  if (fw > tw)
    return arith::TruncIOp::create(b, l, toType, x);
  return x;
}

Error castTo(NodeContext &ctx, Results &results, int32_t to) {
  if (!ctx.hasInput(0))
    return ctx.error("input 0 is required");
  // Casts between integer types of known shape vectors keep them known.
  if ((to == kInt64 || to == kInt32) && ctx.inputs[0]->known) {
    Tensor t = *ctx.inputs[0];
    t.value = {};
    t.dtype = to;
    results.push_back(t);
    return Error::success();
  }
  Type toType = ctx.importer.elementType(to);
  if (!toType)
    return ctx.error("cast to " + dtypeName(to) + " is not supported");
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  int32_t from = ctx.inputs[0]->dtype;
  Value out = mapElements(ctx.builder(), ctx.loc, *x, toType,
                          [&](OpBuilder &b, Location l, ValueRange a) {
                            return convertScalar(b, l, a[0], from, to, toType);
                          });
  results.push_back(tensorOf(out, to));
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

Error shapeOp(NodeContext &ctx, Results &results) {
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  RankedTensorType type = typeOf(*x);
  int64_t rank = type.getRank();
  int64_t start = ctx.intAttr("start", 0), end = ctx.intAttr("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  SmallVector<ShapeEntry> entries;
  for (int64_t i = start; i < end; ++i) {
    ShapeEntry e;
    if (!type.isDynamicDim(i)) {
      e.constant = type.getDimSize(i);
    } else {
      e.source = *x;
      e.dim = i;
    }
    entries.push_back(e);
  }
  results.push_back(knownTensor(std::move(entries), false));
  return Error::success();
}

Error sizeOp(NodeContext &ctx, Results &results) {
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  RankedTensorType type = typeOf(*x);
  if (!type.hasStaticShape())
    return ctx.error("Size of a dynamically shaped tensor is not supported");
  ShapeEntry e;
  e.constant = type.getNumElements();
  results.push_back(knownTensor({e}, true));
  return Error::success();
}

Error reshapeOp(NodeContext &ctx, Results &results) {
  if (Error e = ctx.checkAttributes({"allowzero"}))
    return e;
  Expected<Value> data = ctx.input(0);
  if (!data)
    return data.takeError();
  auto shape = knownEntries(ctx.hasInput(1) ? ctx.inputs[1] : nullptr);
  if (!shape)
    return ctx.error("the target shape must be known at import time (a "
                     "constant or computed from Shape); bind dynamic inputs "
                     "with --input-shape");
  bool allowZero = ctx.intAttr("allowzero", 0) != 0;
  OpBuilder &b = ctx.builder();
  SmallVector<OpFoldResult> inSizes = mixedSizes(b, ctx.loc, *data);
  // Reshapes of known vectors and of constants fold at import time.
  bool fullyConstant = llvm::all_of(*shape, [](const ShapeEntry &e) {
    return e.isConstant();
  });
  if (fullyConstant && (ctx.inputs[0]->known || ctx.inputs[0]->constant)) {
    RankedTensorType type = typeOf(*data);
    if (type.hasStaticShape()) {
      SmallVector<int64_t> dims;
      int64_t known = 1, infer = -1;
      for (auto [i, e] : llvm::enumerate(*shape)) {
        int64_t d = e.constant;
        if (d == 0 && !allowZero)
          d = i < static_cast<size_t>(type.getRank()) ? type.getDimSize(i) : 0;
        if (d == -1) {
          infer = i;
          d = 1;
        }
        dims.push_back(d);
        known *= d;
      }
      if (infer >= 0 && known > 0)
        dims[infer] = type.getNumElements() / known;
      int64_t total = 1;
      for (int64_t d : dims)
        total *= d;
      if (total == type.getNumElements()) {
        if (ctx.inputs[0]->known && dims.size() <= 1) {
          results.push_back(knownTensor(*ctx.inputs[0]->known, dims.empty()));
          return Error::success();
        }
        if (ctx.inputs[0]->constant) {
          auto data2 = std::make_shared<ConstData>(*ctx.inputs[0]->constant);
          data2->dims = dims;
          Tensor t;
          t.dtype = data2->dtype;
          t.constant = data2;
          results.push_back(t);
          return Error::success();
        }
      }
    }
  }
  SmallVector<OpFoldResult> sizes;
  int64_t inferAt = -1;
  for (auto [i, e] : llvm::enumerate(*shape)) {
    if (e.isConstant()) {
      if (e.constant == 0 && !allowZero) {
        if (i >= inSizes.size())
          return ctx.error("shape entry " + Twine(i) +
                           " is 0 but the input has rank " +
                           Twine(inSizes.size()));
        sizes.push_back(inSizes[i]);
      } else if (e.constant == -1) {
        if (inferAt >= 0)
          return ctx.error("more than one -1 in the target shape");
        inferAt = i;
        sizes.push_back(b.getIndexAttr(1)); // placeholder
      } else if (e.constant < 0) {
        return ctx.error("invalid target dimension " + Twine(e.constant));
      } else {
        sizes.push_back(b.getIndexAttr(e.constant));
      }
    } else if (e.isSymbol() || e.runtime) {
      sizes.push_back(entrySize(b, ctx.loc, e));
    } else {
      return ctx.error("target dimension " + Twine(i) +
                       " is not known at import time; bind dynamic inputs "
                       "with --input-shape");
    }
  }
  if (inferAt >= 0) {
    // numel(input) / product(other target dims), statically when possible.
    RankedTensorType type = typeOf(*data);
    int64_t product = 1;
    bool productIsStatic = true;
    for (auto [i, s] : llvm::enumerate(sizes)) {
      if (static_cast<int64_t>(i) == inferAt)
        continue;
      std::optional<int64_t> c = getConstantIntValue(s);
      productIsStatic &= c.has_value();
      if (c)
        product *= *c;
    }
    // When every dynamic input dim reappears in the target (copied by 0 or
    // as its own size), they cancel and -1 is static.
    std::optional<int64_t> cancelled;
    {
      SmallVector<bool> used(type.getRank(), false);
      int64_t targetStatic = 1;
      bool ok = true;
      for (auto [i, e] : llvm::enumerate(*shape)) {
        if (static_cast<int64_t>(i) == inferAt)
          continue;
        if (e.isConstant() && e.constant == 0 && !allowZero &&
            type.isDynamicDim(i))
          used[i] = true;
        else if (e.isSymbol() && e.source == *data && !used[e.dim])
          used[e.dim] = true;
        else if (std::optional<int64_t> c = getConstantIntValue(sizes[i]))
          targetStatic *= *c;
        else
          ok = false;
      }
      int64_t inputStatic = 1;
      for (int64_t d = 0; d < type.getRank() && ok; ++d) {
        if (type.isDynamicDim(d))
          ok = used[d];
        else
          inputStatic *= type.getDimSize(d);
      }
      if (ok && targetStatic > 0 && inputStatic % targetStatic == 0)
        cancelled = inputStatic / targetStatic;
    }
    if (cancelled && !type.hasStaticShape()) {
      sizes[inferAt] = b.getIndexAttr(*cancelled);
    } else if (type.hasStaticShape() && productIsStatic) {
      if (product == 0 || type.getNumElements() % product != 0)
        return ctx.error("cannot reshape " + Twine(type.getNumElements()) +
                         " elements with -1 over " + Twine(product));
      sizes[inferAt] = b.getIndexAttr(type.getNumElements() / product);
    } else {
      Value numel = arith::ConstantIndexOp::create(b, ctx.loc, 1);
      for (OpFoldResult s : inSizes)
        numel = arith::MulIOp::create(
            b, ctx.loc, numel,
            getValueOrCreateConstantIndexOp(b, ctx.loc, s));
      Value other = arith::ConstantIndexOp::create(b, ctx.loc, 1);
      for (auto [i, s] : llvm::enumerate(sizes))
        if (static_cast<int64_t>(i) != inferAt)
          other = arith::MulIOp::create(
              b, ctx.loc, other, getValueOrCreateConstantIndexOp(b, ctx.loc, s));
      sizes[inferAt] =
          arith::DivUIOp::create(b, ctx.loc, numel, other).getResult();
    }
  }
  results.push_back(
      tensorOf(reshapeTo(b, ctx.loc, *data, sizes), ctx.inputs[0]->dtype));
  return Error::success();
}

Error flattenOp(NodeContext &ctx, Results &results) {
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  int64_t rank = typeOf(*x).getRank();
  Expected<int64_t> axis = ctx.normalizeAxis(ctx.intAttr("axis", 1), rank + 1);
  if (!axis)
    return axis.takeError();
  OpBuilder &b = ctx.builder();
  SmallVector<OpFoldResult> in = mixedSizes(b, ctx.loc, *x);
  auto product = [&](size_t from, size_t to) -> OpFoldResult {
    std::optional<int64_t> c = 1;
    for (size_t i = from; i < to; ++i) {
      std::optional<int64_t> v = getConstantIntValue(in[i]);
      if (!v) { c.reset(); break; }
      *c *= *v;
    }
    if (c)
      return b.getIndexAttr(*c);
    Value p = arith::ConstantIndexOp::create(b, ctx.loc, 1);
    for (size_t i = from; i < to; ++i)
      p = arith::MulIOp::create(b, ctx.loc, p,
                                getValueOrCreateConstantIndexOp(b, ctx.loc, in[i]));
    return p;
  };
  SmallVector<OpFoldResult> sizes = {product(0, *axis), product(*axis, rank)};
  results.push_back(
      tensorOf(reshapeTo(b, ctx.loc, *x, sizes), ctx.inputs[0]->dtype));
  return Error::success();
}

Error unsqueezeOp(NodeContext &ctx, Results &results) {
  Expected<std::optional<SmallVector<int64_t>>> axes = axesOf(ctx, 13, 1);
  if (!axes)
    return axes.takeError();
  if (!*axes)
    return ctx.error("'axes' is required");
  bool scalar = false;
  if (auto known = knownEntries(ctx.hasInput(0) ? ctx.inputs[0] : nullptr,
                                &scalar);
      known && scalar && (*axes)->size() == 1) {
    results.push_back(knownTensor(*known, false));
    return Error::success();
  }
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  int64_t outRank = typeOf(*x).getRank() + (*axes)->size();
  Expected<SmallVector<int64_t>> norm = normalizeAxes(ctx, **axes, outRank);
  if (!norm)
    return norm.takeError();
  results.push_back(tensorOf(insertUnitDims(ctx.builder(), ctx.loc, *x, *norm),
                             ctx.inputs[0]->dtype));
  return Error::success();
}

Error squeezeOp(NodeContext &ctx, Results &results) {
  Expected<std::optional<SmallVector<int64_t>>> axes = axesOf(ctx, 13, 1);
  if (!axes)
    return axes.takeError();
  bool scalar = false;
  if (auto known = knownEntries(ctx.hasInput(0) ? ctx.inputs[0] : nullptr,
                                &scalar);
      known && !scalar && known->size() == 1) {
    results.push_back(knownTensor(*known, true));
    return Error::success();
  }
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  RankedTensorType type = typeOf(*x);
  SmallVector<int64_t> drop;
  if (*axes) {
    Expected<SmallVector<int64_t>> norm =
        normalizeAxes(ctx, **axes, type.getRank());
    if (!norm)
      return norm.takeError();
    for (int64_t a : *norm) {
      if (type.getDimSize(a) != 1 && !type.isDynamicDim(a))
        return ctx.error("cannot squeeze axis " + Twine(a) + " of size " +
                         Twine(type.getDimSize(a)));
      if (type.isDynamicDim(a))
        return ctx.error("cannot squeeze dynamic axis " + Twine(a));
    }
    drop = *norm;
  } else {
    for (int64_t i = 0; i < type.getRank(); ++i)
      if (type.getDimSize(i) == 1)
        drop.push_back(i);
  }
  results.push_back(tensorOf(dropUnitDims(ctx.builder(), ctx.loc, *x, drop),
                             ctx.inputs[0]->dtype));
  return Error::success();
}

Error concatOp(NodeContext &ctx, Results &results) {
  // Shape vectors concatenate at import time.
  bool allKnown = true;
  SmallVector<ShapeEntry> joined;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    auto k = knownEntries(ctx.inputs[i]);
    if (!k) { allKnown = false; break; }
    joined.append(k->begin(), k->end());
  }
  if (allKnown && ctx.numInputs() > 0) {
    results.push_back(knownTensor(std::move(joined), false));
    return Error::success();
  }
  SmallVector<Value> ins;
  for (size_t i = 0; i < ctx.numInputs(); ++i) {
    Expected<Value> v = ctx.input(i);
    if (!v)
      return v.takeError();
    ins.push_back(*v);
  }
  if (ins.empty())
    return ctx.error("expects at least one input");
  int64_t rank = typeOf(ins[0]).getRank();
  const ::onnx::AttributeProto *axisAttr = ctx.attr("axis");
  if (!axisAttr)
    return ctx.error("'axis' is required");
  Expected<int64_t> axis = ctx.normalizeAxis(axisAttr->i(), rank);
  if (!axis)
    return axis.takeError();
  Value out = ins.size() == 1
                  ? ins[0]
                  : tensor::ConcatOp::create(ctx.builder(), ctx.loc, *axis, ins)
                        .getResult();
  results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
  return Error::success();
}

Error gatherOp(NodeContext &ctx, Results &results) {
  if (!ctx.hasInput(0) || !ctx.hasInput(1))
    return ctx.error("expects data and indices");
  int64_t axisAttr = ctx.intAttr("axis", 0);
  // Shape vector indexed by constants.
  bool idxScalar = false;
  auto data = knownEntries(ctx.inputs[0]);
  auto idx = knownEntries(ctx.inputs[1], &idxScalar);
  if (data && idx && axisAttr == 0) {
    SmallVector<ShapeEntry> out;
    for (const ShapeEntry &i : *idx) {
      if (!i.isConstant())
        return ctx.error("indices into a shape must be constants");
      int64_t j = i.constant < 0 ? i.constant + data->size() : i.constant;
      if (j < 0 || j >= static_cast<int64_t>(data->size()))
        return ctx.error("index " + Twine(i.constant) + " out of range");
      out.push_back((*data)[j]);
    }
    results.push_back(knownTensor(std::move(out), idxScalar));
    return Error::success();
  }
  Expected<Value> values = ctx.input(0);
  Expected<Value> indices = values ? ctx.input(1) : Expected<Value>(Value());
  if (!values)
    return values.takeError();
  if (!indices)
    return indices.takeError();
  RankedTensorType vt = typeOf(*values), it = typeOf(*indices);
  Expected<int64_t> axis = ctx.normalizeAxis(axisAttr, vt.getRank());
  if (!axis)
    return axis.takeError();
  OpBuilder &b = ctx.builder();
  // Embedding tables: a constant 2-D float table gathered along rows.
  if (*axis == 0 && vt.getRank() == 2 && isFloatType(vt.getElementType()) &&
      ctx.inputs[0]->constant && isa<IntegerType>(it.getElementType()) &&
      (it.getElementTypeBitWidth() == 32 || it.getElementTypeBitWidth() == 64)) {
    SmallVector<int64_t> shape(it.getShape());
    shape.push_back(vt.getDimSize(1));
    auto rt = RankedTensorType::get(shape, vt.getElementType());
    Value out = mlir::qt::EmbeddingOp::create(b, ctx.loc, rt, *values, *indices,
                                              Value(), Value(),
                                              mlir::qt::PackedAttr());
    results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
    return Error::success();
  }
  // General gather: result[i.., j.., k..] = data[i.., idx[j..], k..].
  SmallVector<OpFoldResult> dataSizes = mixedSizes(b, ctx.loc, *values);
  SmallVector<OpFoldResult> idxSizes = mixedSizes(b, ctx.loc, *indices);
  SmallVector<OpFoldResult> outSizes(dataSizes.begin(),
                                     dataSizes.begin() + *axis);
  outSizes.append(idxSizes.begin(), idxSizes.end());
  outSizes.append(dataSizes.begin() + *axis + 1, dataSizes.end());
  int64_t outRank = outSizes.size(), idxRank = it.getRank();
  Value init = tensor::EmptyOp::create(b, ctx.loc, outSizes, vt.getElementType());
  SmallVector<AffineExpr> idxExprs;
  for (int64_t d = 0; d < idxRank; ++d)
    idxExprs.push_back(b.getAffineDimExpr(*axis + d));
  SmallVector<AffineMap> maps = {
      AffineMap::get(outRank, 0, idxExprs, b.getContext()),
      b.getMultiDimIdentityMap(outRank)};
  SmallVector<utils::IteratorType> iters(outRank, utils::IteratorType::parallel);
  Value axisSize =
      getValueOrCreateConstantIndexOp(b, ctx.loc, dataSizes[*axis]);
  Value dataValue = *values;
  int64_t axisV = *axis;
  auto generic = linalg::GenericOp::create(
      b, ctx.loc, TypeRange{init.getType()}, ValueRange{*indices},
      ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value index = arith::IndexCastOp::create(nb, l, nb.getIndexType(),
                                                 args[0]);
        Value zero = arith::ConstantIndexOp::create(nb, l, 0);
        Value neg = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::slt,
                                          index, zero);
        Value wrapped = arith::AddIOp::create(nb, l, index, axisSize);
        index = arith::SelectOp::create(nb, l, neg, wrapped, index);
        // Indices still out of range (ONNX leaves them undefined) are
        // clamped, so bad token ids cannot read outside the table.
        Value last = arith::SubIOp::create(
            nb, l, axisSize, arith::ConstantIndexOp::create(nb, l, 1));
        index = arith::MaxSIOp::create(nb, l, index, zero);
        index = arith::MinSIOp::create(nb, l, index, last);
        SmallVector<Value> coords;
        for (int64_t d = 0; d < axisV; ++d)
          coords.push_back(linalg::IndexOp::create(nb, l, d));
        coords.push_back(index);
        for (int64_t d = axisV + idxRank; d < outRank; ++d)
          coords.push_back(linalg::IndexOp::create(nb, l, d));
        Value v = tensor::ExtractOp::create(nb, l, dataValue, coords);
        linalg::YieldOp::create(nb, l, v);
      });
  results.push_back(tensorOf(generic->getResult(0), ctx.inputs[0]->dtype));
  return Error::success();
}

Error sliceOp(NodeContext &ctx, Results &results) {
  auto starts = knownEntries(ctx.hasInput(1) ? ctx.inputs[1] : nullptr);
  auto ends = knownEntries(ctx.hasInput(2) ? ctx.inputs[2] : nullptr);
  if (!starts || !ends || llvm::any_of(*starts, [](auto &e) { return !e.isKnown(); }) ||
      llvm::any_of(*ends, [](auto &e) { return !e.isKnown(); }))
    return ctx.error("starts and ends must be known at import time "
                     "(constants or sizes of other tensors)");
  if (starts->size() != ends->size())
    return ctx.error("starts and ends differ in length");
  SmallVector<int64_t> axes, steps(starts->size(), 1);
  if (ctx.hasInput(3)) {
    Expected<SmallVector<int64_t>> a = constInts(ctx, 3, "axes");
    if (!a)
      return a.takeError();
    axes = *a;
  } else {
    for (size_t i = 0; i < starts->size(); ++i)
      axes.push_back(i);
  }
  if (ctx.hasInput(4)) {
    Expected<SmallVector<int64_t>> st = constInts(ctx, 4, "steps");
    if (!st)
      return st.takeError();
    steps = *st;
  }
  if (axes.size() != starts->size() || steps.size() != starts->size())
    return ctx.error("starts, ends, axes and steps differ in length");
  bool allConstant =
      llvm::all_of(*starts, [](auto &e) { return e.isConstant(); }) &&
      llvm::all_of(*ends, [](auto &e) { return e.isConstant(); });
  // 1-D shape vectors slice at import time.
  if (auto known = knownEntries(ctx.inputs[0]);
      known && allConstant && axes.size() == 1 && steps[0] == 1) {
    int64_t n = known->size();
    int64_t s = (*starts)[0].constant, e = (*ends)[0].constant;
    s = s < 0 ? s + n : s;
    e = e < 0 ? e + n : std::min(e, n);
    s = std::clamp<int64_t>(s, 0, n);
    e = std::clamp<int64_t>(e, 0, n);
    SmallVector<ShapeEntry> out(known->begin() + s,
                                known->begin() + std::max(s, e));
    results.push_back(knownTensor(std::move(out), false));
    return Error::success();
  }
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  RankedTensorType type = typeOf(*x);
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc;
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, *x);
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  for (size_t i = 0; i < axes.size(); ++i) {
    Expected<int64_t> axis = ctx.normalizeAxis(axes[i], type.getRank());
    if (!axis)
      return axis.takeError();
    if (steps[i] <= 0)
      return ctx.error("only positive steps are supported");
    const ShapeEntry &se = (*starts)[i], &ee = (*ends)[i];
    int64_t dim = type.getDimSize(*axis);
    if (!ShapedType::isDynamic(dim) && se.isConstant() && ee.isConstant()) {
      int64_t s = se.constant, e = ee.constant;
      if (s < 0) s += dim;
      if (e < 0) e += dim;
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      int64_t len = e > s ? (e - s + steps[i] - 1) / steps[i] : 0;
      offsets[*axis] = b.getIndexAttr(s);
      sizes[*axis] = b.getIndexAttr(len);
      strides[*axis] = b.getIndexAttr(steps[i]);
      continue;
    }
    // Runtime clamping: x < 0 -> x + dim, then clamp to [0, dim].
    Value d = getValueOrCreateConstantIndexOp(b, loc, sizes[*axis]);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    auto normalize = [&](const ShapeEntry &e) -> Value {
      if (e.isConstant() && e.constant >= INT32_MAX)
        return d;
      Value v = entryValue(b, loc, e);
      if (e.isConstant() && e.constant < 0)
        v = arith::AddIOp::create(b, loc, v, d);
      v = arith::MaxSIOp::create(b, loc, v, zero);
      return arith::MinSIOp::create(b, loc, v, d);
    };
    Value s = normalize(se), e = normalize(ee);
    Value len = arith::MaxSIOp::create(
        b, loc, arith::SubIOp::create(b, loc, e, s), zero);
    if (steps[i] != 1) {
      Value st = arith::ConstantIndexOp::create(b, loc, steps[i]);
      len = arith::CeilDivSIOp::create(b, loc, len, st);
    }
    offsets[*axis] = s;
    sizes[*axis] = len;
    strides[*axis] = b.getIndexAttr(steps[i]);
  }
  Value out = tensor::ExtractSliceOp::create(b, loc, *x, offsets, sizes,
                                             strides);
  results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
  return Error::success();
}

Error splitOp(NodeContext &ctx, Results &results) {
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  RankedTensorType type = typeOf(*x);
  Expected<int64_t> axis =
      ctx.normalizeAxis(ctx.intAttr("axis", 0), type.getRank());
  if (!axis)
    return axis.takeError();
  int64_t dim = type.getDimSize(*axis);
  int64_t n = ctx.node.output_size();
  SmallVector<int64_t> parts;
  if (ctx.opset >= 13 && ctx.hasInput(1)) {
    Expected<SmallVector<int64_t>> s = constInts(ctx, 1, "split");
    if (!s)
      return s.takeError();
    parts = *s;
  } else if (auto s = ctx.intsAttr("split"); s && ctx.opset < 13) {
    parts = *s;
  } else {
    if (ShapedType::isDynamic(dim))
      return ctx.error("splitting a dynamic axis needs static sizes");
    int64_t chunk = (dim + n - 1) / n;
    for (int64_t i = 0; i < n; ++i)
      parts.push_back(std::min(chunk, dim - i * chunk));
  }
  if (static_cast<int64_t>(parts.size()) != n)
    return ctx.error("split sizes do not match the " + Twine(n) + " outputs");
  OpBuilder &b = ctx.builder();
  SmallVector<OpFoldResult> sizes = mixedSizes(b, ctx.loc, *x);
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  int64_t offset = 0;
  for (int64_t p : parts) {
    offsets[*axis] = b.getIndexAttr(offset);
    sizes[*axis] = b.getIndexAttr(p);
    results.push_back(tensorOf(tensor::ExtractSliceOp::create(
                                   b, ctx.loc, *x, offsets, sizes, strides),
                               ctx.inputs[0]->dtype));
    offset += p;
  }
  if (!ShapedType::isDynamic(dim) && offset != dim)
    return ctx.error("split sizes add up to " + Twine(offset) +
                     ", the axis has " + Twine(dim));
  return Error::success();
}

Error transposeOp(NodeContext &ctx, Results &results) {
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  int64_t rank = typeOf(*x).getRank();
  SmallVector<int64_t> perm;
  if (auto p = ctx.intsAttr("perm"))
    perm = *p;
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  SmallVector<int64_t> sorted(perm);
  llvm::sort(sorted);
  for (int64_t i = 0; i < rank; ++i)
    if (static_cast<int64_t>(sorted.size()) != rank || sorted[i] != i)
      return ctx.error("'perm' is not a permutation of the input's dims");
  results.push_back(tensorOf(transpose(ctx.builder(), ctx.loc, *x, perm),
                             ctx.inputs[0]->dtype));
  return Error::success();
}

Error expandOp(NodeContext &ctx, Results &results) {
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  auto shape = knownEntries(ctx.hasInput(1) ? ctx.inputs[1] : nullptr);
  if (!shape)
    return ctx.error("the target shape must be known at import time");
  OpBuilder &b = ctx.builder();
  RankedTensorType type = typeOf(*x);
  int64_t rank = std::max<int64_t>(type.getRank(), shape->size());
  SmallVector<OpFoldResult> in = mixedSizes(b, ctx.loc, *x);
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t is = d - (rank - type.getRank());
    int64_t ss = d - (rank - static_cast<int64_t>(shape->size()));
    OpFoldResult fromInput = is >= 0 ? in[is] : b.getIndexAttr(1);
    if (ss < 0) {
      sizes.push_back(fromInput);
      continue;
    }
    const ShapeEntry &e = (*shape)[ss];
    if (e.isConstant() && e.constant == 1)
      sizes.push_back(fromInput);
    else if (e.isConstant())
      sizes.push_back(b.getIndexAttr(e.constant));
    else if (e.isKnown())
      sizes.push_back(entrySize(b, ctx.loc, e));
    else
      return ctx.error("target dimension " + Twine(ss) + " is not known");
  }
  results.push_back(
      tensorOf(broadcastTo(b, ctx.loc, *x, sizes), ctx.inputs[0]->dtype));
  return Error::success();
}

Error constantOfShapeOp(NodeContext &ctx, Results &results) {
  auto shape = knownEntries(ctx.hasInput(0) ? ctx.inputs[0] : nullptr);
  if (!shape)
    return ctx.error("the shape must be known at import time");
  int32_t dtype = kFloat;
  double value = 0.0;
  if (const ::onnx::AttributeProto *a = ctx.attr("value")) {
    Expected<std::shared_ptr<ConstData>> t = ctx.importer.readTensor(a->t());
    if (!t)
      return t.takeError();
    if ((*t)->numElements() != 1)
      return ctx.error("'value' must hold one element");
    dtype = (*t)->dtype;
    value = (*t)->floatAt(0);
  }
  Type elem = ctx.importer.elementType(dtype);
  if (!elem)
    return ctx.error("unsupported element type " + dtypeName(dtype));
  OpBuilder &b = ctx.builder();
  SmallVector<OpFoldResult> sizes;
  bool allConstant = true;
  for (const ShapeEntry &e : *shape) {
    if (e.isConstant())
      sizes.push_back(b.getIndexAttr(e.constant));
    else if (e.isKnown()) {
      allConstant = false;
      sizes.push_back(entrySize(b, ctx.loc, e));
    } else
      return ctx.error("the shape is not known at import time");
  }
  if (allConstant && dtype == kInt64 && shape->size() <= 1) {
    int64_t n = shape->empty() ? 1 : (*shape)[0].constant;
    if (n <= 64) {
      SmallVector<ShapeEntry> out(n);
      for (ShapeEntry &e : out)
        e.constant = static_cast<int64_t>(value);
      results.push_back(knownTensor(std::move(out), shape->empty()));
      return Error::success();
    }
  }
  Value empty = tensor::EmptyOp::create(b, ctx.loc, sizes, elem);
  Value fill = linalg::FillOp::create(b, ctx.loc,
                                      scalarConstant(b, ctx.loc, elem, value),
                                      empty)
                   .getResult(0);
  results.push_back(tensorOf(fill, dtype));
  return Error::success();
}

Error rangeOp(NodeContext &ctx, Results &results) {
  auto scalarOf = [&](size_t i, StringRef what) -> Expected<double> {
    if (!ctx.hasInput(i))
      return ctx.error(what + " is required");
    if (ctx.inputs[i]->constant && ctx.inputs[i]->constant->numElements() == 1)
      return ctx.inputs[i]->constant->floatAt(0);
    auto k = knownEntries(ctx.inputs[i]);
    if (k && k->size() == 1 && (*k)[0].isConstant())
      return static_cast<double>((*k)[0].constant);
    return ctx.error(what + " must be known at import time");
  };
  if (!ctx.hasInput(0) || !ctx.hasInput(1) || !ctx.hasInput(2))
    return ctx.error("start, limit and delta are required");
  bool allKnown = true;
  for (size_t i = 0; i < 3; ++i) {
    auto k = knownEntries(ctx.inputs[i]);
    bool constant = (ctx.inputs[i]->constant &&
                     ctx.inputs[i]->constant->numElements() == 1) ||
                    (k && k->size() == 1 && (*k)[0].isConstant());
    allKnown &= constant;
  }
  if (!allKnown) {
    // Runtime range over i64 (position ids from cache lengths).
    if (dtypeIsFloat(ctx.inputs[0]->dtype)) {
      // out[i] = start + i * delta, n = max(ceil((limit - start) / delta), 0)
      OpBuilder &b = ctx.builder();
      Location loc = ctx.loc;
      SmallVector<Value> sc;
      for (size_t i = 0; i < 3; ++i) {
        Expected<Value> v = ctx.input(i);
        if (!v)
          return v.takeError();
        if (typeOf(*v).getRank() != 0)
          return ctx.error("Range bounds must be scalars");
        sc.push_back(tensor::ExtractOp::create(b, loc, *v, ValueRange{}));
      }
      Type elem = sc[0].getType();
      Value count = math::CeilOp::create(
          b, loc,
          arith::DivFOp::create(b, loc,
                                arith::SubFOp::create(b, loc, sc[1], sc[0]),
                                sc[2]));
      Value n = arith::MaxSIOp::create(
          b, loc,
          arith::IndexCastOp::create(
              b, loc, b.getIndexType(),
              arith::FPToSIOp::create(b, loc, b.getI64Type(), count)),
          arith::ConstantIndexOp::create(b, loc, 0));
      Value init = tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{n}, elem);
      SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(1)};
      SmallVector<utils::IteratorType> iters = {utils::IteratorType::parallel};
      Value out =
          linalg::GenericOp::create(
              b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
              maps, iters,
              [&](OpBuilder &nb, Location l, ValueRange) {
                Value i = arith::IndexCastOp::create(
                    nb, l, nb.getI64Type(), linalg::IndexOp::create(nb, l, 0));
                Value f = arith::SIToFPOp::create(nb, l, elem, i);
                Value v = arith::AddFOp::create(
                    nb, l, sc[0], arith::MulFOp::create(nb, l, f, sc[2]));
                linalg::YieldOp::create(nb, l, v);
              })
              ->getResult(0);
      results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
      return Error::success();
    }
    if (ctx.inputs[0]->dtype != kInt64 && ctx.inputs[0]->dtype != kInt32)
      return ctx.error("a Range with bounds known only at run time must be "
                       "integer or float");
    OpBuilder &b = ctx.builder();
    Location loc = ctx.loc;
    auto scalar = [&](size_t i) -> Expected<Value> {
      Expected<Value> v = ctx.input(i);
      if (!v)
        return v.takeError();
      Value x = *v;
      if (typeOf(x).getRank() != 0)
        return ctx.error("Range bounds must be scalars");
      Value e = tensor::ExtractOp::create(b, loc, x, ValueRange{});
      return arith::IndexCastOp::create(b, loc, b.getIndexType(), e).getResult();
    };
    Expected<Value> st = scalar(0);
    if (!st) return st.takeError();
    Expected<Value> li = scalar(1);
    if (!li) return li.takeError();
    Expected<Value> de = scalar(2);
    if (!de) return de.takeError();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value n = arith::MaxSIOp::create(
        b, loc,
        arith::CeilDivSIOp::create(b, loc,
                                   arith::SubIOp::create(b, loc, *li, *st), *de),
        zero);
    Type elem = ctx.importer.elementType(ctx.inputs[0]->dtype);
    Value init = tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{n}, elem);
    SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(1)};
    SmallVector<utils::IteratorType> iters = {utils::IteratorType::parallel};
    Value startV = *st, deltaV = *de;
    Value out =
        linalg::GenericOp::create(
            b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
            maps, iters,
            [&](OpBuilder &nb, Location l, ValueRange) {
              Value i = linalg::IndexOp::create(nb, l, 0);
              Value v = arith::AddIOp::create(
                  nb, l, startV, arith::MulIOp::create(nb, l, i, deltaV));
              linalg::YieldOp::create(
                  nb, l, arith::IndexCastOp::create(nb, l, elem, v).getResult());
            })
            ->getResult(0);
    results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
    return Error::success();
  }
  Expected<double> start = scalarOf(0, "start");
  if (!start) return start.takeError();
  Expected<double> limit = scalarOf(1, "limit");
  if (!limit) return limit.takeError();
  Expected<double> delta = scalarOf(2, "delta");
  if (!delta) return delta.takeError();
  if (*delta == 0)
    return ctx.error("delta must not be 0");
  int64_t n = std::max<int64_t>(0, std::ceil((*limit - *start) / *delta));
  int32_t dtype = ctx.inputs[0]->dtype ? ctx.inputs[0]->dtype : kInt64;
  if (dtype == kInt64 && n <= 64) {
    SmallVector<ShapeEntry> out(n);
    for (int64_t i = 0; i < n; ++i)
      out[i].constant = static_cast<int64_t>(*start + i * *delta);
    results.push_back(knownTensor(std::move(out), false));
    return Error::success();
  }
  if (n > (int64_t(1) << 24))
    return ctx.error("a constant Range of " + Twine(n) +
                     " elements is too large to fold");
  auto data = std::make_shared<ConstData>();
  unsigned bytes = dtypeBits(dtype) / 8;
  auto buffer = std::make_shared<std::vector<char>>(n * bytes);
  for (int64_t i = 0; i < n; ++i) {
    double v = *start + i * *delta;
    if (dtype == kFloat) { float f = v; std::memcpy(buffer->data() + 4 * i, &f, 4); }
    else if (dtype == kInt64) { int64_t x = v; std::memcpy(buffer->data() + 8 * i, &x, 8); }
    else if (dtype == kInt32) { int32_t x = v; std::memcpy(buffer->data() + 4 * i, &x, 4); }
    else return ctx.error("Range of " + dtypeName(dtype) + " is not supported");
  }
  data->owner = buffer;
  data->bytes = ArrayRef<char>(buffer->data(), buffer->size());
  data->dims = {n};
  data->dtype = dtype;
  data->name = ctx.node.output(0);
  Tensor t;
  t.dtype = dtype;
  t.constant = data;
  results.push_back(t);
  return Error::success();
}

Error constantOp(NodeContext &ctx, Results &results) {
  auto data = std::make_shared<ConstData>();
  data->name = ctx.node.output(0);
  if (const ::onnx::AttributeProto *a = ctx.attr("value")) {
    Expected<std::shared_ptr<ConstData>> t = ctx.importer.readTensor(a->t());
    if (!t)
      return t.takeError();
    data = *t;
    data->name = ctx.node.output(0);
  } else {
    auto buffer = std::make_shared<std::vector<char>>();
    auto put = [&](const void *p, size_t n) {
      buffer->insert(buffer->end(), static_cast<const char *>(p),
                     static_cast<const char *>(p) + n);
    };
    if (const ::onnx::AttributeProto *a = ctx.attr("value_float")) {
      float f = a->f(); put(&f, 4); data->dtype = kFloat;
    } else if (const ::onnx::AttributeProto *a = ctx.attr("value_int")) {
      int64_t i = a->i(); put(&i, 8); data->dtype = kInt64;
    } else if (const ::onnx::AttributeProto *a = ctx.attr("value_floats")) {
      for (float f : a->floats()) put(&f, 4);
      data->dtype = kFloat; data->dims = {a->floats_size()};
    } else if (const ::onnx::AttributeProto *a = ctx.attr("value_ints")) {
      for (int64_t i : a->ints()) put(&i, 8);
      data->dtype = kInt64; data->dims = {a->ints_size()};
    } else {
      return ctx.error("needs a 'value', 'value_float(s)' or 'value_int(s)' "
                       "attribute (sparse and string constants are not "
                       "supported)");
    }
    data->owner = buffer;
    data->bytes = ArrayRef<char>(buffer->data(), buffer->size());
  }
  Tensor t;
  t.dtype = data->dtype;
  t.constant = data;
  results.push_back(t);
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Linear algebra, normalization, activations
//===----------------------------------------------------------------------===//

Error matmulOp(NodeContext &ctx, Results &results) {
  Expected<Value> a = ctx.input(0);
  if (!a)
    return a.takeError();
  if (ctx.hasInput(1) && ctx.inputs[1]->packed && !ctx.inputs[1]->value) {
    // DequantizeLinear(constant codes) -> MatMul: read the weights packed.
    PackedWeight &p = *ctx.inputs[1]->packed;
    RankedTensorType at = typeOf(*a);
    if (at.getRank() >= 1 && at.isDynamicDim(at.getRank() - 1)) {
      // MatMul's contraction fixes the dynamic dim to K.
      SmallVector<int64_t> shape(at.getShape());
      shape.back() = p.k;
      at = RankedTensorType::get(shape, at.getElementType());
      a = Expected<Value>(
          tensor::CastOp::create(ctx.builder(), ctx.loc, at, *a).getResult());
    }
    if (at.getRank() >= 1 && at.getDimSize(at.getRank() - 1) == p.k &&
        at.getElementType() == p.resultElement) {
      SmallVector<int64_t> shape(at.getShape());
      shape.back() = p.n;
      Value out = mlir::qt::QuantizedMatmulOp::create(
          ctx.builder(), ctx.loc, RankedTensorType::get(shape, p.resultElement),
          *a, p.weights, p.scales, p.zeroPoints, Value(), p.format);
      results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
      return Error::success();
    }
  }
  Expected<Value> b = ctx.input(1);
  if (!b)
    return b.takeError();
  if (!isFloatType(typeOf(*a).getElementType()))
    return ctx.error("integer MatMul is not supported (use MatMulInteger)");
  Expected<Value> out = matmul(ctx, *a, *b);
  if (!out)
    return out.takeError();
  results.push_back(tensorOf(*out, ctx.inputs[0]->dtype));
  return Error::success();
}

Error gemmOp(NodeContext &ctx, Results &results) {
  if (Error e = ctx.checkAttributes({"alpha", "beta", "transA", "transB"}))
    return e;
  Expected<Value> a = ctx.input(0);
  if (!a)
    return a.takeError();
  Expected<Value> bv = ctx.input(1);
  if (!bv)
    return bv.takeError();
  OpBuilder &b = ctx.builder();
  if (typeOf(*a).getRank() != 2 || typeOf(*bv).getRank() != 2)
    return ctx.error("A and B must be rank-2");
  Value av = *a, bb = *bv;
  if (ctx.intAttr("transA", 0))
    av = transpose(b, ctx.loc, av, {1, 0});
  if (ctx.intAttr("transB", 0))
    bb = transpose(b, ctx.loc, bb, {1, 0});
  Expected<Value> y = matmul(ctx, av, bb);
  if (!y)
    return y.takeError();
  Type elem = typeOf(*y).getElementType();
  float alpha = ctx.floatAttr("alpha", 1.0f), beta = ctx.floatAttr("beta", 1.0f);
  Value out = *y;
  if (alpha != 1.0f)
    out = mapElements(b, ctx.loc, out, elem,
                      [&](OpBuilder &nb, Location l, ValueRange x) {
                        return arith::MulFOp::create(
                            nb, l, x[0], scalarConstant(nb, l, elem, alpha));
                      });
  if (ctx.hasInput(2) && beta != 0.0f) {
    Expected<Value> c = ctx.input(2);
    if (!c)
      return c.takeError();
    Expected<SmallVector<Value>> bc = broadcastValues(ctx, {out, *c});
    if (!bc)
      return bc.takeError();
    out = mapElements(b, ctx.loc, *bc, elem,
                      [&](OpBuilder &nb, Location l, ValueRange x) {
                        Value cv = x[1];
                        if (beta != 1.0f)
                          cv = arith::MulFOp::create(
                              nb, l, cv, scalarConstant(nb, l, elem, beta));
                        return arith::AddFOp::create(nb, l, x[0], cv);
                      });
  }
  results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
  return Error::success();
}

Error softmaxOp(NodeContext &ctx, Results &results) {
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  int64_t rank = typeOf(*x).getRank();
  int64_t axisDefault = ctx.opset >= 13 ? -1 : 1;
  Expected<int64_t> axis =
      ctx.normalizeAxis(ctx.intAttr("axis", axisDefault), rank);
  if (!axis)
    return axis.takeError();
  if (ctx.opset < 13 && *axis != rank - 1)
    return ctx.error("Softmax before opset 13 is only supported on the last "
                     "axis");
  OpBuilder &b = ctx.builder();
  Value init = emptyLike(b, ctx.loc, *x, typeOf(*x).getElementType());
  Value out = linalg::SoftmaxOp::create(b, ctx.loc, TypeRange{init.getType()},
                                        *x, init, *axis)
                  ->getResult(0);
  results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
  return Error::success();
}

Error reduceOp(NodeContext &ctx, Results &results, StringRef kind,
               int64_t axesInputSince) {
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  RankedTensorType type = typeOf(*x);
  Expected<std::optional<SmallVector<int64_t>>> axesOr =
      axesOf(ctx, axesInputSince, 1);
  if (!axesOr)
    return axesOr.takeError();
  SmallVector<int64_t> axes;
  if (*axesOr && !(*axesOr)->empty()) {
    Expected<SmallVector<int64_t>> n =
        normalizeAxes(ctx, **axesOr, type.getRank());
    if (!n)
      return n.takeError();
    axes = *n;
  } else if (ctx.intAttr("noop_with_empty_axes", 0)) {
    results.push_back(*ctx.inputs[0]);
    return Error::success();
  } else {
    for (int64_t i = 0; i < type.getRank(); ++i)
      axes.push_back(i);
  }
  bool keep = ctx.intAttr("keepdims", 1) != 0;
  Type elem = type.getElementType();
  OpBuilder &b = ctx.builder();
  Value out;
  if (!isFloatType(elem)) {
    if (kind == "mean")
      return ctx.error("integer ReduceMean is not supported");
    bool isMax = kind == "max";
    out = reduce(b, ctx.loc, *x, axes, keep,
                 isMax ? -std::ldexp(1.0, elem.getIntOrFloatBitWidth() - 1) : 0.0,
                 [isMax](OpBuilder &nb, Location l, Value v, Value acc) -> Value {
                   if (isMax)
                     return arith::MaxSIOp::create(nb, l, v, acc);
                   return arith::AddIOp::create(nb, l, v, acc);
                 });
    results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
    return Error::success();
  }
  if (kind == "max") {
    out = reduce(b, ctx.loc, *x, axes, keep, -INFINITY,
                 [](OpBuilder &nb, Location l, Value v, Value acc) {
                   return arith::MaximumFOp::create(nb, l, v, acc);
                 });
  } else {
    out = reduce(b, ctx.loc, *x, axes, keep, 0.0,
                 [](OpBuilder &nb, Location l, Value v, Value acc) {
                   return arith::AddFOp::create(nb, l, v, acc);
                 });
    if (kind == "mean") {
      SmallVector<OpFoldResult> sizes = mixedSizes(b, ctx.loc, *x);
      Value count = arith::ConstantIndexOp::create(b, ctx.loc, 1);
      for (int64_t a : axes)
        count = arith::MulIOp::create(
            b, ctx.loc, count,
            getValueOrCreateConstantIndexOp(b, ctx.loc, sizes[a]));
      Value countI = arith::IndexCastOp::create(b, ctx.loc, b.getI64Type(), count);
      Value countF = arith::SIToFPOp::create(b, ctx.loc, elem, countI);
      out = mapElements(b, ctx.loc, out, elem,
                        [&](OpBuilder &nb, Location l, ValueRange v) {
                          return arith::DivFOp::create(nb, l, v[0], countF);
                        });
    }
  }
  results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
  return Error::success();
}

/// LayerNormalization / RMSNormalization over dims [axis, rank): the
/// trailing dims are folded into one so the qt op normalizes its last dim;
/// scale and bias are broadcast to the trailing shape and folded alike.
/// LayerNormalization's Mean and InvStdDev outputs are computed alongside.
Error normOp(NodeContext &ctx, Results &results, bool rms) {
  if (Error e = ctx.checkAttributes({"axis", "epsilon", "stash_type"}))
    return e;
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  Expected<Value> scale = ctx.input(1);
  if (!scale)
    return scale.takeError();
  RankedTensorType xt = typeOf(*x);
  int64_t rank = xt.getRank();
  Expected<int64_t> axis = ctx.normalizeAxis(ctx.intAttr("axis", -1), rank);
  if (!axis)
    return axis.takeError();
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc;
  SmallVector<OpFoldResult> sizes = mixedSizes(b, loc, *x);
  SmallVector<OpFoldResult> trailing(sizes.begin() + *axis, sizes.end());
  int64_t d = 1;
  for (int64_t i = *axis; i < rank; ++i) {
    if (xt.isDynamicDim(i))
      return ctx.error("normalized dims must be static");
    d *= xt.getDimSize(i);
  }
  auto flatParam = [&](Value p) -> Value {
    // Broadcast to the trailing shape, then fold to [D].
    Value full = broadcastTo(b, loc, p, trailing);
    return reshapeTo(b, loc, full, {b.getIndexAttr(d)});
  };
  Value bias;
  if (!rms && ctx.hasInput(2)) {
    Expected<Value> bv = ctx.input(2);
    if (!bv)
      return bv.takeError();
    bias = flatParam(*bv);
  }
  SmallVector<OpFoldResult> folded(sizes.begin(), sizes.begin() + *axis);
  folded.push_back(b.getIndexAttr(d));
  Value x2 = reshapeTo(b, loc, *x, folded);
  float eps = ctx.floatAttr("epsilon", 1e-5f);
  Value y = rms ? (Value)mlir::qt::RmsNormOp::create(b, loc, typeOf(x2), x2,
                                                     flatParam(*scale),
                                                     b.getF32FloatAttr(eps))
                : (Value)mlir::qt::LayerNormOp::create(
                      b, loc, typeOf(x2), x2, flatParam(*scale), bias,
                      b.getF32FloatAttr(eps));
  results.push_back(tensorOf(reshapeTo(b, loc, y, sizes), ctx.inputs[0]->dtype));
  if (rms)
    return Error::success();
  bool wantStats = false;
  for (int i = 1; i < ctx.node.output_size(); ++i)
    wantStats |= !ctx.node.output(i).empty();
  if (!wantStats)
    return Error::success();
  // Mean and 1 / sqrt(var + eps), shaped [..., 1, ..., 1] (stash type f32
  // is the computation type here).
  Type elem = xt.getElementType();
  int64_t r2 = typeOf(x2).getRank();
  auto sum = [&](Value v) {
    return reduce(b, loc, v, {r2 - 1}, /*keepDims=*/true, 0.0,
                  [](OpBuilder &nb, Location l, Value a, Value acc) {
                    return arith::AddFOp::create(nb, l, a, acc);
                  });
  };
  Value dValue = scalarConstant(b, loc, elem, static_cast<double>(d));
  Value mean = mapElements(b, loc, sum(x2), elem,
                           [&](OpBuilder &nb, Location l, ValueRange a) {
                             return arith::DivFOp::create(nb, l, a[0], dValue);
                           });
  Value meanB = broadcastTo(b, loc, mean, mixedSizes(b, loc, x2));
  Value sq = mapElements(b, loc, ValueRange{x2, meanB}, elem,
                         [&](OpBuilder &nb, Location l, ValueRange a) {
                           Value c = arith::SubFOp::create(nb, l, a[0], a[1]);
                           return arith::MulFOp::create(nb, l, c, c);
                         });
  Value epsValue = scalarConstant(b, loc, elem, eps);
  Value inv = mapElements(
      b, loc, sum(sq), elem, [&](OpBuilder &nb, Location l, ValueRange a) {
        Value var = arith::DivFOp::create(nb, l, a[0], dValue);
        Value s = math::SqrtOp::create(
            nb, l, arith::AddFOp::create(nb, l, var, epsValue));
        return arith::DivFOp::create(nb, l, scalarConstant(nb, l, elem, 1.0), s);
      });
  SmallVector<OpFoldResult> statSizes(sizes.begin(), sizes.begin() + *axis);
  statSizes.append(rank - *axis, b.getIndexAttr(1));
  results.push_back(tensorOf(reshapeTo(b, loc, mean, statSizes), ctx.inputs[0]->dtype));
  results.push_back(tensorOf(reshapeTo(b, loc, inv, statSizes), ctx.inputs[0]->dtype));
  return Error::success();
}

Error layerNormOp(NodeContext &ctx, Results &results) {
  return normOp(ctx, results, /*rms=*/false);
}

Error rmsNormOp(NodeContext &ctx, Results &results) {
  return normOp(ctx, results, /*rms=*/true);
}

Error geluOp(NodeContext &ctx, Results &results) {
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  std::string approx = ctx.stringAttr("approximate", "none");
  mlir::qt::GeluApproximation kind;
  if (approx == "none")
    kind = mlir::qt::GeluApproximation::None;
  else if (approx == "tanh")
    kind = mlir::qt::GeluApproximation::Tanh;
  else
    return ctx.error("unsupported attribute value approximate='" + approx + "'");
  Value out = mlir::qt::GeluOp::create(
      ctx.builder(), ctx.loc, *x,
      mlir::qt::GeluApproximationAttr::get(ctx.context(), kind));
  results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
  return Error::success();
}

Error whereOp(NodeContext &ctx, Results &results) {
  if (ctx.numInputs() != 3)
    return ctx.error("expects 3 inputs");
  if (foldKnown(
          ctx, results,
          [](OpBuilder &, Location,
             ArrayRef<ShapeEntry> a) -> std::optional<ShapeEntry> {
            if (!a[0].isConstant())
              return std::nullopt;
            return a[0].constant ? a[1] : a[2];
          },
          ctx.inputs[1] ? ctx.inputs[1]->dtype : kInt64))
    return Error::success();
  Expected<RankedTensorType> xt = ctx.inputType(1);
  if (!xt)
    return xt.takeError();
  return elementwise(ctx, results, xt->getElementType(), ctx.inputs[1]->dtype,
                     [](OpBuilder &b, Location l, ValueRange a) {
                       return arith::SelectOp::create(b, l, a[0], a[1], a[2]);
                     });
}

Error triluOp(NodeContext &ctx, Results &results) {
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  OpBuilder &b0 = ctx.builder();
  Value kIndex = arith::ConstantIndexOp::create(b0, ctx.loc, 0);
  if (ctx.hasInput(1)) {
    // k may be a constant or a run-time scalar.
    Expected<Value> kv = ctx.input(1);
    if (!kv)
      return kv.takeError();
    RankedTensorType kt = typeOf(*kv);
    if (kt.getNumElements() != 1)
      return ctx.error("k must be a scalar");
    SmallVector<Value> zeros(kt.getRank(),
                             arith::ConstantIndexOp::create(b0, ctx.loc, 0));
    Value e = tensor::ExtractOp::create(b0, ctx.loc, *kv, zeros);
    kIndex = arith::IndexCastOp::create(b0, ctx.loc, b0.getIndexType(), e);
  }
  bool upper = ctx.intAttr("upper", 1) != 0;
  RankedTensorType type = typeOf(*x);
  int64_t rank = type.getRank();
  if (rank < 2)
    return ctx.error("input must have rank >= 2");
  OpBuilder &b = ctx.builder();
  Value init = emptyLike(b, ctx.loc, *x, type.getElementType());
  SmallVector<AffineMap> maps(2, b.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  Type elem = type.getElementType();
  auto generic = linalg::GenericOp::create(
      b, ctx.loc, TypeRange{init.getType()}, ValueRange{*x}, ValueRange{init},
      maps, iters, [&](OpBuilder &nb, Location l, ValueRange args) {
        Value i = linalg::IndexOp::create(nb, l, rank - 2);
        Value j = linalg::IndexOp::create(nb, l, rank - 1);
        Value ik = arith::AddIOp::create(nb, l, i, kIndex);
        // upper: keep j >= i + k; lower: keep j <= i + k.
        Value keep = arith::CmpIOp::create(
            nb, l, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
            j, ik);
        Value zero = scalarConstant(nb, l, elem, 0.0);
        linalg::YieldOp::create(
            nb, l, arith::SelectOp::create(nb, l, keep, args[0], zero).getResult());
      });
  results.push_back(tensorOf(generic->getResult(0), ctx.inputs[0]->dtype));
  return Error::success();
}

Error minMaxOp(NodeContext &ctx, Results &results, bool isMax) {
  if (ctx.numInputs() == 0)
    return ctx.error("expects at least one input");
  Expected<RankedTensorType> t = ctx.inputType(0);
  if (!t)
    return t.takeError();
  Type elem = t->getElementType();
  return elementwise(
      ctx, results, elem, ctx.inputs[0]->dtype,
      [&](OpBuilder &b, Location l, ValueRange a) {
        Value acc = a[0];
        for (Value v : a.drop_front()) {
          if (isFloatType(elem))
            acc = isMax ? (Value)arith::MaximumFOp::create(b, l, acc, v)
                        : (Value)arith::MinimumFOp::create(b, l, acc, v);
          else
            acc = isMax ? (Value)arith::MaxSIOp::create(b, l, acc, v)
                        : (Value)arith::MinSIOp::create(b, l, acc, v);
        }
        return acc;
      });
}

} // namespace

void qtc::onnx::addStandardOps(OpTable &t) {
  using B = OpBuilder;
  using L = Location;
  addBinary(
      t, "Add",
      [](B &b, L l, Value x, Value y) -> Value { return arith::AddFOp::create(b, l, x, y); },
      [](B &b, L l, Value x, Value y) -> Value { return arith::AddIOp::create(b, l, x, y); },
      [](int64_t x, int64_t y) -> std::optional<int64_t> { return x + y; });
  addBinary(
      t, "Sub",
      [](B &b, L l, Value x, Value y) -> Value { return arith::SubFOp::create(b, l, x, y); },
      [](B &b, L l, Value x, Value y) -> Value { return arith::SubIOp::create(b, l, x, y); },
      [](int64_t x, int64_t y) -> std::optional<int64_t> { return x - y; });
  addBinary(
      t, "Mul",
      [](B &b, L l, Value x, Value y) -> Value { return arith::MulFOp::create(b, l, x, y); },
      [](B &b, L l, Value x, Value y) -> Value { return arith::MulIOp::create(b, l, x, y); },
      [](int64_t x, int64_t y) -> std::optional<int64_t> { return x * y; });
  addBinary(
      t, "Div",
      [](B &b, L l, Value x, Value y) -> Value { return arith::DivFOp::create(b, l, x, y); },
      [](B &b, L l, Value x, Value y) -> Value { return arith::DivSIOp::create(b, l, x, y); },
      [](int64_t x, int64_t y) -> std::optional<int64_t> {
        if (y == 0)
          return std::nullopt;
        return x / y;
      });
  addBinary(
      t, "Pow",
      [](B &b, L l, Value x, Value y) -> Value {
        if (isa<IntegerType>(y.getType()))
          y = arith::SIToFPOp::create(b, l, x.getType(), y);
        if (x.getType() != y.getType()) {
          // Exponents may have another float type than the base.
          y = x.getType().getIntOrFloatBitWidth() > y.getType().getIntOrFloatBitWidth()
                  ? (Value)arith::ExtFOp::create(b, l, x.getType(), y)
                  : (Value)arith::TruncFOp::create(b, l, x.getType(), y);
        }
        return math::PowFOp::create(b, l, x, y);
      },
      [](B &b, L l, Value x, Value y) -> Value {
        // Integer base: integer exponents use ipowi; float exponents go
        // through the float type and back (ONNX keeps the base's type).
        if (auto ft = dyn_cast<FloatType>(y.getType())) {
          Value xf = arith::SIToFPOp::create(b, l, ft, x);
          Value r = math::PowFOp::create(b, l, xf, y);
          return arith::FPToSIOp::create(b, l, x.getType(), r);
        }
        unsigned xw = x.getType().getIntOrFloatBitWidth(),
                 yw = y.getType().getIntOrFloatBitWidth();
        if (yw < xw)
          y = arith::ExtSIOp::create(b, l, x.getType(), y);
        else if (yw > xw)
          y = arith::TruncIOp::create(b, l, x.getType(), y);
        return math::IPowIOp::create(b, l, x, y);
      });
  addCompare(t, "Equal", arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq,
             [](int64_t a, int64_t b) -> std::optional<bool> { return a == b; });
  addCompare(t, "Less", arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt,
             [](int64_t a, int64_t b) -> std::optional<bool> { return a < b; });
  addCompare(t, "LessOrEqual", arith::CmpFPredicate::OLE, arith::CmpIPredicate::sle,
             [](int64_t a, int64_t b) -> std::optional<bool> { return a <= b; });
  addCompare(t, "Greater", arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt,
             [](int64_t a, int64_t b) -> std::optional<bool> { return a > b; });
  addCompare(t, "GreaterOrEqual", arith::CmpFPredicate::OGE, arith::CmpIPredicate::sge,
             [](int64_t a, int64_t b) -> std::optional<bool> { return a >= b; });
  for (auto [name, pred] : {std::pair<StringRef, int>{"And", 0}, {"Or", 1}, {"Xor", 2}}) {
    int p = pred;
    t.add("", name, 1, [p](NodeContext &ctx, Results &r) -> Error {
      return elementwise(ctx, r, ctx.builder().getI1Type(), kBool,
                         [&](B &b, L l, ValueRange a) -> Value {
                           if (p == 0) return arith::AndIOp::create(b, l, a[0], a[1]);
                           if (p == 1) return arith::OrIOp::create(b, l, a[0], a[1]);
                           return arith::XOrIOp::create(b, l, a[0], a[1]);
                         });
    });
  }
  t.add("", "Not", 1, [](NodeContext &ctx, Results &r) -> Error {
    return elementwise(ctx, r, ctx.builder().getI1Type(), kBool,
                       [](B &b, L l, ValueRange a) -> Value {
                         Value one = arith::ConstantIntOp::create(b, l, 1, 1);
                         return arith::XOrIOp::create(b, l, a[0], one);
                       });
  });
  // PyTorch's scaled-dot-product attention export guards its softmax with
  // IsNaN (fully masked rows).
  t.add("", "IsNaN", 9, [](NodeContext &ctx, Results &r) -> Error {
    Expected<Value> x = ctx.input(0);
    if (!x)
      return x.takeError();
    if (!isa<FloatType>(typeOf(*x).getElementType()))
      return ctx.error("IsNaN expects a floating-point input");
    return elementwise(ctx, r, ctx.builder().getI1Type(), kBool,
                       [](B &b, L l, ValueRange a) -> Value {
                         return arith::CmpFOp::create(
                             b, l, arith::CmpFPredicate::UNO, a[0], a[0]);
                       });
  });
  t.add("", "Where", 9, whereOp);
  t.add("", "Max", 1, [](NodeContext &c, Results &r) { return minMaxOp(c, r, true); });
  t.add("", "Min", 1, [](NodeContext &c, Results &r) { return minMaxOp(c, r, false); });

  addUnaryFloat(t, "Sqrt", [](B &b, L l, Value x) -> Value { return math::SqrtOp::create(b, l, x); });
  addUnaryFloat(t, "Exp", [](B &b, L l, Value x) -> Value { return math::ExpOp::create(b, l, x); });
  addUnaryFloat(t, "Log", [](B &b, L l, Value x) -> Value { return math::LogOp::create(b, l, x); });
  addUnaryFloat(t, "Erf", [](B &b, L l, Value x) -> Value { return math::ErfOp::create(b, l, x); });
  addUnaryFloat(t, "Tanh", [](B &b, L l, Value x) -> Value { return math::TanhOp::create(b, l, x); });
  addUnaryFloat(t, "Cos", [](B &b, L l, Value x) -> Value { return math::CosOp::create(b, l, x); });
  addUnaryFloat(t, "Sin", [](B &b, L l, Value x) -> Value { return math::SinOp::create(b, l, x); });
  addUnaryFloat(t, "Abs", [](B &b, L l, Value x) -> Value { return math::AbsFOp::create(b, l, x); });
  addUnaryFloat(t, "Neg", [](B &b, L l, Value x) -> Value { return arith::NegFOp::create(b, l, x); });
  addUnaryFloat(t, "Reciprocal", [](B &b, L l, Value x) -> Value {
    return arith::DivFOp::create(b, l, scalarConstant(b, l, x.getType(), 1.0), x);
  });
  addUnaryFloat(t, "Relu", [](B &b, L l, Value x) -> Value {
    return arith::MaximumFOp::create(b, l, x, scalarConstant(b, l, x.getType(), 0.0));
  });
  addUnaryFloat(t, "Sigmoid", [](B &b, L l, Value x) -> Value {
    Value one = scalarConstant(b, l, x.getType(), 1.0);
    Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x));
    return arith::DivFOp::create(b, l, one, arith::AddFOp::create(b, l, one, e));
  });
  t.add("", "Gelu", 20, geluOp);

  t.add("", "Identity", 1, [](NodeContext &ctx, Results &r) -> Error {
    if (!ctx.hasInput(0))
      return ctx.error("input 0 is required");
    r.push_back(*ctx.inputs[0]);
    return Error::success();
  });
  t.add("", "Cast", 1, [](NodeContext &ctx, Results &r) -> Error {
    const ::onnx::AttributeProto *to = ctx.attr("to");
    if (!to)
      return ctx.error("'to' is required");
    return castTo(ctx, r, static_cast<int32_t>(to->i()));
  });
  t.add("", "CastLike", 15, [](NodeContext &ctx, Results &r) -> Error {
    if (!ctx.hasInput(1))
      return ctx.error("target_type (input 1) is required");
    return castTo(ctx, r, ctx.inputs[1]->dtype);
  });
  t.add("", "Constant", 1, constantOp);
  t.add("", "Shape", 1, shapeOp);
  t.add("", "Size", 1, sizeOp);
  t.add("", "Reshape", 5, reshapeOp);
  t.add("", "Flatten", 1, flattenOp);
  t.add("", "Squeeze", 1, squeezeOp);
  t.add("", "Unsqueeze", 1, unsqueezeOp);
  t.add("", "Concat", 1, concatOp);
  t.add("", "Gather", 1, gatherOp);
  t.add("", "Slice", 10, sliceOp);
  t.add("", "Split", 2, splitOp);
  t.add("", "Transpose", 1, transposeOp);
  t.add("", "Expand", 8, expandOp);
  t.add("", "ConstantOfShape", 9, constantOfShapeOp);
  t.add("", "Range", 11, rangeOp);
  t.add("", "Trilu", 14, triluOp);
  t.add("", "MatMul", 1, matmulOp);
  t.add("", "Gemm", 1, gemmOp);
  t.add("", "Softmax", 1, softmaxOp);
  t.add("", "ReduceMean", 1, [](NodeContext &c, Results &r) { return reduceOp(c, r, "mean", 18); });
  t.add("", "ReduceSum", 1, [](NodeContext &c, Results &r) { return reduceOp(c, r, "sum", 13); });
  t.add("", "ReduceMax", 1, [](NodeContext &c, Results &r) { return reduceOp(c, r, "max", 18); });
  t.add("", "LayerNormalization", 17, layerNormOp);
  t.add("", "RMSNormalization", 23, rmsNormOp);
}
