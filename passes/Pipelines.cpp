//===- Pipelines.cpp - qtc's named pass pipelines -------------------------===//

#include "passes/Pipelines.h"
#include "passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/ErrorHandling.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::qt::buildNormalizePipeline(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createQTNormalizePacking());
  pm.addPass(createQTFuseDequantMatmul());
  pm.addPass(createCSEPass());
}

/// The backend stages after normalization. Upstream passes are named by
/// their registered textual names so this stays a readable list.
static const char *const kCPULowering =
    "convert-qt-to-linalg,convert-elementwise-to-linalg,linalg-fuse-elementwise-ops,"
    // The rest of the model's large loops on the thread pool too.
    "qt-parallelize-loops";
static const char *const kCPUStages =
    "canonicalize,"
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    // A tile's result written back into its own slice is a copy between
    // two equal subviews: CSE makes them one value, and the
    // canonicalization below drops the self-copy.
    "cse,"
    "buffer-results-to-out-params{modify-public-functions},"
    // One arena per call for the function-level temporaries, at offsets
    // planned from their lifetimes (freed by the deallocation below).
    "func.func(qt-plan-arena),"
    "buffer-deallocation-pipeline,canonicalize";
static const char *const kCPULoops =
    // Parallel loops (scf.forall of the tiling pass) become OpenMP regions
    // that call the runtime's thread pool (runtime/parallel.c); the
    // canonicalization inlines the alloca scopes the conversion wraps
    // bodies in, which may not hold the loops' multi-block lowering.
    "scf-forall-to-parallel,convert-scf-to-openmp,canonicalize,"
    "convert-linalg-to-loops,convert-scf-to-cf,expand-strided-metadata,"
    // The vector kernels of f32 matmuls (qt-tile-quantized-matmul).
    "convert-vector-to-llvm,convert-ub-to-llvm,"
    "lower-affine,convert-math-to-libm,convert-math-to-llvm,"
    "convert-arith-to-llvm,convert-index-to-llvm,"
    // Buffers come from the runtime's caching allocator (runtime/alloc.c).
    "finalize-memref-to-llvm{use-aligned-alloc use-generic-functions},"
    "convert-openmp-to-llvm,"
    "convert-func-to-llvm,convert-cf-to-llvm,reconcile-unrealized-casts";

llvm::LogicalResult mlir::qt::buildCPUBackendStages(OpPassManager &pm,
                                                    const CPUTarget &target) {
  QTTileQuantizedMatmulOptions tiling;
  tiling.l1Bytes = target.l1Bytes;
  tiling.vectorBits = target.vectorBits;
  tiling.int8Dot = target.int8Dot;
  tiling.gridLookup = target.gridLookup;
  tiling.reassociate = target.reassociate;
  pm.addPass(createQTTileQuantizedMatmul(tiling));
  if (failed(parsePassPipeline(kCPULowering, pm)))
    return failure();
  // Vectorizable erf/exp/tanh instead of libm calls, where the last bits
  // may differ (not under --strict-fp).
  if (target.reassociate)
    pm.addPass(createQTApproximateMath());
  if (failed(parsePassPipeline(kCPUStages, pm)))
    return failure();
  // The int8 dot products of the MatMulInteger kernel (after bufferization,
  // which rejects intrinsic calls).
  pm.addPass(createQTLowerInt8Dot());
  return parsePassPipeline(kCPULoops, pm);
}

llvm::LogicalResult mlir::qt::buildCPUPipeline(OpPassManager &pm,
                                               const CPUTarget &target) {
  buildNormalizePipeline(pm);
  return buildCPUBackendStages(pm, target);
}

void mlir::qt::registerPipelines() {
  PassPipelineRegistration<>(
      "qt-normalize-pipeline",
      "Clean up an imported module: canonicalize, repack weights into "
      "lsb_first order, fold dequantize into matmuls, CSE",
      buildNormalizePipeline);
  PassPipelineRegistration<>(
      "qt-cpu-pipeline",
      "Normalize, tile quantized GEMMs for the host's caches, lower qt to "
      "linalg, bufferize (memref results become "
      "out-parameters) and lower to the LLVM dialect for the CPU",
      [](OpPassManager &pm) {
        if (failed(buildCPUPipeline(pm)))
          llvm::report_fatal_error("qt-cpu-pipeline: an upstream pass is not "
                                   "registered");
      });
}
