// The bundled example stays what its generator writes, verifies, and goes
// through the normalize stage with every packed weight in lsb_first order.
// RUN: python3 %S/../../examples/gen_decoder_layer.py %t.mlir > /dev/null
// RUN: diff %t.mlir %S/../../examples/decoder_layer.mlir
// RUN: qtc-opt %S/../../examples/decoder_layer.mlir --qt-normalize-pipeline --mlir-elide-resource-strings-if-larger=16 | FileCheck %s

// CHECK-LABEL: func.func @decoder_layer
// CHECK-NOT: msb_first
// CHECK-DAG: dense_resource<gate_proj_qweight_lsb>
// CHECK-DAG: dense_resource<up_proj_qweight_lsb>
// CHECK-COUNT-3: qt.quantized_matmul
// CHECK: qt.rotary_embedding
// CHECK: qt.rotary_embedding
// CHECK: qt.attention {{.*}} cache({{.*}}) {causal}
// CHECK: qt.quantized_matmul
// CHECK: qt.rms_norm
// CHECK-COUNT-3: qt.quantized_matmul
// CHECK-NOT: msb_first
// CHECK: return
