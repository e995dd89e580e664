// qtc.Generator's artifact cache (QTC_CACHE_DIR): written once, loaded
// after, bit-identical to the JIT, keyed by the options, robust to damaged
// artifacts and unusable folders (generator_cache.py).
// RUN: rm -rf %t && mkdir -p %t
// RUN: env QTC_LIBRARY=%qtc_lib_dir/libqtc.so python3 %S/generator_cache.py %S/../frontends/gguf/families/llama.gguf %t | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: OK first run writes the step and the prefill chunk, nothing else
// CHECK: OK cached artifact equals the JIT bit for bit
// CHECK: OK artifacts reach their thread-locals without __tls_get_addr
// CHECK: OK second run loads them, writes nothing
// CHECK: OK second run's logits equal the first's
// CHECK: OK other options get their own artifacts (4 files)
// CHECK: OK and compute their own logits
// CHECK: OK a damaged artifact is compiled again
// CHECK: OK a cache folder that cannot be made falls back to the JIT
// CHECK: OK without a C compiler on PATH it compiles in process and writes nothing
// CHECK: all checks passed
