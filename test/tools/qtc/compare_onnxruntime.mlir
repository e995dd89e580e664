// qtc run --compare-onnxruntime MODEL.onnx: onnxruntime runs the same ONNX
// file on the same inputs in the same qtc run; qtc prints the outputs'
// largest difference and, with --bench, both latencies and their ratio.
// RUN: rm -rf %t && mkdir -p %t
// RUN: qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --dim batch=2 --dim sequence=6 --emit shared -o %t/gpt2.so
// RUN: python3 -c "import numpy as n; d = n.load(r'%S/../../frontends/onnx/fixtures/gpt2_tiny.io.npz'); n.save(r'%t/ids.npy', d['in.input_ids']); n.save(r'%t/mask.npy', d['in.attention_mask'])"
// RUN: qtc run %t/gpt2.so --input input_ids=%t/ids.npy --input attention_mask=%t/mask.npy --output-dir %t/out --threads 2 --bench 5 --compare-onnxruntime %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx | FileCheck %s
// CHECK: latency over 5 runs: min {{[0-9.]+}} ms, median [[QTC:[0-9.]+]] ms, max {{[0-9.]+}} ms
// The fp32 model matches onnxruntime: the difference is below 1e-4.
// CHECK: outputs vs onnxruntime: max relative difference {{[0-9]\.[0-9]+e-(0[5-9]|[1-9][0-9])|0\.00e\+00}} over 1 outputs (largest in 'logits')
// CHECK: onnxruntime latency over 5 runs: min {{[0-9.]+}} ms, median {{[0-9.]+}} ms, max {{[0-9.]+}} ms
// CHECK: median latency: qtc [[QTC]] ms, onnxruntime {{[0-9.]+}} ms (qtc/onnxruntime {{[0-9.]+}}; {{.+}})

// Without --bench, only the outputs are compared. The comparison is real:
// the int4 quantization of the same model, run by onnxruntime, is far from
// qtc's fp32 outputs (above 1e-3).
// RUN: qtc run %t/gpt2.so --input input_ids=%t/ids.npy --input attention_mask=%t/mask.npy --output-dir %t/out --compare-onnxruntime %S/../../frontends/onnx/fixtures/gpt2_tiny_int4_matmulnbits.onnx | FileCheck %s --check-prefix=FAR
// FAR: outputs vs onnxruntime: max relative difference {{[0-9]\.[0-9]+e-0[0-3]|[0-9]\.[0-9]+e\+[0-9]+}} over 1 outputs
// FAR-NOT: latency

// A model whose inputs differ, a missing file: one line, exit 1; the
// missing file is found before the model runs.
// RUN: not qtc run %t/gpt2.so --input input_ids=%t/ids.npy --input attention_mask=%t/mask.npy --output-dir %t/out --compare-onnxruntime %S/../../frontends/onnx/fixtures/bert_tiny.onnx 2>&1 | FileCheck %s --check-prefix=INPUTS
// INPUTS: qtc: error: --compare-onnxruntime: {{.*}}bert_tiny.onnx: onnxruntime needs input 'token_type_ids', which the compiled model does not take
// RUN: not qtc run %t/gpt2.so --input input_ids=%t/ids.npy --input attention_mask=%t/mask.npy --output-dir %t/out2 --compare-onnxruntime %t/none.onnx 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: error: {{.*}}none.onnx: no such file (--compare-onnxruntime)
// RUN: not test -e %t/out2
