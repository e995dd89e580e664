//===- qtc-translate.cpp - model importers --------------------------------===//
//
//   qtc-translate --import-onnx model.onnx [-o out.mlir]
//                 [--input-shape NAME=d0,d1,...]... [--dim NAME=SIZE]...
//                 [--external-data-dir DIR]
//   qtc-translate --import-hf CHECKPOINT_DIR [-o out.mlir]
//                 [--batch N] [--seq N] [--past N]
//
// Prints the imported MLIR module. On an error, prints one line naming the
// file, node, op, domain and opset, writes no output and exits with 1.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/OnnxImporter.h"
#include "frontends/hf/HFImporter.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

namespace cl = llvm::cl;

static cl::OptionCategory category("qtc-translate options");

static cl::opt<std::string> inputFile(cl::Positional,
                                      cl::desc("<model.onnx | checkpoint dir | model.gguf>"),
                                      cl::Required, cl::cat(category));
static cl::opt<bool> importOnnx("import-onnx",
                                cl::desc("Import an ONNX model (.onnx)"),
                                cl::cat(category));
static cl::opt<bool> importHF(
    "import-hf",
    cl::desc("Build a model from a Hugging Face checkpoint directory "
             "(config.json + safetensors; llama, mistral, qwen2, gpt2, bert; GPTQ/AWQ)"),
    cl::cat(category));
static cl::opt<bool> importGGUF(
    "import-gguf",
    cl::desc("Build a model from a GGUF file (llama.cpp's format; llama, "
             "qwen2; quantized blocks stay packed)"),
    cl::cat(category));
static cl::opt<bool> allowUnused(
    "allow-unused-tensors",
    cl::desc("--import-hf, --import-gguf: warn about tensors the model does "
             "not use instead of failing"),
    cl::cat(category));
static cl::opt<int64_t> hfBatch("batch",
                                cl::desc("--import-hf, --import-gguf: static batch size"),
                                cl::init(-1), cl::cat(category));
static cl::opt<int64_t> hfSeq("seq",
                              cl::desc("--import-hf, --import-gguf: static number of new tokens"),
                              cl::init(-1), cl::cat(category));
static cl::opt<int64_t> hfPast("past",
                               cl::desc("--import-hf, --import-gguf: static number of cached tokens"),
                               cl::init(-1), cl::cat(category));
static cl::opt<std::string> outputFile("o", cl::desc("Output file (default: stdout)"),
                                       cl::value_desc("file"), cl::init("-"),
                                       cl::cat(category));
static cl::list<std::string>
    inputShapes("input-shape",
                cl::desc("Bind a graph input's dims: NAME=d0,d1,... ('?' or "
                         "-1 keeps a dim dynamic); repeatable"),
                cl::value_desc("NAME=DIMS"), cl::cat(category));
static cl::list<std::string>
    dimParams("dim",
              cl::desc("Bind a symbolic dimension (an ONNX dim_param such as "
                       "batch or sequence) to a size: NAME=SIZE; repeatable"),
              cl::value_desc("NAME=SIZE"), cl::cat(category));
static cl::opt<std::string>
    externalDataDir("external-data-dir",
                    cl::desc("Folder of external-data files (default: the "
                             "model's folder)"),
                    cl::value_desc("dir"), cl::cat(category));
static cl::opt<std::string> functionName("func-name",
                                         cl::desc("Name of the generated function"),
                                         cl::init("main"), cl::cat(category));
static cl::opt<bool> noVerify("no-verify",
                              cl::desc("Skip the verifier on the imported IR"),
                              cl::cat(category));

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "qtc-translate") << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  cl::HideUnrelatedOptions({&category, &llvm::getColorCategory()});
  cl::ParseCommandLineOptions(
      argc, argv,
      "qtc model importer: ONNX models, Hugging Face checkpoints and GGUF "
      "files -> MLIR "
      "(qt + upstream dialects)\n\n"
      "  qtc-translate --import-onnx model.onnx -o model.mlir\n"
      "  qtc-translate --import-onnx model.onnx --input-shape "
      "input_ids=1,16\n"
      "  qtc-translate --import-onnx model.onnx --dim batch=1 --dim "
      "sequence=16\n"
      "  qtc-translate --import-hf path/to/checkpoint --batch 1\n"
      "  qtc-translate --import-gguf model.gguf --batch 1\n\n"
      "MLIR printing flags such as --mlir-elide-resource-strings-if-larger=N\n"
      "are accepted too (--help-hidden lists them).\n");
  if (int(importOnnx) + int(importHF) + int(importGGUF) != 1)
    return fail("choose one importer: --import-onnx, --import-hf or "
                "--import-gguf");

  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> imported;
  if (importHF || importGGUF) {
    qtc::hf::ImportOptions hfOptions;
    hfOptions.functionName = functionName;
    hfOptions.allowUnusedTensors = allowUnused;
    hfOptions.warnings = &llvm::errs();
    if (hfBatch >= 0) hfOptions.batch = hfBatch;
    if (hfSeq >= 0) hfOptions.sequence = hfSeq;
    if (hfPast >= 0) hfOptions.past = hfPast;
    auto module =
        importGGUF ? qtc::hf::importGGUF(inputFile, context, hfOptions)
                   : qtc::hf::importCheckpoint(inputFile, context, hfOptions);
    if (!module)
      return fail(llvm::toString(module.takeError()));
    imported = std::move(*module);
  }

  qtc::onnx::ImportOptions options;
  options.externalDataDir = externalDataDir;
  options.functionName = functionName;
  options.verify = !noVerify;
  for (const std::string &spec : inputShapes)
    if (llvm::Error e = qtc::onnx::parseInputShape(spec, options))
      return fail(llvm::toString(std::move(e)));
  for (const std::string &spec : dimParams)
    if (llvm::Error e = qtc::onnx::parseDimParam(spec, options))
      return fail(llvm::toString(std::move(e)));

  if (importOnnx) {
    auto module = qtc::onnx::importOnnxFile(inputFile, context, options);
    if (!module)
      return fail(llvm::toString(module.takeError()));
    imported = std::move(*module);
  }

  std::error_code ec;
  llvm::ToolOutputFile out(outputFile, ec, llvm::sys::fs::OF_None);
  if (ec)
    return fail("cannot write '" + outputFile + "': " + ec.message());
  imported->print(out.os(), mlir::OpPrintingFlags());
  out.os() << "\n";
  out.keep();
  return 0;
}
