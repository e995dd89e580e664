//===- OnnxImporter.h - ONNX model -> MLIR ----------------------*- C++ -*-===//
//
// The public entry of qtc's ONNX frontend. A model becomes one `func.func`
// whose arguments are the graph inputs and whose results are the graph
// outputs, built from `qt` ops and upstream dialects (arith, math, tensor,
// linalg). Weights become `dense_resource` constants that share the bytes
// read from the model (external data files are memory-mapped). ONNX node
// names become MLIR locations.
//
// Errors are one line naming the file, the node, its op type, domain and
// opset and what is wrong; no module is returned then.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_FRONTENDS_ONNX_ONNXIMPORTER_H
#define QTC_FRONTENDS_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mlir {
class DialectRegistry;
class MLIRContext;
} // namespace mlir

namespace qtc::onnx {

struct ImportOptions {
  /// Where external-data files are looked up; defaults to the model's folder.
  std::string externalDataDir;
  /// Binds graph inputs' dimensions: name -> dims (-1 keeps a dim dynamic).
  llvm::StringMap<llvm::SmallVector<int64_t>> inputShapes;
  /// Binds symbolic dims (ONNX dim_param names such as "batch") to sizes.
  llvm::StringMap<int64_t> dimParams;
  /// Name of the generated function.
  std::string functionName = "main";
  /// Run the MLIR verifier on the result (turning failures into errors).
  bool verify = true;
};

/// Loads the dialects the importer creates ops of.
void registerImportDialects(mlir::DialectRegistry &registry);

/// Imports the ONNX model stored at `path`.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importOnnxFile(llvm::StringRef path, mlir::MLIRContext &context,
               const ImportOptions &options = {});

/// Imports an ONNX model from memory; `displayName` names it in errors and
/// external-data paths are resolved against options.externalDataDir.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importOnnxBuffer(llvm::StringRef bytes, llvm::StringRef displayName,
                 mlir::MLIRContext &context, const ImportOptions &options = {});

/// Parses "name=d0,d1,..." (a dim may be '?' or -1 for dynamic) into
/// `options.inputShapes`.
llvm::Error parseInputShape(llvm::StringRef spec, ImportOptions &options);

/// Parses "dim_param=size" into `options.dimParams`.
llvm::Error parseDimParam(llvm::StringRef spec, ImportOptions &options);

} // namespace qtc::onnx

#endif // QTC_FRONTENDS_ONNX_ONNXIMPORTER_H
