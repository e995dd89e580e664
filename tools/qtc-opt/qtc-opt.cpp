//===- qtc-opt.cpp - qtc's opt tool ---------------------------------------===//
//
// Like mlir-opt, with the qt dialect, the upstream dialects and passes qtc
// builds on, qtc's passes and its named pipelines (qt-normalize-pipeline,
// qt-cpu-pipeline with its options: `qtc compile --print-pipeline` prints
// the one a compile runs).
//
//===----------------------------------------------------------------------===//

#include "compiler/Registration.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  qtc::registerAllDialects(registry);
  // The upstream passes, so that the backend stages can be replayed pass by
  // pass, and qtc's own passes and pipelines.
  mlir::registerAllPasses();
  qtc::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "qtc optimizer driver: qt dialect passes and pipelines\n",
      registry));
}
