//===- Pipeline.h - qt-cpu-pipeline -----------------------------*- C++ -*-===//
//
// The CPU backend as one named pipeline with options, built from create*Pass
// calls, so that `qtc-opt --qt-cpu-pipeline='...'` replays exactly what
// `qtc compile` runs (`qtc compile --print-pipeline` prints the string).
//
//   normalize -> [lowering]  tile, lower qt to linalg, bufferize, plan the
//                            arena, lower int8 dots      (--compile-to=lowered)
//             -> [to LLVM]   loops, OpenMP regions, the LLVM dialect
//                                                        (--compile-to=llvm)
//
//===----------------------------------------------------------------------===//

#ifndef QTC_CODEGEN_CPU_PIPELINE_H
#define QTC_CODEGEN_CPU_PIPELINE_H

#include "codegen/CPU/Target.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::qt {

struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  Option<std::string> targetTriple{
      *this, "target-triple",
      llvm::cl::desc("Target triple (default: the host)")};
  Option<std::string> targetCPU{
      *this, "target-cpu", llvm::cl::desc("Target CPU (default: the host's)")};
  Option<std::string> targetFeatures{
      *this, "target-features",
      llvm::cl::desc("Target features, e.g. +avx2,+fma (default: the "
                     "host's when no triple is given)")};
  Option<bool> strictFP{
      *this, "strict-fp",
      llvm::cl::desc("Keep the source order of floating-point sums and "
                     "libm's erf/exp/tanh"),
      llvm::cl::init(false)};
  Option<int64_t> l1Bytes{
      *this, "l1-bytes",
      llvm::cl::desc("L1 data cache bytes for tiling (0: the target's)"),
      llvm::cl::init(0)};
  Option<int64_t> vectorBits{
      *this, "vector-bits",
      llvm::cl::desc("Widest vector register in bits (0: the target's)"),
      llvm::cl::init(0)};
  Option<std::string> int8Dot{
      *this, "int8-dot",
      llvm::cl::desc("Int8 dot product instruction: avx512vnni, avxvnni, "
                     "none, auto (the target's)"),
      llvm::cl::init("auto")};
  Option<std::string> gridLookup{
      *this, "grid-lookup",
      llvm::cl::desc("Grid code lookup in few-row kernels: permute, select, "
                     "auto (the target's)"),
      llvm::cl::init("auto")};
  Option<bool> outlineLayers{
      *this, "outline-layers",
      llvm::cl::desc("Compile layers of equal shapes once: each layer "
                     "becomes a call of a shared function that takes its "
                     "weights as arguments (qt-outline-layers)"),
      llvm::cl::init(true)};

  /// The target these options describe.
  CPUTargetRequest request() const;
};

/// qt-normalize-pipeline, then the CPU backend stages.
llvm::LogicalResult buildCPUPipeline(OpPassManager &pm,
                                     const CPUPipelineOptions &options);

/// The backend stages alone, from the normalized (possibly quantized)
/// module down to the LLVM dialect.
llvm::LogicalResult buildCPUBackendStages(OpPassManager &pm,
                                          const CPUPipelineOptions &options);

/// The lowering half: down to bufferized loops and vectors on memrefs.
llvm::LogicalResult buildCPULoweringStages(OpPassManager &pm,
                                           const CPUPipelineOptions &options);

/// The second half: loops, parallel regions and everything to the LLVM
/// dialect.
llvm::LogicalResult buildCPUToLLVMStages(OpPassManager &pm);

/// `options` with every target-dependent value resolved (l1-bytes,
/// vector-bits, int8-dot, grid-lookup), as `qtc compile --print-pipeline`
/// prints them: the same pipeline on any host.
llvm::Expected<std::string> resolvedCPUPipelineOptions(
    const CPUPipelineOptions &options);

/// Registers qt-cpu-pipeline with the global pass registry.
void registerCPUPipeline();

} // namespace mlir::qt

#endif // QTC_CODEGEN_CPU_PIPELINE_H
