// The C embedding examples (examples/embed/) build against include/qtc-c
// and libqtc alone and run: one compiles the bundled int4 model at run time
// and decodes greedily, the other runs the fp32 and int4 models side by side
// from two threads and compares them.
// RUN: rm -rf %t && mkdir -p %t
// RUN: cc -std=gnu11 -O2 -Wall -Wextra -Werror -DQTC_SOURCE_DIR=\"%qtc_src_root\" -I %qtc_src_root/include %qtc_src_root/examples/embed/compile_and_run.c -L %qtc_lib_dir -Wl,-rpath,%qtc_lib_dir -lqtc -o %t/compile_and_run
// RUN: cc -std=gnu11 -O2 -Wall -Wextra -Werror -DQTC_SOURCE_DIR=\"%qtc_src_root\" -I %qtc_src_root/include %qtc_src_root/examples/embed/two_models.c -L %qtc_lib_dir -Wl,-rpath,%qtc_lib_dir -lqtc -lpthread -lm -o %t/two_models
// RUN: %t/compile_and_run | FileCheck %s --check-prefix=ONE
// RUN: %t/two_models | FileCheck %s --check-prefix=TWO
// ONE: compiled {{.*}}llama_tiny_int4_matmulnbits.onnx in {{[0-9.]+}} s
// ONE-NEXT: tokens: 10 17 24{{( [0-9]+){5}$}}
// ONE-NEXT: 5 steps, {{[0-9.]+}} ms per step
// The int4 model's logits stay close to the fp32 model's.
// TWO: loaded {{.*}}llama_tiny.onnx and {{.*}}llama_tiny_int4_matmulnbits.onnx
// TWO-NEXT: logits: cosine 0.9{{[5-9][0-9]+}}, max |difference| {{.*}} over 600 values
