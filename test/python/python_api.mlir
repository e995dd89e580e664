// The Python package qtc (python/qtc: ctypes over libqtc.so, the C API):
// compile the int4 Llama fixture in-process and match onnxruntime, ports
// equal the fixture's arrays, inputs passed without a copy, 8 Python threads
// running one model at once (gen_pooled.py's model, on the runtime's thread
// pool) with bit-identical outputs, a second model beside the first, the
// libraries `qtc compile --emit shared` built loaded and matching the same
// flags compiled in-process bit for bit, and a QTCError, never a crash, for
// every bad option, file, input and closed model (test_qtc.py).
// RUN: rm -rf %t && mkdir -p %t
// RUN: python3 %S/../compiler/gen_pooled.py %t/pooled > %t/gen_pooled.log 2>&1
// RUN: qtc compile --quiet %S/../frontends/onnx/fixtures/gpt2_tiny.onnx --dim batch=1 --dim sequence=6 --quantize w4 --group-size 32 --name gpt2_w4 --emit shared -o %t/gpt2_w4.so
// RUN: qtc compile --quiet %S/../frontends/onnx/fixtures/gpt2_tiny.onnx --dim batch=1 --dim sequence=6 --name gpt2_fp32 --emit shared -o %t/gpt2_fp32.so
// RUN: env QTC_LIBRARY=%qtc_lib_dir/libqtc.so python3 %S/test_qtc.py %S/../frontends/onnx/fixtures %t/pooled %t/gpt2_w4.so %t/gpt2_fp32.so | FileCheck %s
// CHECK-NOT: FAIL
// CHECK: OK llama run matches onnxruntime
// CHECK: OK contiguous inputs are passed as they are (no copy)
// CHECK: OK 8 threads at once, bit-identical to a single run: 8 threads x 10 runs, 0 outputs differ, 0 errors
// CHECK: OK loaded library (w4) matches the in-process compile bit for bit
// CHECK: OK wrong dtype (int32 for int64)
// CHECK: OK run of a closed model
// CHECK: {{^}}54 passed, 0 failed
