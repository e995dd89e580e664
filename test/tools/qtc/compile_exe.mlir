// qtc compile --emit exe: a standalone program that reads .npy inputs,
// checks them against the model's ports and writes .npy outputs. Its
// outputs are bit-identical to the shared library's under qtc run (which
// compile_run.mlir checks against onnxruntime).
// RUN: rm -rf %t && mkdir -p %t
// RUN: qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --dim batch=2 --dim sequence=6 --emit exe -o %t/gpt2
// RUN: qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --dim batch=2 --dim sequence=6 --emit shared -o %t/gpt2.so
// RUN: python3 -c "import numpy as n; d = n.load(r'%S/../../frontends/onnx/fixtures/gpt2_tiny.io.npz'); n.save(r'%t/ids.npy', d['in.input_ids']); n.save(r'%t/mask.npy', d['in.attention_mask']); n.save(r'%t/bad.npy', n.zeros((2, 5), n.int64)); n.save(r'%t/far.npy', n.array([[10**9, -10**9, 5, 7, 2**40, 1]] * 2, n.int64))"
// RUN: %t/gpt2 input_ids=%t/ids.npy attention_mask=%t/mask.npy --output-dir %t/exe --bench 3 | FileCheck %s
// CHECK: output logits -> {{.*}}exe/logits.npy
// CHECK: first run: {{[0-9.]+}} ms
// CHECK: latency over 3 runs: min {{[0-9.]+}} ms, median {{[0-9.]+}} ms, max {{[0-9.]+}} ms
// RUN: qtc run %t/gpt2.so --input input_ids=%t/ids.npy --input attention_mask=%t/mask.npy --output-dir %t/so
// RUN: cmp %t/exe/logits.npy %t/so/logits.npy

// The program documents its inputs; bad input is one line and exit 1.
// RUN: %t/gpt2 --help 2>&1 | FileCheck %s --check-prefix=HELP
// HELP: usage: {{.*}}gpt2 input_ids=FILE.npy attention_mask=FILE.npy [--output-dir DIR] [--threads N] [--bench N]
// HELP: input_ids: int64 [2, 6]
// RUN: not %t/gpt2 input_ids=%t/bad.npy attention_mask=%t/mask.npy 2>&1 | FileCheck %s --check-prefix=SHAPE
// SHAPE: error: {{.*}}bad.npy: input 'input_ids' must be int64 [2, 6], the file holds int64 [2, 5]
// RUN: not %t/gpt2 input_ids=%t/ids.npy 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: attention_mask: is missing (int64 [2, 6]): give attention_mask=FILE.npy
// RUN: not %t/gpt2 input_ids=%t/ids.npy attention_mask=%t/nothere.npy 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: error: {{.*}}nothere.npy: No such file or directory
// RUN: not %t/gpt2 tokens=%t/ids.npy 2>&1 | FileCheck %s --check-prefix=NAME
// NAME: error: tokens={{.*}}: the model has no such input
// Token ids outside the vocabulary are clamped by the gather: no read
// outside the table, no crash.
// RUN: %t/gpt2 input_ids=%t/far.npy attention_mask=%t/mask.npy --output-dir %t/far | FileCheck %s --check-prefix=FAR
// FAR: output logits -> {{.*}}far/logits.npy
