// Compiled models run their weight tiles on the runtime's thread pool:
// --threads, QTC_NUM_THREADS and the program's --threads agree bit for bit
// and match onnxruntime (threads.py).
// RUN: rm -rf %t && mkdir -p %t
// RUN: python3 %S/threads.py %qtc_bin %t | FileCheck %s
// CHECK-NOT: MISMATCH
// CHECK: 5 passed, 0 failed

// The library needs libc only (pthreads are part of it), no OpenMP runtime.
// RUN: ldd %t/mm.so | FileCheck %s --check-prefix=LDD
// LDD-NOT: omp
// LDD: libc.so

// A bad thread count is one line and a non-zero exit.
// RUN: not %t/mm x=%t/x.npy --threads 0 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: --threads: expects a positive thread count
