//===- ContribOps.cpp - onnxruntime contrib ops and ai.onnx attention -----===//
//
// The fused ops int4 LLM exports use (onnxruntime-genai's model builder):
// (Skip)SimplifiedLayerNormalization -> qt.rms_norm, SkipLayerNormalization
// -> qt.layer_norm, FastGelu -> qt.gelu, RotaryEmbedding ->
// qt.rotary_embedding, GroupQueryAttention and MultiHeadAttention ->
// qt.attention (with the KV cache), plus ai.onnx Attention and
// RotaryEmbedding (opset 23).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/Importer.h"

#include "dialects/QT/IR/QTOps.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <onnx/onnx_pb.h>

#include <cmath>

using namespace mlir;
using namespace qtc::onnx;
using llvm::Error;
using llvm::Expected;

namespace {


/// [B, S, N*H] -> [B, N, S, H].
Expected<Value> splitHeads(NodeContext &ctx, Value x, int64_t heads,
                           StringRef what) {
  OpBuilder &b = ctx.builder();
  RankedTensorType t = typeOf(x);
  if (t.getRank() != 3)
    return ctx.error("'" + what + "' must be [batch, sequence, hidden]");
  int64_t hidden = t.getDimSize(2);
  if (heads <= 0 || ShapedType::isDynamic(hidden) || hidden % heads != 0)
    return ctx.error("'" + what + "' hidden size " +
                     (ShapedType::isDynamic(hidden) ? std::string("?")
                                                    : std::to_string(hidden)) +
                     " is not a multiple of " + std::to_string(heads) +
                     " heads");
  SmallVector<OpFoldResult> s = mixedSizes(b, ctx.loc, x);
  Value r = reshapeTo(b, ctx.loc, x,
                      {s[0], s[1], b.getIndexAttr(heads),
                       b.getIndexAttr(hidden / heads)});
  return transpose(b, ctx.loc, r, {0, 2, 1, 3});
}

/// [B, N, S, H] -> [B, S, N*H].
Value mergeHeads(NodeContext &ctx, Value x) {
  OpBuilder &b = ctx.builder();
  Value t = transpose(b, ctx.loc, x, {0, 2, 1, 3});
  SmallVector<OpFoldResult> s = mixedSizes(b, ctx.loc, t);
  RankedTensorType tt = typeOf(t);
  return reshapeTo(
      b, ctx.loc, t,
      {s[0], s[1], b.getIndexAttr(tt.getDimSize(2) * tt.getDimSize(3))});
}

Expected<Value> addAll(NodeContext &ctx, ArrayRef<Value> values) {
  Expected<SmallVector<Value>> bc = broadcastValues(ctx, values);
  if (!bc)
    return bc.takeError();
  return mapElements(ctx.builder(), ctx.loc, *bc,
                     typeOf(values[0]).getElementType(),
                     [&](OpBuilder &b, Location l, ValueRange a) {
                       Value acc = a[0];
                       for (size_t i = 1; i < values.size(); ++i)
                         acc = arith::AddFOp::create(b, l, acc, a[i]);
                       return acc;
                     });
}

Error rejectOutputs(NodeContext &ctx, ArrayRef<int> outputs, StringRef what) {
  for (int i : outputs)
    if (i < ctx.node.output_size() && !ctx.node.output(i).empty())
      return ctx.error("output " + Twine(i) + " (" + what +
                       ") is not supported");
  return Error::success();
}

Value oneD(NodeContext &ctx, Value v, int64_t d) {
  if (typeOf(v).getRank() == 1)
    return v;
  return reshapeTo(ctx.builder(), ctx.loc, v, {ctx.builder().getIndexAttr(d)});
}

Error simplifiedLayerNormOp(NodeContext &ctx, Results &results) {
  if (Error e = ctx.checkAttributes({"axis", "epsilon", "stash_type"}))
    return e;
  if (Error e = rejectOutputs(ctx, {1}, "inv_std_var"))
    return e;
  Expected<Value> x = ctx.input(0);
  if (!x) return x.takeError();
  Expected<Value> g = ctx.input(1);
  if (!g) return g.takeError();
  int64_t rank = typeOf(*x).getRank();
  Expected<int64_t> axis = ctx.normalizeAxis(ctx.intAttr("axis", -1), rank);
  if (!axis) return axis.takeError();
  if (*axis != rank - 1)
    return ctx.error("normalization over a non-last axis is not supported");
  Value out = mlir::qt::RmsNormOp::create(
      ctx.builder(), ctx.loc, typeOf(*x), *x,
      oneD(ctx, *g, typeOf(*x).getDimSize(rank - 1)),
      ctx.builder().getF32FloatAttr(ctx.floatAttr("epsilon", 1e-5f)));
  results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
  return Error::success();
}

/// Skip(Simplified)LayerNormalization: sum = input + skip (+ bias), then
/// normalize; output 3 is the sum (the next residual).
Error skipNormOp(NodeContext &ctx, Results &results, bool simplified) {
  if (Error e = ctx.checkAttributes({"epsilon"}))
    return e;
  if (Error e = rejectOutputs(ctx, {1, 2}, "mean / inv_std_var"))
    return e;
  Expected<Value> x = ctx.input(0);
  if (!x) return x.takeError();
  Expected<Value> skip = ctx.input(1);
  if (!skip) return skip.takeError();
  Expected<Value> gamma = ctx.input(2);
  if (!gamma) return gamma.takeError();
  SmallVector<Value> terms = {*x, *skip};
  size_t biasIndex = simplified ? 3 : 4;
  if (ctx.hasInput(biasIndex)) {
    Expected<Value> bias = ctx.input(biasIndex);
    if (!bias) return bias.takeError();
    terms.push_back(*bias);
  }
  Expected<Value> sum = addAll(ctx, terms);
  if (!sum) return sum.takeError();
  int64_t d = typeOf(*sum).getDimSize(typeOf(*sum).getRank() - 1);
  OpBuilder &b = ctx.builder();
  FloatAttr eps = b.getF32FloatAttr(ctx.floatAttr("epsilon", 1e-5f));
  Value out;
  if (simplified) {
    out = mlir::qt::RmsNormOp::create(b, ctx.loc, typeOf(*sum), *sum,
                                      oneD(ctx, *gamma, d), eps);
  } else {
    Value beta;
    if (ctx.hasInput(3)) {
      Expected<Value> bv = ctx.input(3);
      if (!bv) return bv.takeError();
      beta = oneD(ctx, *bv, d);
    }
    out = mlir::qt::LayerNormOp::create(b, ctx.loc, typeOf(*sum), *sum,
                                        oneD(ctx, *gamma, d), beta, eps);
  }
  int32_t dtype = ctx.inputs[0]->dtype;
  results.push_back(tensorOf(out, dtype));
  results.push_back(Tensor());
  results.push_back(Tensor());
  results.push_back(tensorOf(*sum, dtype));
  return Error::success();
}

Error fastGeluOp(NodeContext &ctx, Results &results) {
  Expected<Value> x = ctx.input(0);
  if (!x) return x.takeError();
  Value v = *x;
  if (ctx.hasInput(1)) {
    Expected<Value> bias = ctx.input(1);
    if (!bias) return bias.takeError();
    Expected<Value> sum = addAll(ctx, {v, *bias});
    if (!sum) return sum.takeError();
    v = *sum;
  }
  Value out = mlir::qt::GeluOp::create(
      ctx.builder(), ctx.loc, v,
      mlir::qt::GeluApproximationAttr::get(ctx.context(),
                                           mlir::qt::GeluApproximation::Tanh));
  results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
  return Error::success();
}

/// positions[b, s] = offset[b or 0] + s (+ extra), as i64.
Value positionsFrom(NodeContext &ctx, Value like4d, Value offsets,
                    Value extra) {
  OpBuilder &b = ctx.builder();
  SmallVector<OpFoldResult> s = mixedSizes(b, ctx.loc, like4d);
  Value init = tensor::EmptyOp::create(b, ctx.loc, {s[0], s[2]}, b.getI64Type());
  RankedTensorType ot = typeOf(offsets);
  AffineMap offMap =
      ot.getRank() == 1 && ot.getDimSize(0) != 1
          ? AffineMap::get(2, 0, {b.getAffineDimExpr(0)}, ctx.context())
          : AffineMap::get(2, 0,
                           SmallVector<AffineExpr>(ot.getRank(),
                                                   b.getAffineConstantExpr(0)),
                           ctx.context());
  SmallVector<AffineMap> maps = {offMap, b.getMultiDimIdentityMap(2)};
  SmallVector<utils::IteratorType> iters(2, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, ctx.loc, TypeRange{init.getType()}, ValueRange{offsets},
             ValueRange{init}, maps, iters,
             [&](OpBuilder &nb, Location l, ValueRange a) {
               Value off = a[0];
               if (!off.getType().isInteger(64))
                 off = arith::ExtSIOp::create(nb, l, nb.getI64Type(), off);
               Value sIdx = arith::IndexCastOp::create(
                   nb, l, nb.getI64Type(), linalg::IndexOp::create(nb, l, 1));
               Value p = arith::AddIOp::create(nb, l, off, sIdx);
               if (extra)
                 p = arith::AddIOp::create(nb, l, p, extra);
               linalg::YieldOp::create(nb, l, p);
             })
      ->getResult(0);
}

Expected<Value> rotary(NodeContext &ctx, Value x4, Value cos, Value sin,
                       Value positions, bool interleaved, int64_t rotaryDim) {
  OpBuilder &b = ctx.builder();
  IntegerAttr rd = rotaryDim > 0 ? b.getI64IntegerAttr(rotaryDim) : IntegerAttr();
  auto op = mlir::qt::RotaryEmbeddingOp::create(
      b, ctx.loc, typeOf(x4), x4, cos, sin, positions, rd,
      interleaved ? b.getUnitAttr() : UnitAttr());
  return op.getResult();
}

Error rotaryContribOp(NodeContext &ctx, Results &results) {
  if (Error e = ctx.checkAttributes({"interleaved", "num_heads",
                                     "rotary_embedding_dim", "scale",
                                     "is_packed_batching"}))
    return e;
  if (ctx.floatAttr("scale", 1.0f) != 1.0f || ctx.intAttr("is_packed_batching", 0))
    return ctx.error("scale != 1 and packed batching are not supported");
  Expected<Value> x = ctx.input(0);
  if (!x) return x.takeError();
  Expected<Value> pos = ctx.input(1);
  if (!pos) return pos.takeError();
  Expected<Value> cos = ctx.input(2);
  if (!cos) return cos.takeError();
  Expected<Value> sin = ctx.input(3);
  if (!sin) return sin.takeError();
  int64_t rotaryDim = ctx.intAttr("rotary_embedding_dim", 0);
  int64_t heads = ctx.intAttr("num_heads", 0);
  RankedTensorType xt = typeOf(*x);
  Value x4 = *x;
  bool threeD = xt.getRank() == 3;
  if (threeD) {
    if (heads == 0) {
      int64_t half = typeOf(*cos).getDimSize(1);
      if (rotaryDim > 0 || ShapedType::isDynamic(half))
        return ctx.error("num_heads is required for 3-D input");
      heads = xt.getDimSize(2) / (2 * half);
    }
    Expected<Value> s = splitHeads(ctx, *x, heads, "input");
    if (!s) return s.takeError();
    x4 = *s;
  } else if (xt.getRank() != 4) {
    return ctx.error("input must be 3-D or 4-D");
  }
  Value positions = *pos;
  RankedTensorType pt = typeOf(*pos);
  if (pt.getRank() != 2)
    positions = positionsFrom(ctx, x4, *pos, Value()); // scalar offset
  Expected<Value> r = rotary(ctx, x4, *cos, *sin, positions,
                             ctx.intAttr("interleaved", 0) != 0, rotaryDim);
  if (!r) return r.takeError();
  results.push_back(tensorOf(threeD ? mergeHeads(ctx, *r) : *r,
                             ctx.inputs[0]->dtype));
  return Error::success();
}

/// valid[b, 0, 0, j] = j <= seqlens_k[b]: the keys each sequence has.
Value keyMaskFromSeqlens(NodeContext &ctx, Value seqlens, OpFoldResult batch,
                         OpFoldResult total) {
  OpBuilder &b = ctx.builder();
  Value init = tensor::EmptyOp::create(
      b, ctx.loc, {batch, b.getIndexAttr(1), b.getIndexAttr(1), total},
      b.getI1Type());
  SmallVector<AffineMap> maps = {
      AffineMap::get(4, 0, {b.getAffineDimExpr(0)}, ctx.context()),
      b.getMultiDimIdentityMap(4)};
  SmallVector<utils::IteratorType> iters(4, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, ctx.loc, TypeRange{init.getType()}, ValueRange{seqlens},
             ValueRange{init}, maps, iters,
             [&](OpBuilder &nb, Location l, ValueRange a) {
               Value len = arith::ExtSIOp::create(nb, l, nb.getI64Type(), a[0]);
               Value j = arith::IndexCastOp::create(
                   nb, l, nb.getI64Type(), linalg::IndexOp::create(nb, l, 3));
               linalg::YieldOp::create(
                   nb, l,
                   arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sle, j,
                                         len)
                       .getResult());
             })
      ->getResult(0);
}

Expected<SmallVector<Value>> attention(NodeContext &ctx, Value q, Value k,
                                       Value v, Value mask, Value pastK,
                                       Value pastV, std::optional<float> scale,
                                       bool causal) {
  OpBuilder &b = ctx.builder();
  RankedTensorType qt = typeOf(q), kt = typeOf(k), vt = typeOf(v);
  SmallVector<Type> types = {RankedTensorType::get(
      {qt.getDimSize(0), qt.getDimSize(1), qt.getDimSize(2), vt.getDimSize(3)},
      qt.getElementType())};
  if (pastK) {
    int64_t p = typeOf(pastK).getDimSize(2), t = kt.getDimSize(2);
    int64_t total = ShapedType::isDynamic(p) || ShapedType::isDynamic(t)
                        ? ShapedType::kDynamic
                        : p + t;
    types.push_back(RankedTensorType::get(
        {kt.getDimSize(0), kt.getDimSize(1), total, kt.getDimSize(3)},
        kt.getElementType()));
    types.push_back(RankedTensorType::get(
        {vt.getDimSize(0), vt.getDimSize(1), total, vt.getDimSize(3)},
        vt.getElementType()));
  }
  OperationState state(ctx.loc, mlir::qt::AttentionOp::getOperationName());
  mlir::qt::AttentionOp::build(
      b, state, types[0], pastK ? types[1] : Type(), pastK ? types[2] : Type(),
      q, k, v, mask, pastK, pastV,
      scale ? b.getF32FloatAttr(*scale) : FloatAttr(),
      causal ? b.getUnitAttr() : UnitAttr(), IntegerAttr(), FloatAttr());
  // Shape mismatches surface in the final verification, with this node's
  // name as the location.
  Operation *op = b.create(state);
  return SmallVector<Value>(op->getResults().begin(), op->getResults().end());
}

/// Reads the optional (past_key, past_value) pair at inputs `ki`, `vi`.
Error readCache(NodeContext &ctx, size_t ki, size_t vi, Value &pastK,
                Value &pastV) {
  if (ctx.hasInput(ki) != ctx.hasInput(vi))
    return ctx.error("past_key and past_value must be given together");
  if (!ctx.hasInput(ki))
    return Error::success();
  Expected<Value> pk = ctx.input(ki);
  if (!pk)
    return pk.takeError();
  Expected<Value> pv = ctx.input(vi);
  if (!pv)
    return pv.takeError();
  pastK = *pk;
  pastV = *pv;
  return Error::success();
}

/// Pushes the attention output (merged back to [B, S, N*H] if `merge`) and
/// the present key and value when there are some.
void pushAttention(NodeContext &ctx, Results &results,
                   ArrayRef<Value> out, bool merge) {
  int32_t dtype = ctx.inputs[0]->dtype;
  results.push_back(tensorOf(merge ? mergeHeads(ctx, out[0]) : out[0], dtype));
  if (out.size() == 3) {
    results.push_back(tensorOf(out[1], dtype));
    results.push_back(tensorOf(out[2], dtype));
  }
}

Error groupQueryAttentionOp(NodeContext &ctx, Results &results) {
  if (Error e = ctx.checkAttributes(
          {"num_heads", "kv_num_heads", "scale", "do_rotary",
           "rotary_interleaved", "local_window_size", "softcap",
           "smooth_softmax", "qk_output"}))
    return e;
  if (ctx.intAttr("local_window_size", -1) != -1 ||
      ctx.floatAttr("softcap", 0.0f) != 0.0f ||
      ctx.intAttr("smooth_softmax", 0) != 0 || ctx.intAttr("qk_output", 0) != 0)
    return ctx.error("local windows, softcap, smooth softmax and qk output "
                     "are not supported");
  for (size_t i : {9, 10, 11})
    if (ctx.hasInput(i))
      return ctx.error("position_ids, attention_bias and head_sink inputs are "
                       "not supported");
  int64_t heads = ctx.intAttr("num_heads", 0),
          kvHeads = ctx.intAttr("kv_num_heads", 0);
  if (heads <= 0 || kvHeads <= 0)
    return ctx.error("num_heads and kv_num_heads are required");
  Expected<Value> query = ctx.input(0);
  if (!query) return query.takeError();
  OpBuilder &b = ctx.builder();
  Value qIn = *query, kIn, vIn;
  if (ctx.hasInput(1)) {
    Expected<Value> kv = ctx.input(1);
    if (!kv) return kv.takeError();
    Expected<Value> vv = ctx.input(2);
    if (!vv) return vv.takeError();
    kIn = *kv;
    vIn = *vv;
  } else {
    // Packed QKV: [B, S, (N + 2 Nkv) H].
    RankedTensorType t = typeOf(qIn);
    int64_t total = t.getDimSize(2);
    if (ShapedType::isDynamic(total) || total % (heads + 2 * kvHeads))
      return ctx.error("packed QKV width is not (num_heads + 2 kv_num_heads) "
                       "* head_size");
    int64_t h = total / (heads + 2 * kvHeads);
    SmallVector<OpFoldResult> s = mixedSizes(b, ctx.loc, qIn);
    auto slice = [&](int64_t off, int64_t len) -> Value {
      return tensor::ExtractSliceOp::create(
          b, ctx.loc, qIn,
          {b.getIndexAttr(0), b.getIndexAttr(0), b.getIndexAttr(off)},
          {s[0], s[1], b.getIndexAttr(len)},
          {b.getIndexAttr(1), b.getIndexAttr(1), b.getIndexAttr(1)});
    };
    Value q = slice(0, heads * h), k = slice(heads * h, kvHeads * h),
          v = slice((heads + kvHeads) * h, kvHeads * h);
    qIn = q;
    kIn = k;
    vIn = v;
  }
  Expected<Value> q = splitHeads(ctx, qIn, heads, "query");
  if (!q) return q.takeError();
  Expected<Value> k = splitHeads(ctx, kIn, kvHeads, "key");
  if (!k) return k.takeError();
  Expected<Value> v = splitHeads(ctx, vIn, kvHeads, "value");
  if (!v) return v.takeError();
  Value pastK, pastV;
  if (Error e = readCache(ctx, 3, 4, pastK, pastV))
    return e;
  Expected<Value> seqlens = ctx.input(5);
  if (!seqlens) return seqlens.takeError();
  Value qr = *q, kr = *k;
  if (ctx.intAttr("do_rotary", 0)) {
    Expected<Value> cos = ctx.input(7);
    if (!cos) return cos.takeError();
    Expected<Value> sin = ctx.input(8);
    if (!sin) return sin.takeError();
    // Token s of the S new ones sits at seqlens_k[b] + 1 - S + s.
    Value sLen = arith::IndexCastOp::create(
        b, ctx.loc, b.getI64Type(), tensor::DimOp::create(b, ctx.loc, *q, 2));
    Value extra = arith::SubIOp::create(
        b, ctx.loc, arith::ConstantIntOp::create(b, ctx.loc, 1, 64), sLen);
    Value positions = positionsFrom(ctx, *q, *seqlens, extra);
    bool inter = ctx.intAttr("rotary_interleaved", 0) != 0;
    Expected<Value> rq = rotary(ctx, *q, *cos, *sin, positions, inter, 0);
    if (!rq) return rq.takeError();
    Expected<Value> rk = rotary(ctx, *k, *cos, *sin, positions, inter, 0);
    if (!rk) return rk.takeError();
    qr = *rq;
    kr = *rk;
  }
  // Keys beyond each sequence's length are padding.
  SmallVector<OpFoldResult> qs = mixedSizes(b, ctx.loc, qr);
  OpFoldResult total = mixedSizes(b, ctx.loc, kr)[2];
  if (pastK) {
    OpFoldResult p = mixedSizes(b, ctx.loc, pastK)[2];
    std::optional<int64_t> pc = getConstantIntValue(p), tc = getConstantIntValue(total);
    total = pc && tc ? OpFoldResult(b.getIndexAttr(*pc + *tc))
                     : OpFoldResult(arith::AddIOp::create(
                                        b, ctx.loc,
                                        getValueOrCreateConstantIndexOp(b, ctx.loc, p),
                                        getValueOrCreateConstantIndexOp(b, ctx.loc, total))
                                        .getResult());
  }
  Value mask = keyMaskFromSeqlens(ctx, *seqlens, qs[0], total);
  float scale = ctx.floatAttr("scale", 0.0f);
  Expected<SmallVector<Value>> out =
      attention(ctx, qr, kr, *v, mask, pastK, pastV,
                scale != 0.0f ? std::optional<float>(scale) : std::nullopt,
                /*causal=*/true);
  if (!out) return out.takeError();
  pushAttention(ctx, results, *out, /*merge=*/true);
  return Error::success();
}

Error multiHeadAttentionOp(NodeContext &ctx, Results &results) {
  if (Error e = ctx.checkAttributes({"num_heads", "scale", "unidirectional",
                                     "mask_filter_value"}))
    return e;
  for (size_t i : {3, 4, 8, 9})
    if (ctx.hasInput(i))
      return ctx.error("bias, key_padding_mask and cross-attention cache "
                       "inputs are not supported");
  int64_t heads = ctx.intAttr("num_heads", 0);
  Expected<Value> query = ctx.input(0);
  if (!query) return query.takeError();
  Expected<Value> key = ctx.input(1);
  if (!key) return key.takeError();
  Expected<Value> value = ctx.input(2);
  if (!value) return value.takeError();
  Expected<Value> q = splitHeads(ctx, *query, heads, "query");
  if (!q) return q.takeError();
  Expected<Value> k = splitHeads(ctx, *key, heads, "key");
  if (!k) return k.takeError();
  Expected<Value> v = splitHeads(ctx, *value, heads, "value");
  if (!v) return v.takeError();
  Value mask, pastK, pastV;
  if (ctx.hasInput(5)) {
    Expected<Value> m = ctx.input(5);
    if (!m) return m.takeError();
    mask = *m;
  }
  if (Error e = readCache(ctx, 6, 7, pastK, pastV))
    return e;
  float scale = ctx.floatAttr("scale", 0.0f);
  Expected<SmallVector<Value>> out = attention(
      ctx, *q, *k, *v, mask, pastK, pastV,
      scale != 0.0f ? std::optional<float>(scale) : std::nullopt,
      ctx.intAttr("unidirectional", 0) != 0);
  if (!out) return out.takeError();
  pushAttention(ctx, results, *out, /*merge=*/true);
  return Error::success();
}

/// ai.onnx Attention (opset 23): 4-D [B, N, S, H] or 3-D with head counts.
Error onnxAttentionOp(NodeContext &ctx, Results &results) {
  if (Error e = ctx.checkAttributes(
          {"is_causal", "kv_num_heads", "q_num_heads", "qk_matmul_output_mode",
           "scale", "softcap", "softmax_precision"}))
    return e;
  if (ctx.floatAttr("softcap", 0.0f) != 0.0f)
    return ctx.error("softcap is not supported");
  if (Error e = rejectOutputs(ctx, {3}, "qk_matmul_output"))
    return e;
  Expected<Value> q = ctx.input(0);
  if (!q) return q.takeError();
  Expected<Value> k = ctx.input(1);
  if (!k) return k.takeError();
  Expected<Value> v = ctx.input(2);
  if (!v) return v.takeError();
  bool threeD = typeOf(*q).getRank() == 3;
  Value q4 = *q, k4 = *k, v4 = *v;
  if (threeD) {
    int64_t qh = ctx.intAttr("q_num_heads", 0), kh = ctx.intAttr("kv_num_heads", 0);
    Expected<Value> a = splitHeads(ctx, *q, qh, "Q");
    if (!a) return a.takeError();
    Expected<Value> bk = splitHeads(ctx, *k, kh, "K");
    if (!bk) return bk.takeError();
    Expected<Value> c = splitHeads(ctx, *v, kh, "V");
    if (!c) return c.takeError();
    q4 = *a; k4 = *bk; v4 = *c;
  }
  Value mask, pastK, pastV;
  if (ctx.hasInput(3)) {
    Expected<Value> m = ctx.input(3);
    if (!m) return m.takeError();
    mask = *m;
  }
  if (Error e = readCache(ctx, 4, 5, pastK, pastV))
    return e;
  const ::onnx::AttributeProto *scaleAttr = ctx.attr("scale");
  Expected<SmallVector<Value>> out = attention(
      ctx, q4, k4, v4, mask, pastK, pastV,
      scaleAttr ? std::optional<float>(scaleAttr->f()) : std::nullopt,
      ctx.intAttr("is_causal", 0) != 0);
  if (!out) return out.takeError();
  pushAttention(ctx, results, *out, threeD);
  return Error::success();
}

/// ai.onnx RotaryEmbedding (opset 23).
Error onnxRotaryOp(NodeContext &ctx, Results &results) {
  if (Error e = ctx.checkAttributes({"interleaved", "num_heads",
                                     "rotary_embedding_dim"}))
    return e;
  Expected<Value> x = ctx.input(0);
  if (!x) return x.takeError();
  Expected<Value> cos = ctx.input(1);
  if (!cos) return cos.takeError();
  Expected<Value> sin = ctx.input(2);
  if (!sin) return sin.takeError();
  RankedTensorType xt = typeOf(*x);
  Value x4 = *x;
  bool threeD = xt.getRank() == 3;
  if (threeD) {
    Expected<Value> s = splitHeads(ctx, *x, ctx.intAttr("num_heads", 0), "X");
    if (!s) return s.takeError();
    x4 = *s;
  } else if (xt.getRank() != 4) {
    // 4-D input is already [B, N, S, H].
    return ctx.error("X must be 3-D or 4-D");
  }
  Value positions;
  Value c = *cos, s = *sin;
  if (ctx.hasInput(3)) {
    Expected<Value> p = ctx.input(3);
    if (!p) return p.takeError();
    positions = *p;
  } else {
    // Tables are per token: [B, S, R/2]; only B = 1 maps onto qt's tables.
    RankedTensorType ct = typeOf(c);
    if (ct.getRank() != 3 || ct.getDimSize(0) != 1)
      return ctx.error("without position_ids, cos_cache must be [1, S, R/2]");
    c = dropUnitDims(ctx.builder(), ctx.loc, c, {0});
    s = dropUnitDims(ctx.builder(), ctx.loc, s, {0});
  }
  Expected<Value> r = rotary(ctx, x4, c, s, positions,
                             ctx.intAttr("interleaved", 0) != 0,
                             ctx.intAttr("rotary_embedding_dim", 0));
  if (!r) return r.takeError();
  Value out = threeD ? mergeHeads(ctx, *r) : *r;
  results.push_back(tensorOf(out, ctx.inputs[0]->dtype));
  return Error::success();
}

} // namespace

void qtc::onnx::addContribOps(OpTable &t) {
  StringRef ms = "com.microsoft";
  t.add(ms, "SimplifiedLayerNormalization", 1, simplifiedLayerNormOp);
  t.add("", "SimplifiedLayerNormalization", 1, simplifiedLayerNormOp);
  t.add(ms, "SkipSimplifiedLayerNormalization", 1,
        [](NodeContext &c, Results &r) { return skipNormOp(c, r, true); });
  t.add(ms, "SkipLayerNormalization", 1,
        [](NodeContext &c, Results &r) { return skipNormOp(c, r, false); });
  t.add(ms, "FastGelu", 1, fastGeluOp);
  t.add(ms, "RotaryEmbedding", 1, rotaryContribOp);
  t.add(ms, "GroupQueryAttention", 1, groupQueryAttentionOp);
  t.add(ms, "MultiHeadAttention", 1, multiHeadAttentionOp);
  t.add("", "Attention", 23, onnxAttentionOp);
  t.add("", "RotaryEmbedding", 23, onnxRotaryOp);
}
