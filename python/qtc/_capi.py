"""ctypes declarations of include/qtc-c/qtc.h (libqtc.so).

The library is found, in order, at:
  1. the path in the QTC_LIBRARY environment variable,
  2. <this package>/../../build/lib/libqtc.so (a build tree beside the
     source checkout that holds this package),
  3. ctypes.util.find_library("qtc") (the system's library path).
"""
import ctypes
import ctypes.util
import os

#: QTC_API_VERSION of the header these declarations follow.
API_VERSION = 1
#: QTC_MAX_RANK.
MAX_RANK = 8

# qtc_status_code
OK = 0
ERROR_INVALID_ARGUMENT = 1
ERROR_COMPILE = 2
ERROR_LOAD = 3
ERROR_RUN = 4

# qtc_dtype
DTYPE_FLOAT32 = 1
DTYPE_FLOAT16 = 2
DTYPE_BFLOAT16 = 3
DTYPE_FLOAT64 = 4
DTYPE_INT8 = 5
DTYPE_INT16 = 6
DTYPE_INT32 = 7
DTYPE_INT64 = 8
DTYPE_BOOL = 9


class Tensor(ctypes.Structure):
    """qtc_tensor."""

    _fields_ = [
        ("dtype", ctypes.c_int),
        ("rank", ctypes.c_int32),
        ("dims", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("data", ctypes.c_void_p),
    ]


# Opaque handles are void pointers; every out-parameter is a c_void_p the
# caller passes by reference.
_handle = ctypes.c_void_p
_out_handle = ctypes.POINTER(ctypes.c_void_p)
_code = ctypes.c_int


def _candidates():
    """(description, path) pairs in search order."""
    env = os.environ.get("QTC_LIBRARY")
    if env:
        yield "QTC_LIBRARY", env
        return  # An explicit choice: no silent fallback to another library.
    here = os.path.dirname(os.path.abspath(__file__))
    yield "the build tree", os.path.normpath(
        os.path.join(here, "..", "..", "build", "lib", "libqtc.so"))
    found = ctypes.util.find_library("qtc")
    if found:
        yield "find_library('qtc')", found


def _open():
    tried = []
    for what, path in _candidates():
        if what == "the build tree" and not os.path.exists(path):
            tried.append(f"{path} ({what}: no such file)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append(f"{path} ({what}: {e})")
    if not os.environ.get("QTC_LIBRARY"):
        tried.append("find_library('qtc') (not found)")
    raise ImportError(
        "qtc: cannot load libqtc.so, the qtc C library; tried: " + "; ".join(tried) +
        ". Build it (ninja -C build libqtc) or set "
        "QTC_LIBRARY to its path.")


lib, library_path = _open()


def _declare(name, restype, *argtypes):
    try:
        f = getattr(lib, name)
    except AttributeError:
        raise ImportError(
            f"qtc: {library_path} does not export {name}: it is not a "
            f"libqtc.so of C API version {API_VERSION}") from None
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


qtc_api_version = _declare("qtc_api_version", ctypes.c_int)
qtc_dtype_size = _declare("qtc_dtype_size", ctypes.c_int, ctypes.c_int)
qtc_dtype_name = _declare("qtc_dtype_name", ctypes.c_char_p, ctypes.c_int)

qtc_status_code_of = _declare("qtc_status_code_of", _code, _handle)
qtc_status_message = _declare("qtc_status_message", ctypes.c_char_p, _handle)
qtc_status_free = _declare("qtc_status_free", None, _handle)

qtc_compiler_options_create = _declare("qtc_compiler_options_create", _handle)
qtc_compiler_options_set = _declare(
    "qtc_compiler_options_set", _code, _handle, ctypes.c_char_p, ctypes.c_char_p,
    _out_handle)
qtc_compiler_options_destroy = _declare("qtc_compiler_options_destroy", None, _handle)

qtc_model_compile = _declare(
    "qtc_model_compile", _code, ctypes.c_char_p, _handle, _out_handle, _out_handle)
qtc_model_load = _declare(
    "qtc_model_load", _code, ctypes.c_char_p, _out_handle, _out_handle)

qtc_model_num_inputs = _declare(
    "qtc_model_num_inputs", _code, _handle, ctypes.POINTER(ctypes.c_int), _out_handle)
qtc_model_num_outputs = _declare(
    "qtc_model_num_outputs", _code, _handle, ctypes.POINTER(ctypes.c_int), _out_handle)
qtc_model_input_name = _declare(
    "qtc_model_input_name", _code, _handle, ctypes.c_int,
    ctypes.POINTER(ctypes.c_char_p), _out_handle)
qtc_model_output_name = _declare(
    "qtc_model_output_name", _code, _handle, ctypes.c_int,
    ctypes.POINTER(ctypes.c_char_p), _out_handle)
qtc_model_input_shape = _declare(
    "qtc_model_input_shape", _code, _handle, ctypes.c_int,
    ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_int32), _out_handle)
qtc_model_output_shape = _declare(
    "qtc_model_output_shape", _code, _handle, ctypes.c_int,
    ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_int32), _out_handle)
qtc_model_input_dtype = _declare(
    "qtc_model_input_dtype", _code, _handle, ctypes.c_int,
    ctypes.POINTER(ctypes.c_int), _out_handle)
qtc_model_output_dtype = _declare(
    "qtc_model_output_dtype", _code, _handle, ctypes.c_int,
    ctypes.POINTER(ctypes.c_int), _out_handle)
# ctypes releases the GIL around every call into a CDLL, so Python threads
# run (and compile) models at once.
qtc_model_run = _declare(
    "qtc_model_run", _code, _handle, ctypes.POINTER(Tensor), ctypes.c_int,
    ctypes.POINTER(Tensor), ctypes.c_int, _out_handle)
qtc_model_set_num_threads = _declare(
    "qtc_model_set_num_threads", _code, _handle, ctypes.c_int, _out_handle)
qtc_model_free = _declare("qtc_model_free", None, _handle)

qtc_generator_create = _declare(
    "qtc_generator_create", _code, ctypes.c_char_p, _handle, ctypes.c_int64,
    ctypes.c_int64, _out_handle, _out_handle)
qtc_generator_append = _declare(
    "qtc_generator_append", _code, _handle, ctypes.POINTER(ctypes.c_int32),
    ctypes.c_int64, _out_handle)
qtc_generator_logits = _declare(
    "qtc_generator_logits", _code, _handle,
    ctypes.POINTER(ctypes.POINTER(ctypes.c_float)), ctypes.POINTER(ctypes.c_int64),
    _out_handle)
qtc_generator_position = _declare(
    "qtc_generator_position", _code, _handle, ctypes.POINTER(ctypes.c_int64),
    ctypes.POINTER(ctypes.c_int64), _out_handle)
qtc_generator_reset = _declare("qtc_generator_reset", _code, _handle, _out_handle)
qtc_generator_free = _declare("qtc_generator_free", None, _handle)
