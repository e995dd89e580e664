//===- QuantOps.cpp - quantized op handlers -------------------------------===//
//
// DequantizeLinear of constant weights keeps them packed (PackedWeight) so
// that MatMul becomes qt.quantized_matmul; onnxruntime's MatMulNBits and
// MatMulBnb4 (NF4) map onto qt.quantized_matmul directly and
// GatherBlockQuantized onto
// qt.embedding. Activation (de)quantization with per-tensor, per-axis or
// blocked parameters becomes a linalg.generic whose parameter maps divide
// the blocked axis by the block size.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/Importer.h"

#include "dialects/QT/IR/QTOps.h"
#include "dialects/QT/Utils/BitPacking.h"
#include "dialects/QT/Utils/Grids.h"

#include "mlir/Dialect/Tensor/Utils/Utils.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace qtc::onnx;
using llvm::Error;
using llvm::Expected;

namespace {


bool isIntCodeType(int32_t dtype) {
  return dtype == kInt8 || dtype == kUInt8 || dtype == kInt4 ||
         dtype == kUInt4 || dtype == kInt2 || dtype == kUInt2;
}

/// Element `i` of a constant's raw bytes of `size` bytes each.
void copyElement(const ConstData &c, int64_t i, unsigned size, char *out) {
  std::memcpy(out, c.bytes.data() + i * size, size);
}

/// Converts an integer code (i8/i32 storage) to a float of `type`.
Value codeToFloat(OpBuilder &b, Location l, Value code, int32_t dtype,
                  Type type) {
  if (dtypeIsSigned(dtype))
    return arith::SIToFPOp::create(b, l, type, code);
  return arith::UIToFPOp::create(b, l, type, code);
}

/// Indexing map of a (de)quantization parameter: rank-0 (per tensor), 1-D
/// along `axis` (per axis), or x's rank with `axis` divided by `block`.
Expected<AffineMap> parameterMap(NodeContext &ctx, RankedTensorType x,
                                 RankedTensorType param, int64_t axis,
                                 int64_t block, StringRef name) {
  MLIRContext *mc = ctx.context();
  int64_t rank = x.getRank();
  if (param.getRank() == 0)
    return AffineMap::get(rank, 0, {}, mc);
  if (param.getRank() == 1 && param.getDimSize(0) == 1 && block == 0)
    return AffineMap::get(rank, 0, {getAffineConstantExpr(0, mc)}, mc);
  if (block == 0) {
    if (param.getRank() != 1)
      return ctx.error("'" + name + "' must be a scalar or 1-D for per-axis "
                       "quantization");
    if (!param.isDynamicDim(0) && !x.isDynamicDim(axis) &&
        param.getDimSize(0) != x.getDimSize(axis))
      return ctx.error("'" + name + "' has " + Twine(param.getDimSize(0)) +
                       " entries, axis " + Twine(axis) + " has " +
                       Twine(x.getDimSize(axis)));
    return AffineMap::get(rank, 0, {getAffineDimExpr(axis, mc)}, mc);
  }
  if (param.getRank() != rank)
    return ctx.error("blocked '" + name + "' must have the input's rank");
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t want = x.getDimSize(d);
    if (d == axis && !ShapedType::isDynamic(want))
      want = (want + block - 1) / block;
    if (!param.isDynamicDim(d) && !ShapedType::isDynamic(want) &&
        param.getDimSize(d) != want)
      return ctx.error("blocked '" + name + "' dim " + Twine(d) + " is " +
                       Twine(param.getDimSize(d)) + ", expected " +
                       Twine(want));
    exprs.push_back(d == axis ? getAffineDimExpr(d, mc).floorDiv(block)
                              : getAffineDimExpr(d, mc));
  }
  return AffineMap::get(rank, 0, exprs, mc);
}

/// y = (x - zp) * scale, elementwise with broadcast parameters, in
/// `outElem` (default: the scale's type, as DequantizeLinear defines it).
Expected<Value> dequantizeGeneric(NodeContext &ctx, Value x, int32_t xDtype,
                                  Value scale, Value zp, int32_t zpDtype,
                                  int64_t axis, int64_t block,
                                  Type outElem = {}) {
  OpBuilder &b = ctx.builder();
  RankedTensorType xt = typeOf(x);
  Type scaleElem = typeOf(scale).getElementType();
  if (!outElem)
    outElem = scaleElem;
  SmallVector<Value> ins = {x, scale};
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(xt.getRank())};
  Expected<AffineMap> sm = parameterMap(ctx, xt, typeOf(scale), axis, block,
                                        "x_scale");
  if (!sm)
    return sm.takeError();
  maps.push_back(*sm);
  if (zp) {
    Expected<AffineMap> zm = parameterMap(ctx, xt, typeOf(zp), axis, block,
                                          "x_zero_point");
    if (!zm)
      return zm.takeError();
    maps.push_back(*zm);
    ins.push_back(zp);
  }
  maps.push_back(b.getMultiDimIdentityMap(xt.getRank()));
  Value init = emptyLike(b, ctx.loc, x, outElem);
  SmallVector<utils::IteratorType> iters(xt.getRank(),
                                         utils::IteratorType::parallel);
  bool xFloat = isa<FloatType>(xt.getElementType());
  auto op = linalg::GenericOp::create(
      b, ctx.loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value v = xFloat ? a[0] : codeToFloat(nb, l, a[0], xDtype, outElem);
        if (zp) {
          Value z = isa<FloatType>(a[2].getType())
                        ? a[2]
                        : codeToFloat(nb, l, a[2], zpDtype, outElem);
          v = arith::SubFOp::create(nb, l, v, z);
        }
        Value sc = a[1];
        if (scaleElem != outElem)
          sc = arith::ExtFOp::create(nb, l, outElem, sc);
        linalg::YieldOp::create(nb, l,
                                arith::MulFOp::create(nb, l, v, sc).getResult());
      });
  return op->getResult(0);
}

/// q = saturate(round_half_even(x / scale) + zp), in i8 storage (or i32).
Expected<Value> quantizeGeneric(NodeContext &ctx, Value x, Value scale,
                                Value zp, int32_t outDtype, int64_t axis,
                                int64_t block) {
  OpBuilder &b = ctx.builder();
  RankedTensorType xt = typeOf(x);
  Type storage = ctx.importer.elementType(outDtype);
  if (!storage && (outDtype == kInt4 || outDtype == kUInt4 ||
                   outDtype == kInt2 || outDtype == kUInt2))
    storage = b.getI8Type();
  if (!storage || isa<FloatType>(storage))
    return ctx.error("quantizing to " + dtypeName(outDtype) +
                     " is not supported");
  unsigned bits = dtypeBits(outDtype);
  bool isSigned = dtypeIsSigned(outDtype);
  double qmin = isSigned ? -std::ldexp(1.0, bits - 1) : 0.0;
  double qmax = isSigned ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1;
  Type fTy = xt.getElementType();
  SmallVector<Value> ins = {x, scale};
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(xt.getRank())};
  Expected<AffineMap> sm = parameterMap(ctx, xt, typeOf(scale), axis, block,
                                        "y_scale");
  if (!sm)
    return sm.takeError();
  maps.push_back(*sm);
  if (zp) {
    Expected<AffineMap> zm = parameterMap(ctx, xt, typeOf(zp), axis, block,
                                          "y_zero_point");
    if (!zm)
      return zm.takeError();
    maps.push_back(*zm);
    ins.push_back(zp);
  }
  maps.push_back(b.getMultiDimIdentityMap(xt.getRank()));
  Value init = emptyLike(b, ctx.loc, x, storage);
  SmallVector<utils::IteratorType> iters(xt.getRank(),
                                         utils::IteratorType::parallel);
  auto op = linalg::GenericOp::create(
      b, ctx.loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value s = a[1];
        if (s.getType() != fTy)
          s = fTy.getIntOrFloatBitWidth() > s.getType().getIntOrFloatBitWidth()
                  ? (Value)arith::ExtFOp::create(nb, l, fTy, s)
                  : (Value)arith::TruncFOp::create(nb, l, fTy, s);
        Value v = arith::DivFOp::create(nb, l, a[0], s);
        v = math::RoundEvenOp::create(nb, l, v);
        if (zp)
          v = arith::AddFOp::create(nb, l, v,
                                    codeToFloat(nb, l, a[2], outDtype, fTy));
        v = arith::MaximumFOp::create(nb, l, v, scalarConstant(nb, l, fTy, qmin));
        v = arith::MinimumFOp::create(nb, l, v, scalarConstant(nb, l, fTy, qmax));
        Value q = isSigned ? (Value)arith::FPToSIOp::create(nb, l, storage, v)
                           : (Value)arith::FPToUIOp::create(nb, l, storage, v);
        linalg::YieldOp::create(nb, l, q);
      });
  return op->getResult(0);
}

/// Builds qt's packed form of the [K, N] codes of a constant
/// DequantizeLinear input: N rows of K codes, lsb_first.
std::vector<uint8_t> packTransposed(const ConstData &codes, int64_t k,
                                    int64_t n, unsigned bits) {
  std::vector<uint8_t> values(n * k);
  const uint8_t mask = static_cast<uint8_t>((1u << bits) - 1u);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t nn = 0; nn < n; ++nn)
      values[nn * k + kk] =
          static_cast<uint8_t>(codes.intAt(kk * n + nn)) & mask;
  return qtc::packRows(values, n, k, bits, qtc::BitOrder::LsbFirst);
}

/// Transposes a [G, N] constant (scales or zero points) into [N, G] bytes.
std::shared_ptr<std::vector<char>> transposeBytes(const ConstData &c,
                                                  int64_t g, int64_t n,
                                                  unsigned size) {
  auto out = std::make_shared<std::vector<char>>(g * n * size);
  for (int64_t gg = 0; gg < g; ++gg)
    for (int64_t nn = 0; nn < n; ++nn)
      copyElement(c, gg * n + nn, size, out->data() + (nn * g + gg) * size);
  return out;
}

Error dequantizeLinearOp(NodeContext &ctx, Results &results) {
  if (Error e = ctx.checkAttributes({"axis", "block_size", "output_dtype"}))
    return e;
  if (!ctx.hasInput(0) || !ctx.hasInput(1))
    return ctx.error("expects x and x_scale");
  Tensor &x = *ctx.inputs[0];
  Tensor &scale = *ctx.inputs[1];
  Tensor *zp = ctx.hasInput(2) ? ctx.inputs[2] : nullptr;
  int64_t block = ctx.intAttr("block_size", 0);
  if (block < 0)
    return ctx.error("block_size must be non-negative");
  if (!isIntCodeType(x.dtype) && x.dtype != kInt32)
    return ctx.error("dequantizing " + dtypeName(x.dtype) +
                     " is not supported");
  if (!dtypeIsFloat(scale.dtype))
    return ctx.error("x_scale must be a float tensor");
  int64_t rank = x.constant ? static_cast<int64_t>(x.constant->dims.size())
                            : -1;
  if (rank < 0) {
    Expected<RankedTensorType> t = ctx.inputType(0);
    if (!t)
      return t.takeError();
    rank = t->getRank();
  }
  // The axis only matters for per-axis and blocked parameters.
  int64_t axisAttr = ctx.intAttr("axis", 1);
  bool scalarScale = scale.constant ? scale.constant->numElements() == 1
                                    : false;
  if (!scale.constant) {
    Expected<RankedTensorType> st = ctx.inputType(1);
    if (!st)
      return st.takeError();
    scalarScale = st->getRank() == 0 || st->getNumElements() == 1;
  }
  Expected<int64_t> axis =
      scalarScale && block == 0
          ? Expected<int64_t>(0)
          : ctx.normalizeAxis(axisAttr, std::max<int64_t>(rank, 1));
  if (!axis)
    return axis.takeError();
  Type scaleElem = ctx.importer.elementType(scale.dtype);

  // Constant [K, N] weights with groups along K (blocked on axis 0), one
  // scale per column (per axis 1) or per tensor: keep them packed.
  if (x.constant && rank == 2 && scale.constant &&
      (!zp || zp->constant) && x.dtype != kInt32) {
    const ConstData &c = *x.constant;
    int64_t k = c.dims[0], n = c.dims[1];
    const ConstData &s = *scale.constant;
    int64_t group = 0;
    bool perTensor = s.numElements() == 1 && block == 0;
    if (perTensor || (block == 0 && *axis == 1 && s.dims.size() == 1 &&
                      s.dims[0] == n))
      group = k;
    else if (block > 0 && *axis == 0 && k % block == 0 &&
             s.dims.size() == 2 && s.dims[0] == k / block && s.dims[1] == n)
      group = block;
    if (group > 0 && k > 0 && n > 0) {
      int64_t groups = k / group;
      unsigned bits = dtypeBits(x.dtype);
      OpBuilder &b = ctx.builder();
      std::vector<uint8_t> packed = packTransposed(c, k, n, bits);
      auto packedOwner = std::make_shared<std::vector<uint8_t>>(std::move(packed));
      Value weights = ctx.importer.constantFromBytes(
          ArrayRef<char>(reinterpret_cast<const char *>(packedOwner->data()),
                         packedOwner->size()),
          {n, static_cast<int64_t>(packedOwner->size()) / n}, b.getI8Type(),
          c.name, packedOwner);
      unsigned scaleSize = dtypeBits(scale.dtype) / 8;
      std::shared_ptr<std::vector<char>> scaleBytes;
      if (perTensor) {
        scaleBytes = std::make_shared<std::vector<char>>(n * scaleSize);
        for (int64_t i = 0; i < n; ++i)
          copyElement(s, 0, scaleSize, scaleBytes->data() + i * scaleSize);
      } else {
        scaleBytes = transposeBytes(s, groups, n, scaleSize);
      }
      Value scales = ctx.importer.constantFromBytes(
          *scaleBytes, {n, groups}, scaleElem, s.name, scaleBytes);
      Value zeroPoints;
      bool isSigned = dtypeIsSigned(x.dtype);
      bool hasZp = false;
      if (zp || !isSigned) {
        // ONNX's default zero point is 0; qt's implicit one for unsigned
        // codes is 2^(bits-1), so unsigned codes always carry zero points.
        auto zpBytes = std::make_shared<std::vector<char>>(n * groups, 0);
        if (zp) {
          const ConstData &z = *zp->constant;
          if (z.numElements() != 1 && z.numElements() != groups * n)
            return ctx.error("x_zero_point must match x_scale's shape");
          for (int64_t gg = 0; gg < groups; ++gg)
            for (int64_t nn = 0; nn < n; ++nn)
              (*zpBytes)[nn * groups + gg] = static_cast<char>(
                  z.intAt(z.numElements() == 1 ? 0 : gg * n + nn));
        }
        zeroPoints = ctx.importer.constantFromBytes(
            *zpBytes, {n, groups}, b.getI8Type(),
            zp ? zp->constant->name : c.name + "_zero_point", zpBytes);
        hasZp = true;
      }
      auto pw = std::make_shared<PackedWeight>();
      pw->weights = weights;
      pw->scales = scales;
      pw->zeroPoints = zeroPoints;
      pw->format = mlir::qt::PackedAttr::get(
          ctx.context(),
          IntegerType::get(ctx.context(), bits,
                           isSigned ? IntegerType::Signed
                                    : IntegerType::Unsigned),
          group, scaleElem, hasZp, mlir::qt::BitOrder::LsbFirst);
      pw->n = n;
      pw->k = k;
      pw->resultElement = scaleElem;
      Tensor t;
      t.dtype = scale.dtype;
      t.packed = pw;
      results.push_back(t);
      return Error::success();
    }
  }

  Expected<Value> xv = ctx.input(0);
  if (!xv)
    return xv.takeError();
  Expected<Value> sv = ctx.input(1);
  if (!sv)
    return sv.takeError();
  Value zv;
  if (zp) {
    Expected<Value> z = ctx.input(2);
    if (!z)
      return z.takeError();
    zv = *z;
  }
  Expected<Value> out = dequantizeGeneric(ctx, *xv, x.dtype, *sv, zv,
                                          zp ? zp->dtype : 0, *axis, block);
  if (!out)
    return out.takeError();
  results.push_back(tensorOf(*out, scale.dtype));
  return Error::success();
}

Error quantizeLinearOp(NodeContext &ctx, Results &results) {
  if (Error e = ctx.checkAttributes(
          {"axis", "block_size", "output_dtype", "saturate", "precision"}))
    return e;
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  Expected<Value> scale = ctx.input(1);
  if (!scale)
    return scale.takeError();
  Value zp;
  int32_t outDtype = static_cast<int32_t>(ctx.intAttr("output_dtype", 0));
  if (ctx.hasInput(2)) {
    Expected<Value> z = ctx.input(2);
    if (!z)
      return z.takeError();
    zp = *z;
    if (!outDtype)
      outDtype = ctx.inputs[2]->dtype;
  }
  if (!outDtype)
    outDtype = kUInt8;
  RankedTensorType scaleType = typeOf(*scale);
  bool scalarScale = scaleType.getRank() == 0 || scaleType.getNumElements() == 1;
  Expected<int64_t> axis =
      scalarScale && ctx.intAttr("block_size", 0) == 0
          ? Expected<int64_t>(0)
          : ctx.normalizeAxis(ctx.intAttr("axis", 1),
                              std::max<int64_t>(typeOf(*x).getRank(), 1));
  if (!axis)
    return axis.takeError();
  Expected<Value> out = quantizeGeneric(ctx, *x, *scale, zp, outDtype, *axis,
                                        ctx.intAttr("block_size", 0));
  if (!out)
    return out.takeError();
  results.push_back(tensorOf(*out, outDtype));
  return Error::success();
}

Error dynamicQuantizeLinearOp(NodeContext &ctx, Results &results) {
  Expected<Value> x = ctx.input(0);
  if (!x)
    return x.takeError();
  OpBuilder &b = ctx.builder();
  RankedTensorType xt = typeOf(*x);
  if (!xt.getElementType().isF32())
    return ctx.error("DynamicQuantizeLinear expects a FLOAT input");
  auto qType = RankedTensorType::get(xt.getShape(), b.getI8Type());
  auto sType = RankedTensorType::get({}, b.getF32Type());
  auto zType = RankedTensorType::get({}, b.getI8Type());
  auto op = mlir::qt::DynamicQuantizeOp::create(
      b, ctx.loc, qType, sType, zType, *x, IntegerAttr(), UnitAttr());
  results.push_back(tensorOf(op.getOutput(), kUInt8));
  results.push_back(tensorOf(op.getScale(), kFloat));
  results.push_back(tensorOf(op.getZeroPoint(), kUInt8));
  return Error::success();
}

/// Integer operand minus its zero point, widened to i32.
Expected<Value> widenMinusZeroPoint(NodeContext &ctx, size_t xi, size_t zi,
                                    int64_t zpAxis) {
  Expected<Value> x = ctx.input(xi);
  if (!x)
    return x.takeError();
  OpBuilder &b = ctx.builder();
  int32_t dtype = ctx.inputs[xi]->dtype;
  Value zp;
  if (ctx.hasInput(zi)) {
    Expected<Value> z = ctx.input(zi);
    if (!z)
      return z.takeError();
    zp = *z;
  }
  RankedTensorType xt = typeOf(*x);
  SmallVector<Value> ins = {*x};
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(xt.getRank())};
  if (zp) {
    RankedTensorType zt = typeOf(zp);
    if (zt.getRank() == 0 || zt.getNumElements() == 1)
      maps.push_back(AffineMap::get(xt.getRank(), 0,
                                    SmallVector<AffineExpr>(zt.getRank(),
                                                            b.getAffineConstantExpr(0)),
                                    ctx.context()));
    else if (zt.getRank() == 1)
      maps.push_back(AffineMap::get(
          xt.getRank(), 0,
          {b.getAffineDimExpr(zpAxis < 0 ? xt.getRank() + zpAxis : zpAxis)},
          ctx.context()));
    else
      return ctx.error("zero points must be scalars or 1-D");
    ins.push_back(zp);
  }
  maps.push_back(b.getMultiDimIdentityMap(xt.getRank()));
  Value init = emptyLike(b, ctx.loc, *x, b.getI32Type());
  SmallVector<utils::IteratorType> iters(xt.getRank(),
                                         utils::IteratorType::parallel);
  bool isSigned = dtypeIsSigned(dtype);
  auto widen = [&](OpBuilder &nb, Location l, Value v) -> Value {
    return isSigned ? (Value)arith::ExtSIOp::create(nb, l, nb.getI32Type(), v)
                    : (Value)arith::ExtUIOp::create(nb, l, nb.getI32Type(), v);
  };
  auto op = linalg::GenericOp::create(
      b, ctx.loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange a) {
        Value v = widen(nb, l, a[0]);
        if (zp)
          v = arith::SubIOp::create(nb, l, v, widen(nb, l, a[1]));
        linalg::YieldOp::create(nb, l, v);
      });
  return op->getResult(0);
}

Error matmulIntegerOp(NodeContext &ctx, Results &results) {
  // A's zero point is per row (axis -2 of A), B's per column (axis -1).
  Expected<Value> a = widenMinusZeroPoint(ctx, 0, 2, -2);
  if (!a)
    return a.takeError();
  Expected<Value> b = widenMinusZeroPoint(ctx, 1, 3, -1);
  if (!b)
    return b.takeError();
  Expected<Value> out = matmul(ctx, *a, *b);
  if (!out)
    return out.takeError();
  results.push_back(tensorOf(*out, kInt32));
  return Error::success();
}

Error qlinearMatmulOp(NodeContext &ctx, Results &results) {
  // Dequantize both sides exactly, multiply in f32, requantize.
  for (size_t i : {0, 1, 2, 3, 4, 5, 6, 7})
    if (!ctx.hasInput(i))
      return ctx.error("QLinearMatMul needs all 8 inputs");
  auto deq = [&](size_t x, size_t s, size_t z, int64_t axis) -> Expected<Value> {
    Expected<Value> xv = ctx.input(x);
    if (!xv) return xv.takeError();
    Expected<Value> sv = ctx.input(s);
    if (!sv) return sv.takeError();
    Expected<Value> zv = ctx.input(z);
    if (!zv) return zv.takeError();
    int64_t rank = typeOf(*xv).getRank();
    // In f32 whatever the scales' type: the product is an exact integer
    // sum scaled once (onnxruntime's semantics); f16 sums of f16 products
    // round differently with each summation order.
    return dequantizeGeneric(ctx, *xv, ctx.inputs[x]->dtype, *sv, *zv,
                             ctx.inputs[z]->dtype, axis < 0 ? rank + axis : axis,
                             0, ctx.builder().getF32Type());
  };
  Expected<Value> a = deq(0, 1, 2, -2);
  if (!a) return a.takeError();
  Expected<Value> b = deq(3, 4, 5, -1);
  if (!b) return b.takeError();
  Expected<Value> y = matmul(ctx, *a, *b);
  if (!y) return y.takeError();
  Expected<Value> ys = ctx.input(6);
  if (!ys) return ys.takeError();
  Expected<Value> yz = ctx.input(7);
  if (!yz) return yz.takeError();
  Expected<Value> q = quantizeGeneric(ctx, *y, *ys, *yz, ctx.inputs[7]->dtype,
                                      typeOf(*y).getRank() - 1, 0);
  if (!q) return q.takeError();
  results.push_back(tensorOf(*q, ctx.inputs[7]->dtype));
  return Error::success();
}

/// Input 0 of a weight-only matmul contrib op: a float tensor whose last
/// dim is the op's K (a dynamic last dim is cast to K).
Expected<Value> activationsWithK(NodeContext &ctx, int64_t k) {
  Expected<Value> a = ctx.input(0);
  if (!a)
    return a.takeError();
  RankedTensorType at = typeOf(*a);
  if (at.getRank() < 1 || !isa<FloatType>(at.getElementType()))
    return ctx.error("A must be a float tensor of rank >= 1");
  int64_t aK = at.getDimSize(at.getRank() - 1);
  if (!ShapedType::isDynamic(aK) && aK != k)
    return ctx.error("A's last dim is " + std::to_string(aK) + ", K is " +
                     std::to_string(k));
  if (!ShapedType::isDynamic(aK))
    return a;
  // The op's K says what the dynamic dim must be.
  SmallVector<int64_t> shape(at.getShape());
  shape.back() = k;
  auto cast = RankedTensorType::get(shape, at.getElementType());
  return tensor::CastOp::create(ctx.builder(), ctx.loc, cast, *a).getResult();
}

Error matMulNBitsOp(NodeContext &ctx, Results &results) {
  if (Error e = ctx.checkAttributes(
          {"K", "N", "bits", "block_size", "accuracy_level"}))
    return e;
  const ::onnx::AttributeProto *kAttr = ctx.attr("K"), *nAttr = ctx.attr("N"),
                               *blockAttr = ctx.attr("block_size");
  if (!kAttr || !nAttr || !blockAttr)
    return ctx.error("attributes K, N and block_size are required");
  int64_t k = kAttr->i(), n = nAttr->i(), block = blockAttr->i();
  int64_t bits = ctx.intAttr("bits", 4);
  if (bits < 2 || bits > 8)
    return ctx.error("bits=" + Twine(bits) + " is not supported (2 to 8)");
  if (k <= 0 || n <= 0 || block <= 0 || (block * bits) % 8 != 0)
    return ctx.error("K, N and block_size must be positive and block_size * "
                     "bits a multiple of 8");
  Expected<Value> a = activationsWithK(ctx, k);
  if (!a)
    return a.takeError();
  RankedTensorType at = typeOf(*a);
  // Bounded so that the sizes below cannot overflow (B's size is checked).
  if (k > (int64_t(1) << 31) || n > (int64_t(1) << 31) ||
      block > (int64_t(1) << 31))
    return ctx.error("K, N and block_size must be at most 2^31");
  int64_t kBlocks = (k + block - 1) / block, blob = block * bits / 8;
  Expected<const ConstData *> bData = ctx.constantInput(1, "B");
  if (!bData)
    return bData.takeError();
  if (static_cast<int64_t>((*bData)->bytes.size()) != n * kBlocks * blob)
    return ctx.error("B holds " + Twine((*bData)->bytes.size()) +
                     " bytes, N * ceil(K / block_size) * block_size * bits / 8 "
                     "= " + Twine(n * kBlocks * blob));
  Expected<const ConstData *> sData = ctx.constantInput(2, "scales");
  if (!sData)
    return sData.takeError();
  if ((*sData)->numElements() != n * kBlocks)
    return ctx.error("scales hold " + Twine((*sData)->numElements()) +
                     " values, N * ceil(K / block_size) = " +
                     Twine(n * kBlocks));
  if (!dtypeIsFloat((*sData)->dtype))
    return ctx.error("scales must be float");
  if (ctx.hasInput(4)) {
    Expected<const ConstData *> gidx = ctx.constantInput(4, "g_idx");
    if (!gidx)
      return gidx.takeError();
    for (int64_t i = 0; i < (*gidx)->numElements(); ++i)
      if ((*gidx)->intAt(i) != i / block)
        return ctx.error("g_idx (act-order) reorders groups, which is not "
                         "supported; re-export without act-order");
  }
  OpBuilder &b = ctx.builder();
  Type scaleElem = ctx.importer.elementType((*sData)->dtype);
  int64_t kPadded = kBlocks * block;
  Value weights = ctx.importer.constantFromBytes(
      (*bData)->bytes, {n, kPadded * bits / 8}, b.getI8Type(),
      (*bData)->name, (*bData)->owner);
  Value scales = ctx.importer.constantFromBytes(
      (*sData)->bytes, {n, kBlocks}, scaleElem, (*sData)->name,
      (*sData)->owner);
  Value zeroPoints;
  if (ctx.hasInput(3)) {
    Expected<const ConstData *> zData = ctx.constantInput(3, "zero_points");
    if (!zData)
      return zData.takeError();
    const ConstData &z = **zData;
    if (z.dtype == kUInt8) {
      int64_t rowBytes = (kBlocks * bits + 7) / 8;
      if (static_cast<int64_t>(z.bytes.size()) != n * rowBytes)
        return ctx.error("packed zero_points hold " + Twine(z.bytes.size()) +
                         " bytes, N * ceil(k_blocks * bits / 8) = " +
                         Twine(n * rowBytes));
      std::vector<uint8_t> codes = qtc::unpackRows(
          ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(z.bytes.data()),
                            z.bytes.size()),
          n, kBlocks, bits, qtc::BitOrder::LsbFirst);
      auto owner = std::make_shared<std::vector<uint8_t>>(std::move(codes));
      zeroPoints = ctx.importer.constantFromBytes(
          ArrayRef<char>(reinterpret_cast<const char *>(owner->data()),
                         owner->size()),
          {n, kBlocks}, b.getI8Type(), z.name, owner);
    } else if (z.dtype == (*sData)->dtype) {
      if (z.numElements() != n * kBlocks)
        return ctx.error("zero_points must hold N * k_blocks values");
      zeroPoints = ctx.importer.constantFromBytes(z.bytes, {n, kBlocks},
                                                  scaleElem, z.name, z.owner);
    } else {
      return ctx.error("zero_points of type " + dtypeName(z.dtype) +
                       " are not supported");
    }
  }
  Value bias;
  if (ctx.hasInput(5)) {
    Expected<Value> bv = ctx.input(5);
    if (!bv)
      return bv.takeError();
    bias = *bv;
  }
  Value input = *a;
  if (kPadded > k) {
    // Padded codes meet zero activations and contribute nothing.
    SmallVector<int64_t> shape(at.getShape());
    shape.back() = kPadded;
    auto padType = RankedTensorType::get(shape, at.getElementType());
    SmallVector<Value> dyn;
    for (int64_t d = 0; d < at.getRank(); ++d)
      if (at.isDynamicDim(d))
        dyn.push_back(tensor::DimOp::create(b, ctx.loc, *a, d));
    Value zero = scalarConstant(b, ctx.loc, at.getElementType(), 0.0);
    input = tensor::createPadHighOp(padType, *a, zero, /*nofold=*/false,
                                    ctx.loc, b, dyn);
  }
  auto format = mlir::qt::PackedAttr::get(
      ctx.context(), IntegerType::get(ctx.context(), bits, IntegerType::Unsigned),
      block, scaleElem, static_cast<bool>(zeroPoints),
      mlir::qt::BitOrder::LsbFirst);
  SmallVector<int64_t> outShape(at.getShape());
  outShape.back() = n;
  auto outType = RankedTensorType::get(outShape, at.getElementType());
  Value out = mlir::qt::QuantizedMatmulOp::create(
      b, ctx.loc, outType, input, weights, scales, zeroPoints, bias, format);
  results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
  return Error::success();
}

/// com.microsoft MatMulBnb4 (bitsandbytes 4-bit, onnxruntime's
/// MatMulBnb4Quantizer): B holds W^T (N x K) row-major, two codes per byte
/// with the first in the high nibble, and one absmax per block_size
/// consecutive codes; w = NF4[code] * absmax. With K a multiple of
/// block_size the blocks are groups along K, and the op is a quantized
/// matmul on the NF4 grid (codes repacked low nibble first).
Error matMulBnb4Op(NodeContext &ctx, Results &results) {
  if (Error e = ctx.checkAttributes(
          {"K", "N", "block_size", "quant_type", "training_mode", "transB"}))
    return e;
  const ::onnx::AttributeProto *kAttr = ctx.attr("K"), *nAttr = ctx.attr("N"),
                               *blockAttr = ctx.attr("block_size"),
                               *typeAttr = ctx.attr("quant_type");
  if (!kAttr || !nAttr || !blockAttr || !typeAttr)
    return ctx.error("attributes K, N, block_size and quant_type are required");
  int64_t k = kAttr->i(), n = nAttr->i(), block = blockAttr->i();
  if (typeAttr->i() != 1)
    return ctx.error("quant_type=" + Twine(typeAttr->i()) +
                     " is not supported: only NF4 (1); FP4 (0) is not");
  if (ctx.intAttr("transB", 1) != 1)
    return ctx.error("transB=0 is not supported");
  if (k <= 0 || n <= 0 || block <= 0 || k % block != 0 || k % 2 != 0)
    return ctx.error("K (" + Twine(k) + ") must be even and a multiple of "
                     "block_size (" + Twine(block) + ")");
  // Bounded so that N * K cannot overflow (B's size is checked below).
  if (k > (int64_t(1) << 31) || n > (int64_t(1) << 31))
    return ctx.error("K and N must be at most 2^31");
  Expected<Value> a = activationsWithK(ctx, k);
  if (!a)
    return a.takeError();
  RankedTensorType at = typeOf(*a);
  Expected<const ConstData *> bData = ctx.constantInput(1, "B");
  if (!bData)
    return bData.takeError();
  if ((*bData)->dtype != kUInt8 ||
      static_cast<int64_t>((*bData)->bytes.size()) != n * k / 2)
    return ctx.error("B must hold N * K / 2 = " + Twine(n * k / 2) +
                     " uint8 bytes, got " + Twine((*bData)->bytes.size()) +
                     " bytes of " + dtypeName((*bData)->dtype));
  Expected<const ConstData *> sData = ctx.constantInput(2, "absmax");
  if (!sData)
    return sData.takeError();
  int64_t groups = k / block;
  if ((*sData)->numElements() != n * groups)
    return ctx.error("absmax holds " + Twine((*sData)->numElements()) +
                     " values, N * K / block_size = " + Twine(n * groups));
  if ((*sData)->dtype != kFloat && (*sData)->dtype != kFloat16)
    return ctx.error("absmax must be float or float16");
  OpBuilder &b = ctx.builder();
  Type scaleElem = ctx.importer.elementType((*sData)->dtype);
  // High nibble first: repacked into the lsb_first order the backends read.
  std::vector<uint8_t> lsb = qtc::repackRows(
      ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>((*bData)->bytes.data()),
                        (*bData)->bytes.size()),
      n, k, 4, qtc::BitOrder::MsbFirst, qtc::BitOrder::LsbFirst);
  auto owner = std::make_shared<std::vector<uint8_t>>(std::move(lsb));
  Value weights = ctx.importer.constantFromBytes(
      ArrayRef<char>(reinterpret_cast<const char *>(owner->data()), owner->size()),
      {n, k / 2}, b.getI8Type(), (*bData)->name, owner);
  Value scales = ctx.importer.constantFromBytes(
      (*sData)->bytes, {n, groups}, scaleElem, (*sData)->name,
      (*sData)->owner);
  std::vector<float> levels;
  qtc::namedGrid("nf4", 4, levels);
  auto format = mlir::qt::PackedAttr::get(
      ctx.context(), IntegerType::get(ctx.context(), 4, IntegerType::Unsigned),
      block, scaleElem, /*hasZeroPoint=*/false, mlir::qt::BitOrder::LsbFirst,
      levels);
  SmallVector<int64_t> outShape(at.getShape());
  outShape.back() = n;
  auto outType = RankedTensorType::get(outShape, at.getElementType());
  Value out = mlir::qt::QuantizedMatmulOp::create(
      b, ctx.loc, outType, *a, weights, scales, Value(), Value(), format);
  results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
  return Error::success();
}

Error gatherBlockQuantizedOp(NodeContext &ctx, Results &results) {
  if (Error e = ctx.checkAttributes(
          {"gather_axis", "quantize_axis", "block_size", "bits"}))
    return e;
  Expected<const ConstData *> data = ctx.constantInput(0, "data");
  if (!data)
    return data.takeError();
  Expected<Value> indices = ctx.input(1);
  if (!indices)
    return indices.takeError();
  Expected<const ConstData *> sData = ctx.constantInput(2, "scales");
  if (!sData)
    return sData.takeError();
  const ConstData &d = **data;
  int64_t block = ctx.intAttr("block_size", 128);
  int64_t bits = ctx.intAttr("bits", 4);
  if (d.dims.size() != 2)
    return ctx.error("only 2-D tables are supported");
  if (ctx.intAttr("gather_axis", 0) != 0 ||
      (ctx.intAttr("quantize_axis", 1) != 1 &&
       ctx.intAttr("quantize_axis", 1) != -1))
    return ctx.error("only gather_axis=0 with quantize_axis=last is supported");
  int64_t v = d.dims[0], dim;
  bool isSigned;
  if (d.dtype == kInt4 || d.dtype == kUInt4) {
    dim = d.dims[1];
    bits = 4;
    isSigned = d.dtype == kInt4;
  } else if (d.dtype == kUInt8) {
    dim = d.dims[1] * 8 / bits;
    isSigned = false;
  } else {
    return ctx.error("data of type " + dtypeName(d.dtype) +
                     " is not supported");
  }
  if (dim % block != 0 || (dim * bits) % 8 != 0)
    return ctx.error("the row length " + Twine(dim) +
                     " must be a multiple of block_size " + Twine(block));
  int64_t groups = dim / block;
  if ((*sData)->numElements() != v * groups)
    return ctx.error("scales must hold " + Twine(v * groups) + " values");
  OpBuilder &b = ctx.builder();
  Type scaleElem = ctx.importer.elementType((*sData)->dtype);
  Value table = ctx.importer.constantFromBytes(
      d.bytes, {v, dim * bits / 8}, b.getI8Type(), d.name, d.owner);
  Value scales = ctx.importer.constantFromBytes(
      (*sData)->bytes, {v, groups}, scaleElem, (*sData)->name, (*sData)->owner);
  Value zeroPoints;
  if (ctx.hasInput(3)) {
    Expected<const ConstData *> z = ctx.constantInput(3, "zero_points");
    if (!z)
      return z.takeError();
    if ((*z)->numElements() < v * groups)
      return ctx.error("zero_points must hold " + Twine(v * groups) + " codes");
    auto codes = std::make_shared<std::vector<char>>(v * groups);
    for (int64_t i = 0; i < v * groups; ++i)
      (*codes)[i] = static_cast<char>((*z)->intAt(i));
    zeroPoints = ctx.importer.constantFromBytes(*codes, {v, groups},
                                                b.getI8Type(), (*z)->name,
                                                codes);
  }
  auto format = mlir::qt::PackedAttr::get(
      ctx.context(),
      IntegerType::get(ctx.context(), bits,
                       isSigned ? IntegerType::Signed : IntegerType::Unsigned),
      block, scaleElem, static_cast<bool>(zeroPoints),
      mlir::qt::BitOrder::LsbFirst);
  SmallVector<int64_t> shape(typeOf(*indices).getShape());
  shape.push_back(dim);
  auto outType = RankedTensorType::get(shape, scaleElem);
  Value out = mlir::qt::EmbeddingOp::create(b, ctx.loc, outType, table,
                                            *indices, scales, zeroPoints,
                                            format);
  results.push_back(tensorOf(out, (*sData)->dtype));
  return Error::success();
}

} // namespace

void qtc::onnx::addQuantOps(OpTable &t) {
  t.add("", "DequantizeLinear", 10, dequantizeLinearOp);
  t.add("", "QuantizeLinear", 10, quantizeLinearOp);
  t.add("", "DynamicQuantizeLinear", 11, dynamicQuantizeLinearOp);
  t.add("", "MatMulInteger", 10, matmulIntegerOp);
  t.add("", "QLinearMatMul", 10, qlinearMatmulOp);
  t.add("com.microsoft", "MatMulNBits", 1, matMulNBitsOp);
  t.add("com.microsoft", "MatMulBnb4", 1, matMulBnb4Op);
  t.add("com.microsoft", "GatherBlockQuantized", 1, gatherBlockQuantizedOp);
  t.add("com.microsoft", "DequantizeLinear", 1, dequantizeLinearOp);
  t.add("com.microsoft", "QuantizeLinear", 1, quantizeLinearOp);
}
