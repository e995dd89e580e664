//===- Pipelines.cpp - qt-normalize-pipeline ------------------------------===//

#include "passes/Pipelines.h"
#include "passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::qt::buildNormalizePipeline(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createQTNormalizePacking());
  pm.addPass(createQTFuseDequantMatmul());
  pm.addPass(createCSEPass());
}

void mlir::qt::registerNormalizePipeline() {
  PassPipelineRegistration<>(
      "qt-normalize-pipeline",
      "Clean up an imported module: canonicalize, repack weights into "
      "lsb_first order, fold dequantize into matmuls, CSE",
      buildNormalizePipeline);
}
