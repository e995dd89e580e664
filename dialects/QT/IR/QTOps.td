//===- QTOps.td - qt dialect operations --------------------*- tablegen -*-===//

#ifndef QTC_DIALECT_QT_OPS
#define QTC_DIALECT_QT_OPS

include "dialects/QT/IR/QTBase.td"
include "dialects/QT/IR/QTAttrs.td"
include "dialects/QT/IR/QTEnums.td"
include "dialects/QT/IR/QTInterfaces.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Operand types are checked by the C++ verifiers, which name the operand
// and the expected shape; ODS only asks for ranked tensors.

//===----------------------------------------------------------------------===//
// Packed weights
//===----------------------------------------------------------------------===//

def QT_QuantizedMatmulOp : QT_Op<"quantized_matmul", [Pure,
    AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<QT_PackedWeightsOpInterface,
                              ["getPackedRowCount", "getPackedRowLength"]>]> {
  let summary = "Matmul of activations with packed low-bit weights";
  let description = [{
    Computes `result[..., n] = sum_k input[..., k] * w[n, k] (+ bias[n])`
    where `w` is the N x K weight matrix held packed in `weights` and
    decoded with `scales` and, when the format says so, `zero_points`
    (see `#qt.packed`). Weights stay packed: backends unpack and scale them
    in registers inside the GEMM loop nest.

    Operands, for K = input's last dimension, G = K / group_size:
    - `input`: `tensor<... x K x T>`, T in f32, f16, bf16;
    - `weights`: `tensor<N x ceil(K * bits / 8) x i8>`;
    - `scales`: `tensor<N x G x S>`, S the format's scale type;
    - `zero_points` (iff the format has `zero_point`): `tensor<N x G x i8>`
      codes, or `tensor<N x G x S>` real-valued zero points;
    - `bias` (optional): `tensor<N x T>`.
    The result is `tensor<... x N x T>`.

    Example (a 4-bit, group-32 projection from 64 to 128 features):

    ```mlir
    %y = qt.quantized_matmul %x, %w, %s zero_points(%zp : tensor<128x2xi8>)
        {format = #qt.packed<ui4, group_size = 32, scale = f16, zero_point>}
        : tensor<?x64xf32>, tensor<128x32xi8>, tensor<128x2xf16>
        -> tensor<?x128xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weights,
                       AnyRankedTensor:$scales,
                       Optional<AnyRankedTensor>:$zero_points,
                       Optional<AnyRankedTensor>:$bias,
                       QT_PackedAttr:$format);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $weights `,` $scales
    (`zero_points` `(` $zero_points^ `:` type($zero_points) `)`)?
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    attr-dict `:` type($input) `,` type($weights) `,` type($scales)
    `->` type($result)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def QT_DequantizeOp : QT_Op<"dequantize", [Pure,
    DeclareOpInterfaceMethods<QT_PackedWeightsOpInterface,
                              ["getPackedRowCount", "getPackedRowLength"]>]> {
  let summary = "Unpacks and scales packed low-bit weights";
  let description = [{
    Decodes the N x K matrix held in `weights` (see `#qt.packed`) into a
    real-valued `tensor<N x K x T>`. Importers produce it for quantized
    weights whose consumer is not (yet) a quantized matmul; the fusion pass
    folds it into `qt.quantized_matmul`, so that no real-valued copy of a
    weight matrix is ever materialized. It has no folder on purpose.

    ```mlir
    %w = qt.dequantize %packed, %scales
        {format = #qt.packed<si4, group_size = 64, scale = f32>}
        : tensor<32x64xi8>, tensor<32x2xf32> -> tensor<32x128xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$weights, AnyRankedTensor:$scales,
                       Optional<AnyRankedTensor>:$zero_points,
                       QT_PackedAttr:$format);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $weights `,` $scales
    (`zero_points` `(` $zero_points^ `:` type($zero_points) `)`)?
    attr-dict `:` type($weights) `,` type($scales) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def QT_EmbeddingOp : QT_Op<"embedding", [Pure, AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<QT_PackedWeightsOpInterface,
        ["getPackedWeightsMutable", "getPackedRowCount",
         "getPackedRowLength"]>]> {
  let summary = "Looks rows up in a real-valued or packed embedding table";
  let description = [{
    `result[i..., :] = table[indices[i...], :]`. The table is either a
    real-valued `tensor<V x D x T>`, or, when `format` is given, a packed
    `tensor<V x ceil(D * bits / 8) x i8>` with `scales` `tensor<V x G x S>`
    and optional `zero_points`, each looked-up row decoded on the fly
    (onnxruntime's GatherBlockQuantized). Indices are i32 or i64; the
    result is `tensor<indices-shape x D x T>`.

    ```mlir
    %e = qt.embedding %table[%ids] : tensor<1000x64xf32>, tensor<1x8xi64>
        -> tensor<1x8x64xf32>
    %q = qt.embedding %packed[%ids] scales(%s : tensor<1000x2xf16>)
        {format = #qt.packed<ui4, group_size = 32, scale = f16>}
        : tensor<1000x32xi8>, tensor<1x8xi64> -> tensor<1x8x64xf16>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$table, AnyRankedTensor:$indices,
                       Optional<AnyRankedTensor>:$scales,
                       Optional<AnyRankedTensor>:$zero_points,
                       OptionalAttr<QT_PackedAttr>:$format);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $table `[` $indices `]`
    (`scales` `(` $scales^ `:` type($scales) `)`)?
    (`zero_points` `(` $zero_points^ `:` type($zero_points) `)`)?
    attr-dict `:` type($table) `,` type($indices) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Activation quantization
//===----------------------------------------------------------------------===//

def QT_DynamicQuantizeOp : QT_Op<"dynamic_quantize", [Pure]> {
  let summary = "Quantizes activations with scales computed at run time";
  let description = [{
    Quantizes `input` to 8-bit codes with scales computed from the values
    themselves, per tensor (no `group_size`: `scale` is a rank-0 tensor) or
    per group of `group_size` elements along the last dimension (`scale` has
    the input's shape with the last dimension divided by `group_size`).

    - `symmetric`: `scale = max|x| / 127`, `code = round(x / scale)` in
      [-127, 127]; no zero point.
    - otherwise (ONNX DynamicQuantizeLinear): the range [min(x, 0),
      max(x, 0)] maps onto [0, 255]; the `zero_point` result holds the codes
      of real 0 (stored in i8 as unsigned values).

    Rounding is half to even. Codes are `i8`; scales are f32.

    ```mlir
    %q, %s = qt.dynamic_quantize %x {group_size = 32, symmetric}
        : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4x2xf32>
    %q2, %s2, %zp = qt.dynamic_quantize %x
        : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<f32>, tensor<i8>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$group_size,
                       UnitAttr:$symmetric);
  let results = (outs AnyRankedTensor:$output, AnyRankedTensor:$scale,
                      Optional<AnyRankedTensor>:$zero_point);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($output) `,` type($scale)
    (`,` type($zero_point)^)?
  }];
  let hasVerifier = 1;
}

def QT_Int8DotOp : QT_Op<"int8_dot", [Pure,
    AllTypesMatch<["acc", "result"]>, AllTypesMatch<["lhs", "rhs"]>]> {
  let summary = "Adds 4-byte unsigned x signed dot products to i32 lanes";
  let description = [{
    `result[i] = acc[i] + sum_{j < 4} zext(lhs[4 i + j]) * sext(rhs[4 i + j])`,
    wrapping on overflow: what x86's `vpdpbusd` (AVX-512 VNNI, AVX-VNNI)
    computes. The MatMulInteger kernel of `qt-tile-quantized-matmul`
    emits it on targets with that instruction; `qt-lower-int8-dot` turns it
    into the LLVM intrinsic there (or into portable vector arithmetic).
    It is an op rather than the intrinsic call itself because bufferization
    rejects calls with unknown memory effects.

    ```mlir
    %r = qt.int8_dot %acc, %a, %b : vector<64xi8> -> vector<16xi32>
    ```
  }];
  let arguments = (ins VectorOfRankAndType<[1], [I32]>:$acc,
                       VectorOfRankAndType<[1], [I8]>:$lhs,
                       VectorOfRankAndType<[1], [I8]>:$rhs);
  let results = (outs VectorOfRankAndType<[1], [I32]>:$result);
  let assemblyFormat =
      "$acc `,` $lhs `,` $rhs attr-dict `:` type($lhs) `->` type($acc)";
  let hasVerifier = 1;
}

def QT_LookupOp : QT_Op<"lookup", [Pure,
    AllTypesMatch<["table", "result"]>]> {
  let summary = "Picks lanes of a vector of floats by index";
  let description = [{
    `result[i] = table[index[i] mod N]` for a table of N = 8 or 16 lanes:
    what x86's `vpermps` computes (AVX2 on 8 lanes, AVX-512 on 16). The
    few-row kernels of `qt-tile-quantized-matmul` emit it to turn codes on
    a non-uniform grid (`#qt.packed<..., levels = [...]>`) into their levels;
    `qt-lower-int8-dot` turns it into the LLVM intrinsic (or a tree of
    selects). An op rather than the intrinsic call, because bufferization
    rejects calls with unknown memory effects.

    ```mlir
    %r = qt.lookup %table, %codes : vector<16xf32>, vector<16xi32>
    ```
  }];
  let arguments = (ins VectorOfRankAndType<[1], [F32]>:$table,
                       VectorOfRankAndType<[1], [I32]>:$index);
  let results = (outs VectorOfRankAndType<[1], [F32]>:$result);
  let assemblyFormat =
      "$table `,` $index attr-dict `:` type($table) `,` type($index)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// KV-cache quantization
//===----------------------------------------------------------------------===//

class QT_KVCacheOp<string mnemonic, list<Trait> traits = []>
    : QT_Op<mnemonic, traits> {
  code kvFormatDoc = [{
    A quantized cache tensor `tensor<B x H x T x D>` is held as
    - `codes`: `tensor<B x H x T x (D * bits / 8) x i8>`, unsigned `bits`-wide
      codes (2, 4 or 8) packed along D, element 0 in the low bits of a byte;
    - `scales` and `mins`: f16, one per group. With `per_channel` (keys, as
      KIVI found: their outliers sit in fixed channels) a group is
      `group_size` consecutive tokens of one channel and both have shape
      `B x H x ceil(T / group_size) x D`; otherwise (values) a group is
      `group_size` consecutive channels of one token, shape
      `B x H x T x (D / group_size)`.
    The value of a code q is `q * scale + min`.
  }];
  let extraClassDeclaration = [{
    /// Codes per byte: 8 / bits.
    int64_t getCodesPerByte() { return 8 / getBits(); }
  }];
}

def QT_KVDequantizeOp : QT_KVCacheOp<"kv_dequantize", [Pure]> {
  let summary = "Decodes a quantized KV-cache tensor";
  let description = !strconcat(kvFormatDoc, [{

    The result is the real-valued `tensor<B x H x T x D>`.

    ```mlir
    %k = qt.kv_dequantize %codes, %scales, %mins {bits = 4, group_size = 32, per_channel}
        : tensor<1x2x40x8xi8>, tensor<1x2x2x16xf16>, tensor<1x2x2x16xf16>
        -> tensor<1x2x40x16xf32>
    ```
  }]);
  let arguments = (ins AnyRankedTensor:$codes, AnyRankedTensor:$scales,
                       AnyRankedTensor:$mins,
                       ConfinedAttr<I64Attr, [IntPositive]>:$bits,
                       ConfinedAttr<I64Attr, [IntPositive]>:$group_size,
                       UnitAttr:$per_channel);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $codes `,` $scales `,` $mins attr-dict `:` type($codes) `,` type($scales)
    `,` type($mins) `->` type($result)
  }];
  let hasVerifier = 1;
}

def QT_KVQuantizeOp : QT_KVCacheOp<"kv_quantize", [Pure]> {
  let summary = "Quantizes the next KV-cache tensor, keeping the past's codes";
  let description = !strconcat(kvFormatDoc, [{

    `input` is the real-valued cache after this step (`T` tokens: the `P`
    past ones followed by the new ones); `past_codes`, `past_scales` and
    `past_mins` hold the quantized past (`P` tokens). Groups that lie
    entirely in the past keep their codes, scales and mins unchanged, so a
    token is rounded once (per token: every past token; per channel: the
    first `floor(P / group_size)` token groups; a partly filled group is
    re-rounded with the new tokens' range). Every other group gets the
    asymmetric min-max scale of its values, `scale = f16((max - min) /
    (2^bits - 1))`, `min = f16(min)`, and codes `clamp(roundeven((x - min) /
    scale), 0, 2^bits - 1)` (0 when the scale is 0).

    ```mlir
    %c, %s, %m = qt.kv_quantize %v, %pc, %ps, %pm {bits = 8, group_size = 16}
        : tensor<1x2x9x16xf32>, tensor<1x2x8x16xi8>, tensor<1x2x8x1xf16>,
          tensor<1x2x8x1xf16>
        -> tensor<1x2x9x16xi8>, tensor<1x2x9x1xf16>, tensor<1x2x9x1xf16>
    ```
  }]);
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$past_codes,
                       AnyRankedTensor:$past_scales, AnyRankedTensor:$past_mins,
                       ConfinedAttr<I64Attr, [IntPositive]>:$bits,
                       ConfinedAttr<I64Attr, [IntPositive]>:$group_size,
                       UnitAttr:$per_channel);
  let results = (outs AnyRankedTensor:$codes, AnyRankedTensor:$scales,
                      AnyRankedTensor:$mins);
  let assemblyFormat = [{
    $input `,` $past_codes `,` $past_scales `,` $past_mins attr-dict `:`
    type($input) `,` type($past_codes) `,` type($past_scales) `,`
    type($past_mins) `->` type($codes) `,` type($scales) `,` type($mins)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

def QT_RmsNormOp : QT_Op<"rms_norm", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "RMS normalization over the last dimension";
  let description = [{
    `result = input / sqrt(mean(input^2, last dim) + epsilon) * weight`,
    with `weight` of shape `[D]` for an input whose last dimension is D
    (Llama's RMSNorm, ONNX RMSNormalization, onnxruntime's
    SimplifiedLayerNormalization). The mean is accumulated in f32.

    ```mlir
    %y = qt.rms_norm %x, %gamma {epsilon = 1.0e-05 : f32}
        : tensor<1x8x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                       DefaultValuedAttr<F32Attr, "1.0e-6">:$epsilon);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight)
  }];
  let hasVerifier = 1;
}

def QT_LayerNormOp : QT_Op<"layer_norm", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "Layer normalization over the last dimension";
  let description = [{
    `result = (input - mean) / sqrt(var + epsilon) * weight (+ bias)`, mean
    and variance over the last dimension D, `weight` and optional `bias` of
    shape `[D]`.

    ```mlir
    %y = qt.layer_norm %x, %gamma, %beta {epsilon = 1.0e-12 : f32}
        : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                       Optional<AnyRankedTensor>:$bias,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,`
    type($weight) (`,` type($bias)^)?
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def QT_AttentionOp : QT_Op<"attention", [Pure, AttrSizedOperandSegments,
    AttrSizedResultSegments]> {
  let summary = "Scaled dot-product attention with grouped heads and KV cache";
  let description = [{
    `softmax(query . key^T * scale + mask) . value` per head, with
    - `query`: `tensor<B x Hq x S x D>`, `key`: `tensor<B x Hkv x T x D>`,
      `value`: `tensor<B x Hkv x T x Dv>`, Hq a multiple of Hkv (grouped-
      query attention: query head h reads key/value head h / (Hq / Hkv));
    - `scale`: defaults to 1 / sqrt(D);
    - `causal`: query i (at position P + i with a cache of P entries) sees
      key positions <= P + i;
    - `window` (with `causal`; sliding-window attention, Mistral, Gemma,
      Phi-3): query i sees only the last `window` positions, P + i -
      window < t <= P + i;
    - `softcap` (Gemma 2): scores become softcap * tanh(scores / softcap)
      after scaling, before the mask;
    - `mask` (optional): broadcastable to `[B, Hq, S, P + T]`; a float mask
      is added to the scores, an i1 mask keeps the positions that are true
      (padding masks);
    - `cache(past_key, past_value)` (optional): `tensor<B x Hkv x P x D>`
      and `tensor<B x Hkv x P x Dv>`. Keys and values attended to are the
      past ones followed by the new ones, and the op also returns them as
      `present_key` / `present_value` (`tensor<B x Hkv x (P + T) x D(v)>`),
      the next step's cache.
    The first result is `tensor<B x Hq x S x Dv>`.

    ```mlir
    %o, %pk, %pv = qt.attention %q, %k, %v cache(%kc, %vc
          : tensor<1x2x7x16xf32>, tensor<1x2x7x16xf32>) {causal}
        : tensor<1x4x1x16xf32>, tensor<1x2x1x16xf32>, tensor<1x2x1x16xf32>
        -> tensor<1x4x1x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$query, AnyRankedTensor:$key,
                       AnyRankedTensor:$value,
                       Optional<AnyRankedTensor>:$mask,
                       Optional<AnyRankedTensor>:$past_key,
                       Optional<AnyRankedTensor>:$past_value,
                       OptionalAttr<F32Attr>:$scale,
                       UnitAttr:$causal,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$window,
                       OptionalAttr<F32Attr>:$softcap);
  let results = (outs AnyRankedTensor:$output,
                      Optional<AnyRankedTensor>:$present_key,
                      Optional<AnyRankedTensor>:$present_value);
  let assemblyFormat = [{
    $query `,` $key `,` $value
    (`mask` `(` $mask^ `:` type($mask) `)`)?
    (`cache` `(` $past_key^ `,` $past_value `:` type($past_key) `,`
      type($past_value) `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value)
    `->` type($output) (`,` type($present_key)^ `,` type($present_value))?
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// The softmax scale: the attribute, or 1 / sqrt(head dim).
    double getEffectiveScale();
  }];
}

def QT_RotaryEmbeddingOp : QT_Op<"rotary_embedding", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "Rotary position embedding";
  let description = [{
    Rotates pairs of features of `input` (`tensor<B x H x S x D>`) by the
    angle of each token's position: for pair j of the first `rotary_dim`
    features (default D) at position p,
    `(x0, x1) -> (x0 * cos[p, j] - x1 * sin[p, j], x0 * sin[p, j] + x1 * cos[p, j])`.
    Pairs are (j, j + rotary_dim / 2) (GPT-NeoX / Llama "half" layout), or
    (2j, 2j + 1) with `interleaved` (GPT-J). Features past `rotary_dim` pass
    through. `cos` and `sin` are `tensor<P x rotary_dim/2>` tables;
    `position_ids` (`tensor<B x S>` of i32/i64) picks their rows, and without
    it token s has position s.

    ```mlir
    %r = qt.rotary_embedding %q, %cos, %sin positions(%pos : tensor<1x8xi64>)
        : tensor<1x4x8x16xf32>, tensor<128x8xf32>, tensor<128x8xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$cos,
                       AnyRankedTensor:$sin,
                       Optional<AnyRankedTensor>:$position_ids,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$rotary_dim,
                       UnitAttr:$interleaved);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $cos `,` $sin
    (`positions` `(` $position_ids^ `:` type($position_ids) `)`)?
    attr-dict `:` type($input) `,` type($cos) `,` type($sin)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

class QT_UnaryFloatOp<string mnemonic, list<Trait> traits = []>
    : QT_Op<mnemonic, !listconcat(traits, [Pure, Elementwise,
        SameOperandsAndResultType])> {
  let results = (outs AnyTypeOf<[F32, F16, BF16,
      RankedTensorOf<[F32, F16, BF16]>]>:$result);
  let hasFolder = 1;
}

def QT_GeluOp : QT_UnaryFloatOp<"gelu"> {
  let summary = "Gaussian error linear unit";
  let description = [{
    `0.5 * x * (1 + erf(x / sqrt(2)))`, or with `approximation = tanh`
    `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))`
    (onnxruntime FastGelu, GPT-2's gelu_new). Constant operands fold.

    ```mlir
    %y = qt.gelu %x : tensor<2x64xf32>
    %z = qt.gelu %x {approximation = #qt.gelu_approximation<tanh>} : tensor<2x64xf32>
    ```
  }];
  let arguments = (ins AnyTypeOf<[F32, F16, BF16,
                       RankedTensorOf<[F32, F16, BF16]>]>:$input,
                       DefaultValuedAttr<QT_GeluApproximationAttr,
                           "::mlir::qt::GeluApproximation::None">:$approximation);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def QT_SiluOp : QT_UnaryFloatOp<"silu"> {
  let summary = "Sigmoid linear unit (swish)";
  let description = [{
    `x * sigmoid(x)`, the gate activation of SwiGLU MLPs. Constant operands
    fold.

    ```mlir
    %y = qt.silu %x : tensor<2x64xf32>
    ```
  }];
  let arguments = (ins AnyTypeOf<[F32, F16, BF16,
                       RankedTensorOf<[F32, F16, BF16]>]>:$input);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

#endif // QTC_DIALECT_QT_OPS
