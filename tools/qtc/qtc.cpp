//===- qtc.cpp - the qtc compiler driver ----------------------------------===//
//
//   qtc compile MODEL [-o OUT] [--emit mlir] [options]
//
// MODEL is an ONNX file or a Hugging Face checkpoint directory. Today the
// driver imports the model and runs the stages that exist
// (qt-normalize-pipeline), printing each stage's time; the CPU backend adds
// llvm / obj / shared / exe outputs to --emit (issue 5).
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/OnnxImporter.h"
#include "frontends/safetensors/HFImporter.h"
#include "passes/Pipelines.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Timer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <chrono>

namespace cl = llvm::cl;

static cl::SubCommand compileCmd("compile",
                                 "Compile an ONNX model or a Hugging Face "
                                 "checkpoint directory");
static cl::opt<std::string> model(cl::Positional, cl::desc("<model.onnx | checkpoint dir>"),
                                  cl::Required, cl::sub(compileCmd));
static cl::opt<std::string> output("o", cl::desc("Output file (default: MODEL name + extension)"),
                                   cl::value_desc("file"), cl::sub(compileCmd));
enum class Emit { MLIR };
static cl::opt<Emit> emit(
    "emit", cl::desc("What to produce"), cl::init(Emit::MLIR),
    cl::values(clEnumValN(Emit::MLIR, "mlir",
                          "qt + upstream MLIR after the normalize stage")),
    cl::sub(compileCmd));
static cl::list<std::string> dims("dim",
                                  cl::desc("ONNX: bind a dim_param to a size (NAME=SIZE)"),
                                  cl::value_desc("NAME=SIZE"), cl::sub(compileCmd));
static cl::list<std::string> shapes("input-shape",
                                    cl::desc("ONNX: bind an input's dims (NAME=d0,d1,...)"),
                                    cl::value_desc("NAME=DIMS"), cl::sub(compileCmd));
static cl::opt<int64_t> batch("batch", cl::desc("Checkpoint: static batch size"),
                              cl::init(-1), cl::sub(compileCmd));
static cl::opt<int64_t> seq("seq", cl::desc("Checkpoint: static number of new tokens"),
                            cl::init(-1), cl::sub(compileCmd));
static cl::opt<int64_t> past("past", cl::desc("Checkpoint: static number of cached tokens"),
                             cl::init(-1), cl::sub(compileCmd));
static cl::opt<bool> quiet("quiet", cl::desc("Do not print progress"),
                           cl::sub(compileCmd));

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "qtc") << message << "\n";
  return 1;
}

namespace {
/// Prints "qtc: <stage> ... <seconds> s" to stderr around a stage.
class Stage {
public:
  explicit Stage(llvm::StringRef name) : name(name.str()) {
    if (!quiet)
      llvm::errs() << "qtc: " << name << " ... ";
    start = std::chrono::steady_clock::now();
  }
  /// Ends the progress line without a time (an error message follows).
  void abort() {
    if (!quiet && !aborted)
      llvm::errs() << "failed\n";
    aborted = true;
  }
  ~Stage() {
    if (quiet || aborted)
      return;
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                             start)
                   .count();
    llvm::errs() << llvm::format("%.2f s\n", s);
  }

private:
  std::string name;
  std::chrono::steady_clock::time_point start;
  bool aborted = false;
};
} // namespace

static int compile() {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  bool isDir = llvm::sys::fs::is_directory(model);
  {
    Stage stage(std::string("importing ") + model.getValue());
    if (isDir) {
      qtc::hf::ImportOptions options;
      if (batch >= 0) options.batch = batch;
      if (seq >= 0) options.sequence = seq;
      if (past >= 0) options.past = past;
      auto imported = qtc::hf::importCheckpoint(model, context, options);
      if (!imported) {
        stage.abort();
        return fail(llvm::toString(imported.takeError()));
      }
      module = std::move(*imported);
    } else {
      qtc::onnx::ImportOptions options;
      for (const std::string &d : dims)
        if (llvm::Error e = qtc::onnx::parseDimParam(d, options)) {
          stage.abort();
          return fail(llvm::toString(std::move(e)));
        }
      for (const std::string &s : shapes)
        if (llvm::Error e = qtc::onnx::parseInputShape(s, options)) {
          stage.abort();
          return fail(llvm::toString(std::move(e)));
        }
      auto imported = qtc::onnx::importOnnxFile(model, context, options);
      if (!imported) {
        stage.abort();
        return fail(llvm::toString(imported.takeError()));
      }
      module = std::move(*imported);
    }
  }
  {
    Stage stage("qt-normalize-pipeline");
    mlir::PassManager pm(&context);
    mlir::qt::buildNormalizePipeline(pm);
    if (mlir::failed(pm.run(*module))) {
      stage.abort();
      return fail(model + ": the normalize stage failed");
    }
  }
  std::string out = output;
  if (out.empty()) {
    llvm::SmallString<256> path(llvm::sys::path::filename(
        llvm::StringRef(model).rtrim("/")));
    llvm::sys::path::replace_extension(path, ".mlir");
    out = path.str().str();
  }
  std::error_code ec;
  llvm::ToolOutputFile file(out, ec, llvm::sys::fs::OF_None);
  if (ec)
    return fail("cannot write '" + out + "': " + ec.message());
  {
    Stage stage("writing " + out);
    module->print(file.os(), mlir::OpPrintingFlags());
    file.os() << "\n";
  }
  file.keep();
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  cl::ParseCommandLineOptions(
      argc, argv,
      "qtc: compiler for quantized transformer models\n\n"
      "  qtc compile model.onnx -o model.mlir\n"
      "  qtc compile path/to/hf-checkpoint --batch 1\n");
  if (compileCmd)
    return compile();
  return fail("expected a command: compile (see qtc --help)");
}
