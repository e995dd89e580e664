#!/usr/bin/env python3
"""The generator's artifact cache (QTC_CACHE_DIR; qtc generate's default):
the first qtc.Generator compiles its two entries into the cache folder as
shared libraries, a second one with the same model and options loads them
(no file written) and computes the same logits bit for bit as the first and
as the in-process JIT; other options get other artifacts; a damaged
artifact is compiled again; a cache folder that cannot be made falls back
to the JIT.

    generator_cache.py MODEL.gguf WORKDIR

Prints one "OK ..." per check and "FAIL ..." for a failed one."""
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENS = [1, 5, 9, 13, 2, 7, 3, 4, 11, 12, 6]


def logits(model, cache, path=None, **options):
    """Runs a child process (QTC_CACHE_DIR is read once per generator, but a
    fresh process is what a user's second run is); `path` replaces PATH."""
    env = dict(os.environ)
    env.pop("QTC_CACHE_DIR", None)
    if cache is not None:
        env["QTC_CACHE_DIR"] = cache
    if path is not None:
        env["PATH"] = path
    code = (
        "import sys, numpy as np; sys.path.insert(0, %r); import qtc\n"
        "g = qtc.Generator(%r, max_context=64, prefill_chunk=8, **%r)\n"
        "g.append(%r); a = [np.array(g.logits(), np.float32)]\n"
        "g.append([3]); a.append(np.array(g.logits(), np.float32))\n"
        "sys.stdout.buffer.write(np.concatenate(a).tobytes())\n"
    ) % (os.path.join(HERE, "..", "..", "python"), model, options, TOKENS)
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                         capture_output=True).stdout
    return np.frombuffer(out, np.float32)


def listing(folder):
    return {f: os.stat(os.path.join(folder, f)).st_mtime_ns
            for f in sorted(os.listdir(folder))}


def main():
    model, work = sys.argv[1], sys.argv[2]
    cache = os.path.join(work, "cache")
    failed = []

    def check(ok, what):
        print(("OK " if ok else "FAIL ") + what)
        if not ok:
            failed.append(what)

    jit = logits(model, None)
    first = logits(model, cache)
    files = listing(cache)
    check(len(files) == 2 and all(f.endswith(".so") for f in files),
          "first run writes the step and the prefill chunk, nothing else: %s"
          % list(files))
    check(np.array_equal(first, jit), "cached artifact equals the JIT bit for bit")
    # Thread-locals in the initial-exec model: no __tls_get_addr, whose
    # slow path glibc < 2.39 takes on every access once a second library
    # with thread-locals is loaded (the generator loads two).
    syms = "".join(subprocess.run(["readelf", "--dyn-syms", "-W",
                                   os.path.join(cache, f)], check=True,
                                  capture_output=True, text=True).stdout
                   for f in files)
    check("__tls_get_addr" not in syms,
          "artifacts reach their thread-locals without __tls_get_addr")
    second = logits(model, cache)
    check(listing(cache) == files, "second run loads them, writes nothing")
    check(np.array_equal(second, first), "second run's logits equal the first's")

    other = logits(model, cache, quantize="w8")
    now = listing(cache)
    check(len(now) == 4 and set(files) <= set(now),
          "other options get their own artifacts (%d files)" % len(now))
    check(not np.array_equal(other, first), "and compute their own logits")

    victim = sorted(files)[0]
    with open(os.path.join(cache, victim), "r+b") as f:
        f.truncate(100)
    again = logits(model, cache)
    check(np.array_equal(again, first) and
          os.path.getsize(os.path.join(cache, victim)) > 100,
          "a damaged artifact is compiled again")

    blocked = os.path.join(work, "not-a-folder")
    with open(blocked, "w") as f:
        f.write("x")
    check(np.array_equal(logits(model, os.path.join(blocked, "cache")), first),
          "a cache folder that cannot be made falls back to the JIT")
    nocc = os.path.join(work, "no-cc-cache")
    check(np.array_equal(logits(model, nocc, path=os.path.join(work, "empty")), first)
          and not os.path.exists(nocc),
          "without a C compiler on PATH it compiles in process and writes nothing")
    print("%d checks failed" % len(failed) if failed else "all checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
