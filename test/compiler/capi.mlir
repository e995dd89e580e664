// The C API (include/qtc-c/qtc.h, libqtc.so) from a C program written
// against the header alone (capi_test.c): compile the bundled int4 Llama
// fixture in-process, match onnxruntime, run it from 8 threads at once with
// bit-identical outputs, load a second model beside it (compiled from the
// GPT-2 fixture; then a library `qtc compile --emit shared` built), and get
// an error status, never a crash, for every bad argument. The program is
// built with AddressSanitizer, whose leak checker runs at exit: nothing
// the library allocated may leak, failed compiles included.
// RUN: rm -rf %t && mkdir -p %t/in %t/out
// RUN: cc -std=c11 -O1 -g -fsanitize=address -fno-omit-frame-pointer -I %qtc_src_root/include %S/capi_test.c -L %qtc_lib_dir -Wl,-rpath,%qtc_lib_dir -lqtc -lpthread -o %t/capi_test
// RUN: python3 %S/capi_compare.py prepare %S/../frontends/onnx/fixtures/llama_tiny_int4_matmulnbits.io.npz %t/in
// RUN: env ASAN_OPTIONS=detect_leaks=1 %t/capi_test %S/../frontends/onnx/fixtures/llama_tiny_int4_matmulnbits.onnx %t/in %t/out %S/../frontends/onnx/fixtures/gpt2_tiny.onnx dim=batch_size=2 dim=sequence_length=2 dim=past_sequence_length=3 dim=total_sequence_length=5 -- dim=batch=1 dim=sequence=6 | FileCheck %s
// RUN: python3 %S/capi_compare.py check %S/../frontends/onnx/fixtures/llama_tiny_int4_matmulnbits.io.npz %t/out | FileCheck %s --check-prefix=NUMERIC
// CHECK-NOT: FAIL
// CHECK: OK compile in-process
// CHECK: OK 8 threads at once, bit-identical: 8 threads x 25 runs, 0 outputs differ, 0 errors
// CHECK: OK second model
// CHECK: OK both models from 4 threads each
// CHECK: OK freed model
// CHECK: {{^}}32 passed, 0 failed
// NUMERIC-NOT: MISMATCH
// NUMERIC: 5 passed, 0 failed

// The second model loaded from a library built by qtc compile, with
// another entry prefix (--name) and int4 weights quantized by qtc.
// RUN: qtc compile --quiet %S/../frontends/onnx/fixtures/gpt2_tiny.onnx --dim batch=1 --dim sequence=6 --quantize w4 --group-size 32 --name gpt2_w4 --emit shared -o %t/gpt2_w4.so
// RUN: env ASAN_OPTIONS=detect_leaks=1 %t/capi_test %S/../frontends/onnx/fixtures/llama_tiny_int4_matmulnbits.onnx %t/in %t/out %t/gpt2_w4.so dim=batch_size=2 dim=sequence_length=2 dim=past_sequence_length=3 dim=total_sequence_length=5 | FileCheck %s --check-prefix=LOADED
// A model whose matmuls run on the runtime's thread pool (gen_pooled.py),
// first: 8 threads calling it at once share the pool (a region that finds it
// busy runs on its caller's thread) and every output is the same bits as
// a single call's; the Llama fixture compiles beside it.
// RUN: python3 %S/gen_pooled.py %t/pooled
// RUN: python3 %S/capi_compare.py prepare %t/pooled/pooled.io.npz %t/pooled/in
// RUN: mkdir -p %t/pooled/out
// RUN: env ASAN_OPTIONS=detect_leaks=1 %t/capi_test %t/pooled/pooled.onnx %t/pooled/in %t/pooled/out %S/../frontends/onnx/fixtures/llama_tiny_int4_matmulnbits.onnx -- dim=batch_size=1 dim=sequence_length=4 dim=past_sequence_length=0 dim=total_sequence_length=4 | FileCheck %s --check-prefix=POOLED
// RUN: python3 %S/capi_compare.py check %t/pooled/pooled.io.npz %t/pooled/out | FileCheck %s --check-prefix=POOLEDNUM
// POOLED-NOT: FAIL
// POOLED: OK 8 threads at once, bit-identical: 8 threads x 25 runs, 0 outputs differ, 0 errors
// POOLED: OK both models from 4 threads each
// POOLED: {{^}}32 passed, 0 failed
// POOLEDNUM: OK y [8, 512]
// POOLEDNUM: 1 passed, 0 failed
// LOADED-NOT: FAIL
// LOADED: OK second model
// LOADED: OK both models from 4 threads each
// LOADED: {{^}}32 passed, 0 failed
