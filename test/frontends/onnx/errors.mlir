// Bad input: one line naming file, node, op, domain and opset; exit 1; no
// output file.
// RUN: python3 %S/make_model.py unknown_op %t.unknown.onnx
// RUN: not qtc-translate --import-onnx %t.unknown.onnx -o %t.out 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not test -e %t.out
// RUN: not qtc-translate --import-onnx %t.unknown.onnx 2>&1 | count 1
// UNKNOWN: qtc-translate: error: {{.*}}unknown.onnx: node 'fancy_1' (FancyNewOp, domain ai.onnx, opset 17): unsupported op

// RUN: python3 %S/make_model.py unknown_domain %t.domain.onnx
// RUN: not qtc-translate --import-onnx %t.domain.onnx 2>&1 | FileCheck %s --check-prefix=DOMAIN
// DOMAIN: node 'foo_1' (Foo, domain org.example, opset 3): unsupported op

// RUN: python3 %S/make_model.py bad_attribute %t.attr.onnx
// RUN: not qtc-translate --import-onnx %t.attr.onnx 2>&1 | FileCheck %s --check-prefix=ATTR
// ATTR: node 'gelu_1' (Gelu, domain ai.onnx, opset 20): unsupported attribute value approximate='sigmoid'

// RUN: python3 %S/make_model.py old_opset %t.opset.onnx
// RUN: not qtc-translate --import-onnx %t.opset.onnx 2>&1 | FileCheck %s --check-prefix=OPSET
// OPSET: node 'gelu_1' (Gelu, domain ai.onnx, opset 17): opset 17 of this op is not supported

// RUN: python3 %S/make_model.py shape_mismatch %t.shape.onnx
// RUN: not qtc-translate --import-onnx %t.shape.onnx 2>&1 | FileCheck %s --check-prefix=BCAST
// BCAST: node 'add_1' (Add, domain ai.onnx, opset 17): cannot broadcast shapes [2, 3] and [4]

// RUN: python3 %S/make_model.py missing_input %t.missing.onnx
// RUN: not qtc-translate --import-onnx %t.missing.onnx 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: node 'relu_1' (Relu, domain ai.onnx, opset 17): input 'nowhere' is not produced by any earlier node, input or initializer

// Truncated and corrupt protobufs.
// RUN: python3 %S/make_model.py matmul_variants %t.good.onnx
// RUN: head -c 200 %t.good.onnx > %t.trunc.onnx
// RUN: not qtc-translate --import-onnx %t.trunc.onnx -o %t.trunc.out 2>&1 | FileCheck %s --check-prefix=TRUNC
// RUN: not test -e %t.trunc.out
// TRUNC: qtc-translate: error: {{.*}}trunc.onnx: not a valid ONNX model (truncated or corrupt protobuf)
// RUN: printf 'this is not a model' > %t.garbage.onnx
// RUN: not qtc-translate --import-onnx %t.garbage.onnx 2>&1 | FileCheck %s --check-prefix=GARBAGE
// GARBAGE: qtc-translate: error: {{.*}}garbage.onnx: not a valid ONNX model (truncated or corrupt protobuf)
// RUN: not qtc-translate --import-onnx %t.does-not-exist.onnx 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: qtc-translate: error: {{.*}}does-not-exist.onnx: cannot open: {{[Nn]}}o such file or directory

// External data: read when present, a clear error when the side file is gone.
// RUN: rm -rf %t.ext && mkdir -p %t.ext
// RUN: python3 %S/make_model.py external_data %t.ext/model.onnx
// RUN: qtc-translate --import-onnx %t.ext/model.onnx --mlir-print-elementsattrs-with-hex-if-larger=-1 | FileCheck %s --check-prefix=EXT
// EXT: arith.constant dense_resource<w> : tensor<4x8xf32>
// EXT: linalg.matmul
// EXT: w: "0x04000000000000000000803F00000040
// RUN: rm %t.ext/model.onnx.data
// RUN: not qtc-translate --import-onnx %t.ext/model.onnx 2>&1 | FileCheck %s --check-prefix=NOEXT
// NOEXT: qtc-translate: error: {{.*}}model.onnx: initializer 'w': cannot open external data file '{{.*}}model.onnx.data'

// Bad command-line bindings.
// RUN: not qtc-translate --import-onnx %t.good.onnx --input-shape nope=1,2 2>&1 | FileCheck %s --check-prefix=BIND
// BIND: --input-shape names 'nope', which is not a graph input
// RUN: not qtc-translate --import-onnx %t.good.onnx --input-shape m=4,8 2>&1 | FileCheck %s --check-prefix=BIND2
// BIND2: --input-shape m: dim 0 is 3 in the model, not 4
// RUN: not qtc-translate --import-onnx %t.good.onnx --dim batch 2>&1 | FileCheck %s --check-prefix=DIM
// DIM: --dim expects NAME=SIZE (got 'batch')
