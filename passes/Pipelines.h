//===- Pipelines.h - qtc's named pass pipelines -----------------*- C++ -*-===//
//
// Each stage of the compiler is a pipeline built by a C++ function and
// registered by name, so `qtc-opt --<name>` replays exactly what the driver
// runs for that stage.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_PASSES_PIPELINES_H
#define QTC_PASSES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace mlir::qt {

/// What the CPU backend stages need to know about the target; 0 means the
/// host's value.
struct CPUTarget {
  int64_t l1Bytes = 0;    ///< L1 data cache size
  int64_t vectorBits = 0; ///< widest vector register
  std::string int8Dot = "auto"; ///< int8 dot product instruction
                                ///< (avx512vnni, avxvnni, none; auto: host)
  std::string gridLookup = "auto"; ///< grid codes in few-row kernels:
                                   ///< permute (vpermps), select; auto: host
  bool reassociate = true; ///< floating-point sums may be reordered, and
                           ///< erf/exp/tanh approximated (qt-approximate-math)
};

/// qt-normalize-pipeline: the clean-up every imported module gets before
/// optimization. Canonicalizes (dropping zero biases and implicit zero
/// points), brings packed weights into lsb_first order, folds dequantize
/// into the matmuls that read it, and removes common subexpressions.
void buildNormalizePipeline(OpPassManager &pm);

/// qt-cpu-pipeline: normalize, then the CPU backend stages down to the LLVM
/// dialect: qt-tile-quantized-matmul (tile sizes from `target`),
/// convert-qt-to-linalg, qt-approximate-math (unless `target` forbids
/// reassociation), bufferization (function boundaries
/// included, memref results turned into out-parameters, every temporary
/// buffer freed), loops, and the
/// conversions to LLVM. Functions keep (or get) a C interface
/// (`_mlir_ciface_<name>`). Returns failure if an upstream stage is missing.
llvm::LogicalResult buildCPUPipeline(OpPassManager &pm,
                                     const CPUTarget &target = {});

/// The CPU backend stages alone (qt-cpu-pipeline without normalization), for
/// drivers that inspect the normalized module in between.
llvm::LogicalResult buildCPUBackendStages(OpPassManager &pm,
                                          const CPUTarget &target = {});

/// Registers every named qtc pipeline with the global pass registry.
void registerPipelines();

} // namespace mlir::qt

#endif // QTC_PASSES_PIPELINES_H
