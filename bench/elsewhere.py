#!/usr/bin/env python3
"""qtc against onnxruntime on a machine that has no qtc (a bigger server, say).

    python3 bench/elsewhere.py pack DIR [--qtc build/bin/qtc]     # here
    python3 bench/elsewhere.py run DIR [--runs 50] [--threads 1,all] [--json F]  # there

`pack` builds the benchmark models (the bundled int4 Llama-style fixture and
one int4 MatMulNBits layer at M = 1 and M = 64, K = N = 4096, as
bench/matmulnbits.py makes it), compiles each into standalone programs
(`qtc compile --emit exe --weights external`) for two x86-64 levels,
x86-64-v3 (AVX2, FMA) and x86-64-v4 (AVX-512), and writes them with their
inputs, the ONNX files and a manifest into DIR. `run` needs only Python with
numpy and onnxruntime: for every case and thread count it runs the program
made for the best level the CPU has (`PROG ... --threads T --bench R`), runs
onnxruntime on the same ONNX file, inputs and intra-op thread count, checks
that the outputs agree, and prints medians, ratios and weight throughput
(weight bytes / latency) next to a single-thread copy bandwidth. The
programs need only libc and libm.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LEVELS = {  # program suffix -> (qtc --target-cpu, /proc/cpuinfo flags it needs)
    "v4": ("x86-64-v4", {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd", "avx2", "fma"}),
    "v3": ("x86-64-v3", {"avx2", "fma", "bmi2"}),
}


def matmulnbits_case(tmp, m, k, n):
    sys.path.insert(0, HERE)
    import matmulnbits  # noqa: E402 - bench/matmulnbits.py builds the model
    path = os.path.join(tmp, f"matmulnbits_m{m}.onnx")
    matmulnbits.build_model(path, m, k, n)
    x = np.random.default_rng(1).standard_normal((m, k), dtype=np.float32)
    weight_bytes = k * n // 2 + (k // 32) * n * 4 + (k // 32) * n // 2
    return path, {"x": x}, weight_bytes


def pack(args):
    out = os.path.abspath(args.dir)
    os.makedirs(out, exist_ok=True)
    fixtures = os.path.join(ROOT, "test", "frontends", "onnx", "fixtures")
    cases = []
    llama = os.path.join(fixtures, "llama_tiny_int4_matmulnbits.onnx")
    io = np.load(llama[:-5] + ".io.npz")
    cases.append(("llama_tiny_int4", llama, {k[3:]: io[k] for k in io.files if k.startswith("in.")}, 0))
    tmp = tempfile.mkdtemp(prefix="qtc-elsewhere-")
    for m in (1, 64):
        path, inputs, wbytes = matmulnbits_case(tmp, m, 4096, 4096)
        cases.append((f"matmulnbits_int4_m{m}_4096", path, inputs, wbytes))
    manifest = []
    for name, model, inputs, wbytes in cases:
        case_dir = os.path.join(out, name)
        os.makedirs(case_dir, exist_ok=True)
        onnx_path = os.path.join(case_dir, "model.onnx")
        if os.path.abspath(model) != onnx_path:
            shutil.copyfile(model, onnx_path)
        files = {}
        for i, (iname, array) in enumerate(inputs.items()):
            files[iname] = f"input{i}.npy"
            np.save(os.path.join(case_dir, files[iname]), array)
        shape_flags = [f"--input-shape={n}=" + ",".join(str(d) for d in a.shape) for n, a in inputs.items()]
        weights = None
        for suffix, (cpu, _) in LEVELS.items():
            prog = os.path.join(case_dir, f"model-{suffix}")
            subprocess.run([args.qtc, "compile", "--quiet", onnx_path, "--emit", "exe", "--weights", "external",
                            "--target-cpu", cpu, "-o", prog, *shape_flags], check=True)
            # Both levels' weights files hold the same bytes and id: keep one.
            if weights is None:
                weights = f"model-{suffix}.weights"
            elif open(prog + ".weights", "rb").read() == open(os.path.join(case_dir, weights), "rb").read():
                os.remove(prog + ".weights")
            else:
                raise SystemExit(f"{name}: the {suffix} weights differ from {weights}")
        manifest.append({"name": name, "inputs": files, "weights": weights, "weight_bytes": wbytes})
        print(f"packed {name}")
    shutil.rmtree(tmp)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    if os.path.abspath(__file__) != os.path.join(out, "elsewhere.py"):
        shutil.copyfile(__file__, os.path.join(out, "elsewhere.py"))
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    print(f"{out}: {size / 2**20:.1f} MiB; on the other machine: python3 elsewhere.py run {os.path.basename(out)}")


def cpu_level():
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    for suffix, (_, need) in LEVELS.items():
        if need <= flags:
            return suffix
    raise SystemExit("this CPU has neither AVX-512 nor AVX2: no program fits it")


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def copy_bandwidth():
    a = np.ones(256 << 20, dtype=np.uint8)
    b = np.empty_like(a)
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        np.copyto(b, a)
        best = max(best, 2 * a.nbytes / (time.perf_counter() - t) / 1e9)
    return best


def run(args):
    import onnxruntime as ort
    base = os.path.abspath(args.dir)
    manifest = json.load(open(os.path.join(base, "manifest.json")))
    level = cpu_level()
    cores = os.cpu_count()
    threads = [cores if t == "all" else int(t) for t in args.threads.split(",")]
    bw = copy_bandwidth()
    print(f"{cpu_name()}, {cores} logical CPUs, programs for {LEVELS[level][0]}, "
          f"onnxruntime {ort.__version__}, single-thread copy {bw:.1f} GB/s")
    print(f"{'case':28}{'threads':>8}{'qtc ms':>10}{'ORT ms':>10}{'qtc/ORT':>9}{'qtc GB/s':>10}{'ORT GB/s':>10}{'max diff':>10}")
    rows = []
    failed = False
    for case in manifest:
        d = os.path.join(base, case["name"])
        prog = os.path.join(d, f"model-{level}")
        feeds = {n: np.load(os.path.join(d, f)) for n, f in case["inputs"].items()}
        for t in threads:
            outdir = os.path.join(d, f"out-{t}")
            cmd = [prog, *(f"{n}={os.path.join(d, f)}" for n, f in case["inputs"].items()),
                   "--weights", os.path.join(d, case["weights"]), "--threads", str(t),
                   "--bench", str(args.runs), "--output-dir", outdir]
            printed = subprocess.run(cmd, capture_output=True, text=True)
            if printed.returncode:
                print(f"{case['name']}: {printed.stderr.strip()}")
                failed = True
                continue
            qtc_ms = float(re.search(r"median ([0-9.]+) ms", printed.stdout).group(1))
            options = ort.SessionOptions()
            options.intra_op_num_threads = t
            session = ort.InferenceSession(os.path.join(d, "model.onnx"), options,
                                           providers=["CPUExecutionProvider"])
            names = [o.name for o in session.get_outputs()]
            want = session.run(None, feeds)
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                session.run(None, feeds)
                times.append((time.perf_counter() - t0) * 1e3)
            ort_ms = sorted(times)[len(times) // 2]
            diff = 0.0
            for name, w in zip(names, want):
                path = os.path.join(outdir, name + ".npy")
                if os.path.exists(path):
                    got = np.load(path).astype(np.float64)
                    diff = max(diff, float(np.abs(got - w).max()) / max(1.0, float(np.abs(w).max())))
            wb = case["weight_bytes"]
            gbs = (lambda ms: f"{wb / (ms * 1e-3) / 1e9:10.1f}") if wb else (lambda ms: f"{'':>10}")
            print(f"{case['name']:28}{t:8d}{qtc_ms:10.3f}{ort_ms:10.3f}{qtc_ms / ort_ms:9.2f}"
                  f"{gbs(qtc_ms)}{gbs(ort_ms)}{diff:10.1e}")
            rows.append({"case": case["name"], "threads": t, "qtc_ms": qtc_ms, "ort_ms": ort_ms,
                         "max_rel_diff": diff})
            failed |= diff > 1e-4
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu": cpu_name(), "cpus": cores, "level": level, "copy_gbs": bw, "rows": rows}, f, indent=1)
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pk = sub.add_parser("pack", help="build models and programs into DIR (needs qtc)")
    pk.add_argument("dir")
    pk.add_argument("--qtc", default=os.path.join(ROOT, "build", "bin", "qtc"))
    rn = sub.add_parser("run", help="run DIR's programs and onnxruntime side by side")
    rn.add_argument("dir")
    rn.add_argument("--runs", type=int, default=50)
    rn.add_argument("--threads", default="1,all", help="comma-separated counts; 'all' = every logical CPU")
    rn.add_argument("--json", help="also write the figures here")
    a = p.parse_args()
    return pack(a) if a.cmd == "pack" else run(a)


if __name__ == "__main__":
    sys.exit(main() or 0)
