// qtc compile --quantize / --weight-bits on the fp32 ONNX fixtures, against
// onnxruntime on the same files, with calibration (activation-aware
// scaling, GPTQ) and mixed precision: quantize.py.
// RUN: rm -rf %t && mkdir -p %t
// RUN: python3 %S/quantize.py %qtc_bin %t %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx %S/../../frontends/onnx/fixtures/gpt2_tiny.io.npz %S/../../frontends/onnx/fixtures/bert_tiny.onnx %S/../../frontends/onnx/fixtures/bert_tiny.io.npz %S/../../frontends/onnx/fixtures/llama_tiny.onnx %S/../../frontends/onnx/fixtures/llama_tiny.io.npz | FileCheck %s
// CHECK-NOT: MISMATCH
// CHECK: 75 passed, 0 failed

// --emit mlir shows the quantized matmuls, with the report table on stderr.
// RUN: qtc compile %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --quantize w3 --group-size 32 --asym --tensor-type '*.mlp.*=8' --tensor-type 'onnx__MatMul_*=16' --emit mlir -o %t/q.mlir 2> %t/table.txt
// RUN: FileCheck %s --check-prefix=IR < %t/q.mlir
// RUN: FileCheck %s --check-prefix=TABLE < %t/table.txt
// IR-COUNT-2: qt.quantized_matmul {{.*}}#qt.packed<ui3, group_size = 32, scale = f16, zero_point>
// IR: qt.quantized_matmul {{.*}}#qt.packed<ui8, group_size = 32, scale = f16, zero_point>
// TABLE: model.transformer.h.0.attn.c_attn.weight 96x32 3 ###
// TABLE: model.transformer.h.0.mlp.c_fc.weight 128x32 8 ########
// TABLE: onnx__MatMul_591 100x32 - (kept)
// TABLE: qtc: 8 of 9 matmul weights quantized (uniform, group 32, asymmetric)

// --rotate: each quantized matmul reads its activations rotated per block
// of 32 channels (the group size), x'[m, k] = sum_j x[m, 32 * (k / 32) + j]
// * R[j, k mod 32], with R a 32x32 constant.
// A group size that does not divide a row length falls back to the largest
// multiple of 32 (16, 8) below it that does, with a note per row length:
// gpt2_tiny's rows are 32 and 128 wide.
// RUN: qtc compile %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --quantize w4 --group-size 48 --emit mlir -o %t/g48.mlir 2> %t/g48.txt
// RUN: FileCheck %s --check-prefix=FIT < %t/g48.txt
// RUN: FileCheck %s --check-prefix=FITIR < %t/g48.mlir
// FIT: qtc: note: group size 48 does not divide the row length 32 of 7 weights (the first 'model.transformer.h.0.attn.c_attn.weight'): groups of 32 there
// FIT: qtc: note: group size 48 does not divide the row length 128 of 2 weights (the first 'model.transformer.h.0.mlp.c_proj.weight'): groups of 32 there
// FIT: qtc: 9 of 9 matmul weights quantized (uniform, group 48 (32 where it does not divide), symmetric)
// FITIR-COUNT-9: #qt.packed<si4, group_size = 32, scale = f16>
// FITIR-NOT: qt.packed
// RUN: qtc compile %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --quantize w4 --group-size 32 --rotate --emit mlir -o %t/rot.mlir 2>&1
// RUN: FileCheck %s --check-prefix=ROT < %t/rot.mlir
// ROT-DAG: #[[X:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d0, (d1 floordiv 32) * 32 + d2)>
// ROT-DAG: #[[R:map[0-9]*]] = affine_map<(d0, d1, d2) -> (d2, d1 mod 32)>
// ROT-COUNT-9: linalg.generic {indexing_maps = [#[[X]], #[[R]], #{{map[0-9]*}}], iterator_types = ["parallel", "parallel", "reduction"]} ins({{.*}} : tensor<?x{{32|128}}xf32>, tensor<32x32xf32>)
// ROT-NOT: linalg.matmul
// With static shapes (what libraries are built from) the same rotation is a
// plain matmul of the activations viewed as [rows * K / 32, 32] with R, for
// the backend's vector kernels.
// RUN: qtc compile %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --dim batch=1 --dim sequence=8 --quantize w4 --group-size 32 --rotate --emit mlir -o %t/rots.mlir 2>&1
// RUN: FileCheck %s --check-prefix=ROTS < %t/rots.mlir
// ROTS-NOT: floordiv
// ROTS-COUNT-9: linalg.matmul ins({{.*}} : tensor<{{8|32}}x32xf32>, tensor<32x32xf32>)
// RUN: not qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --quantize w4 --rotate --salient-columns 0.1 --emit shared -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=ROTSAL
// ROTSAL: qtc: error: --rotate and --salient-columns cannot be combined

// --grid: 4-bit codes index a non-uniform grid (NF4 here); with mixed
// widths only the 4-bit layers use it.
// RUN: qtc compile %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --quantize w4 --group-size 32 --grid nf4 --tensor-type '*.mlp.*=8' --emit mlir -o %t/nf4.mlir 2> %t/nf4.txt
// RUN: FileCheck %s --check-prefix=NF4 < %t/nf4.mlir
// RUN: FileCheck %s --check-prefix=NF4TABLE < %t/nf4.txt
// NF4: qt.quantized_matmul {{.*}}#qt.packed<ui4, group_size = 32, scale = f16, levels = [-1.000000e+00, -0.6961928{{[0-9]*}}, {{.*}}, 1.000000e+00]>
// NF4: qt.quantized_matmul {{.*}}#qt.packed<si8, group_size = 32, scale = f16>
// NF4TABLE: (uniform, group 32, symmetric, 4-bit grid nf4)
// RUN: not qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --quantize w4 --grid nf5 --emit shared -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=GRIDNAME
// GRIDNAME: qtc: error: --grid expects uniform, nf4 or iq4nl (got 'nf5')
// RUN: not qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --quantize w4 --grid nf4 --asym --emit shared -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=GRIDASYM
// GRIDASYM: qtc: error: --grid nf4 has no zero point: drop --asym
// RUN: not qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --quantize w3 --grid iq4nl --emit shared -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=GRIDBITS
// GRIDBITS: qtc: error: --grid iq4nl is a 4-bit grid; use it with --quantize w4
// RUN: not qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --grid nf4 --emit shared -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=GRIDALONE
// GRIDALONE: qtc: error: --grid needs --quantize, --weight-bits or --tensor-type
// Cross-compiling picks the grid lookup from the target's features, not the
// host's: vpermps only with AVX2 / AVX-512F of the vector width.
// RUN: python3 -c "import numpy as np, onnx; from onnx import helper as h, TensorProto as T, numpy_helper as nh; g = h.make_graph([h.make_node('MatMul', ['x', 'w'], ['y'])], 'g', [h.make_tensor_value_info('x', T.FLOAT, [1, 512])], [h.make_tensor_value_info('y', T.FLOAT, [1, 512])], [nh.from_array(np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32), 'w')]); onnx.save(h.make_model(g, opset_imports=[h.make_opsetid('', 17)]), r'%t/gemv.onnx')"
// RUN: qtc compile --quiet %t/gemv.onnx --quantize w4 --grid nf4 --target-triple x86_64-unknown-linux-gnu --target-features +avx --emit llvm -o %t/avx.ll
// RUN: not grep -q permps %t/avx.ll
// RUN: qtc compile --quiet %t/gemv.onnx --quantize w4 --grid nf4 --target-triple x86_64-unknown-linux-gnu --target-features +avx,+avx2 --emit llvm -o %t/avx2.ll
// RUN: FileCheck %s --check-prefix=PERM < %t/avx2.ll
// PERM: @llvm.x86.avx2.permps

// llama.cpp's Q4_1 as a target: unsigned codes, f16 scales and mins per
// group of 32; a preset fixes its format.
// RUN: qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --quantize q4_1 --emit mlir -o %t/q41.mlir
// RUN: FileCheck %s --check-prefix=Q41 < %t/q41.mlir
// Q41: #qt.packed<ui4, group_size = 32, scale = f16, min>
// RUN: not qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --quantize q4_1 --group-size 64 -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=PRESET
// PRESET: qtc: error: --quantize q4_1 fixes the format (groups of 32, f16 scales and mins); drop --group-size
// RUN: not qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --quantize w4 --asym --min -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=ASYMMIN
// ASYMMIN: qtc: error: --asym and --min are two ways to offset a group; choose one

// Bad flags and inputs: one line, non-zero exit, no output file.
// RUN: not qtc compile %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --quantize w9 --emit shared -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=BITS
// BITS: qtc: error: --quantize expects w8, w6, w5, w4, w3, w2, q8_0, q5_0, q5_1, q4_0 or q4_1 (got 'w9')
// RUN: not qtc compile %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --weight-bits 3 -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=AVG
// AVG: qtc: error: --weight-bits expects avg:X
// RUN: not qtc compile %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --quantize w4 --weight-bits avg:3 -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=BOTH
// BOTH: qtc: error: give either --quantize or --weight-bits, not both
// RUN: not qtc compile %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --dim batch=1 --dim sequence=8 --weight-bits avg:1.5 --group-size 32 --emit shared -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=BUDGET
// BUDGET: qtc: error: --weight-bits avg:1.5: the budget is below every layer at 2 bits
// RUN: python3 -c "import numpy; numpy.savez(r'%t/partial.npz', input_ids=numpy.zeros((1, 8), numpy.int64))"
// RUN: not qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --dim batch=1 --dim sequence=8 --weight-bits avg:3 --group-size 32 --calibration %t/partial.npz --emit shared -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=CALIB
// CALIB: qtc: error: calibration {{.*}}partial.npz: input 'attention_mask' (int64 [1, 8]) is missing: add an array of that name to the .npz
// RUN: not ls %t/bad.so
// RUN: not qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --quantize w4 --gptq --emit shared -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=GPTQ
// GPTQ: qtc: error: --gptq needs --calibration (the layers' input statistics)
// RUN: not qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --quantize w4 --gptq --gptq-damp=-1 --calibration %t/partial.npz --emit shared -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=DAMP
// DAMP: qtc: error: --gptq-damp expects a fraction >= 0
// RUN: not ls %t/bad.so

// Calibration statistics leave out padding tokens (attention_mask 0): here
// 3 of 8 tokens.
// RUN: python3 -c "import numpy; numpy.savez(r'%t/padded.npz', input_ids=numpy.arange(8).reshape(1, 8), attention_mask=numpy.array([[1, 1, 1, 1, 1, 0, 0, 0]]))"
// RUN: qtc compile %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --dim batch=1 --dim sequence=8 --quantize w4 --group-size 32 --calibration %t/padded.npz --emit mlir -o %t/masked.mlir 2>&1 | FileCheck %s --check-prefix=MASK
// MASK: qtc: calibration statistics over the tokens 'attention_mask' marks: 62.5% of the rows
// RUN: qtc compile %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --dim batch=1 --dim sequence=8 --quantize w4 --group-size 32 --calibration %t/padded.npz --calibration-mask none --emit mlir -o %t/unmasked.mlir 2>&1 | FileCheck %s --check-prefix=NOMASK
// NOMASK-NOT: calibration statistics over the tokens
// Activation-aware scales fold into a norm that feeds only the scaled
// matmul (gpt2's ln_1 -> c_attn, ln_2 -> c_fc): its weight and bias are
// divided by them, and no multiply runs before those matmuls. The other
// scaled layers (c_proj, mlp's c_proj) keep one elementwise multiply.
// RUN: python3 -c "import numpy; numpy.savez(r'%t/full.npz', input_ids=(numpy.arange(16) * 7 % 100).reshape(2, 8), attention_mask=numpy.ones((2, 8), numpy.int64))"
// RUN: qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --dim batch=2 --dim sequence=8 --quantize w4 --group-size 32 --calibration %t/full.npz --quant-report %t/fold.json --emit mlir -o %t/fold.mlir
// RUN: python3 -c "import json, sys; r = json.load(open(sys.argv[1])); s = [l['name'] for l in r['layers'] if l.get('activation_scaled')]; print(len(s), 'scaled'); sys.exit(0 if any('c_attn' in n for n in s) and any('c_fc' in n for n in s) else 1)" %t/fold.json
// RUN: FileCheck %s --check-prefix=FOLD < %t/fold.mlir
// FOLD: %[[LN1:.*]] = qt.layer_norm
// FOLD-NEXT: %[[R1:.*]] = tensor.reshape %[[LN1]]
// FOLD-NOT: linalg.
// FOLD: qt.quantized_matmul %[[R1]]
// FOLD: %[[LN2:.*]] = qt.layer_norm
// FOLD-NEXT: %[[R2:.*]] = tensor.reshape %[[LN2]]
// FOLD-NOT: linalg.
// FOLD: qt.quantized_matmul %[[R2]]
// RUN: not qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --dim batch=1 --dim sequence=8 --quantize w4 --group-size 32 --calibration %t/padded.npz --calibration-mask input_mask --emit shared -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=BADMASK
// BADMASK: qtc: error: calibration {{.*}}padded.npz: the model has no int64/int32 input 'input_mask' to mask the statistics with (--calibration-mask)
// RUN: not ls %t/bad.so
// RUN: python3 -c "import numpy; numpy.savez(r'%t/batches.npz', input_ids=numpy.zeros((2, 1, 8), numpy.int64), attention_mask=numpy.ones((3, 1, 8), numpy.int64))"
// RUN: not qtc compile --quiet %S/../../frontends/onnx/fixtures/gpt2_tiny.onnx --dim batch=1 --dim sequence=8 --weight-bits avg:3 --group-size 32 --calibration %t/batches.npz --emit shared -o %t/bad.so 2>&1 | FileCheck %s --check-prefix=BATCHES
// BATCHES: qtc: error: calibration {{.*}}batches.npz: arrays hold different numbers of batches (2 and 3)
// RUN: not ls %t/bad.so
