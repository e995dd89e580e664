//===- qtc.cpp - the qtc compiler driver ----------------------------------===//
//
//   qtc compile MODEL [-o OUT] [--emit mlir|llvm-mlir|llvm|obj|shared]
//   qtc run MODEL.so --input NAME=FILE.npy ... [--output-dir DIR] [--bench N]
//
// MODEL is an ONNX file or a Hugging Face checkpoint directory. compile
// imports it and runs qt-normalize-pipeline (--emit mlir) or
// qt-cpu-pipeline and LLVM's code generation for the target (the host by
// default), printing each stage's time; --emit shared links the object with
// an entry `qtc_model_run(void **args)` and writes a C header and a JSON
// description next to it, which run reads.
//
//===----------------------------------------------------------------------===//

#include "frontends/onnx/OnnxImporter.h"
#include "frontends/safetensors/HFImporter.h"
#include "passes/Passes.h"
#include "passes/Pipelines.h"
#include "tools/qtc/Artifact.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Operator.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Timer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <chrono>

namespace cl = llvm::cl;

static cl::OptionCategory qtcCategory("qtc options");

static cl::SubCommand compileCmd("compile",
                                 "Compile an ONNX model or a Hugging Face "
                                 "checkpoint directory");
static cl::opt<std::string> model(cl::Positional, cl::desc("<model.onnx | checkpoint dir>"),
                                  cl::Required, cl::sub(compileCmd), cl::cat(qtcCategory));
static cl::opt<std::string> output("o", cl::desc("Output file (default: MODEL name + extension)"),
                                   cl::value_desc("file"), cl::sub(compileCmd), cl::cat(qtcCategory));
enum class Emit { MLIR, LLVMDialect, LLVMIR, Object, Shared };
static cl::opt<Emit> emit(
    "emit", cl::desc("What to produce"), cl::init(Emit::MLIR),
    cl::values(
        clEnumValN(Emit::MLIR, "mlir",
                   "qt + upstream MLIR after the normalize stage"),
        clEnumValN(Emit::LLVMDialect, "llvm-mlir",
                   "the LLVM dialect after qt-cpu-pipeline"),
        clEnumValN(Emit::LLVMIR, "llvm", "LLVM IR (.ll), optimized"),
        clEnumValN(Emit::Object, "obj", "an object file for the target"),
        clEnumValN(Emit::Shared, "shared",
                   "a shared library with the entry qtc_model_run, a C "
                   "header and a JSON description (needs a C compiler)")),
    cl::sub(compileCmd), cl::cat(qtcCategory));
static cl::opt<std::string> targetTriple(
    "target-triple", cl::desc("Target triple (default: the host)"),
    cl::sub(compileCmd), cl::cat(qtcCategory));
static cl::opt<std::string> targetCPU(
    "target-cpu", cl::desc("Target CPU (default: the host's)"),
    cl::sub(compileCmd), cl::cat(qtcCategory));
static cl::opt<std::string> targetFeatures(
    "target-features",
    cl::desc("Target features, e.g. +avx2,+fma (default: the host's)"),
    cl::sub(compileCmd), cl::cat(qtcCategory));

static cl::SubCommand runCmd("run", "Run a shared library built by qtc compile");
static cl::opt<std::string> artifact(cl::Positional, cl::desc("<model.so>"),
                                     cl::Required, cl::sub(runCmd), cl::cat(qtcCategory));
static cl::list<std::string> runInputs("input",
                                       cl::desc("An input: NAME=FILE.npy"),
                                       cl::value_desc("NAME=FILE.npy"),
                                       cl::sub(runCmd), cl::cat(qtcCategory));
static cl::opt<std::string> outputDir("output-dir",
                                      cl::desc("Where each output NAME.npy goes"),
                                      cl::init("."), cl::sub(runCmd), cl::cat(qtcCategory));
static cl::opt<unsigned> benchRuns("bench",
                                   cl::desc("Run N more times and print min/median/max latency"),
                                   cl::init(0), cl::sub(runCmd), cl::cat(qtcCategory));
static cl::list<std::string> dims("dim",
                                  cl::desc("ONNX: bind a dim_param to a size (NAME=SIZE)"),
                                  cl::value_desc("NAME=SIZE"), cl::sub(compileCmd), cl::cat(qtcCategory));
static cl::list<std::string> shapes("input-shape",
                                    cl::desc("ONNX: bind an input's dims (NAME=d0,d1,...)"),
                                    cl::value_desc("NAME=DIMS"), cl::sub(compileCmd), cl::cat(qtcCategory));
static cl::opt<int64_t> batch("batch", cl::desc("Checkpoint: static batch size"),
                              cl::init(-1), cl::sub(compileCmd), cl::cat(qtcCategory));
static cl::opt<int64_t> seq("seq", cl::desc("Checkpoint: static number of new tokens"),
                            cl::init(-1), cl::sub(compileCmd), cl::cat(qtcCategory));
static cl::opt<int64_t> past("past", cl::desc("Checkpoint: static number of cached tokens"),
                             cl::init(-1), cl::sub(compileCmd), cl::cat(qtcCategory));
static cl::opt<bool> strictFP(
    "strict-fp",
    cl::desc("Keep the source order of floating-point sums and no FMA "
             "contraction (slower; by default sums may be reassociated)"),
    cl::sub(compileCmd), cl::cat(qtcCategory));
static cl::opt<bool> quiet("quiet", cl::desc("Do not print progress"),
                           cl::sub(compileCmd), cl::cat(qtcCategory));

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

using qtc::Port;
using qtc::shapeString;

static std::string dtypeOf(mlir::Type t) {
  if (t.isF64()) return "float64";
  if (t.isF32()) return "float32";
  if (t.isF16()) return "float16";
  if (t.isBF16()) return "bfloat16";
  if (t.isInteger(64)) return "int64";
  if (t.isInteger(32)) return "int32";
  if (t.isInteger(16)) return "int16";
  if (t.isInteger(8)) return "int8";
  if (t.isInteger(1)) return "bool";
  return "";
}

/// The entry's ports; an error if a shape is dynamic or a type unknown.
static llvm::Error describe(mlir::func::FuncOp f, std::vector<Port> &ins,
                            std::vector<Port> &outs) {
  auto port = [&](mlir::Type t, mlir::DictionaryAttr attrs, const char *what,
                  unsigned i) -> llvm::Expected<Port> {
    auto rt = llvm::dyn_cast<mlir::RankedTensorType>(t);
    Port p;
    if (attrs)
      for (llvm::StringRef key : {"onnx.name", "hf.name"})
        if (auto n = attrs.getAs<mlir::StringAttr>(key))
          p.name = n.str();
    if (p.name.empty())
      p.name = std::string(what) + std::to_string(i);
    if (!rt || !rt.hasStaticShape())
      return llvm::createStringError(
          model + ": " + what + " '" + p.name + "' has a dynamic shape; " +
          "object and shared outputs need static shapes (bind them with " +
          "--dim / --input-shape, or --batch / --seq / --past)");
    p.dtype = dtypeOf(rt.getElementType());
    if (p.dtype.empty())
      return llvm::createStringError(model + ": " + what + " '" + p.name +
                                     "' has an unsupported element type");
    p.shape.assign(rt.getShape().begin(), rt.getShape().end());
    return p;
  };
  for (unsigned i = 0; i < f.getNumArguments(); ++i) {
    auto p = port(f.getArgument(i).getType(), f.getArgAttrDict(i), "input", i);
    if (!p)
      return p.takeError();
    ins.push_back(*p);
  }
  for (unsigned i = 0; i < f.getNumResults(); ++i) {
    auto p = port(f.getResultTypes()[i], f.getResultAttrDict(i), "output", i);
    if (!p)
      return p.takeError();
    outs.push_back(*p);
  }
  return llvm::Error::success();
}

/// The JSON sidecar `qtc run` reads.
static std::string describeJSON(llvm::StringRef entry, const std::vector<Port> &ins,
                                const std::vector<Port> &outs) {
  llvm::json::Array in, out;
  for (const Port &p : ins)
    in.push_back(llvm::json::Object{{"name", p.name}, {"dtype", p.dtype},
                                    {"shape", llvm::json::Array(p.shape)}});
  for (const Port &p : outs)
    out.push_back(llvm::json::Object{{"name", p.name}, {"dtype", p.dtype},
                                     {"shape", llvm::json::Array(p.shape)}});
  llvm::json::Object root{{"entry", entry}, {"inputs", std::move(in)},
                          {"outputs", std::move(out)}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
  return text;
}

static std::string cHeader(const std::vector<Port> &ins,
                           const std::vector<Port> &outs) {
  std::string h =
      "/* Generated by qtc compile. */\n#ifndef QTC_MODEL_H\n#define "
      "QTC_MODEL_H\n#include <stdint.h>\n\n"
      "/* A strided buffer of rank R: as MLIR's memref descriptors. */\n"
      "#define QTC_MEMREF(R) struct { void *allocated; void *aligned; "
      "int64_t offset; int64_t sizes[R]; int64_t strides[R]; }\n\n"
      "/* Runs the model. args[i] points to a QTC_MEMREF descriptor: the "
      "inputs,\n   then the outputs (preallocated by the caller), in this "
      "order:\n";
  unsigned i = 0;
  for (const Port &p : ins)
    h += "     args[" + std::to_string(i++) + "] input  " + p.name + ": " +
         p.dtype + " " + shapeString(p.shape) + "\n";
  for (const Port &p : outs)
    h += "     args[" + std::to_string(i++) + "] output " + p.name + ": " +
         p.dtype + " " + shapeString(p.shape) + "\n";
  h += "*/\nvoid qtc_model_run(void **args);\n\n#endif\n";
  return h;
}

static std::unique_ptr<llvm::TargetMachine> targetMachine(std::string &error) {
  std::string triple =
      targetTriple.empty() ? llvm::sys::getDefaultTargetTriple() : targetTriple;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(llvm::Triple(triple), error);
  if (!target)
    return nullptr;
  std::string cpu = targetCPU;
  std::string features = targetFeatures;
  if (targetTriple.empty()) {
    if (cpu.empty())
      cpu = llvm::sys::getHostCPUName().str();
    if (features.empty()) {
      llvm::SubtargetFeatures f;
      for (auto &entry : llvm::sys::getHostCPUFeatures())
        f.AddFeature(entry.first(), entry.second);
      features = f.getString();
    }
  }
  llvm::TargetOptions options;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      llvm::Triple(triple), cpu, features, options, llvm::Reloc::PIC_));
}

static int compile() {
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  mlir::MLIRContext context(registry);
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
  auto entryFunc = module->lookupSymbol<mlir::func::FuncOp>("main");
  std::vector<Port> ins, outs;
  bool native = emit != Emit::MLIR;
  if (native) {
    if (llvm::Error e = describe(entryFunc, ins, outs))
      return fail(llvm::toString(std::move(e)));
    // A C entry `_mlir_ciface_main` over memref descriptors.
    entryFunc->setAttr("llvm.emit_c_interface",
                       mlir::UnitAttr::get(&context));
  }
  {
    Stage stage(native ? "qt-cpu-pipeline" : "qt-normalize-pipeline");
    mlir::PassManager pm(&context);
    if (native) {
      if (mlir::failed(mlir::qt::buildCPUPipeline(pm))) {
        stage.abort();
        return fail("qt-cpu-pipeline could not be built");
      }
    } else {
      mlir::qt::buildNormalizePipeline(pm);
    }
    if (mlir::failed(pm.run(*module))) {
      stage.abort();
      return fail(model + ": the " +
                  (native ? "qt-cpu-pipeline" : "normalize stage") +
                  " failed");
    }
  }
  std::string stem =
      llvm::sys::path::stem(llvm::StringRef(model).rtrim("/")).str();
  auto defaultOut = [&](llvm::StringRef ext) {
    return output.empty() ? stem + ext.str() : output.getValue();
  };
  auto writeText = [&](const std::string &path, llvm::function_ref<void(llvm::raw_ostream &)> fn) -> bool {
    std::error_code ec;
    llvm::ToolOutputFile file(path, ec, llvm::sys::fs::OF_None);
    if (ec) {
      fail("cannot write '" + path + "': " + ec.message());
      return false;
    }
    fn(file.os());
    file.keep();
    return true;
  };
  if (emit == Emit::MLIR || emit == Emit::LLVMDialect) {
    std::string out = defaultOut(".mlir");
    Stage stage("writing " + out);
    if (!writeText(out, [&](llvm::raw_ostream &os) {
          module->print(os, mlir::OpPrintingFlags());
          os << "\n";
        })) {
      stage.abort();
      return 1;
    }
    return 0;
  }
  // LLVM IR and machine code.
  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargets();
  llvm::InitializeAllTargetMCs();
  llvm::InitializeAllAsmPrinters();
  std::string error;
  std::unique_ptr<llvm::TargetMachine> tm = targetMachine(error);
  if (!tm)
    return fail("target: " + error);
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule;
  {
    Stage stage("translating to LLVM IR");
    llvmModule = mlir::translateModuleToLLVMIR(*module, llvmContext);
    if (!llvmModule) {
      stage.abort();
      return fail(model + ": translation to LLVM IR failed");
    }
    llvmModule->setTargetTriple(tm->getTargetTriple());
    llvmModule->setDataLayout(tm->createDataLayout());
  }
  {
    Stage stage("optimizing (O3)");
    if (!strictFP) {
      // Sums may be reassociated and multiply-adds contracted, so the
      // vectorizer can split reductions into lanes and use FMA.
      for (llvm::Function &fn : *llvmModule)
        for (llvm::Instruction &inst : llvm::instructions(fn))
          if (llvm::isa<llvm::FPMathOperator>(inst)) {
            inst.setHasAllowReassoc(true);
            inst.setHasAllowContract(true);
          }
    }
    if (llvm::Error e = mlir::makeOptimizingTransformer(3, 0, tm.get())(
            llvmModule.get())) {
      stage.abort();
      return fail(llvm::toString(std::move(e)));
    }
  }
  if (emit == Emit::LLVMIR) {
    std::string out = defaultOut(".ll");
    Stage stage("writing " + out);
    if (!writeText(out, [&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); })) {
      stage.abort();
      return 1;
    }
    return 0;
  }
  std::string objPath = emit == Emit::Object ? defaultOut(".o") : "";
  llvm::SmallString<128> tmpObj;
  if (emit == Emit::Shared) {
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile("qtc", "o", tmpObj))
      return fail("cannot create a temporary file: " + ec.message());
    objPath = tmpObj.str().str();
  }
  {
    Stage stage("emitting " + objPath + " (" + tm->getTargetTriple().str() +
                ", " + tm->getTargetCPU().str() + ")");
    std::error_code ec;
    llvm::ToolOutputFile file(objPath, ec, llvm::sys::fs::OF_None);
    if (ec) {
      stage.abort();
      return fail("cannot write '" + objPath + "': " + ec.message());
    }
    llvm::legacy::PassManager codegen;
    if (tm->addPassesToEmitFile(codegen, file.os(), nullptr,
                                llvm::CodeGenFileType::ObjectFile)) {
      stage.abort();
      return fail("the target cannot emit object files");
    }
    codegen.run(*llvmModule);
    file.keep();
  }
  if (emit == Emit::Object)
    return 0;

  // Shared library: the object plus a trampoline with a fixed signature.
  std::string so = defaultOut(".so");
  std::string base = so.size() > 3 && llvm::StringRef(so).ends_with(".so")
                         ? so.substr(0, so.size() - 3)
                         : so;
  size_t arity = ins.size() + outs.size();
  std::string trampoline =
      "void _mlir_ciface_main(" +
      [&] {
        std::string a;
        for (size_t i = 0; i < arity; ++i)
          a += (i ? ", " : "") + std::string("void *");
        return a;
      }() +
      ");\nvoid qtc_model_run(void **args) {\n  _mlir_ciface_main(" +
      [&] {
        std::string a;
        for (size_t i = 0; i < arity; ++i)
          a += (i ? ", " : "") + std::string("args[") + std::to_string(i) + "]";
        return a;
      }() +
      ");\n}\n";
  llvm::SmallString<128> cPath;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("qtc_entry", "c", cPath))
    return fail("cannot create a temporary file: " + ec.message());
  if (!writeText(cPath.str().str(), [&](llvm::raw_ostream &os) { os << trampoline; }))
    return 1;
  {
    Stage stage("linking " + so);
    llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
    if (!cc) {
      stage.abort();
      return fail("--emit shared needs a C compiler ('cc') on PATH");
    }
    // The runtime archive sits in ../lib next to this executable.
    std::string exe = llvm::sys::fs::getMainExecutable(nullptr, nullptr);
    llvm::SmallString<256> runtimeLib(llvm::sys::path::parent_path(
        llvm::sys::path::parent_path(exe)));
    llvm::sys::path::append(runtimeLib, "lib", "libqtc_runtime.a");
    if (!llvm::sys::fs::exists(runtimeLib)) {
      stage.abort();
      return fail("the qtc runtime is missing: " + runtimeLib.str().str());
    }
    llvm::SmallVector<llvm::StringRef> argv = {
        *cc, "-shared", "-fPIC", "-O2", "-o", so, objPath, cPath,
        runtimeLib, "-lm"};
    std::string message;
    if (llvm::sys::ExecuteAndWait(*cc, argv, std::nullopt, {}, 0, 0, &message)) {
      stage.abort();
      return fail("linking failed: " + message);
    }
  }
  llvm::sys::fs::remove(objPath);
  llvm::sys::fs::remove(cPath);
  if (!writeText(base + ".h", [&](llvm::raw_ostream &os) { os << cHeader(ins, outs); }) ||
      !writeText(base + ".json", [&](llvm::raw_ostream &os) {
        os << describeJSON("qtc_model_run", ins, outs);
      }))
    return 1;
  if (!quiet)
    llvm::errs() << "qtc: wrote " << so << ", " << base << ".h, " << base
                 << ".json\n";
  return 0;
}

//===----------------------------------------------------------------------===//
// qtc run
//===----------------------------------------------------------------------===//


static int runArtifact() {
  llvm::Expected<qtc::CompiledModel> model = qtc::CompiledModel::load(artifact);
  if (!model)
    return fail(llvm::toString(model.takeError()));
  llvm::StringMap<qtc::Array> given;
  for (const std::string &spec : runInputs) {
    auto [name, file] = llvm::StringRef(spec).split('=');
    if (file.empty())
      return fail("--input expects NAME=FILE.npy (got '" + spec + "')");
    llvm::Expected<qtc::Array> a = qtc::readNpy(file);
    if (!a)
      return fail(llvm::toString(a.takeError()));
    given[name] = std::move(*a);
  }
  llvm::Expected<std::vector<qtc::Array>> inputs = model->bind(std::move(given));
  if (!inputs)
    return fail(llvm::toString(inputs.takeError()));
  std::vector<qtc::Array> outputs = model->allocateOutputs();
  auto time = [&] {
    auto t0 = std::chrono::steady_clock::now();
    model->run(*inputs, outputs);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
        .count();
  };
  double first = time();
  llvm::sys::fs::create_directories(outputDir);
  for (auto [p, a] : llvm::zip(model->outputs(), outputs)) {
    llvm::SmallString<256> path(outputDir.getValue());
    llvm::sys::path::append(path, p.name + ".npy");
    if (llvm::Error e = qtc::writeNpy(path, a))
      return fail(llvm::toString(std::move(e)));
    llvm::outs() << "output " << p.name << ": " << p.dtype << " "
                 << shapeString(p.shape) << " -> " << path << "\n";
  }
  llvm::outs() << llvm::format("first run: %.3f ms\n", first);
  if (benchRuns) {
    std::vector<double> t;
    for (unsigned i = 0; i < benchRuns; ++i)
      t.push_back(time());
    std::sort(t.begin(), t.end());
    llvm::outs() << llvm::format(
        "latency over %u runs: min %.3f ms, median %.3f ms, max %.3f ms\n",
        benchRuns.getValue(), t.front(), t[t.size() / 2], t.back());
  }
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // The CPU pipeline names its upstream stages textually.
  mlir::registerAllPasses();
  mlir::qt::registerQTPasses();
  mlir::registerAsmPrinterCLOptions();
  // --help shows qtc's own options, not every LLVM and MLIR flag.
  cl::HideUnrelatedOptions(qtcCategory);
  cl::HideUnrelatedOptions(qtcCategory, compileCmd);
  cl::HideUnrelatedOptions(qtcCategory, runCmd);
  cl::ParseCommandLineOptions(
      argc, argv,
      "qtc: compiler for quantized transformer models\n\n"
      "  qtc compile model.onnx -o model.mlir\n"
      "  qtc compile model.onnx --dim batch=1 --dim sequence=8 --emit shared "
      "-o model.so\n"
      "  qtc compile path/to/hf-checkpoint --batch 1 --seq 8 --past 0 --emit "
      "shared\n"
      "  qtc run model.so --input input_ids=ids.npy --output-dir out --bench "
      "20\n");
  if (compileCmd)
    return compile();
  if (runCmd)
    return runArtifact();
  return fail("expected a command: compile or run (see qtc --help)");
}
