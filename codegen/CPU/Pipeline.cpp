//===- Pipeline.cpp - qt-cpu-pipeline -------------------------------------===//

#include "codegen/CPU/Pipeline.h"
#include "codegen/Passes.h"
#include "passes/Pipelines.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::qt;

CPUTargetRequest CPUPipelineOptions::request() const {
  CPUTargetRequest r;
  r.triple = targetTriple;
  r.cpu = targetCPU;
  r.features = targetFeatures;
  r.strictFP = strictFP;
  r.l1Bytes = l1Bytes;
  r.vectorBits = vectorBits;
  r.int8Dot = int8Dot;
  r.gridLookup = gridLookup;
  return r;
}

LogicalResult mlir::qt::buildCPULoweringStages(OpPassManager &pm,
                                               const CPUPipelineOptions &options) {
  llvm::Expected<CPUTarget> target = resolveCPUTarget(options.request());
  if (!target) {
    // An unknown int8-dot or grid-lookup: the tiling pass names it.
    llvm::consumeError(target.takeError());
    QTTileQuantizedMatmulOptions tiling;
    tiling.int8Dot = options.int8Dot;
    tiling.gridLookup = options.gridLookup;
    pm.addPass(createQTTileQuantizedMatmul(tiling));
    return success();
  }
  // Public functions get a C entry `_mlir_ciface_<name>` over memref
  // descriptors, which the generated entry points call.
  pm.addPass(createQTEmitCInterface());
  QTTileQuantizedMatmulOptions tiling;
  tiling.l1Bytes = target->l1Bytes;
  tiling.vectorBits = target->vectorBits;
  tiling.int8Dot = target->int8Dot;
  tiling.gridLookup = target->gridLookup;
  tiling.reassociate = target->reassociate;
  pm.addPass(createQTTileQuantizedMatmul(tiling));
  // Repeated layers become calls of one function: everything below runs
  // once per kind of layer instead of once per layer.
  if (options.outlineLayers)
    pm.addPass(createQTOutlineLayers());
  pm.addPass(createConvertQTToLinalg());
  pm.addPass(createConvertElementwiseToLinalgPass());
  pm.addPass(createLinalgElementwiseOpFusionPass());
  // The rest of the model's large loops on the thread pool too.
  pm.addPass(createQTParallelizeLoops());
  // Vectorizable erf/exp/tanh instead of libm calls, where the last bits
  // may differ (not under strict-fp).
  if (target->reassociate)
    pm.addPass(createQTApproximateMath());
  pm.addPass(createCanonicalizerPass());
  // Every constant's global in program order, so that bufferization's own
  // order (per function, from a pointer-keyed map) does not show.
  pm.addPass(createQTConstantGlobals());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // A tile's result written back into its own slice is a copy between two
  // equal subviews: CSE makes them one value, and the canonicalization
  // below drops the self-copy.
  pm.addPass(createCSEPass());
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  // One arena per call for the function-level temporaries, at offsets
  // planned from their lifetimes (freed by the deallocation below).
  pm.addNestedPass<func::FuncOp>(createQTPlanArena());
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createCanonicalizerPass());
  // The int8 dot products and grid lookups of the tiled kernels (after
  // bufferization, which rejects intrinsic calls); x86 intrinsics only for
  // x86 targets.
  QTLowerInt8DotOptions dot;
  dot.intrinsic = target->x86;
  pm.addPass(createQTLowerInt8Dot(dot));
  return success();
}

LogicalResult mlir::qt::buildCPUToLLVMStages(OpPassManager &pm) {
  // Parallel loops (scf.forall of the tiling pass) become OpenMP regions
  // that call the runtime's thread pool (runtime/parallel.c); the
  // canonicalization inlines the alloca scopes the conversion wraps bodies
  // in, which may not hold the loops' multi-block lowering.
  pm.addPass(createForallToParallelLoopPass());
  pm.addPass(createConvertSCFToOpenMPPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  // The vector kernels of the tiled matmuls.
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  // Buffers come from the runtime's caching allocator (runtime/alloc.c).
  FinalizeMemRefToLLVMConversionPassOptions memrefs;
  memrefs.useAlignedAlloc = true;
  memrefs.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefs));
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  return success();
}

LogicalResult mlir::qt::buildCPUBackendStages(OpPassManager &pm,
                                              const CPUPipelineOptions &options) {
  if (failed(buildCPULoweringStages(pm, options)))
    return failure();
  return buildCPUToLLVMStages(pm);
}

LogicalResult mlir::qt::buildCPUPipeline(OpPassManager &pm,
                                         const CPUPipelineOptions &options) {
  buildNormalizePipeline(pm);
  return buildCPUBackendStages(pm, options);
}

llvm::Expected<std::string>
mlir::qt::resolvedCPUPipelineOptions(const CPUPipelineOptions &options) {
  llvm::Expected<CPUTarget> t = resolveCPUTarget(options.request());
  if (!t)
    return t.takeError();
  std::string s = llvm::formatv("l1-bytes={0} vector-bits={1} int8-dot={2} "
                                "grid-lookup={3} strict-fp={4}",
                                t->l1Bytes, t->vectorBits, t->int8Dot,
                                t->gridLookup, !t->reassociate ? "true" : "false")
                      .str();
  if (!options.outlineLayers)
    s += " outline-layers=false";
  if (!options.targetTriple.empty())
    s += " target-triple=" + options.targetTriple;
  if (!options.targetCPU.empty())
    s += " target-cpu=" + options.targetCPU;
  if (!options.targetFeatures.empty())
    s += " target-features=" + options.targetFeatures;
  return s;
}

void mlir::qt::registerCPUPipeline() {
  PassPipelineRegistration<CPUPipelineOptions>(
      "qt-cpu-pipeline",
      "Normalize, tile quantized GEMMs for the target's caches, lower qt to "
      "linalg, bufferize (memref results become out-parameters) and lower "
      "to the LLVM dialect for the CPU",
      [](OpPassManager &pm, const CPUPipelineOptions &options) {
        (void)buildCPUPipeline(pm, options);
      });
}
