#!/usr/bin/env python3
"""Writes the small ONNX models the importer's lit tests read.

    python3 make_model.py NAME OUT.onnx

Each model is built with the onnx package's own helpers (and, for the
quantized ones, onnxruntime's quantization tools), seeded, so a test run
regenerates exactly the file its CHECK lines describe. `--list` prints the
names.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

MODELS = {}
rng = np.random.default_rng(7)


def model(fn):
    MODELS[fn.__name__] = fn
    return fn


def vi(name, dtype, shape):
    return h.make_tensor_value_info(name, dtype, shape)


def init(name, array):
    return nh.from_array(np.asarray(array), name)


def build(nodes, inputs, outputs, inits=(), opset=17, extra_opsets=()):
    graph = h.make_graph(nodes, "test", inputs, outputs, list(inits))
    opsets = [h.make_opsetid("", opset)] + [h.make_opsetid(d, v) for d, v in extra_opsets]
    m = h.make_model(graph, opset_imports=opsets)
    m.ir_version = 10
    return m


def node(op, ins, outs, name=None, domain=None, **attrs):
    return h.make_node(op, ins, outs, name=name or outs[0], domain=domain, **attrs)


# --- elementwise -----------------------------------------------------------

@model
def binary_broadcast():
    ops = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"]
    nodes = [node(op, ["x", "y"], [op.lower()]) for op in ops]
    return build(nodes, [vi("x", T.FLOAT, ["batch", 3, 4]), vi("y", T.FLOAT, [4])],
                 [vi(op.lower(), T.FLOAT, None) for op in ops])


@model
def unary():
    ops = ["Sqrt", "Exp", "Log", "Erf", "Tanh", "Sigmoid", "Relu", "Neg", "Reciprocal", "Abs"]
    nodes = [node(op, ["x"], [op.lower()]) for op in ops]
    return build(nodes, [vi("x", T.FLOAT16, [2, 8])], [vi(op.lower(), T.FLOAT16, None) for op in ops])


@model
def logic():
    nodes = [node("Equal", ["a", "b"], ["eq"]), node("Less", ["a", "b"], ["lt"]),
             node("Greater", ["a", "b"], ["gt"]), node("Not", ["eq"], ["ne"]),
             node("And", ["lt", "ne"], ["both"]), node("Where", ["both", "a", "b"], ["sel"]),
             node("Cast", ["sel"], ["as_int"], to=T.INT32), node("Cast", ["as_int"], ["back"], to=T.FLOAT16)]
    return build(nodes, [vi("a", T.FLOAT, [2, 4]), vi("b", T.FLOAT, [1, 4])],
                 [vi("both", T.BOOL, None), vi("back", T.FLOAT16, None)])


# --- linear algebra ---------------------------------------------------------

@model
def matmul_variants():
    w = init("w", rng.standard_normal((8, 16)).astype(np.float32))
    c = init("c", rng.standard_normal((16,)).astype(np.float32))
    nodes = [node("MatMul", ["x", "w"], ["proj"]),
             node("MatMul", ["q", "k"], ["scores"]),
             node("Gemm", ["m", "w"], ["gemm"], alpha=0.5),
             node("Gemm", ["m2", "w"], ["gemm_t"], transA=1, beta=2.0),
             node("Add", ["gemm_t", "c"], ["gemm_b"])]
    return build(nodes, [vi("x", T.FLOAT, ["batch", "seq", 8]), vi("q", T.FLOAT, [2, 4, 5, 8]),
                         vi("k", T.FLOAT, [2, 1, 8, 5]), vi("m", T.FLOAT, [3, 8]), vi("m2", T.FLOAT, [8, 3])],
                 [vi("proj", T.FLOAT, None), vi("scores", T.FLOAT, None), vi("gemm", T.FLOAT, None),
                  vi("gemm_b", T.FLOAT, None)], [w, c])


# --- shapes -------------------------------------------------------------------

@model
def dynamic_reshape():
    """The split-heads pattern exporters write: Shape -> Gather -> Concat -> Reshape."""
    nodes = [node("Shape", ["x"], ["shape"]),
             node("Gather", ["shape", "i0"], ["batch"], axis=0),
             node("Gather", ["shape", "i1"], ["seq"], axis=0),
             node("Unsqueeze", ["batch", "ax0"], ["b1"]),
             node("Unsqueeze", ["seq", "ax0"], ["s1"]),
             node("Concat", ["b1", "s1", "heads"], ["target"], axis=0),
             node("Reshape", ["x", "target"], ["split"]),
             node("Transpose", ["split"], ["heads_first"], perm=[0, 2, 1, 3])]
    inits = [init("i0", np.array(0, np.int64)), init("i1", np.array(1, np.int64)),
             init("ax0", np.array([0], np.int64)), init("heads", np.array([4, -1], np.int64))]
    return build(nodes, [vi("x", T.FLOAT, ["batch", "seq", 32])], [vi("heads_first", T.FLOAT, None)], inits)


@model
def shape_ops():
    nodes = [node("Flatten", ["x"], ["flat"], axis=2),
             node("Unsqueeze", ["x", "axes"], ["unsq"]),
             node("Squeeze", ["unsq", "axes"], ["sq"]),
             node("Concat", ["x", "x"], ["cat"], axis=-1),
             node("Slice", ["cat", "starts", "ends", "sl_axes"], ["sliced"]),
             node("Split", ["x", "split"], ["s0", "s1"], axis=2),
             node("Expand", ["col", "eshape"], ["expanded"]),
             node("ConstantOfShape", ["cshape"], ["filled"], value=h.make_tensor("v", T.FLOAT, [1], [0.5])),
             node("Range", ["r0", "r1", "r2"], ["range"]),
             node("Identity", ["range"], ["ident"])]
    inits = [init("axes", np.array([1], np.int64)), init("starts", np.array([1], np.int64)),
             init("ends", np.array([7], np.int64)), init("sl_axes", np.array([2], np.int64)),
             init("split", np.array([1, 3], np.int64)), init("eshape", np.array([2, 3, 5], np.int64)),
             init("cshape", np.array([2, 3], np.int64)), init("r0", np.array(0, np.int64)),
             init("r1", np.array(5, np.int64)), init("r2", np.array(1, np.int64))]
    return build(nodes, [vi("x", T.FLOAT, [2, 3, 4]), vi("col", T.FLOAT, [3, 1])],
                 [vi(n, T.FLOAT, None) for n in ["flat", "sq", "sliced", "s0", "s1", "expanded", "filled"]]
                 + [vi("ident", T.INT64, None)], inits, opset=13)


# --- normalization, attention pieces -------------------------------------------

@model
def norms():
    g = init("g", np.linspace(0.5, 1.5, 16).astype(np.float32))
    b = init("b", np.linspace(-0.1, 0.1, 16).astype(np.float32))
    nodes = [node("LayerNormalization", ["x", "g", "b"], ["ln"], epsilon=1e-12, axis=-1),
             node("RMSNormalization", ["x", "g"], ["rms"], epsilon=1e-6),
             node("Softmax", ["x"], ["sm"], axis=-1),
             node("ReduceMean", ["x", "rax"], ["mean"], keepdims=1),
             node("ReduceMax", ["x", "rax"], ["max"], keepdims=0),
             node("ReduceSum", ["x", "rax"], ["sum"], keepdims=1),
             node("Gelu", ["x"], ["gelu"], approximate="tanh"),
             node("Trilu", ["x"], ["tri"], upper=0)]
    return build(nodes, [vi("x", T.FLOAT, ["batch", 4, 16])],
                 [vi(n, T.FLOAT, None) for n in ["ln", "rms", "sm", "mean", "max", "sum", "gelu", "tri"]],
                 [g, b, init("rax", np.array([-1], np.int64))], opset=23)


@model
def gathers():
    table = init("table", rng.standard_normal((100, 16)).astype(np.float32))
    nodes = [node("Gather", ["table", "ids"], ["emb"], axis=0),
             node("Gather", ["x", "last"], ["picked"], axis=1)]
    return build(nodes, [vi("ids", T.INT64, ["batch", "seq"]), vi("x", T.FLOAT, [2, 5, 8])],
                 [vi("emb", T.FLOAT, None), vi("picked", T.FLOAT, None)],
                 [table, init("last", np.array(-1, np.int64))])


# --- quantized --------------------------------------------------------------------

def _int4_pack(codes, signed):
    flat = codes.reshape(-1).astype(np.int64) & 0xF
    if flat.size % 2:
        flat = np.append(flat, 0)
    return (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8)


@model
def qdq_blocked_int4():
    """Blocked int4 DequantizeLinear (opset 21) feeding MatMul, as
    onnxruntime's QDQ quantizer writes it."""
    k, n, bs = 64, 8, 32
    codes = rng.integers(-8, 8, size=(k, n))
    w = onnx.helper.make_tensor("w_q", T.INT4, [k, n], _int4_pack(codes, True).tobytes(), raw=True)
    s = init("w_s", (rng.random((k // bs, n)) * 0.1 + 0.01).astype(np.float32))
    z = onnx.helper.make_tensor("w_z", T.INT4, [k // bs, n],
                                _int4_pack(rng.integers(-2, 2, size=(k // bs, n)), True).tobytes(), raw=True)
    nodes = [node("DequantizeLinear", ["w_q", "w_s", "w_z"], ["w"], axis=0, block_size=bs),
             node("MatMul", ["x", "w"], ["y"])]
    return build(nodes, [vi("x", T.FLOAT, ["batch", k])], [vi("y", T.FLOAT, None)], [w, s, z], opset=21)


@model
def qdq_per_axis_uint8():
    k, n = 16, 4
    w = init("w_q", rng.integers(0, 256, size=(k, n)).astype(np.uint8))
    s = init("w_s", (rng.random(n) * 0.02).astype(np.float32))
    nodes = [node("DequantizeLinear", ["w_q", "w_s"], ["w"], axis=1),
             node("MatMul", ["x", "w"], ["y"]),
             node("Relu", ["w"], ["w_used_elsewhere"])]
    return build(nodes, [vi("x", T.FLOAT, ["batch", k])],
                 [vi("y", T.FLOAT, None), vi("w_used_elsewhere", T.FLOAT, None)], [w, s], opset=13)


@model
def qdq_activations():
    nodes = [node("QuantizeLinear", ["x", "s", "z"], ["q"]),
             node("DequantizeLinear", ["q", "s", "z"], ["dq"]),
             node("DynamicQuantizeLinear", ["x"], ["dy", "dy_s", "dy_z"]),
             node("MatMulInteger", ["a", "b", "az"], ["mmi"]),
             node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["qmm"])]
    inits = [init("s", np.array(0.05, np.float32)), init("z", np.array(3, np.uint8)),
             init("b", rng.integers(-100, 100, size=(6, 3)).astype(np.int8)),
             init("az", np.array(128, np.uint8)), init("as", np.array(0.1, np.float32)),
             init("bs", np.array(0.02, np.float32)), init("bz", np.array(0, np.int8)),
             init("ys", np.array(0.3, np.float32)), init("yz", np.array(10, np.uint8))]
    return build(nodes, [vi("x", T.FLOAT, [2, 6]), vi("a", T.UINT8, [2, 6])],
                 [vi("dq", T.FLOAT, None), vi("dy", T.UINT8, None), vi("dy_s", T.FLOAT, None),
                  vi("dy_z", T.UINT8, None), vi("mmi", T.INT32, None), vi("qmm", T.UINT8, None)], inits)


@model
def matmulnbits_ort():
    """A float MatMul quantized to MatMulNBits by onnxruntime's own quantizer."""
    from onnxruntime.quantization import matmul_nbits_quantizer as mnq
    k, n = 64, 16
    w = init("w", rng.standard_normal((k, n)).astype(np.float32))
    m = build([node("MatMul", ["x", "w"], ["y"])], [vi("x", T.FLOAT, ["batch", k])],
              [vi("y", T.FLOAT, None)], [w], opset=17)
    q = mnq.MatMulNBitsQuantizer(m, block_size=32, is_symmetric=False)
    q.process()
    return q.model.model


def _bnb4(quant_type, k=64, n=16, block=32):
    from onnxruntime.quantization.matmul_bnb4_quantizer import MatMulBnb4Quantizer
    w = init("w", rng.standard_normal((k, n)).astype(np.float32))
    m = build([node("MatMul", ["x", "w"], ["y"], name="proj")], [vi("x", T.FLOAT, ["batch", k])],
              [vi("y", T.FLOAT, None)], [w], opset=17)
    q = MatMulBnb4Quantizer(m, quant_type, block)
    q.process()
    return q.model.model


@model
def matmulbnb4_ort():
    """A float MatMul quantized to MatMulBnb4 (NF4) by onnxruntime's quantizer."""
    return _bnb4(1)


@model
def matmulbnb4_fp4():
    """MatMulBnb4 with bitsandbytes' FP4 type, which qtc does not read."""
    return _bnb4(0)


@model
def matmulbnb4_straddle():
    """NF4 blocks of 32 codes across rows of K = 48: not groups along K."""
    return _bnb4(1, k=48)


@model
def gather_block_quantized():
    v, d, bs = 10, 64, 32
    data = onnx.helper.make_tensor("table", T.UINT8, [v, d // 2],
                                   rng.integers(0, 256, size=(v, d // 2)).astype(np.uint8).tobytes(), raw=True)
    s = init("scales", (rng.random((v, d // bs)) * 0.1).astype(np.float32))
    nodes = [node("GatherBlockQuantized", ["table", "ids", "scales"], ["emb"], domain="com.microsoft",
                  block_size=bs, gather_axis=0, quantize_axis=1, bits=4)]
    return build(nodes, [vi("ids", T.INT64, [1, "seq"])], [vi("emb", T.FLOAT, None)], [data, s],
                 extra_opsets=[("com.microsoft", 1)])


# --- fused ops: ai.onnx opset 23 and onnxruntime contrib ------------------------

@model
def attention23():
    """ai.onnx Attention with grouped heads, a boolean mask and a KV cache."""
    nodes = [node("Attention", ["q", "k", "v", "mask", "past_k", "past_v"],
                  ["y", "present_k", "present_v"], is_causal=1, scale=0.25)]
    return build(nodes, [vi("q", T.FLOAT, [1, 4, 2, 16]), vi("k", T.FLOAT, [1, 2, 2, 16]),
                         vi("v", T.FLOAT, [1, 2, 2, 16]), vi("mask", T.BOOL, [2, 5]),
                         vi("past_k", T.FLOAT, [1, 2, 3, 16]), vi("past_v", T.FLOAT, [1, 2, 3, 16])],
                 [vi("y", T.FLOAT, None), vi("present_k", T.FLOAT, None), vi("present_v", T.FLOAT, None)],
                 opset=23)


@model
def rotary23():
    """ai.onnx RotaryEmbedding on [B, S, hidden] with position ids."""
    cos = init("cos", rng.random((32, 8)).astype(np.float32))
    sin = init("sin", rng.random((32, 8)).astype(np.float32))
    nodes = [node("RotaryEmbedding", ["x", "cos", "sin", "pos"], ["y"], num_heads=2, interleaved=1)]
    return build(nodes, [vi("x", T.FLOAT, [1, "seq", 32]), vi("pos", T.INT64, [1, "seq"])],
                 [vi("y", T.FLOAT, None)], [cos, sin], opset=23)


@model
def misc_ops():
    nodes = [node("CastLike", ["x", "like"], ["as_half"]),
             node("Size", ["x"], ["n"]),
             node("Constant", [], ["c"], value_floats=[1.0, 2.0, 3.0]),
             node("Add", ["x", "c"], ["plus_c"])]
    return build(nodes, [vi("x", T.FLOAT, [2, 3]), vi("like", T.FLOAT16, [1])],
                 [vi("as_half", T.FLOAT16, None), vi("n", T.INT64, None), vi("plus_c", T.FLOAT, None)], opset=21)


@model
def contrib_norms():
    g = init("g", np.linspace(0.5, 1.5, 16).astype(np.float32))
    b = init("b", np.linspace(-0.1, 0.1, 16).astype(np.float32))
    nodes = [node("SimplifiedLayerNormalization", ["x", "g"], ["rms"], epsilon=1e-6, axis=-1),
             node("SkipSimplifiedLayerNormalization", ["x", "skip", "g"], ["srms", "", "", "sum"],
                  domain="com.microsoft", epsilon=1e-6),
             node("SkipLayerNormalization", ["x", "skip", "g", "b", "b"], ["sln"], domain="com.microsoft",
                  epsilon=1e-12),
             node("FastGelu", ["x", "b"], ["fg"], domain="com.microsoft")]
    return build(nodes, [vi("x", T.FLOAT, ["batch", "seq", 16]), vi("skip", T.FLOAT, ["batch", "seq", 16])],
                 [vi(n, T.FLOAT, None) for n in ["rms", "srms", "sum", "sln", "fg"]], [g, b],
                 extra_opsets=[("com.microsoft", 1)])


@model
def contrib_attention():
    """GroupQueryAttention (packed QKV, rotary, cache), MultiHeadAttention and
    RotaryEmbedding as onnxruntime's contrib ops define them."""
    cos = init("cos", rng.random((32, 8)).astype(np.float32))
    sin = init("sin", rng.random((32, 8)).astype(np.float32))
    nodes = [node("GroupQueryAttention", ["qkv", "", "", "past_k", "past_v", "seqlens_k", "total_len", "cos", "sin"],
                  ["gqa", "present_k", "present_v"], domain="com.microsoft", num_heads=4, kv_num_heads=2,
                  do_rotary=1),
             node("MultiHeadAttention", ["q", "k", "v"], ["mha"], domain="com.microsoft", num_heads=2,
                  unidirectional=1),
             node("RotaryEmbedding", ["q", "pos", "cos", "sin"], ["rope"], domain="com.microsoft", num_heads=2)]
    return build(nodes, [vi("qkv", T.FLOAT, [1, 2, 128]), vi("past_k", T.FLOAT, [1, 2, 3, 16]),
                         vi("past_v", T.FLOAT, [1, 2, 3, 16]), vi("seqlens_k", T.INT32, [1]),
                         vi("total_len", T.INT32, []), vi("q", T.FLOAT, [1, "seq", 32]),
                         vi("k", T.FLOAT, [1, "seq", 32]), vi("v", T.FLOAT, [1, "seq", 32]),
                         vi("pos", T.INT64, [1, "seq"])],
                 [vi(n, T.FLOAT, None) for n in ["gqa", "present_k", "present_v", "mha", "rope"]], [cos, sin],
                 extra_opsets=[("com.microsoft", 1)])


@model
def einsum_scatter():
    """Einsum as attention code writes it, and the ScatterND of a KV-cache
    update at a position known only at run time."""
    nodes = [node("Einsum", ["q", "k"], ["scores"], equation="bhqd,bhkd->bhqk"),
             node("Einsum", ["x", "w"], ["proj"], equation="bsi,io->bso"),
             node("Einsum", ["x"], ["summed"], equation="bsi->bi"),
             node("ScatterND", ["cache", "where", "new"], ["updated"]),
             node("ScatterND", ["cache", "where", "new"], ["accumulated"], reduction="add")]
    return build(nodes, [vi("q", T.FLOAT, [1, 2, 3, 8]), vi("k", T.FLOAT, [1, 2, 5, 8]),
                         vi("x", T.FLOAT, [2, "seq", 4]), vi("w", T.FLOAT, [4, 6]),
                         vi("cache", T.FLOAT, [1, 2, 8, 16]), vi("where", T.INT64, [1, 1, 3]),
                         vi("new", T.FLOAT, [1, 1, 16])],
                 [vi(n, T.FLOAT, None) for n in ["scores", "proj", "summed", "updated", "accumulated"]],
                 opset=18)


# --- decompositions the importer raises into qt ops ---------------------------------

@model
def decomposed():
    """RMSNorm, erf- and tanh-GELU, SiLU and an attention chain written out
    node by node, the way PyTorch's exporter writes them."""
    d, hd = 16, 8
    g = init("g", np.linspace(0.5, 1.5, d).astype(np.float32))
    c = lambda name, v: node("Constant", [], [name], value=h.make_tensor(name, T.FLOAT, [], [v]))
    nodes = [
        # RMSNorm: g * (x * 1 / sqrt(mean(x^2) + eps))
        c("two", 2.0), node("Pow", ["x", "two"], ["x2"]),
        node("ReduceMean", ["x2", "last"], ["ms"], keepdims=1),
        c("eps", 1e-5), node("Add", ["ms", "eps"], ["mse"]), node("Sqrt", ["mse"], ["rms"]),
        c("one", 1.0), node("Div", ["one", "rms"], ["inv"]), node("Mul", ["x", "inv"], ["xn"]),
        node("Mul", ["g", "xn"], ["rmsnorm"]),
        # GELU (erf): (x * (erf(x / sqrt2) + 1)) * 0.5
        c("sqrt2", 1.4142135381698608), node("Div", ["x", "sqrt2"], ["xs"]), node("Erf", ["xs"], ["e"]),
        c("one_b", 1.0), node("Add", ["e", "one_b"], ["e1"]), node("Mul", ["x", "e1"], ["xe"]),
        c("half", 0.5), node("Mul", ["xe", "half"], ["gelu"]),
        # GELU (tanh): 0.5 * x * (1 + tanh(0.79788 * (x + 0.044715 * x^3)))
        c("three", 3.0), node("Pow", ["x", "three"], ["x3"]), c("k", 0.044715),
        node("Mul", ["k", "x3"], ["kx3"]), node("Add", ["x", "kx3"], ["inner"]),
        c("c", 0.7978845608028654), node("Mul", ["c", "inner"], ["ci"]), node("Tanh", ["ci"], ["t"]),
        c("one_c", 1.0), node("Add", ["one_c", "t"], ["t1"]), c("half_b", 0.5),
        node("Mul", ["half_b", "x"], ["hx"]), node("Mul", ["hx", "t1"], ["gelu_tanh"]),
        # SiLU
        node("Sigmoid", ["x"], ["sg"]), node("Mul", ["x", "sg"], ["silu"]),
        # Attention: softmax(q . kT * scale + mask) . v
        node("MatMul", ["q", "kt"], ["qk"]), c("scale", 1.0 / np.sqrt(hd)), node("Mul", ["qk", "scale"], ["qks"]),
        node("Add", ["qks", "mask"], ["qkm"]), node("Softmax", ["qkm"], ["p"], axis=-1),
        node("MatMul", ["p", "v"], ["attn"]),
    ]
    return build(nodes, [vi("x", T.FLOAT, ["batch", 4, d]), vi("q", T.FLOAT, ["batch", 2, 4, hd]),
                         vi("kt", T.FLOAT, ["batch", 2, hd, 4]), vi("v", T.FLOAT, ["batch", 2, 4, hd]),
                         vi("mask", T.FLOAT, ["batch", 1, 4, 4])],
                 [vi(n, T.FLOAT, None) for n in ["rmsnorm", "gelu", "gelu_tanh", "silu", "attn"]],
                 [g, init("last", np.array([-1], np.int64))], opset=18)


# --- bad input --------------------------------------------------------------------

@model
def unknown_op():
    return build([node("FancyNewOp", ["x"], ["y"], name="fancy_1")], [vi("x", T.FLOAT, [2])], [vi("y", T.FLOAT, None)])


@model
def unknown_domain():
    return build([node("Foo", ["x"], ["y"], name="foo_1", domain="org.example")], [vi("x", T.FLOAT, [2])],
                 [vi("y", T.FLOAT, None)], extra_opsets=[("org.example", 3)])


@model
def bad_attribute():
    return build([node("Gelu", ["x"], ["y"], name="gelu_1", approximate="sigmoid")], [vi("x", T.FLOAT, [2])],
                 [vi("y", T.FLOAT, None)], opset=20)


@model
def old_opset():
    return build([node("Gelu", ["x"], ["y"], name="gelu_1")], [vi("x", T.FLOAT, [2])], [vi("y", T.FLOAT, None)],
                 opset=17)


@model
def shape_mismatch():
    return build([node("Add", ["x", "y"], ["z"], name="add_1")], [vi("x", T.FLOAT, [2, 3]), vi("y", T.FLOAT, [4])],
                 [vi("z", T.FLOAT, None)])


@model
def missing_input():
    return build([node("Relu", ["nowhere"], ["y"], name="relu_1")], [vi("x", T.FLOAT, [2])], [vi("y", T.FLOAT, None)])


@model
def external_data():
    """A weight stored in a side file next to the model."""
    w = init("w", np.arange(32, dtype=np.float32).reshape(4, 8))
    m = build([node("MatMul", ["x", "w"], ["y"])], [vi("x", T.FLOAT, [1, 4])], [vi("y", T.FLOAT, None)], [w])
    return m


def main():
    if sys.argv[1:] == ["--list"]:
        print("\n".join(MODELS))
        return
    name, out = sys.argv[1], sys.argv[2]
    m = MODELS[name]()
    if name == "external_data":
        import os
        onnx.save_model(m, out, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(out) + ".data", size_threshold=0)
    else:
        onnx.save(m, out)


if __name__ == "__main__":
    main()
