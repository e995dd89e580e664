"""qtc, the compiler for quantized transformers, from Python.

A pure-Python package over the C API (include/qtc-c/qtc.h, libqtc.so),
through ctypes:

    import numpy as np
    import qtc

    model = qtc.compile("model.onnx", dims={"batch": 1, "sequence": 8},
                        quantize="w4", group_size=32)
    print(model.inputs)    # [Port(name='input_ids', dtype='int64', shape=(1, 8)), ...]
    outputs = model.run({"input_ids": ids})   # {name: numpy array}
    model.close()

    with qtc.load("model.so") as m:           # built by `qtc compile --emit shared`
        y = m.run([x])["y"]

Inputs that are already C-contiguous, aligned numpy arrays of their port's
dtype are passed to the model without a copy (the array's own memory; the
model only reads it). Anything else that is not an ndarray (lists, scalars,
objects with __array__) is converted with numpy, which copies; an ndarray
of the right dtype but not C-contiguous (a transposed or strided view) is
copied into C order. An ndarray of another dtype is an error rather than a
silent (copying) conversion. bfloat16 ports have no numpy dtype: pass
uint16 arrays holding the bits (or ml_dtypes.bfloat16 arrays); bfloat16
outputs come back as uint16 arrays of bits.

The model runs with the GIL released: any number of Python threads may call
run() on one model at once, and each call's outputs are the same bits as a
call alone.

libqtc.so is found through the QTC_LIBRARY environment variable, else
<this package>/../../build/lib/libqtc.so, else ctypes.util.find_library.
"""
import collections
import ctypes
import numbers
import os
import threading

import numpy as np

from . import _capi

__all__ = ["QTCError", "Port", "Model", "compile", "load", "api_version"]

#: The C API version this package is written against (QTC_API_VERSION).
API_VERSION = _capi.API_VERSION

# Status codes, as QTCError.code holds them.
OK = _capi.OK
ERROR_INVALID_ARGUMENT = _capi.ERROR_INVALID_ARGUMENT
ERROR_COMPILE = _capi.ERROR_COMPILE
ERROR_LOAD = _capi.ERROR_LOAD
ERROR_RUN = _capi.ERROR_RUN


class QTCError(RuntimeError):
    """A failed qtc call: `str(e)` is the library's one-line message and
    `e.code` its qtc_status_code (qtc.ERROR_INVALID_ARGUMENT, ERROR_COMPILE,
    ERROR_LOAD or ERROR_RUN)."""

    def __init__(self, message, code=ERROR_INVALID_ARGUMENT):
        super().__init__(message)
        self.message = message
        self.code = code


#: One input or output of a model: name, numpy dtype name ("float32",
#: "int64", "bfloat16", ...) and shape (a tuple of ints).
Port = collections.namedtuple("Port", ["name", "dtype", "shape"])

# qtc_dtype -> the numpy dtype its buffers hold. bfloat16 has none in
# numpy: its buffers are uint16 bit patterns.
_NUMPY_DTYPES = {
    _capi.DTYPE_FLOAT32: np.dtype(np.float32),
    _capi.DTYPE_FLOAT16: np.dtype(np.float16),
    _capi.DTYPE_BFLOAT16: np.dtype(np.uint16),
    _capi.DTYPE_FLOAT64: np.dtype(np.float64),
    _capi.DTYPE_INT8: np.dtype(np.int8),
    _capi.DTYPE_INT16: np.dtype(np.int16),
    _capi.DTYPE_INT32: np.dtype(np.int32),
    _capi.DTYPE_INT64: np.dtype(np.int64),
    _capi.DTYPE_BOOL: np.dtype(np.bool_),
}


def _check(code, status):
    """Raises QTCError for a non-zero code, reading and freeing the status."""
    s = status.value
    if code == OK:
        if s:  # Not expected: the library sets NULL on success.
            _capi.qtc_status_free(s)
        return
    if s:
        message = (_capi.qtc_status_message(s) or b"").decode("utf-8", "replace")
        code = _capi.qtc_status_code_of(s)
        _capi.qtc_status_free(s)
    else:
        message = f"qtc: call failed with status code {code} and no message (out of memory?)"
    raise QTCError(message, code)


def _call(function, *args):
    """function(*args, &status), raising QTCError on failure."""
    status = ctypes.c_void_p()
    _check(function(*args, ctypes.byref(status)), status)


def api_version():
    """QTC_API_VERSION of the libqtc.so this package loaded."""
    return _capi.qtc_api_version()


if api_version() != API_VERSION:
    raise ImportError(
        f"qtc: {_capi.library_path} implements C API version {api_version()}, "
        f"this package expects version {API_VERSION}")


def _option_value(key, value):
    """The C string of one option value."""
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return "true" if value else "false"
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (tuple, list)):  # a shape inside a dict: "d0,d1"
        return ",".join(_option_value(key, v) for v in value)
    if isinstance(value, (str, numbers.Number)):
        return str(value)
    raise TypeError(f"qtc.compile: option '{key}' takes a string, number or "
                    f"bool, got {type(value).__name__}")


def _option_values(key, value):
    """The C strings one keyword sets, in order (lists repeat the option)."""
    if value is None:
        return []
    if isinstance(value, dict):  # tensor_type={"*.mlp.*": 8} -> "*.mlp.*=8"
        return [f"{k}={_option_value(key, v)}" for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [_option_value(key, v) for v in value]
    return [_option_value(key, value)]


def _encode(text):
    return os.fsencode(text) if isinstance(text, (str, os.PathLike)) else bytes(text)


def compile(path, dims=None, **options):  # noqa: A001 (qtc.compile by design)
    """Compiles an ONNX file, a Hugging Face checkpoint folder or a .mlir file
    in this process (no subprocess, no file written) and returns the Model.

    dims: {"batch": 1, "sequence": 8} binds ONNX dim_params (one `dim`
    option "batch=1" per entry; an iterable of "NAME=SIZE" strings works
    too). Every other keyword is the `qtc compile` flag of its name with
    underscores as dashes: quantize="w4", group_size=32, asym=True,
    strict_fp=True, tensor_type=["*.attn.*=8", "*.mlp.*=4"] (a list or
    tuple sets a repeatable option once per element; a dict {k: v} sets
    "k=v" per entry, a tuple value being joined with commas, e.g.
    input_shape={"x": (8, 1024)}), calibration="calib.npz", ...
    None leaves an option at its default. Raises QTCError for an unknown
    key, a bad value or a model that does not compile.
    """
    handle = _capi.qtc_compiler_options_create()
    if not handle:
        raise MemoryError("qtc_compiler_options_create: out of memory")
    model = ctypes.c_void_p()
    try:
        if isinstance(dims, dict):
            entries = [f"{name}={_option_value('dim', size)}" for name, size in dims.items()]
        elif isinstance(dims, str):
            entries = [dims]
        else:
            entries = [str(entry) for entry in (dims or ())]
        for entry in entries:
            _call(_capi.qtc_compiler_options_set, handle, b"dim", _encode(entry))
        for key, value in options.items():
            ckey = key.replace("_", "-")
            for v in _option_values(ckey, value):
                _call(_capi.qtc_compiler_options_set, handle, ckey.encode(), _encode(v))
        # ctypes releases the GIL: other threads run while this compiles.
        _call(_capi.qtc_model_compile, _encode(path), handle, ctypes.byref(model))
    finally:
        _capi.qtc_compiler_options_destroy(handle)
    return Model._adopt(model.value, os.fspath(path))


def _options_handle(options):
    """A qtc_compiler_options handle with `options` set (the caller
    destroys it)."""
    handle = _capi.qtc_compiler_options_create()
    if not handle:
        raise MemoryError("qtc_compiler_options_create: out of memory")
    try:
        for key, value in options.items():
            ckey = key.replace("_", "-")
            for v in _option_values(ckey, value):
                _call(_capi.qtc_compiler_options_set, handle, ckey.encode(), _encode(v))
    except BaseException:
        _capi.qtc_compiler_options_destroy(handle)
        raise
    return handle


class Generator:
    """A decoder compiled in this process for generating text (C API
    qtc_generator): a prompt-chunk entry and a decoding step over a KV cache
    of `max_context` positions that it owns. Token ids in, the next token's
    logits out; no recompilation per prompt length or position.

        g = qtc.Generator("model.gguf", max_context=512, quantize=None)
        g.append([1, 2, 3])          # the prompt
        next_id = int(g.logits().argmax())
        g.append([next_id])          # one decoding step

    Keyword options are `qtc compile`'s, as for qtc.compile. Not
    thread-safe."""

    def __init__(self, path, max_context=2048, prefill_chunk=32, **options):
        self.path = os.fspath(path)
        handle = _options_handle(options)
        g = ctypes.c_void_p()
        try:
            _call(_capi.qtc_generator_create, _encode(self.path), handle,
                  int(max_context), int(prefill_chunk), ctypes.byref(g))
        finally:
            _capi.qtc_compiler_options_destroy(handle)
        self._handle = g.value
        self._free = _capi.qtc_generator_free

    def _live(self, what):
        if self._handle is None:
            raise QTCError(f"qtc: {what}: generator '{self.path}' is closed",
                           ERROR_INVALID_ARGUMENT)
        return self._handle

    def append(self, tokens):
        """Runs `tokens` (ints) from the current position."""
        ids = np.ascontiguousarray(np.asarray(tokens, dtype=np.int32).reshape(-1))
        _call(_capi.qtc_generator_append, self._live("append"),
              ids.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), ids.size)

    def logits(self):
        """The last appended token's logits (a new float32 array)."""
        ptr = ctypes.POINTER(ctypes.c_float)()
        n = ctypes.c_int64()
        _call(_capi.qtc_generator_logits, self._live("logits"), ctypes.byref(ptr),
              ctypes.byref(n))
        return np.ctypeslib.as_array(ptr, shape=(n.value,)).copy()

    @property
    def position(self):
        pos, ctx = ctypes.c_int64(), ctypes.c_int64()
        _call(_capi.qtc_generator_position, self._live("position"), ctypes.byref(pos),
              ctypes.byref(ctx))
        return pos.value

    @property
    def max_context(self):
        pos, ctx = ctypes.c_int64(), ctypes.c_int64()
        _call(_capi.qtc_generator_position, self._live("max_context"), ctypes.byref(pos),
              ctypes.byref(ctx))
        return ctx.value

    def reset(self):
        """Forgets the cached positions."""
        _call(_capi.qtc_generator_reset, self._live("reset"))

    def close(self):
        if self._handle is not None:
            self._free(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None) is not None:
            self._free(self._handle)
            self._handle = None


def load(path):
    """Loads a shared library that `qtc compile --emit shared` built (with
    --weights external, its side file maps on the first run)."""
    model = ctypes.c_void_p()
    _call(_capi.qtc_model_load, _encode(path), ctypes.byref(model))
    return Model._adopt(model.value, os.fspath(path))


def _ports(handle, count_fn, name_fn, shape_fn, dtype_fn):
    count = ctypes.c_int()
    _call(count_fn, handle, ctypes.byref(count))
    ports, dtypes, codes = [], [], []
    for i in range(count.value):
        name = ctypes.c_char_p()
        _call(name_fn, handle, i, ctypes.byref(name))
        dims = (ctypes.c_int64 * _capi.MAX_RANK)()
        rank = ctypes.c_int32(_capi.MAX_RANK)
        _call(shape_fn, handle, i, dims, ctypes.byref(rank))
        dtype = ctypes.c_int()
        _call(dtype_fn, handle, i, ctypes.byref(dtype))
        dtype_name = _capi.qtc_dtype_name(dtype.value)
        if dtype.value not in _NUMPY_DTYPES or dtype_name is None:
            raise QTCError(f"qtc: port '{name.value.decode()}' has a dtype this "
                           f"package does not know ({dtype.value})", ERROR_INVALID_ARGUMENT)
        ports.append(Port(name.value.decode("utf-8", "replace"), dtype_name.decode(),
                          tuple(int(d) for d in dims[:rank.value])))
        dtypes.append(_NUMPY_DTYPES[dtype.value])
        codes.append(dtype.value)
    return ports, dtypes, codes


class Model:
    """A compiled or loaded model (a qtc_model handle).

    inputs / outputs: lists of Port. run(inputs) -> {name: numpy array}.
    close() frees it (so does garbage collection, and leaving a `with`).
    """

    def __init__(self):
        raise TypeError("qtc.Model is made by qtc.compile() or qtc.load()")

    @classmethod
    def _adopt(cls, handle, path):
        self = object.__new__(cls)
        self._handle = None
        self._free = _capi.qtc_model_free  # Kept for __del__ at shutdown.
        self._lock = threading.Lock()
        self._runs = 0
        self.path = path
        try:
            self.inputs, self._in_dtypes, self._in_codes = _ports(
                handle, _capi.qtc_model_num_inputs, _capi.qtc_model_input_name,
                _capi.qtc_model_input_shape, _capi.qtc_model_input_dtype)
            self.outputs, self._out_dtypes, self._out_codes = _ports(
                handle, _capi.qtc_model_num_outputs, _capi.qtc_model_output_name,
                _capi.qtc_model_output_shape, _capi.qtc_model_output_dtype)
        except BaseException:
            _capi.qtc_model_free(handle)
            raise
        self._handle = handle
        self._input_index = {p.name: i for i, p in enumerate(self.inputs)}
        return self

    # -- lifetime ---------------------------------------------------------

    @property
    def closed(self):
        return self._handle is None

    def close(self):
        """Frees the model (its code and weights). Closing twice is a no-op;
        closing while another thread runs it is a QTCError."""
        with self._lock:
            if self._runs:
                raise QTCError(f"qtc: cannot close model '{self.path}' while "
                               f"{self._runs} run() call(s) are in progress",
                               ERROR_INVALID_ARGUMENT)
            handle, self._handle = self._handle, None
        if handle:
            self._free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # No run can be in progress: run() holds a reference to self.
        handle = getattr(self, "_handle", None)
        if handle:
            self._handle = None
            self._free(handle)

    def __repr__(self):
        state = "closed" if self.closed else f"inputs={self.inputs}, outputs={self.outputs}"
        return f"<qtc.Model {self.path!r} {state}>"

    def _acquire(self, what):
        with self._lock:
            if self._handle is None:
                raise QTCError(f"qtc: {what}: model '{self.path}' is closed",
                               ERROR_INVALID_ARGUMENT)
            self._runs += 1
            return self._handle

    def _release(self):
        with self._lock:
            self._runs -= 1

    # -- running ----------------------------------------------------------

    def set_num_threads(self, n):
        """Threads this model's parallel loops use, the calling thread
        included (0: the default, QTC_NUM_THREADS, else every processor).
        Applies to later runs."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"set_num_threads: expects an int, got {type(n).__name__}")
        n = int(n)
        if not -2**31 <= n < 2**31:
            raise QTCError(f"qtc_model_set_num_threads: threads must be 0 (the default) "
                           f"to 256, got {n}", ERROR_INVALID_ARGUMENT)
        handle = self._acquire("set_num_threads")
        try:
            _call(_capi.qtc_model_set_num_threads, handle, n)
        finally:
            self._release()

    def _input_arrays(self, inputs):
        """The arrays run() hands the model, in input order: an input that
        is already a C-contiguous, aligned ndarray of its port's dtype is
        passed as it is (no copy)."""
        if isinstance(inputs, dict):
            given = set(inputs)
            missing = [p.name for p in self.inputs if p.name not in given]
            extra = [k for k in inputs if k not in self._input_index]
            if missing or extra:
                parts = []
                if missing:
                    parts.append("missing input(s) " + ", ".join(repr(n) for n in missing))
                if extra:
                    parts.append("unknown input(s) " + ", ".join(repr(str(n)) for n in extra))
                raise QTCError(f"qtc: run: {'; '.join(parts)} (the model's inputs: "
                               f"{', '.join(repr(p.name) for p in self.inputs)})",
                               ERROR_INVALID_ARGUMENT)
            values = [inputs[p.name] for p in self.inputs]
        elif isinstance(inputs, (list, tuple)):
            if len(inputs) != len(self.inputs):
                raise QTCError(f"qtc: run: the model has {len(self.inputs)} inputs "
                               f"({', '.join(repr(p.name) for p in self.inputs)}), "
                               f"got {len(inputs)}", ERROR_INVALID_ARGUMENT)
            values = list(inputs)
        else:
            raise TypeError("run: inputs must be a dict {name: array} or a list/tuple "
                            f"in input order, got {type(inputs).__name__}")
        return [self._as_input(p, want, v)
                for p, want, v in zip(self.inputs, self._in_dtypes, values)]

    @staticmethod
    def _as_input(port, want, value):
        bf16 = port.dtype == "bfloat16"
        if not isinstance(value, np.ndarray) and not hasattr(value, "__array__") \
                and not hasattr(value, "__array_interface__"):
            # A list or a scalar: numpy converts it (a copy) to the port's
            # dtype, as long as no value changes kind (no float -> int).
            if bf16:
                raise QTCError(f"qtc: run: input '{port.name}' is bfloat16: pass a uint16 "
                               "numpy array of its bits (or an ml_dtypes.bfloat16 array)",
                               ERROR_INVALID_ARGUMENT)
            array = np.asarray(value)
            if not np.can_cast(array.dtype, want, casting="same_kind"):
                raise QTCError(f"qtc: run: input '{port.name}' must be {port.dtype}, "
                               f"got values of type {array.dtype}", ERROR_INVALID_ARGUMENT)
            return np.ascontiguousarray(array, dtype=want).reshape(array.shape)
        array = np.asarray(value)  # An ndarray (subclass) is viewed, not copied.
        ok = array.dtype == want or (bf16 and array.dtype.name == "bfloat16")
        if not ok:
            hint = ("a uint16 array of bfloat16 bits" if bf16 else
                    f"convert it with .astype(np.{port.dtype})")
            raise QTCError(f"qtc: run: input '{port.name}' must be {port.dtype}, got "
                           f"{array.dtype} ({hint}; run() does not convert arrays, "
                           "so that it never copies them behind your back)",
                           ERROR_INVALID_ARGUMENT)
        if not (array.flags.c_contiguous and array.flags.aligned):
            # A strided or transposed view: copied into C order.
            array = np.require(array, requirements=["C", "A"])
        return array

    def run(self, inputs):
        """Runs the model on `inputs`, a dict {name: array-like} or a list /
        tuple in input order, and returns {name: numpy array} in output
        order (new arrays; bfloat16 outputs as uint16 bits).

        C-contiguous ndarrays of the port's dtype are read in place (no
        copy; read-only arrays are fine). Other array-likes are converted
        with numpy (a copy); an ndarray of another dtype raises QTCError.
        A wrong shape raises QTCError naming the input (the library checks
        it). Releases the GIL while the model runs."""
        if self._handle is None:  # Before any complaint about the inputs.
            raise QTCError(f"qtc: run: model '{self.path}' is closed", ERROR_INVALID_ARGUMENT)
        arrays = self._input_arrays(inputs)
        outputs = [np.empty(p.shape, dtype=d) for p, d in zip(self.outputs, self._out_dtypes)]
        n_in, n_out = len(arrays), len(outputs)
        in_tensors = (_capi.Tensor * max(n_in, 1))()
        out_tensors = (_capi.Tensor * max(n_out, 1))()
        keep = []  # The dims arrays must live until the call returns.
        for tensors, codes, arrs in ((in_tensors, self._in_codes, arrays),
                                     (out_tensors, self._out_codes, outputs)):
            for i, (code, a) in enumerate(zip(codes, arrs)):
                dims = (ctypes.c_int64 * max(a.ndim, 1))(*a.shape)
                keep.append(dims)
                t = tensors[i]
                t.dtype = code
                t.rank = a.ndim
                t.dims = dims
                t.strides = None  # C order (checked or made so above)
                t.data = a.ctypes.data
        handle = self._acquire("run")
        try:
            _call(_capi.qtc_model_run, handle, in_tensors, n_in, out_tensors, n_out)
        finally:
            self._release()
        del keep, arrays
        return {p.name: a for p, a in zip(self.outputs, outputs)}
