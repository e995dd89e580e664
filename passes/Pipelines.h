//===- Pipelines.h - qt-normalize-pipeline ----------------------*- C++ -*-===//
//
// Each stage of the compiler is a pipeline built by a C++ function and
// registered by name, so `qtc-opt --<name>` replays exactly what the driver
// runs for that stage. The target-independent one lives here; each backend
// registers its own (codegen/CPU/Pipeline.h: qt-cpu-pipeline).
//
//===----------------------------------------------------------------------===//

#ifndef QTC_PASSES_PIPELINES_H
#define QTC_PASSES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace mlir::qt {

/// qt-normalize-pipeline: the clean-up every imported module gets before
/// optimization. Canonicalizes (dropping zero biases and implicit zero
/// points), brings packed weights into lsb_first order, folds dequantize
/// into the matmuls that read it, and removes common subexpressions.
void buildNormalizePipeline(OpPassManager &pm);

/// Registers qt-normalize-pipeline with the global pass registry.
void registerNormalizePipeline();

} // namespace mlir::qt

#endif // QTC_PASSES_PIPELINES_H
