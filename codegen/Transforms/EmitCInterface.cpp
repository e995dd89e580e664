//===- EmitCInterface.cpp - C entries for public functions ----------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace mlir::qt {
#define GEN_PASS_DEF_QTEMITCINTERFACE
#include "codegen/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;

namespace {
struct EmitCInterfacePass
    : qt::impl::QTEmitCInterfaceBase<EmitCInterfacePass> {
  void runOnOperation() override {
    for (auto f : getOperation().getOps<func::FuncOp>())
      if (f.isPublic() && !f.isExternal())
        f->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                   UnitAttr::get(&getContext()));
  }
};
} // namespace
