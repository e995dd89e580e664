#!/usr/bin/env python3
"""The onnxruntime side of `qtc run --compare-onnxruntime MODEL.onnx`.

    python3 onnxruntime_peer.py MODEL.onnx RUNS THREADS[:serial] QTC_MEDIAN_MS OUT_DIR NAME=FILE.npy ...

qtc run has already run the compiled model on the same inputs, written each
output as OUT_DIR/NAME.npy and timed RUNS runs (QTC_MEDIAN_MS, negative when
it did not time). This runs the ONNX file on onnxruntime's CPU provider with
the same inputs and intra-op thread count (THREADS: the size of the
compiled model's thread pool; ":serial" when the model has no parallel loops
and runs on the calling thread, THREADS being what its pool would have), prints the largest difference
between the two runtimes' outputs (relative to each output's largest
magnitude, at least 1; onnxruntime runs the file as given, so a MatMulNBits
with accuracy_level 4 computes with int8 activations, which qtc does not)
and, with RUNS > 0, onnxruntime's latency over as many
runs and the ratio. qtc ships it next to its runtime (share/qtc); it is a
measuring aid, never linked into anything qtc builds.
Exit status: 0, or 1 with a one-line error on stderr.
"""
import os
import sys
import time


def fail(message):
    print(f"qtc: error: --compare-onnxruntime: {message}", file=sys.stderr)
    return 1


def main(argv):
    if len(argv) < 6:
        return fail("usage: onnxruntime_peer.py MODEL.onnx RUNS THREADS QTC_MEDIAN_MS OUT_DIR NAME=FILE.npy ...")
    model, runs, qtc_ms, out_dir = argv[1], int(argv[2]), float(argv[4]), argv[5]
    threads, _, serial = argv[3].partition(":")
    threads = int(threads)
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        return fail(f"{e.name} is not installed for {sys.executable} "
                    "(scripts/setup.sh installs it)")
    feeds = {}
    for spec in argv[6:]:
        name, _, path = spec.partition("=")
        feeds[name] = np.load(path)

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        return fail(f"{model}: onnxruntime cannot load it: {str(e).splitlines()[0]}")
    wanted = {i.name for i in session.get_inputs()}
    missing = wanted - feeds.keys()
    if missing:
        return fail(f"{model}: onnxruntime needs input '{sorted(missing)[0]}', "
                    "which the compiled model does not take")
    feeds = {k: v for k, v in feeds.items() if k in wanted}
    names = [o.name for o in session.get_outputs()]
    try:
        results = session.run(None, feeds)
    except Exception as e:
        return fail(f"{model}: onnxruntime failed to run it: {str(e).splitlines()[0]}")

    worst, worst_name, compared = 0.0, "", 0
    for name, want in zip(names, results):
        path = os.path.join(out_dir, name + ".npy")
        if not os.path.exists(path):
            continue  # an output qtc's model does not produce (renamed or dropped)
        got = np.load(path).astype(np.float64)
        want = np.asarray(want).astype(np.float64)
        if got.shape != want.shape:
            return fail(f"output '{name}': qtc gave shape {list(got.shape)}, "
                        f"onnxruntime {list(want.shape)}")
        scale = max(1.0, float(np.abs(want).max()) if want.size else 1.0)
        diff = float(np.abs(got - want).max()) / scale if want.size else 0.0
        compared += 1
        if diff >= worst:
            worst, worst_name = diff, name
    if compared == 0:
        return fail(f"{model}: no output name in common with the compiled model")
    print(f"outputs vs onnxruntime: max relative difference {worst:.2e} "
          f"over {compared} outputs (largest in '{worst_name}')")

    if runs > 0:
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            session.run(None, feeds)
            times.append((time.perf_counter() - t) * 1e3)
        times.sort()
        median = times[len(times) // 2]
        print(f"onnxruntime latency over {runs} runs: min {times[0]:.3f} ms, "
              f"median {median:.3f} ms, max {times[-1]:.3f} ms")
        if qtc_ms >= 0:
            where = (f"qtc on 1 thread (no parallel loops), onnxruntime on {threads}" if serial
                     else f"{threads} threads each")
            print(f"median latency: qtc {qtc_ms:.3f} ms, onnxruntime {median:.3f} ms "
                  f"(qtc/onnxruntime {qtc_ms / median:.2f}; {where})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
