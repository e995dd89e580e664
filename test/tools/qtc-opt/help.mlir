// qtc-opt --help lists qtc's passes and named pipelines.
// RUN: qtc-opt --help | FileCheck %s
// CHECK: qtc optimizer driver
// CHECK-DAG: --qt-normalize-packing {{.*}}lsb_first
// CHECK-DAG: --qt-normalize-pipeline {{.*}}Clean up an imported module
