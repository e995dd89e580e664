#!/usr/bin/env python3
"""Checks the Python package qtc (python/qtc, ctypes over libqtc.so).

    test_qtc.py FIXTURES_DIR POOLED_DIR SHARED_SO SHARED_FP32_SO

FIXTURES_DIR: test/frontends/onnx/fixtures (X.onnx beside X.io.npz with
`in.NAME` inputs and `out.NAME` onnxruntime outputs).
POOLED_DIR: where test/compiler/gen_pooled.py wrote pooled.onnx and
pooled.io.npz (a model whose matmuls run on the runtime's thread pool).
SHARED_SO: a library `qtc compile --emit shared` built from gpt2_tiny.onnx
with --dim batch=1 --dim sequence=6 --quantize w4 --group-size 32
--name gpt2_w4; SHARED_FP32_SO: the same without --quantize and
--group-size, with --name gpt2_fp32.

Prints one line per check (OK ... or FAIL ...) and then exactly
"N passed, M failed"; exits 1 if any check failed. libqtc.so is the one
QTC_LIBRARY names (else the package's own search).
"""
import ctypes
import os
import sys
import threading
import traceback
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import qtc  # noqa: E402

fixtures, pooled_dir, shared_so, shared_fp32_so = sys.argv[1:5]
passed = failed = 0

# The fixtures' outputs are onnxruntime's with its exact fp32 kernels; qtc
# computes the same fp32 math with another summation order (tiled,
# vectorized, with polynomial erf/exp), so the outputs agree to float
# rounding, not bit for bit. As in test/compiler/capi_compare.py, the
# tolerance is 1e-5 relative to each output's largest magnitude (at least
# 1): the fixture tests see <= 1.2e-6, and any real miscompile (a wrong
# index, a dropped scale) is orders of magnitude above it.
TOLERANCE = 1e-5


def check(name, ok, detail=""):
    global passed, failed
    ok = bool(ok)
    passed += ok
    failed += not ok
    print(f"{'OK' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
    return ok


def guarded(name, fn):
    """Runs a block of checks; an unexpected exception is one FAIL line."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        check(name, False, f"unexpected {type(e).__name__}: {e}\n{traceback.format_exc()}")


def expect_error(name, fn, *needles, code=None):
    """fn() must raise qtc.QTCError whose message holds every needle."""
    try:
        fn()
    except qtc.QTCError as e:
        message = str(e)
        missing = [n for n in needles if n not in message]
        ok = not missing and (code is None or e.code == code) and isinstance(e, RuntimeError)
        check(name, ok, f"code {e.code}: {message}" +
              (f" (missing {missing})" if missing else "") +
              (f" (expected code {code})" if code is not None and e.code != code else ""))
        return
    except Exception as e:  # noqa: BLE001
        check(name, False, f"raised {type(e).__name__} instead of QTCError: {e}")
        return
    check(name, False, "no error raised")


def rel_error(got, want):
    scale = max(1.0, float(np.abs(want).max()))
    return float(np.abs(got.astype(np.float64) - want).max()) / scale


def load_npz(path):
    npz = np.load(path)
    ins = {k[3:]: npz[k] for k in npz.files if k.startswith("in.")}
    outs = {k[4:]: npz[k] for k in npz.files if k.startswith("out.")}
    return ins, outs


def matches(name, got, want, rows=None):
    """Every output of `want` within TOLERANCE of `got` (rows: slice of the
    batch axis of `want` to compare)."""
    errors = {}
    for k, w in want.items():
        if rows is not None:
            w = w[rows]
        g = got.get(k)
        if g is None or g.shape != w.shape or g.dtype != w.dtype:
            check(name, False, f"output {k}: got {None if g is None else (g.dtype, g.shape)}, "
                  f"expected {(w.dtype, w.shape)}")
            return False
        errors[k] = rel_error(g, w)
    worst = max(errors.values())
    return check(name, worst <= TOLERANCE and set(got) == set(want),
                 f"{len(errors)} outputs, max error relative to output scale {worst:.2e}")


def same_bits(a, b):
    return list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)


# -- The package ----------------------------------------------------------

check("api_version", qtc.api_version() == 1 == qtc.API_VERSION, str(qtc.api_version()))
check("QTCError is a RuntimeError with a code",
      issubclass(qtc.QTCError, RuntimeError) and qtc.QTCError("m", 3).code == 3)
# ctypes releases the GIL around calls into a CDLL, not a PyDLL.
check("library loaded as a CDLL (runs release the GIL)",
      isinstance(qtc._capi.lib, ctypes.CDLL) and not isinstance(qtc._capi.lib, ctypes.PyDLL),
      qtc._capi.library_path)

# -- 1, 2: the int4 Llama fixture in-process --------------------------------

LLAMA = os.path.join(fixtures, "llama_tiny_int4_matmulnbits.onnx")
LLAMA_DIMS = {"batch_size": 2, "sequence_length": 2, "past_sequence_length": 3,
              "total_sequence_length": 5}
llama_in, llama_out = load_npz(os.path.join(fixtures, "llama_tiny_int4_matmulnbits.io.npz"))
llama = None
llama_first = None


def t_llama():
    global llama, llama_first
    llama = qtc.compile(LLAMA, dims=LLAMA_DIMS)
    check("compile llama_tiny_int4_matmulnbits in-process", isinstance(llama, qtc.Model),
          f"{len(llama.inputs)} inputs, {len(llama.outputs)} outputs")
    llama_first = llama.run(llama_in)
    matches("llama run matches onnxruntime", llama_first, llama_out)
    check("outputs in output order",
          list(llama_first) == [p.name for p in llama.outputs], str(list(llama_first)))
    # Ports: names, dtypes and shapes are the npz arrays'.
    want_in = [(k, str(v.dtype), v.shape) for k, v in llama_in.items()]
    got_in = [(p.name, p.dtype, p.shape) for p in llama.inputs]
    check("input ports equal the npz inputs", sorted(got_in) == sorted(want_in), str(got_in))
    want_out = [(k, str(v.dtype), v.shape) for k, v in llama_out.items()]
    got_out = [(p.name, p.dtype, p.shape) for p in llama.outputs]
    check("output ports equal the npz outputs", sorted(got_out) == sorted(want_out), str(got_out))
    p = llama.inputs[0]
    immutable = isinstance(p, qtc.Port) and isinstance(p.shape, tuple) and \
        all(type(d) is int for d in p.shape)
    try:
        p.name = "x"
        immutable = False
    except AttributeError:
        pass
    check("Port is an immutable (name, dtype, shape) record", immutable, repr(p))


guarded("llama", t_llama)

# -- 3: inputs are not copied -----------------------------------------------


def t_zero_copy():
    # Read-only, C-contiguous arrays of the ports' dtypes, in port order.
    readonly = []
    for p in llama.inputs:
        a = np.array(llama_in[p.name])
        a.setflags(write=False)
        readonly.append(a)
    passed_arrays = llama._input_arrays(readonly)
    check("contiguous inputs are passed as they are (no copy)",
          all(x is y and x.ctypes.data == y.ctypes.data for x, y in zip(passed_arrays, readonly)))
    out = llama.run(tuple(readonly))
    check("read-only arrays in port order (a tuple) give the same bits", same_bits(out, llama_first))
    out = llama.run(readonly)
    check("a list in port order gives the same bits", same_bits(out, llama_first))
    # A strided view (every other element of a wider buffer) is copied into
    # C order, and gives the same bits.
    strided = {}
    for k, v in llama_in.items():
        wide = np.zeros(v.shape + (2,), dtype=v.dtype)
        wide[..., 1] = v
        strided[k] = wide[..., 1]
    assert not strided["past_key_values.0.key"].flags.c_contiguous
    arrays = llama._input_arrays(strided)
    copied = [not np.shares_memory(a, strided[p.name]) and a.flags.c_contiguous
              for p, a in zip(llama.inputs, arrays)]
    check("strided views are copied into C order", all(copied))
    check("strided views give the same bits", same_bits(llama.run(strided), llama_first))
    # Python lists are converted (a copy) to the port's dtype.
    lists = {k: v.tolist() for k, v in llama_in.items()}
    check("nested lists give the same bits", same_bits(llama.run(lists), llama_first))
    # Seen from outside: with tracemalloc (numpy reports its buffers to
    # it), a run on contiguous inputs allocates less than one input's
    # size, a run on a strided view of it at least that much more.
    pooled = qtc.compile(os.path.join(pooled_dir, "pooled.onnx"))
    x = np.load(os.path.join(pooled_dir, "pooled.io.npz"))["in.x"]
    wide = np.zeros(x.shape + (2,), dtype=x.dtype)
    wide[..., 0] = x
    view = wide[..., 0]
    pooled.run([x])  # warm up

    def peak(arg):
        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        pooled.run([arg])
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return top - base

    contiguous_peak, view_peak = peak(x), peak(view)
    check("tracemalloc: no input copy for a contiguous array",
          contiguous_peak < x.nbytes <= view_peak - contiguous_peak,
          f"input {x.nbytes} bytes; run allocated {contiguous_peak} bytes at peak "
          f"(outputs {int(np.prod(pooled.outputs[0].shape)) * 4}), {view_peak} for a strided view")
    pooled.close()
    # bfloat16 ports (no fixture has one): uint16 bits pass as they are,
    # other dtypes are refused.
    bf = qtc.Port("h", "bfloat16", (2,))
    bits = np.array([0x3F80, 0x4000], dtype=np.uint16)
    check("bfloat16 port takes uint16 bits without a copy",
          qtc.Model._as_input(bf, np.dtype(np.uint16), bits) is bits)
    expect_error("bfloat16 port refuses float32",
                 lambda: qtc.Model._as_input(bf, np.dtype(np.uint16),
                                             np.ones(2, np.float32)),
                 "'h'", "bfloat16", "uint16")


guarded("zero copy", t_zero_copy)

# -- 4: 8 threads on one model ---------------------------------------------


def t_threads():
    pooled_in, pooled_out = load_npz(os.path.join(pooled_dir, "pooled.io.npz"))
    model = qtc.compile(os.path.join(pooled_dir, "pooled.onnx"))
    check("pooled ports", [(p.name, p.dtype, p.shape) for p in model.inputs + model.outputs] ==
          [("x", "float32", (8, 1024)), ("y", "float32", (8, 512))],
          str(model.inputs + model.outputs))
    single = model.run(pooled_in)
    matches("pooled single run matches onnxruntime", single, pooled_out)
    threads, runs = 8, 10
    barrier = threading.Barrier(threads)
    results = [[] for _ in range(threads)]
    errors = []

    def worker(i):
        try:
            barrier.wait()
            for _ in range(runs):
                results[i].append(model.run(pooled_in))
        except Exception as e:  # noqa: BLE001
            errors.append(f"thread {i}: {e}")

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    differ = sum(not same_bits(r, single) for rs in results for r in rs)
    total = sum(len(rs) for rs in results)
    check("8 threads at once, bit-identical to a single run",
          not errors and total == threads * runs and differ == 0,
          f"{threads} threads x {runs} runs, {differ} outputs differ, {len(errors)} errors"
          + (f" ({errors[0]})" if errors else ""))
    worst = max(rel_error(r["y"], pooled_out["y"]) for rs in results for r in rs)
    check("8 threads at once match onnxruntime", worst <= TOLERANCE,
          f"max error relative to output scale {worst:.2e}")
    # Both models from 4 threads each at once.
    errors.clear()
    bad = []

    def both(m, ins, want):
        try:
            for _ in range(5):
                if not same_bits(m.run(ins), want):
                    bad.append(m.path)
        except Exception as e:  # noqa: BLE001
            errors.append(str(e))

    ts = [threading.Thread(target=both, args=a) for a in
          [(model, pooled_in, single)] * 4 + [(llama, llama_in, llama_first)] * 4]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check("two models from 4 threads each, bit-identical", not errors and not bad,
          f"{len(bad)} outputs differ, {len(errors)} errors")
    # Thread counts: later runs use them, the bits do not change.
    model.set_num_threads(1)
    one = model.run(pooled_in)
    model.set_num_threads(2)
    two = model.run(pooled_in)
    model.set_num_threads(0)
    check("set_num_threads(1) and (2) give the same bits", same_bits(one, single) and
          same_bits(two, single))
    expect_error("set_num_threads(-1)", lambda: model.set_num_threads(-1),
                 "threads", "-1", code=qtc.ERROR_INVALID_ARGUMENT)
    expect_error("set_num_threads(1000)", lambda: model.set_num_threads(1000),
                 "threads", "1000", code=qtc.ERROR_INVALID_ARGUMENT)
    model.close()


guarded("threads", t_threads)

# -- 5: a second model; a library built by qtc compile -----------------------


def t_second():
    gpt2_in, gpt2_out = load_npz(os.path.join(fixtures, "gpt2_tiny.io.npz"))
    # The fixture's batch is 2: row 0 alone (a contiguous view: no copy).
    row0 = {k: v[:1] for k, v in gpt2_in.items()}
    gpt2 = qtc.compile(os.path.join(fixtures, "gpt2_tiny.onnx"), dims={"batch": 1, "sequence": 6},
                       quantize="w4", group_size=32, name="gpt2_w4")
    check("second model (gpt2_tiny, w4) compiles beside the first",
          [(p.name, p.dtype, p.shape) for p in gpt2.inputs + gpt2.outputs] ==
          [("input_ids", "int64", (1, 6)), ("attention_mask", "int64", (1, 6)),
           ("logits", "float32", (1, 6, 100))], str(gpt2.inputs + gpt2.outputs))
    compiled = gpt2.run(row0)
    # int4 weights (group 32) move the logits of this tiny random model by
    # about 0.2 of their scale (qtc compile's library: 0.19); 0.5 still
    # tells a working model from garbage.
    error = rel_error(compiled["logits"], gpt2_out["logits"][:1])
    check("second model runs: finite, near onnxruntime's fp32 logits",
          np.isfinite(compiled["logits"]).all() and error < 0.5,
          f"max error relative to output scale {error:.2e}")
    check("first model still runs beside it, same bits", same_bits(llama.run(llama_in), llama_first))
    with qtc.load(shared_so) as loaded:
        check("load ports equal the compiled model's", loaded.inputs == gpt2.inputs and
              loaded.outputs == gpt2.outputs, str(loaded.inputs + loaded.outputs))
        from_so = loaded.run(row0)
        # Same flags, same code: the library qtc compile wrote and the
        # in-process JIT give the same bits.
        check("loaded library (w4) matches the in-process compile bit for bit",
              same_bits(from_so, compiled),
              f"max difference {max(float(np.abs(from_so[k] - compiled[k]).max()) for k in compiled):.2e}; "
              f"vs onnxruntime's fp32 logits: library "
              f"{rel_error(from_so['logits'], gpt2_out['logits'][:1]):.2e}, in-process {error:.2e}"
              + (" (float rounding: the in-process weights were not quantized)" if error < 1e-5 else ""))
    check("with closes the model", loaded.closed)
    gpt2.close()
    # The same without quantization: a library and the JIT agree bit for
    # bit, and both match onnxruntime.
    gpt2 = qtc.compile(os.path.join(fixtures, "gpt2_tiny.onnx"), dims={"batch": 1, "sequence": 6},
                       name="gpt2_fp32")
    compiled = gpt2.run(row0)
    matches("second model (gpt2_tiny, fp32) matches onnxruntime", compiled, gpt2_out, rows=slice(0, 1))
    with qtc.load(shared_fp32_so) as loaded:
        check("loaded library (fp32) matches the in-process compile bit for bit",
              same_bits(loaded.run(row0), compiled))
    gpt2.close()


guarded("second model", t_second)

# -- 6: errors ----------------------------------------------------------------


def t_errors():
    gpt2 = os.path.join(fixtures, "gpt2_tiny.onnx")
    expect_error("unknown option key", lambda: qtc.compile(gpt2, no_such_option=1),
                 "no-such-option", code=qtc.ERROR_INVALID_ARGUMENT)
    expect_error("bad value quantize='w7'", lambda: qtc.compile(gpt2, quantize="w7"),
                 "quantize", "w7", code=qtc.ERROR_INVALID_ARGUMENT)
    expect_error("bad flag value asym='maybe'", lambda: qtc.compile(gpt2, asym="maybe"),
                 "asym", "maybe", code=qtc.ERROR_INVALID_ARGUMENT)
    expect_error("bad dim", lambda: qtc.compile(gpt2, dims={"batch": "x"}), "batch")
    missing = os.path.join(fixtures, "no_such_model.onnx")
    expect_error("missing file", lambda: qtc.compile(missing), "no_such_model.onnx",
                 code=qtc.ERROR_COMPILE)
    expect_error("load of a missing library", lambda: qtc.load(missing + ".so"),
                 "no_such_model.onnx.so", code=qtc.ERROR_LOAD)
    expect_error("load of a file that is no library",
                 lambda: qtc.load(os.path.join(fixtures, "gpt2_tiny.onnx")),
                 "gpt2_tiny.onnx", code=qtc.ERROR_LOAD)
    m = llama
    ins = dict(llama_in)
    ins["input_idz"] = ins.pop("input_ids")
    expect_error("wrong input name", lambda: m.run(ins), "'input_ids'", "'input_idz'")
    expect_error("missing input", lambda: m.run({k: v for k, v in llama_in.items()
                                                  if k != "attention_mask"}),
                 "missing", "'attention_mask'")
    expect_error("extra input", lambda: m.run({**llama_in, "extra": llama_in["input_ids"]}),
                 "unknown", "'extra'")
    expect_error("wrong input count (list)", lambda: m.run(list(llama_in.values())[:3]),
                 "7 inputs", "got 3")
    bad = {**llama_in, "input_ids": np.zeros((2, 3), np.int64)}
    expect_error("wrong shape", lambda: m.run(bad), "'input_ids'", "[2, 2]", "[2, 3]",
                 code=qtc.ERROR_INVALID_ARGUMENT)
    bad = {**llama_in, "position_ids": np.zeros((4,), np.int64)}
    expect_error("wrong rank", lambda: m.run(bad), "'position_ids'", "rank 2",
                 code=qtc.ERROR_INVALID_ARGUMENT)
    # Converting int32 to int64 would copy: refused, naming the input.
    bad = {**llama_in, "input_ids": llama_in["input_ids"].astype(np.int32)}
    expect_error("wrong dtype (int32 for int64)", lambda: m.run(bad), "'input_ids'", "int64",
                 "int32", code=qtc.ERROR_INVALID_ARGUMENT)
    bad = {**llama_in, "input_ids": [[0.5, 1.5], [2.5, 3.5]]}
    expect_error("floats for an int64 input", lambda: m.run(bad), "'input_ids'", "int64")
    expect_error("run of a closed model", lambda: closed().run(llama_in), "closed")
    expect_error("set_num_threads of a closed model", lambda: closed().set_num_threads(1),
                 "closed")
    c = closed()
    c.close()
    check("close twice is a no-op; repr", c.closed and "closed" in repr(c), repr(c))
    m2 = qtc.compile(os.path.join(pooled_dir, "pooled.onnx"))
    del m2  # __del__ frees it
    check("a model freed by garbage collection", True)
    check("the first model still matches after all of it", same_bits(llama.run(llama_in), llama_first))


def closed():
    m = qtc.load(shared_so)
    m.close()
    return m


guarded("errors", t_errors)

if llama is not None:
    llama.close()
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
