//===- ExternalizeWeights.cpp - Constant weights into a side file ---------===//
//
// Large constants leave the object: their bytes go to a side file, and the
// code reads them at fixed offsets in one page-aligned, zero-filled region
// (`<prefix>_weights_data`, in .bss) that the runtime maps the file over
// (runtime/weights.c). The work is codegen/LLVM/Weights.cpp's, which the
// compiler also uses to keep embedded weights out of LLVM; the file layout
// is in runtime/README.md.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "codegen/LLVM/Weights.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir::qt {
#define GEN_PASS_DEF_QTEXTERNALIZEWEIGHTS
#include "codegen/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;
using namespace mlir::qt;

namespace {

struct ExternalizeWeightsPass
    : mlir::qt::impl::QTExternalizeWeightsBase<ExternalizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (file.empty()) {
      emitError(module.getLoc(), "qt-externalize-weights needs file=PATH");
      return signalPassFailure();
    }
    WeightOptions options;
    options.prefix = prefix;
    options.placement = WeightPlacement::Mapped;
    options.minBytes = minBytes;
    llvm::Expected<WeightBlob> blob = detachWeights(module, options);
    if (!blob) {
      emitError(module.getLoc())
          << "qt-externalize-weights: " << llvm::toString(blob.takeError());
      return signalPassFailure();
    }
    if (llvm::Error e = writeWeightsFile(file, *blob)) {
      emitError(module.getLoc()) << llvm::toString(std::move(e));
      return signalPassFailure();
    }
  }
};

} // namespace
