//===- Compiler.h - qtc as a library ----------------------------*- C++ -*-===//
//
// Every tool and API compiles through this class. A compilation runs the
// phases
//
//   import -> normalize -> quantize -> lower -> emit
//
// on one MLIR context the Compiler owns (no state is shared between two
// Compilers, which may run on different threads at once):
//
//   import     an ONNX file, a Hugging Face checkpoint folder or a .mlir
//              file (frontends/)
//   normalize  qt-normalize-pipeline (passes/)
//   quantize   --quantize / --weight-bits / --tensor-type and
//              --kv-cache-bits (quant/), calibrated through the JIT
//   lower      the target's pipeline (codegen/: qt-cpu-pipeline), down to
//              the LLVM dialect
//   emit       LLVM IR, objects, shared libraries, programs (linked here),
//              or code JIT-linked into this process (compiler/JIT.h)
//
// Targets are looked up by name in a registry (`cpu` today), so another
// backend plugs in beside it.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_COMPILER_COMPILER_H
#define QTC_COMPILER_COMPILER_H

#include "compiler/Model.h"
#include "compiler/Options.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
class MLIRContext;
class OpPassManager;
class PassManager;
namespace qt {
struct CPUTarget;
struct EntrySpec;
} // namespace qt
} // namespace mlir

namespace llvm {
class LLVMContext;
class MemoryBuffer;
class Module;
class TargetMachine;
} // namespace llvm

namespace qtc {

/// Where `--compile-to` stops: the module is printed after that phase.
enum class Phase {
  Import,    ///< as imported (or parsed)
  Normalize, ///< after qt-normalize-pipeline
  Quantize,  ///< after quantization (the input of the target's pipeline)
  Lowered,   ///< after the target's lowering to loops on buffers
  LLVM,      ///< the LLVM dialect: the target pipeline's output
};
/// "normalize" etc.; nullopt for an unknown name.
std::optional<Phase> parsePhase(llvm::StringRef name);
const char *phaseNames();

/// What `emitFile` writes.
enum class EmitKind {
  LLVMIR, ///< optimized LLVM IR (.ll)
  Object, ///< one object file for the target (.o)
  Shared, ///< a shared library + NAME.h + NAME.json (linked with `cc`)
  Exe,    ///< a standalone program (linked with `cc`)
};

/// A backend: its lowering pipeline and what it emits.
struct TargetInfo {
  const char *name;
  const char *description;
};
/// The registered targets.
llvm::ArrayRef<TargetInfo> targetRegistry();

class Compiler {
public:
  /// `log`: where progress lines go; `warnings`: where warnings go (null:
  /// nowhere).
  explicit Compiler(CompilerOptions options, llvm::raw_ostream *log = nullptr,
                    llvm::raw_ostream *warnings = nullptr);
  ~Compiler();

  const CompilerOptions &options() const { return opts; }
  mlir::MLIRContext &context() { return *ctx; }

  /// Imports an ONNX file, a checkpoint folder or a .mlir file.
  llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>> import(llvm::StringRef path);

  /// Runs the phases after import up to and including `stop`.
  llvm::Error runPhases(mlir::ModuleOp module, Phase stop);

  /// Lowers `module` (as imported) and writes `kind` to `out`.
  llvm::Error emitFile(mlir::ModuleOp module, EmitKind kind, llvm::StringRef out);

  /// Lowers `module` (as imported) and links it into this process.
  llvm::Expected<std::unique_ptr<Model>> jit(mlir::ModuleOp module);

  /// import + jit.
  llvm::Expected<std::unique_ptr<Model>> compile(llvm::StringRef path);

  /// The target pipeline's options with every target-dependent value
  /// resolved: `qtc-opt --qt-cpu-pipeline='<this>'` replays the lowering.
  llvm::Expected<std::string> pipelineOptions() const;

  /// The lowering pipeline as MLIR's textual pass pipeline.
  llvm::Expected<std::string> pipelineText() const;

  /// Called on every pass manager the compiler runs (the driver applies
  /// MLIR's command-line options: --mlir-print-ir-after-all, --mlir-timing,
  /// ...).
  void setPassManagerHook(
      std::function<llvm::LogicalResult(mlir::PassManager &)> hook) {
    pmHook = std::move(hook);
  }

  /// The C runtime archive `--emit shared|exe` link (default: lib/ next to
  /// the running executable's bin/).
  void setRuntimeArchive(std::string path) { runtimeArchive = std::move(path); }

  /// The ports of the module's entry (static shapes, known dtypes).
  llvm::Expected<ModelDescription> describe(mlir::ModuleOp module) const;

private:
  class Stage;
  llvm::Error normalize(mlir::ModuleOp module);
  llvm::Error quantize(mlir::ModuleOp module);
  llvm::Error normalizeQuiet(mlir::ModuleOp module);
  /// Runs `pm` on `module` (with the hook); the first error's message.
  llvm::Error runPasses(mlir::PassManager &pm, mlir::ModuleOp module,
                        const llvm::Twine &what);
  llvm::Error lower(mlir::ModuleOp module, Phase stop);
  llvm::Error buildLowering(mlir::OpPassManager &pm, Phase stop) const;
  /// The lowered module in LLVM IR with the entry points of `spec` for
  /// `desc` (whose `parallel` it sets).
  llvm::Expected<std::unique_ptr<llvm::Module>>
  translate(mlir::ModuleOp module, llvm::LLVMContext &context,
            llvm::TargetMachine &tm, ModelDescription &desc,
            const mlir::qt::EntrySpec &spec);
  /// O3 and object code, on --compile-threads threads (one object when
  /// `oneObject`).
  llvm::Expected<std::vector<std::unique_ptr<llvm::MemoryBuffer>>>
  codegen(std::unique_ptr<llvm::Module> m, const mlir::qt::CPUTarget &target,
          bool oneObject);

  CompilerOptions opts;
  llvm::raw_ostream *log, *warnings;
  std::unique_ptr<mlir::MLIRContext> ctx;
  std::string inputPath;
  std::string runtimeArchive;
  std::function<llvm::LogicalResult(mlir::PassManager &)> pmHook;
  /// The entry's ports, taken before lowering changes the signature.
  std::optional<ModelDescription> described;
  bool quantized = false;
  /// Compiling the calibration copy of a model being quantized.
  bool calibrating = false;
};

} // namespace qtc

#endif // QTC_COMPILER_COMPILER_H
