#!/usr/bin/env python3
"""`qtc compile --weights external`: the weights go to MODEL.weights, which
the library or program memory-maps on its first run.

    python3 external_weights.py QTC FIXTURES WORKDIR

Compiles the bundled int4 Llama fixture (onnxruntime's MatMulNBits
quantizer) with embedded and with external weights, as a shared library
and as a program, and checks: the outputs agree bit for bit and match the
onnxruntime outputs stored with the fixture; the weights left the library;
the header, the JSON description and `qtc run --weights` / the program's
`--weights` name the side file; a missing, foreign, truncated or garbage
side file is a one-line error with a non-zero exit; the C entry
qtc_model_load_weights loads once. Prints one line per check and
"N passed, M failed".
"""
import ctypes
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import Tally  # noqa: E402

QTC, FIXTURES, WORK = sys.argv[1:4]
tally = Tally()
check = tally.check

model = os.path.join(FIXTURES, "llama_tiny_int4_matmulnbits.onnx")
io = np.load(model[:-len(".onnx")] + ".io.npz")
inputs = {k[3:]: v for k, v in io.items() if k.startswith("in.")}
expected = {k[4:]: v for k, v in io.items() if k.startswith("out.")}
npz = os.path.join(WORK, "inputs.npz")
np.savez(npz, **inputs)
shapes = [f"--input-shape={n}=" + ",".join(map(str, a.shape)) for n, a in inputs.items()]


def compile_(out, *flags):
    return subprocess.run([QTC, "compile", "--quiet", model, *shapes, *flags, "-o", out],
                          capture_output=True, text=True)


def outputs(directory):
    return {n: np.load(os.path.join(directory, n + ".npy")) for n in expected}


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def error_line(proc, expect):
    lines = proc.stderr.strip().splitlines()
    return proc.returncode != 0 and len(lines) == 1 and expect in lines[0], proc.stderr.strip()


emb, ext = os.path.join(WORK, "emb.so"), os.path.join(WORK, "ext.so")
side = os.path.join(WORK, "ext.weights")
for out, flags in ((emb, []), (ext, ["--weights", "external"])):
    p = compile_(out, "--emit", "shared", *flags)
    if p.returncode:
        sys.exit(p.stderr)

# The side file and what describes it.
with open(side, "rb") as f:
    header = f.read(40)
magic, version, count, _, offset, data = struct.unpack("<8sIIQQQ", header)
check("header", magic == b"QTCWGHTS" and version == 1 and count > 0 and offset % 65536 == 0,
      f"{count} tensors, {data} bytes at offset {offset}")
saved = os.path.getsize(emb) - os.path.getsize(ext)
check("weights left the library", saved >= 0.8 * data,
      f"library {os.path.getsize(emb)} -> {os.path.getsize(ext)} bytes, weights {data} bytes")
with open(os.path.join(WORK, "ext.json")) as f:
    check("json names the side file", json.load(f).get("weights") == "ext.weights", "ext.json")
with open(os.path.join(WORK, "ext.h")) as f:
    h = f.read()
check("header declares the loader", "int qtc_model_load_weights(const char *path);" in h
      and "int qtc_model_run(void **args);" in h, "ext.h")

# Same numbers as the embedded build and as onnxruntime.
ref_dir, ext_dir = os.path.join(WORK, "out_emb"), os.path.join(WORK, "out_ext")
run([QTC, "run", emb, "--inputs", npz, "--output-dir", ref_dir])
p = run([QTC, "run", ext, "--inputs", npz, "--output-dir", ext_dir])
check("qtc run", p.returncode == 0, p.stderr.strip() or "ok")
a, b = outputs(ref_dir), outputs(ext_dir)
check("bit-identical to embedded", all(np.array_equal(a[n], b[n]) for n in a), ", ".join(a))
err = max(float(np.abs(b[n] - expected[n]).max() / max(np.abs(expected[n]).max(), 1e-30))
          for n in expected)
check("matches onnxruntime", err <= 1e-4, f"max error relative to output scale {err:.2e}")

# Another path: qtc run --weights.
moved = os.path.join(WORK, "elsewhere.weights")
shutil.move(side, moved)
p = run([QTC, "run", ext, "--inputs", npz, "--output-dir", ext_dir])
check("missing side file", *error_line(p, "ext.weights: No such file or directory"))
p = run([QTC, "run", ext, "--weights", moved, "--inputs", npz, "--output-dir", ext_dir])
check("qtc run --weights", p.returncode == 0 and all(
    np.array_equal(a[n], v) for n, v in outputs(ext_dir).items()), p.stderr.strip() or "ok")
p = run([QTC, "run", emb, "--weights", moved, "--inputs", npz, "--output-dir", ext_dir])
check("--weights on embedded", *error_line(p, "its weights are built in"))
shutil.move(moved, side)

# Side files that do not belong.
other = os.path.join(WORK, "other.so")
p = subprocess.run([QTC, "compile", "--quiet",
                    os.path.join(FIXTURES, "bert_tiny_int4_matmulnbits.onnx"),
                    "--dim", "batch=1", "--dim", "sequence=4", "--emit", "shared",
                    "--weights", "external", "-o", other], capture_output=True, text=True)
if p.returncode:
    sys.exit(p.stderr)
p = run([QTC, "run", ext, "--weights", os.path.join(WORK, "other.weights"),
         "--inputs", npz, "--output-dir", ext_dir])
check("foreign side file", *error_line(p, "written by another compile of the model"))
with open(side, "rb") as f:
    content = f.read()
bad = os.path.join(WORK, "bad.weights")
with open(bad, "wb") as f:
    f.write(content[:offset + data // 2])
p = run([QTC, "run", ext, "--weights", bad, "--inputs", npz, "--output-dir", ext_dir])
check("truncated side file", *error_line(p, "truncated"))
with open(bad, "wb") as f:
    f.write(b"not weights" * 10)
p = run([QTC, "run", ext, "--weights", bad, "--inputs", npz, "--output-dir", ext_dir])
check("garbage side file", *error_line(p, "not a qtc weights file"))

# Programs: PROG.weights next to the program, or --weights FILE.
prog = os.path.join(WORK, "prog")
p = compile_(prog, "--emit", "exe", "--weights", "external")
check("exe compiles", p.returncode == 0 and os.path.exists(prog + ".weights"), p.stderr.strip() or "ok")
args = [f"{n}={os.path.join(WORK, n + '.npy')}" for n in inputs]
for n, v in inputs.items():
    np.save(os.path.join(WORK, n + ".npy"), v)
p = run([prog, *args, "--output-dir", ext_dir])
check("exe runs", p.returncode == 0 and all(
    np.array_equal(a[n], v) for n, v in outputs(ext_dir).items()), p.stderr.strip() or "ok")
os.makedirs(os.path.join(WORK, "bin"), exist_ok=True)
lone = os.path.join(WORK, "bin", "prog")
shutil.copy(prog, lone)
p = run([lone, *args, "--output-dir", ext_dir])
check("exe without its side file", *error_line(p, "bin/prog.weights: No such file or directory"))
p = run([lone, "--weights", prog + ".weights", *args, "--output-dir", ext_dir])
check("exe --weights", p.returncode == 0, p.stderr.strip() or "ok")

# The C entry points.
lib = ctypes.CDLL(ext)
lib.qtc_model_error.restype = ctypes.c_char_p
first = lib.qtc_model_load_weights(side.encode())
second = lib.qtc_model_load_weights(side.encode())
check("qtc_model_load_weights", first == 0 and second != 0
      and b"already loaded" in lib.qtc_model_error(), lib.qtc_model_error().decode())

# Text output has no weights to move.
p = compile_(os.path.join(WORK, "t.mlir"), "--emit", "mlir", "--weights", "external")
check("--emit mlir refused", *error_line(p, "--weights external needs --emit"))
check("no partial output", not os.path.exists(os.path.join(WORK, "t.mlir"))
      and not os.path.exists(os.path.join(WORK, "t.weights")), "t.mlir, t.weights")
tally.finish()
