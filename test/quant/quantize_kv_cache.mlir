// qt-quantize-kv-cache: the cache crosses the boundary as codes, scales and
// mins; the attention reads a decoded copy; the present is re-encoded.
// RUN: qtc-opt %s --split-input-file --qt-quantize-kv-cache="bits=4 group-size=4" 2>/dev/null | FileCheck %s
// RUN: qtc-opt %s --split-input-file --qt-quantize-kv-cache="bits=4 group-size=4" 2>&1 >/dev/null | FileCheck %s --check-prefix=WARN
// The result lowers through the CPU pipeline to the LLVM dialect.
// RUN: qtc-opt %s --split-input-file --qt-quantize-kv-cache="bits=2 group-size=8" --qt-cpu-pipeline 2>/dev/null | FileCheck %s --check-prefix=LLVM
// RUN: not qtc-opt %s --split-input-file --qt-quantize-kv-cache="bits=3" 2>&1 | FileCheck %s --check-prefix=BITS

// CHECK-LABEL: func.func @step(
// CHECK-SAME: %[[Q:.*]]: tensor<1x4x1x16xf32>, %[[K:.*]]: tensor<1x2x1x16xf32>, %[[V:.*]]: tensor<1x2x1x16xf32>,
// CHECK-SAME: %[[KC:.*]]: tensor<1x2x8x8xi8> {onnx.name = "past.key.codes"}, %[[KS:.*]]: tensor<1x2x2x16xf16> {onnx.name = "past.key.scales"}, %[[KM:.*]]: tensor<1x2x2x16xf16> {onnx.name = "past.key.mins"},
// CHECK-SAME: %[[VC:.*]]: tensor<1x2x8x8xi8> {onnx.name = "past.value.codes"}, %[[VS:.*]]: tensor<1x2x8x4xf16> {onnx.name = "past.value.scales"}, %[[VM:.*]]: tensor<1x2x8x4xf16> {onnx.name = "past.value.mins"})
// CHECK-SAME: -> (tensor<1x4x1x16xf32>, tensor<1x2x9x8xi8> {onnx.name = "present.key.codes"}, tensor<1x2x3x16xf16> {onnx.name = "present.key.scales"}, tensor<1x2x3x16xf16> {onnx.name = "present.key.mins"}, tensor<1x2x9x8xi8> {onnx.name = "present.value.codes"}, tensor<1x2x9x4xf16> {onnx.name = "present.value.scales"}, tensor<1x2x9x4xf16> {onnx.name = "present.value.mins"})
// CHECK: %[[DK:.*]] = qt.kv_dequantize %[[KC]], %[[KS]], %[[KM]] {bits = 4 : i64, group_size = 4 : i64, per_channel}
// CHECK: %[[DV:.*]] = qt.kv_dequantize %[[VC]], %[[VS]], %[[VM]] {bits = 4 : i64, group_size = 4 : i64}
// CHECK: %{{.*}}, %[[PK:.*]], %[[PV:.*]] = qt.attention %[[Q]], %[[K]], %[[V]] cache(%[[DK]], %[[DV]]
// CHECK: %[[C0:.*]], %[[S0:.*]], %[[M0:.*]] = qt.kv_quantize %[[PK]], %[[KC]], %[[KS]], %[[KM]] {bits = 4 : i64, group_size = 4 : i64, per_channel}
// CHECK: %[[C1:.*]], %[[S1:.*]], %[[M1:.*]] = qt.kv_quantize %[[PV]], %[[VC]], %[[VS]], %[[VM]] {bits = 4 : i64, group_size = 4 : i64}
// CHECK: return %{{.*}}, %[[C0]], %[[S0]], %[[M0]], %[[C1]], %[[S1]], %[[M1]]
// LLVM-LABEL: llvm.func @step(
// LLVM-NOT: qt.
// LLVM-LABEL: llvm.func @dynamic(
// LLVM-NOT: qt.
// BITS: qt-quantize-kv-cache: bits must be 8, 4 or 2, got 3
func.func @step(%q: tensor<1x4x1x16xf32>, %k: tensor<1x2x1x16xf32>, %v: tensor<1x2x1x16xf32>,
                %pk: tensor<1x2x8x16xf32> {onnx.name = "past.key"},
                %pv: tensor<1x2x8x16xf32> {onnx.name = "past.value"})
    -> (tensor<1x4x1x16xf32>, tensor<1x2x9x16xf32> {onnx.name = "present.key"},
        tensor<1x2x9x16xf32> {onnx.name = "present.value"}) {
  %o, %k1, %v1 = qt.attention %q, %k, %v cache(%pk, %pv : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) {causal}
      : tensor<1x4x1x16xf32>, tensor<1x2x1x16xf32>, tensor<1x2x1x16xf32>
      -> tensor<1x4x1x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>
  return %o, %k1, %v1 : tensor<1x4x1x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>
}

// -----

// Shape queries of the past read the codes; an unbound head dimension is
// taken from the present.
// CHECK-LABEL: func.func @dynamic(
// CHECK-SAME: %[[KC:[^:]*]]: tensor<?x2x?x8xi8>, %{{.*}}: tensor<?x2x?x16xf16>, %{{.*}}: tensor<?x2x?x16xf16>,
// CHECK-SAME: %{{.*}}: tensor<?x2x?x8xi8>, %{{.*}}: tensor<?x2x?x4xf16>, %{{.*}}: tensor<?x2x?x4xf16>)
// CHECK: %[[C2:.*]] = arith.constant 2 : index
// CHECK: %[[P:.*]] = tensor.dim %[[KC]], %[[C2]] : tensor<?x2x?x8xi8>
// CHECK: qt.kv_dequantize {{.*}} -> tensor<?x2x?x16xf32>
// CHECK: tensor.cast %{{.*}} : tensor<?x2x?x16xf32> to tensor<?x2x?x?xf32>
// CHECK: return %[[P]],
func.func @dynamic(%q: tensor<?x4x1x16xf32>, %k: tensor<?x2x1x16xf32>, %v: tensor<?x2x1x16xf32>,
                   %pk: tensor<?x2x?x?xf32>, %pv: tensor<?x2x?x?xf32>)
    -> (index, tensor<?x4x1x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>) {
  %c2 = arith.constant 2 : index
  %p = tensor.dim %pk, %c2 : tensor<?x2x?x?xf32>
  %o, %k1, %v1 = qt.attention %q, %k, %v cache(%pk, %pv : tensor<?x2x?x?xf32>, tensor<?x2x?x?xf32>) {causal}
      : tensor<?x4x1x16xf32>, tensor<?x2x1x16xf32>, tensor<?x2x1x16xf32>
      -> tensor<?x4x1x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>
  return %p, %o, %k1, %v1 : index, tensor<?x4x1x16xf32>, tensor<?x2x?x16xf32>, tensor<?x2x?x16xf32>
}

// -----

// A present that is also used inside the function stays real-valued.
// WARN: quantize_kv_cache.mlir:[[@LINE+7]]:18: warning: KV cache kept real-valued: the present key/value is not returned as it is
// CHECK-LABEL: func.func @reused(
// CHECK-NOT: qt.kv_
// CHECK: return
func.func @reused(%q: tensor<1x4x1x16xf32>, %k: tensor<1x2x1x16xf32>, %v: tensor<1x2x1x16xf32>,
                  %pk: tensor<1x2x8x16xf32>, %pv: tensor<1x2x8x16xf32>)
    -> (tensor<1x4x1x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>) {
  %o, %k1, %v1 = qt.attention %q, %k, %v cache(%pk, %pv : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>)
      : tensor<1x4x1x16xf32>, tensor<1x2x1x16xf32>, tensor<1x2x1x16xf32>
      -> tensor<1x4x1x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>
  %twice = arith.addf %k1, %k1 : tensor<1x2x9x16xf32>
  return %o, %k1, %v1, %twice : tensor<1x4x1x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>
}

// -----

// One tensor passed as both the past key and value cannot be split twice.
// WARN: quantize_kv_cache.mlir:[[@LINE+5]]:18: warning: KV cache kept real-valued: the past key and value are the same tensor
// CHECK-LABEL: func.func @shared_past(
// CHECK-NOT: qt.kv_
func.func @shared_past(%q: tensor<1x4x1x16xf32>, %k: tensor<1x2x1x16xf32>, %v: tensor<1x2x1x16xf32>,
                       %p: tensor<1x2x8x16xf32>) -> (tensor<1x4x1x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>) {
  %o, %k1, %v1 = qt.attention %q, %k, %v cache(%p, %p : tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>)
      : tensor<1x4x1x16xf32>, tensor<1x2x1x16xf32>, tensor<1x2x1x16xf32>
      -> tensor<1x4x1x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>
  return %o, %k1, %v1 : tensor<1x4x1x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>
}
