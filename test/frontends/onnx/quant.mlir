// Quantized ops: weights stay packed in qt's #qt.packed form.
// RUN: python3 %S/make_model.py qdq_blocked_int4 %t.qdq4.onnx
// RUN: qtc-translate --import-onnx %t.qdq4.onnx | FileCheck %s --check-prefix=QDQ4
// RUN: python3 %S/make_model.py qdq_per_axis_uint8 %t.qdq8.onnx
// RUN: qtc-translate --import-onnx %t.qdq8.onnx --mlir-elide-resource-strings-if-larger=8 | FileCheck %s --check-prefix=QDQ8
// RUN: python3 %S/make_model.py matmulnbits_ort %t.nbits.onnx 2> /dev/null
// RUN: qtc-translate --import-onnx %t.nbits.onnx --mlir-elide-resource-strings-if-larger=8 | FileCheck %s --check-prefix=NBITS
// RUN: python3 %S/make_model.py matmulbnb4_ort %t.bnb4.onnx
// RUN: qtc-translate --import-onnx %t.bnb4.onnx --mlir-elide-resource-strings-if-larger=8 | FileCheck %s --check-prefix=BNB4
// RUN: python3 %S/make_model.py matmulbnb4_fp4 %t.fp4.onnx
// RUN: not qtc-translate --import-onnx %t.fp4.onnx 2>&1 | FileCheck %s --check-prefix=FP4
// RUN: python3 %S/make_model.py matmulbnb4_straddle %t.straddle.onnx
// RUN: not qtc-translate --import-onnx %t.straddle.onnx 2>&1 | FileCheck %s --check-prefix=STRADDLE
// RUN: python3 %S/make_model.py gather_block_quantized %t.gbq.onnx
// RUN: qtc-translate --import-onnx %t.gbq.onnx --mlir-elide-resource-strings-if-larger=8 | FileCheck %s --check-prefix=GBQ
// RUN: python3 %S/make_model.py qdq_activations %t.act.onnx
// RUN: qtc-translate --import-onnx %t.act.onnx | FileCheck %s --check-prefix=ACT

// The packed operands decode (by the #qt.packed rules, in numpy) to exactly
// the weights onnxruntime computes with on the original models.
// RUN: qtc-translate --import-onnx %t.qdq4.onnx -o %t.qdq4.mlir
// RUN: python3 %S/check_packed.py %t.qdq4.onnx %t.qdq4.mlir | FileCheck %s --check-prefix=NUM4
// NUM4: OK quantized_matmul shape=[64, 8] format=<si4, group_size = 32, scale = f32, zero_point>
// RUN: qtc-translate --import-onnx %t.qdq8.onnx -o %t.qdq8.mlir
// RUN: python3 %S/check_packed.py %t.qdq8.onnx %t.qdq8.mlir | FileCheck %s --check-prefix=NUM8
// NUM8: OK quantized_matmul shape=[16, 4] format=<ui8, group_size = 16, scale = f32, zero_point>
// RUN: qtc-translate --import-onnx %t.nbits.onnx -o %t.nbits.mlir
// RUN: python3 %S/check_packed.py %t.nbits.onnx %t.nbits.mlir | FileCheck %s --check-prefix=NUMNB
// NUMNB: OK quantized_matmul shape=[64, 16] format=<ui4, group_size = 32, scale = f32, zero_point>
// RUN: qtc-translate --import-onnx %t.gbq.onnx -o %t.gbq.mlir
// RUN: python3 %S/check_packed.py %t.gbq.onnx %t.gbq.mlir | FileCheck %s --check-prefix=NUMGBQ
// NUMGBQ: OK embedding shape=[10, 64] format=<ui4, group_size = 32, scale = f32>

// Blocked int4 DequantizeLinear -> MatMul: one qt.quantized_matmul, the
// [64, 8] codes repacked into 8 rows of 32 bytes (64 codes of 4 bits).
// QDQ4-LABEL: func.func @main(%arg0: tensor<?x64xf32>
// QDQ4-NOT: qt.dequantize
// QDQ4: qt.quantized_matmul %arg0, %{{.*}}, %{{.*}} zero_points(%{{.*}} : tensor<8x2xi8>)
// QDQ4-SAME: {format = #qt.packed<si4, group_size = 32, scale = f32, zero_point>}
// QDQ4-SAME: : tensor<?x64xf32>, tensor<8x32xi8>, tensor<8x2xf32> -> tensor<?x8xf32>
// QDQ4-NOT: linalg.matmul

// Per-column uint8: the group spans K; ONNX's default zero point 0 is kept
// explicitly because qt's implicit one for unsigned codes is 128. The
// dequantized weight also feeds a Relu, which reads it through
// qt.dequantize and a transpose.
// QDQ8-LABEL: func.func @main(%arg0: tensor<?x16xf32>
// QDQ8: %[[W:.*]] = arith.constant dense_resource<w_q> : tensor<4x16xi8>
// QDQ8: %[[Z:.*]] = arith.constant dense<0> : tensor<4x1xi8>
// QDQ8: qt.quantized_matmul %arg0, %[[W]], %{{.*}} zero_points(%[[Z]] : tensor<4x1xi8>) {format = #qt.packed<ui8, group_size = 16, scale = f32, zero_point>}
// QDQ8: %[[D:.*]] = qt.dequantize %[[W]], %{{.*}} zero_points(%[[Z]] : tensor<4x1xi8>) {format = #qt.packed<ui8, group_size = 16, scale = f32, zero_point>} : tensor<4x16xi8>, tensor<4x1xf32> -> tensor<4x16xf32>
// QDQ8: linalg.transpose ins(%[[D]] : tensor<4x16xf32>) outs(%{{.*}} : tensor<16x4xf32>) permutation = [1, 0]

// onnxruntime's MatMulNBits quantizer output: B's bytes are used as they
// are ([16, 2, 16] -> [16, 32]), packed zero points unpacked to codes.
// NBITS-LABEL: func.func @main(%arg0: tensor<?x64xf32>
// NBITS: %[[B:.*]] = arith.constant dense_resource<w_Q4> : tensor<16x32xi8>
// NBITS: %[[S:.*]] = arith.constant dense_resource<w_scales> : tensor<16x2xf32>
// NBITS: %[[Z:.*]] = arith.constant dense_resource<w_zero_points> : tensor<16x2xi8>
// NBITS: qt.quantized_matmul %arg0, %[[B]], %[[S]] zero_points(%[[Z]] : tensor<16x2xi8>) {format = #qt.packed<ui4, group_size = 32, scale = f32, zero_point>} : tensor<?x64xf32>, tensor<16x32xi8>, tensor<16x2xf32> -> tensor<?x16xf32>

// onnxruntime's MatMulBnb4Quantizer output (bitsandbytes NF4): W^T's codes
// two per byte, the first in the high nibble (repacked low nibble first
// at import), one absmax per
// block of 32 along K: a quantized matmul on the NF4 grid.
// BNB4-LABEL: func.func @main(%arg0: tensor<?x64xf32>
// BNB4: %[[B:.*]] = arith.constant dense_resource<w_Bnb4> : tensor<16x32xi8>
// BNB4: %[[S:.*]] = arith.constant dense_resource<w_absmax> : tensor<16x2xf32>
// BNB4: qt.quantized_matmul %arg0, %[[B]], %[[S]] {format = #qt.packed<ui4, group_size = 32, scale = f32, levels = [-1.000000e+00, -0.6961928{{[0-9]*}}, {{.*}}, 1.000000e+00]>} : tensor<?x64xf32>, tensor<16x32xi8>, tensor<16x2xf32> -> tensor<?x16xf32>
// FP4: error: {{.*}}node 'proj_Bnb4' (MatMulBnb4, domain com.microsoft, opset 1): quant_type=0 is not supported: only NF4 (1); FP4 (0) is not
// STRADDLE: error: {{.*}}node 'proj_Bnb4' (MatMulBnb4, domain com.microsoft, opset 1): K (48) must be even and a multiple of block_size (32)

// GBQ-LABEL: func.func @main(%arg0: tensor<1x?xi64>
// GBQ: qt.embedding %{{.*}}[%arg0] scales(%{{.*}} : tensor<10x2xf32>) {format = #qt.packed<ui4, group_size = 32, scale = f32>} : tensor<10x32xi8>, tensor<1x?xi64> -> tensor<1x?x64xf32>

// Activations: QuantizeLinear rounds half to even and saturates to uint8;
// DequantizeLinear subtracts the zero point; DynamicQuantizeLinear is
// qt.dynamic_quantize; MatMulInteger and QLinearMatMul widen and multiply.
// ACT-LABEL: func.func @main(%arg0: tensor<2x6xf32> {onnx.name = "x"}, %arg1: tensor<2x6xi8> {onnx.name = "a"})
// ACT: math.roundeven
// ACT: arith.maximumf
// ACT: arith.minimumf
// ACT: arith.fptoui %{{.*}} : f32 to i8
// ACT: arith.uitofp %{{.*}} : i8 to f32
// ACT: arith.subf
// ACT: arith.mulf
// ACT: qt.dynamic_quantize %arg0 : tensor<2x6xf32> -> tensor<2x6xi8>, tensor<f32>, tensor<i8>
// ACT: arith.extui %{{.*}} : i8 to i32
// ACT: arith.extsi %{{.*}} : i8 to i32
// ACT: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<2x6xi32>, tensor<6x3xi32>)
// ACT: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<2x6xf32>, tensor<6x3xf32>)
// ACT: return
