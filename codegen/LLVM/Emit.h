//===- Emit.h - From the LLVM dialect to machine code -----------*- C++ -*-===//
//
// The CPU backend's last stage: the LLVM-dialect module (qt-cpu-pipeline's
// output) becomes LLVM IR, gets the generated entry points of a qtc model
// (NAME_run, NAME_error, ...; include/qtc-c/README.md), is optimized at O3
// and emitted as object code, in several partitions compiled on as many
// threads when asked. Libraries (`--emit shared|exe`, linked by the
// compiler) and the in-process JIT take the same objects.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_CODEGEN_LLVM_EMIT_H
#define QTC_CODEGEN_LLVM_EMIT_H

#include "codegen/CPU/Target.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
} // namespace llvm

namespace mlir::qt {

/// One input or output of the entry, for the tables of a program's main().
struct EntryPort {
  std::string name, dtype;
  llvm::SmallVector<int64_t> shape;
};

/// The entry points a compiled model exports (all other symbols are
/// hidden and carry the prefix, so any number of models load or link
/// into one program):
///
///   int NAME_run(void **args)          args[i]: memref descriptor of input
///                                      i, then of each output
///   const char *NAME_error(void)       why NAME_run failed
///   int NAME_load_weights(const char *path)   (mapped weights only)
///   const char *NAME_describe(void)    the ports as JSON
///   void NAME_set_num_threads(int), int NAME_get_num_threads(void)
///   int main(int, char **)             (programs only)
struct EntrySpec {
  std::string prefix = "qtc_model";
  /// The function whose `_mlir_ciface_` wrapper NAME_run calls.
  std::string function = "main";
  /// Weights in a side file mapped on the first run (the region and id
  /// that detachWeights made with this prefix).
  bool mappedWeights = false;
  /// Define main() over qtc_exe_main (include/qtc-c/exe.h).
  bool program = false;
  std::vector<EntryPort> inputs, outputs;
  /// Returned by NAME_describe().
  std::string description;
};

/// Translates the LLVM-dialect `module` into LLVM IR for `tm`, with what
/// qtc's code needs before optimization: reassociation and contraction
/// flags on floating-point math (unless `strictFP`), noalias results for
/// the runtime's allocator, and the loop nests of very large functions
/// moved into functions of their own (O3's loop passes are superlinear in
/// the size of the enclosing function).
llvm::Expected<std::unique_ptr<llvm::Module>>
translateToLLVMIR(ModuleOp module, llvm::LLVMContext &context,
                  llvm::TargetMachine &tm, bool strictFP);

/// Adds the entry points of `spec` to `m` and gives every other symbol it
/// defines the prefix and hidden visibility.
llvm::Error addEntryPoints(llvm::Module &m, const EntrySpec &spec);

/// Runs LLVM's O3 pipeline on `m`.
llvm::Error optimizeModule(llvm::Module &m, llvm::TargetMachine &tm);

/// Optimizes `m` and emits object code for `target`: with `threads` > 1,
/// `m` is split into up to that many partitions, each optimized and
/// emitted in its own context on its own thread (functions are kept out of
/// line, so little is lost across partitions).
llvm::Expected<std::vector<std::unique_ptr<llvm::MemoryBuffer>>>
compileToObjects(std::unique_ptr<llvm::Module> m, const CPUTarget &target,
                 unsigned threads);

} // namespace mlir::qt

#endif // QTC_CODEGEN_LLVM_EMIT_H
