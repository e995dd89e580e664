//===- OnnxImportFuzzer.cpp - libFuzzer target over the ONNX importer -----===//
//
// Feeds arbitrary bytes to the importer as an ONNX model. Errors are
// expected; crashes, sanitizer reports and hangs are bugs.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/OnnxImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  mlir::ScopedDiagnosticHandler quiet(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });
  qtc::onnx::ImportOptions options;
  // External data must not reach outside a folder that does not exist.
  options.externalDataDir = "/nonexistent/qtc-fuzz";
  auto module = qtc::onnx::importOnnxBuffer(
      llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz.onnx",
      context, options);
  if (!module)
    llvm::consumeError(module.takeError());
  return 0;
}
