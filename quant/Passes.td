//===- Passes.td - quantization passes ---------------------------*- tablegen -*-===//

#ifndef QTC_QUANT_PASSES_TD
#define QTC_QUANT_PASSES_TD

include "mlir/Pass/PassBase.td"

def QTQuantizeWeights : Pass<"qt-quantize-weights"> {
  let summary = "Quantizes real-valued constant matmul weights into packed codes";
  let description = [{
    Every `linalg.matmul` from a zero-filled init whose B operand is an f32,
    f16 or bf16 constant (B indexed `(k, n)`, or `(n, k)` through indexing
    maps) becomes a `qt.quantized_matmul` over group-wise quantized codes:
    round-to-nearest with a per-group search of the clipping range that
    minimizes the squared weight error (data-free), f16 scales, symmetric
    signed codes or, with `asym`, unsigned codes and a zero point per group.
    With `grid=nf4` or `grid=iq4nl`, 4-bit codes index that non-uniform
    grid instead (`#qt.packed<ui4, ..., levels = [...]>`).

    A `qt.weight_bits` integer attribute on a matmul overrides `bits` for
    that layer (16 or more keeps it real-valued); the driver's mixed
    precision search sets it. Weights whose reduction dimension the group
    size does not divide are kept, with a warning naming the weight.

    Before:

    ```mlir
    %w = arith.constant dense<...> : tensor<64x128xf32>
    %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x128xf32>) -> tensor<4x128xf32>
    %y = linalg.matmul ins(%x, %w : tensor<4x64xf32>, tensor<64x128xf32>)
        outs(%z : tensor<4x128xf32>) -> tensor<4x128xf32>
    ```

    After (`bits=4 group-size=32`):

    ```mlir
    %y = qt.quantized_matmul %x, %codes, %scales
        {format = #qt.packed<si4, group_size = 32, scale = f16>}
        : tensor<4x64xf32>, tensor<128x32xi8>, tensor<128x2xf16> -> tensor<4x128xf32>
    ```
  }];
  let dependentDialects = ["::mlir::qt::QTDialect",
                           "::mlir::arith::ArithDialect"];
  let options = [
    Option<"bits", "bits", "unsigned", /*default=*/"4",
           "Code width in bits (2 to 8)">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"128",
           "Weights per scale along the reduction dimension (0: per channel)">,
    Option<"asym", "asym", "bool", /*default=*/"false",
           "Unsigned codes with a zero point per group">,
    Option<"min", "min", "bool", /*default=*/"false",
           "Unsigned codes with a real-valued min per group (code * scale + "
           "min, llama.cpp's Q4_1 form)">,
    Option<"clipSearch", "clip-search", "bool", /*default=*/"true",
           "Search each group's clipping range for the least squared error">,
    Option<"grid", "grid", "std::string", /*default=*/"\"uniform\"",
           "Code grid: uniform, or for 4-bit codes nf4 or iq4nl "
           "(levels[code] * scale; layers of other widths stay uniform)">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Emit a remark for every weight quantized or kept">
  ];
}

def QTQuantizeKVCache : Pass<"qt-quantize-kv-cache", "::mlir::ModuleOp"> {
  let summary = "Stores the KV cache of qt.attention in 8, 4 or 2 bits";
  let description = [{
    For every `qt.attention` whose cache comes straight from function
    arguments and whose present key/value go straight to `func.return`, the
    cache crosses the function boundary quantized (KIVI): each real-valued
    cache argument becomes three, codes (i8, packed along the head
    dimension), f16 scales and f16 mins, named after the original with
    `.codes`, `.scales` and `.mins`; each present result likewise. Keys are
    grouped per channel over `group-size` tokens, values per token over
    `group-size` channels (the head dimension when smaller). Inside,
    `qt.kv_dequantize` feeds the attention and `qt.kv_quantize` rounds only
    the new tokens (and a partly filled key group): the codes of past tokens
    are passed through, so a token is never rounded twice once its group is
    full. Caches that do not match get a warning at the attention's
    location and stay real-valued.

    Before:

    ```mlir
    func.func @f(%q: ..., %pk: tensor<1x2x8x16xf32>, %pv: tensor<1x2x8x16xf32>)
        -> (tensor<1x2x9x16xf32>, ...) {
      %o, %k1, %v1 = qt.attention %q, %k, %v cache(%pk, %pv : ...) ...
      return %k1, ...
    ```

    After (`bits=4 group-size=32`):

    ```mlir
    func.func @f(%q: ..., %pkc: tensor<1x2x8x8xi8>, %pks: tensor<1x2x1x16xf16>,
                 %pkm: tensor<1x2x1x16xf16>, ...) -> (tensor<1x2x9x8xi8>, ...) {
      %pk = qt.kv_dequantize %pkc, %pks, %pkm {bits = 4, group_size = 32, per_channel} ...
      %o, %k1, %v1 = qt.attention %q, %k, %v cache(%pk, %pv : ...) ...
      %c, %s, %m = qt.kv_quantize %k1, %pkc, %pks, %pkm {bits = 4, group_size = 32, per_channel} ...
      return %c, %s, %m, ...
    ```
  }];
  let dependentDialects = ["::mlir::qt::QTDialect"];
  let options = [
    Option<"bits", "bits", "unsigned", /*default=*/"8",
           "Code width of the cache: 8, 4 or 2">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"32",
           "Tokens per key scale, channels per value scale">
  ];
}

#endif // QTC_QUANT_PASSES_TD
