//===- Registration.cpp - Every qtc pass and pipeline by name -------------===//

#include "compiler/Registration.h"

#include "codegen/CPU/Pipeline.h"
#include "codegen/Passes.h"
#include "dialects/QT/IR/QTDialect.h"
#include "passes/Passes.h"
#include "passes/Pipelines.h"
#include "quant/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include <mutex>

void qtc::registerAllPasses() {
  static std::once_flag once;
  std::call_once(once, [] {
    mlir::qt::registerQTPasses();
    mlir::qt::registerQTQuantPasses();
    mlir::qt::registerQTCodegenPasses();
    mlir::qt::registerNormalizePipeline();
    mlir::qt::registerCPUPipeline();
  });
}

void qtc::registerAllDialects(mlir::DialectRegistry &registry) {
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::qt::QTDialect>();
}
