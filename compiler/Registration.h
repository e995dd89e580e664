//===- Registration.h - Every qtc pass and pipeline by name -----*- C++ -*-===//

#ifndef QTC_COMPILER_REGISTRATION_H
#define QTC_COMPILER_REGISTRATION_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace qtc {

/// Registers qtc's passes (passes/, quant/, codegen/) and named pipelines
/// (qt-normalize-pipeline, qt-cpu-pipeline) with MLIR's global registry,
/// for qtc-opt and textual pipelines. Idempotent.
void registerAllPasses();

/// The dialects, interfaces and translations a qtc module may use.
void registerAllDialects(mlir::DialectRegistry &registry);

} // namespace qtc

#endif // QTC_COMPILER_REGISTRATION_H
