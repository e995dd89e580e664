//===- qtc.cpp - the qtc compiler driver ----------------------------------===//
//
//   qtc compile MODEL [-o OUT] [--emit llvm|obj|shared|exe]
//                     [--compile-to import|normalize|quantize|lowered|llvm]
//   qtc run MODEL.so --input NAME=FILE.npy ... [--output-dir DIR] [--bench N]
//   qtc eval REFERENCE.so CANDIDATE.so --inputs FILE.npz
//
// Flag parsing only: compile's options come from the compiler library's
// option table (compiler/Options.h), the same keys the C API and Python
// take, and every phase runs in compiler/Compiler.cpp.
//
//===----------------------------------------------------------------------===//

#include "compiler/Compiler.h"
#include "compiler/Model.h"
#include "compiler/Registration.h"
#include "tools/qtc/Generate.h"
#include "compiler/generate/Generator.h"
#include "quant/Npy.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <thread>

namespace cl = llvm::cl;

static cl::OptionCategory qtcCategory("qtc options");
static cl::OptionCategory quantCategory("quantization (qtc compile)");

static cl::SubCommand compileCmd("compile",
                                 "Compile an ONNX model, a Hugging Face "
                                 "checkpoint directory or a .mlir file");
static cl::SubCommand generateCmd(
    "generate", "Generate text from a GGUF file: the prompt's continuation "
                "streamed as it is produced, then the tokens/s");
static cl::SubCommand evalCmd(
    "eval", "Compare a candidate model's outputs (say, quantized) with a "
            "reference's (say, fp32) on the same inputs, or a GGUF model's "
            "perplexity on a text (--perplexity)");
static cl::opt<std::string> model(cl::Positional,
                                  cl::desc("<model.onnx | checkpoint dir | model.mlir>"),
                                  cl::Required, cl::sub(compileCmd), cl::cat(qtcCategory));
static cl::opt<std::string> output("o", cl::desc("Output file (default: MODEL name + extension)"),
                                   cl::value_desc("file"), cl::sub(compileCmd), cl::cat(qtcCategory));
enum class Emit { MLIR, LLVMDialect, LLVMIR, Object, Shared, Exe };
static cl::opt<Emit> emit(
    "emit", cl::desc("What to produce"), cl::init(Emit::MLIR),
    cl::values(
        clEnumValN(Emit::MLIR, "mlir",
                   "qt + upstream MLIR, normalized and quantized: the input "
                   "of the target's pipeline (as --compile-to=quantize)"),
        clEnumValN(Emit::LLVMDialect, "llvm-mlir",
                   "the LLVM dialect after qt-cpu-pipeline (as "
                   "--compile-to=llvm)"),
        clEnumValN(Emit::LLVMIR, "llvm", "LLVM IR (.ll), optimized"),
        clEnumValN(Emit::Object, "obj", "an object file for the target"),
        clEnumValN(Emit::Shared, "shared",
                   "a shared library with the entry NAME_run, a C header "
                   "and a JSON description (linked with 'cc')"),
        clEnumValN(Emit::Exe, "exe",
                   "a standalone program: PROG NAME=FILE.npy ... "
                   "[--output-dir DIR] [--bench N] (linked with 'cc')")),
    cl::sub(compileCmd), cl::cat(qtcCategory));
static cl::opt<std::string> compileTo(
    "compile-to",
    cl::desc("Stop after a phase and write the module as MLIR: import, "
             "normalize, quantize (the target pipeline's input), lowered "
             "(loops on buffers) or llvm (the LLVM dialect, exactly what "
             "`qtc-opt --qt-cpu-pipeline=...` gives; see --print-pipeline)"),
    cl::value_desc("PHASE"), cl::sub(compileCmd), cl::cat(qtcCategory));
static cl::opt<bool> printPipeline(
    "print-pipeline",
    cl::desc("Print the target pipeline with every option resolved, as "
             "qtc-opt replays it, and the passes it expands to; then exit"),
    cl::sub(compileCmd), cl::cat(qtcCategory));
static cl::opt<bool> quiet("quiet", cl::desc("Do not print progress"),
                           cl::sub(compileCmd), cl::cat(qtcCategory));

/// compile's options from the compiler's table: one flag per key.
static std::vector<std::unique_ptr<cl::Option>> compileOptions;
static void registerCompileOptions() {
  // generate and eval --perplexity compile too, with the same options but
  // the shapes (theirs), the output's and the search seed (generate's
  // --seed samples).
  static const llvm::StringLiteral compileOnly[] = {
      "dim", "input-shape", "batch", "seq", "past", "name", "weights", "seed"};
  for (const qtc::OptionInfo &o : qtc::compilerOptionTable()) {
    cl::OptionCategory &cat =
        o.group == qtc::OptionGroup::Quantization ? quantCategory : qtcCategory;
    std::unique_ptr<cl::Option> opt;
    switch (o.kind) {
    case qtc::OptionKind::Flag:
      opt = std::make_unique<cl::opt<bool>>(llvm::StringRef(o.key),
                                            cl::desc(o.help),
                                            cl::sub(compileCmd), cl::cat(cat));
      break;
    case qtc::OptionKind::Value:
      opt = std::make_unique<cl::opt<std::string>>(
          llvm::StringRef(o.key), cl::desc(o.help), cl::value_desc(o.valueName),
          cl::sub(compileCmd), cl::cat(cat));
      break;
    case qtc::OptionKind::List:
      opt = std::make_unique<cl::list<std::string>>(
          llvm::StringRef(o.key), cl::desc(o.help), cl::value_desc(o.valueName),
          cl::sub(compileCmd), cl::cat(cat));
      break;
    }
    if (!llvm::is_contained(compileOnly, llvm::StringRef(o.key))) {
      opt->removeArgument();
      opt->addSubCommand(generateCmd);
      opt->addSubCommand(evalCmd);
      opt->addArgument();
    }
    compileOptions.push_back(std::move(opt));
  }
}

/// The flags given on the command line, as compiler options.
static llvm::Error collectCompileOptions(qtc::CompilerOptions &options) {
  for (auto [info, flag] : llvm::zip(qtc::compilerOptionTable(), compileOptions)) {
    if (!flag->getNumOccurrences())
      continue;
    llvm::Error e = llvm::Error::success();
    switch (info.kind) {
    case qtc::OptionKind::Flag:
      e = options.set(info.key,
                      static_cast<cl::opt<bool> &>(*flag) ? "true" : "false");
      break;
    case qtc::OptionKind::Value:
      e = options.set(info.key, static_cast<cl::opt<std::string> &>(*flag));
      break;
    case qtc::OptionKind::List:
      for (const std::string &v : static_cast<cl::list<std::string> &>(*flag))
        if ((e = options.set(info.key, v)))
          break;
      break;
    }
    if (e)
      return e;
  }
  return llvm::Error::success();
}

static cl::opt<std::string> genModel(cl::Positional, cl::desc("<model.gguf>"),
                                     cl::Required, cl::sub(generateCmd),
                                     cl::cat(qtcCategory));
static cl::opt<std::string> genPrompt("prompt", cl::desc("The text to continue"),
                                      cl::value_desc("TEXT"), cl::Required,
                                      cl::sub(generateCmd), cl::cat(qtcCategory));
static cl::opt<int64_t> genTokens("n", cl::desc("Tokens to generate at most (default 128)"),
                                  cl::init(128), cl::sub(generateCmd),
                                  cl::cat(qtcCategory));
static cl::opt<double> genTemperature(
    "temperature", cl::desc("Sampling temperature; 0 picks the most likely "
                            "token (default 0: greedy)"),
    cl::init(0.0), cl::sub(generateCmd), cl::cat(qtcCategory));
static cl::opt<int64_t> genTopK("top-k", cl::desc("Sample among the K most likely tokens (0: all)"),
                                cl::init(0), cl::sub(generateCmd), cl::cat(qtcCategory));
static cl::opt<double> genTopP("top-p", cl::desc("Sample among the most likely tokens whose probabilities reach P (default 1: all)"),
                               cl::init(1.0), cl::sub(generateCmd), cl::cat(qtcCategory));
static cl::opt<double> genMinP("min-p", cl::desc("Drop tokens less likely than P times the most likely one (default 0)"),
                               cl::init(0.0), cl::sub(generateCmd), cl::cat(qtcCategory));
static cl::opt<double> genRepeat("repeat-penalty",
                                 cl::desc("Penalize tokens of the last 64 (default 1: off)"),
                                 cl::init(1.0), cl::sub(generateCmd), cl::cat(qtcCategory));
static cl::opt<uint64_t> genSeed("seed", cl::desc("Sampling seed (default 0); the same seed gives the same text"),
                                 cl::init(0), cl::sub(generateCmd), cl::cat(qtcCategory));
static cl::opt<bool> genChat("chat", cl::desc("Wrap the prompt in the model's chat template (ChatML, Llama 3, Gemma, Phi-3, [INST])"),
                             cl::sub(generateCmd), cl::cat(qtcCategory));
static cl::opt<bool> genEcho("echo", cl::desc("Print the prompt before its continuation"),
                             cl::sub(generateCmd), cl::cat(qtcCategory));
static cl::list<std::string> genStop("stop", cl::desc("Stop when the text ends with this (repeatable)"),
                                     cl::value_desc("TEXT"), cl::sub(generateCmd),
                                     cl::cat(qtcCategory));
static cl::opt<int64_t> genChunk("prefill-chunk",
                                 cl::desc("Prompt tokens per call (a second compiled entry; default 32)"),
                                 cl::init(32), cl::sub(generateCmd), cl::cat(qtcCategory));
static cl::opt<bool> genVerbose("verbose", cl::desc("Print the compiler's progress"),
                                cl::sub(generateCmd), cl::cat(qtcCategory));
static cl::opt<bool> genNoCache(
    "no-cache",
    cl::desc("Compile in process every time: neither read nor write the "
             "artifact cache"),
    cl::sub(generateCmd), cl::sub(evalCmd), cl::cat(qtcCategory));
static cl::opt<std::string> genCacheDir(
    "cache-dir",
    cl::desc("Folder of compiled artifacts, reused by later runs with the "
             "same model and options (default $QTC_CACHE_DIR, else "
             "$XDG_CACHE_HOME/qtc, else ~/.cache/qtc)"),
    cl::value_desc("DIR"), cl::sub(generateCmd), cl::sub(evalCmd),
    cl::cat(qtcCategory));

static cl::SubCommand runCmd("run", "Run a shared library built by qtc compile");
static cl::list<std::string> evalModels(cl::Positional, cl::desc("<reference.so> <candidate.so> | <model.gguf> --perplexity FILE.txt"),
                                        cl::OneOrMore, cl::sub(evalCmd), cl::cat(qtcCategory));
static cl::opt<std::string> evalPerplexity(
    "perplexity",
    cl::desc("Perplexity of a GGUF model on a text file, as llama-perplexity "
             "measures it (non-overlapping windows of --context tokens, each "
             "scored on its second half), and the plain cross-entropy"),
    cl::value_desc("FILE.txt"), cl::sub(evalCmd), cl::cat(qtcCategory));
static cl::opt<int64_t> evalContext("context",
                                    cl::desc("--perplexity: tokens per window (default 512)"),
                                    cl::init(512), cl::sub(evalCmd), cl::cat(qtcCategory));
static cl::opt<int64_t> evalChunks("chunks",
                                   cl::desc("--perplexity: windows to score at most (default: all)"),
                                   cl::init(0), cl::sub(evalCmd), cl::cat(qtcCategory));
static cl::opt<std::string> evalJSON("json", cl::desc("Also write the figures as JSON"),
                                     cl::value_desc("FILE.json"), cl::sub(evalCmd),
                                     cl::cat(qtcCategory));
static cl::opt<std::string> artifact(cl::Positional, cl::desc("<model.so>"),
                                     cl::Required, cl::sub(runCmd), cl::cat(qtcCategory));
static cl::list<std::string> runInputs("input",
                                       cl::desc("An input: NAME=FILE.npy"),
                                       cl::value_desc("NAME=FILE.npy"),
                                       cl::sub(runCmd), cl::sub(evalCmd), cl::cat(qtcCategory));
static cl::opt<std::string> inputsNpz("inputs",
                                      cl::desc("All inputs from one .npz (one array per input name)"),
                                      cl::value_desc("FILE.npz"), cl::sub(runCmd),
                                      cl::sub(evalCmd), cl::cat(qtcCategory));
static cl::opt<std::string> outputDir("output-dir",
                                      cl::desc("Where each output NAME.npy goes"),
                                      cl::init("."), cl::sub(runCmd), cl::cat(qtcCategory));
static cl::opt<std::string> runWeights(
    "weights",
    cl::desc("The weights side file of a model compiled with --weights "
             "external (default: MODEL.weights next to MODEL.so)"),
    cl::value_desc("FILE.weights"), cl::sub(runCmd), cl::cat(qtcCategory));
static cl::opt<unsigned> benchRuns("bench",
                                   cl::desc("Run N more times and print min/median/max latency"),
                                   cl::init(0), cl::sub(runCmd), cl::cat(qtcCategory));
static cl::opt<std::string> compareOnnx(
    "compare-onnxruntime",
    cl::desc("Also run MODEL.onnx in onnxruntime (through python3; "
             "$QTC_PYTHON picks another) on the same inputs and thread "
             "count: the outputs' largest difference and, with --bench, "
             "onnxruntime's latency next to qtc's"),
    cl::value_desc("MODEL.onnx"), cl::sub(runCmd), cl::cat(qtcCategory));
static cl::opt<unsigned> threadsFlag(
    "threads",
    cl::desc("Threads of the model's parallel loops (default: "
             "QTC_NUM_THREADS, else every online processor)"),
    cl::init(0), cl::sub(runCmd), cl::sub(evalCmd), cl::sub(generateCmd),
    cl::cat(qtcCategory));

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "qtc") << message << "\n";
  return 1;
}

using qtc::Port;
using qtc::shapeString;

//===----------------------------------------------------------------------===//
// qtc compile
//===----------------------------------------------------------------------===//

static int compile() {
  qtc::CompilerOptions options;
  if (llvm::Error e = collectCompileOptions(options))
    return fail(llvm::toString(std::move(e)));
  if (llvm::Error e = options.validate())
    return fail(llvm::toString(std::move(e)));
  std::optional<qtc::Phase> stop;
  if (!compileTo.empty()) {
    stop = qtc::parsePhase(compileTo);
    if (!stop)
      return fail("--compile-to expects " + llvm::Twine(qtc::phaseNames()) +
                  " (got '" + compileTo + "')");
    if (emit.getNumOccurrences() && emit != Emit::MLIR && emit != Emit::LLVMDialect)
      return fail("--compile-to writes MLIR; it cannot be combined with "
                  "--emit llvm, obj, shared or exe");
  } else if (emit == Emit::MLIR) {
    stop = qtc::Phase::Quantize;
  } else if (emit == Emit::LLVMDialect) {
    stop = qtc::Phase::LLVM;
  }
  if (options.externalWeights && stop)
    return fail("--weights external needs --emit llvm, obj, shared or exe "
                "(the weights leave the module after lowering)");

  qtc::Compiler compiler(options, quiet ? nullptr : &llvm::errs(),
                         &llvm::errs());
  compiler.setPassManagerHook([](mlir::PassManager &pm) {
    mlir::applyDefaultTimingPassManagerCLOptions(pm);
    return mlir::applyPassManagerCLOptions(pm);
  });
  if (printPipeline) {
    llvm::Expected<std::string> resolved = compiler.pipelineOptions();
    if (!resolved)
      return fail(llvm::toString(resolved.takeError()));
    llvm::Expected<std::string> passes = compiler.pipelineText();
    if (!passes)
      return fail(llvm::toString(passes.takeError()));
    llvm::outs() << "# The lowering, as qtc-opt replays it on the output of "
                    "--compile-to=" << (options.quantizing() || options.kvCacheBits
                                           ? "quantize" : "import")
                 << ":\nqtc-opt --qt-cpu-pipeline='" << *resolved
                 << "'\n# which runs:\n" << *passes << "\n";
    return 0;
  }

  llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>> module = compiler.import(model);
  if (!module)
    return fail(llvm::toString(module.takeError()));
  std::string stem =
      llvm::sys::path::stem(llvm::StringRef(model).rtrim("/")).str();
  std::string out = output;
  if (stop) {
    if (out.empty())
      out = stem + ".mlir";
    if (llvm::Error e = compiler.runPhases(**module, *stop))
      return fail(llvm::toString(std::move(e)));
    std::error_code ec;
    llvm::ToolOutputFile file(out, ec, llvm::sys::fs::OF_None);
    if (ec)
      return fail("cannot write '" + out + "': " + ec.message());
    // With locations: they name the model's nodes, and the next phase
    // (qt-outline-layers) reads the layers from them, so a replay from this
    // file runs the same as the compile.
    (*module)->print(file.os(),
                     mlir::OpPrintingFlags().enableDebugInfo(true, false));
    file.os() << "\n";
    file.keep();
    if (!quiet)
      llvm::errs() << "qtc: wrote " << out << "\n";
    return 0;
  }
  qtc::EmitKind kind = emit == Emit::LLVMIR   ? qtc::EmitKind::LLVMIR
                       : emit == Emit::Object ? qtc::EmitKind::Object
                       : emit == Emit::Exe    ? qtc::EmitKind::Exe
                                              : qtc::EmitKind::Shared;
  if (out.empty())
    out = stem + (kind == qtc::EmitKind::LLVMIR   ? ".ll"
                  : kind == qtc::EmitKind::Object ? ".o"
                  : kind == qtc::EmitKind::Exe    ? ""
                                                  : ".so");
  if (llvm::Error e = compiler.emitFile(**module, kind, out))
    return fail(llvm::toString(std::move(e)));
  if (!quiet) {
    if (kind == qtc::EmitKind::Shared) {
      std::string base = llvm::StringRef(out).ends_with(".so")
                             ? out.substr(0, out.size() - 3)
                             : out;
      llvm::errs() << "qtc: wrote " << out << ", " << base << ".h, " << base
                   << ".json\n";
    } else if (kind == qtc::EmitKind::Exe) {
      llvm::errs() << "qtc: wrote " << out << " (run it with --help)\n";
    } else {
      llvm::errs() << "qtc: wrote " << out << "\n";
    }
  }
  return 0;
}

//===----------------------------------------------------------------------===//
//===----------------------------------------------------------------------===//
// qtc run
//===----------------------------------------------------------------------===//


/// The arrays of --inputs FILE.npz and --input NAME=FILE.npy, by name.
static llvm::Expected<llvm::StringMap<qtc::Array>> givenInputs() {
  llvm::StringMap<qtc::Array> given;
  if (!inputsNpz.empty()) {
    auto npz = qtc::readNpz(inputsNpz);
    if (!npz)
      return npz.takeError();
    for (auto &[name, a] : *npz)
      given[name] = std::move(a);
  }
  for (const std::string &spec : runInputs) {
    auto [name, file] = llvm::StringRef(spec).split('=');
    if (file.empty())
      return llvm::createStringError("--input expects NAME=FILE.npy (got '" +
                                     spec + "')");
    llvm::Expected<qtc::Array> a = qtc::readNpy(file);
    if (!a)
      return a.takeError();
    given[name] = std::move(*a);
  }
  return given;
}

/// --compare-onnxruntime: runs share/qtc/onnxruntime_peer.py (next to the
/// runtime qtc links) on the inputs just run, the outputs just written and
/// qtc's median latency (negative without --bench).
static int compareWithOnnxruntime(const qtc::Model &model,
                                  const std::vector<qtc::Array> &inputs,
                                  double qtcMedian) {
  std::string exe = llvm::sys::fs::getMainExecutable(nullptr, nullptr);
  llvm::SmallString<256> script(llvm::sys::path::parent_path(
      llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(script, "share", "qtc", "onnxruntime_peer.py");
  if (!llvm::sys::fs::exists(script))
    return fail("--compare-onnxruntime: " + script.str().str() +
                " is missing (rebuild qtc: it is copied to build/share/qtc)");
  const char *pythonEnv = std::getenv("QTC_PYTHON");
  llvm::ErrorOr<std::string> python = llvm::sys::findProgramByName(
      pythonEnv && *pythonEnv ? pythonEnv : "python3");
  if (!python)
    return fail("--compare-onnxruntime needs python3 with onnxruntime; none "
                "found on PATH (set QTC_PYTHON)");
  // The inputs as .npy files in a private directory, removed afterwards.
  llvm::SmallString<128> dir;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("qtc-compare", dir))
    return fail("--compare-onnxruntime: cannot create a temporary directory: " +
                ec.message());
  std::vector<std::string> files;
  llvm::scope_exit cleanup([&] {
    for (const std::string &f : files)
      llvm::sys::fs::remove(f);
    llvm::sys::fs::remove(dir);
  });
  // onnxruntime gets the thread count qtc's pool has (or would have: a
  // model without parallel loops links no pool and runs on the caller).
  int threads = model.threads();
  bool pooled = model.description().parallel;
  if (!pooled) {
    const char *env = std::getenv("QTC_NUM_THREADS");
    threads = threadsFlag ? static_cast<int>(threadsFlag)
              : env && std::atoi(env) > 0
                  ? std::atoi(env)
                  : static_cast<int>(std::thread::hardware_concurrency());
  }
  std::vector<std::string> args = {
      *python, script.str().str(), compareOnnx,
      std::to_string(benchRuns.getValue()),
      std::to_string(std::max(threads, 1)) + (pooled ? "" : ":serial"),
      llvm::formatv("{0:F6}", qtcMedian).str(), outputDir};
  for (auto [p, a] : llvm::zip(model.inputs(), inputs)) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, "input" + std::to_string(files.size()) + ".npy");
    if (llvm::Error e = qtc::writeNpy(path, a))
      return fail(llvm::toString(std::move(e)));
    files.push_back(path.str().str());
    args.push_back(p.name + "=" + files.back());
  }
  llvm::SmallVector<llvm::StringRef> argv(args.begin(), args.end());
  std::string message;
  int status = llvm::sys::ExecuteAndWait(*python, argv, std::nullopt, {}, 0, 0,
                                         &message);
  if (status < 0)
    return fail("--compare-onnxruntime: cannot run " + *python + ": " + message);
  return status == 0 ? 0 : 1;
}

static int runArtifact() {
  if (!compareOnnx.empty() && !llvm::sys::fs::exists(compareOnnx.getValue()))
    return fail(compareOnnx + ": no such file (--compare-onnxruntime)");
  llvm::Expected<std::unique_ptr<qtc::Model>> loaded = qtc::Model::load(artifact);
  if (!loaded)
    return fail(llvm::toString(loaded.takeError()));
  qtc::Model *model = loaded->get();
  if (threadsFlag)
    model->setThreads(static_cast<int>(threadsFlag));
  llvm::Expected<llvm::StringMap<qtc::Array>> given = givenInputs();
  if (!given)
    return fail(llvm::toString(given.takeError()));
  llvm::Expected<std::vector<qtc::Array>> inputs =
      qtc::bindInputs(model->inputs(), std::move(*given));
  if (!inputs)
    return fail(llvm::toString(inputs.takeError()));
  if (!runWeights.empty())
    if (llvm::Error e = model->loadWeights(runWeights))
      return fail(llvm::toString(std::move(e)));
  std::vector<qtc::Array> outputs = qtc::allocateArrays(model->outputs());
  auto time = [&] {
    auto t0 = std::chrono::steady_clock::now();
    // Only the first run can fail (mapping external weights).
    llvm::Error e = model->run(*inputs, outputs);
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - t0)
                    .count();
    return std::make_pair(ms, std::move(e));
  };
  double median = -1;
  auto [first, firstError] = time();
  if (firstError)
    return fail(llvm::toString(std::move(firstError)));
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
    for (unsigned i = 0; i < benchRuns; ++i) {
      auto [ms, e] = time();
      // The weights were mapped by the first run; later runs cannot fail.
      llvm::cantFail(std::move(e));
      t.push_back(ms);
    }
    std::sort(t.begin(), t.end());
    median = t[t.size() / 2];
    llvm::outs() << llvm::format(
        "latency over %u runs: min %.3f ms, median %.3f ms, max %.3f ms\n",
        benchRuns.getValue(), t.front(), median, t.back());
  }
  if (compareOnnx.empty())
    return 0;
  llvm::outs().flush();
  return compareWithOnnxruntime(*model, *inputs, median);
}

//===----------------------------------------------------------------------===//
// qtc eval
//===----------------------------------------------------------------------===//

/// Mean next-token cross-entropy (nats) of `logits` [B, S, V] on `ids`
/// [B, S], over positions whose next token is not masked out.
static double nextTokenCrossEntropy(const qtc::Array &logits, const qtc::Array &ids,
                                    const qtc::Array *mask, int64_t &count) {
  int64_t b = logits.shape[0], s = logits.shape[1], v = logits.shape[2];
  const float *l = logits.f32();
  const int64_t *t = reinterpret_cast<const int64_t *>(ids.data.data());
  const int64_t *m = mask ? reinterpret_cast<const int64_t *>(mask->data.data()) : nullptr;
  double total = 0;
  count = 0;
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j + 1 < s; ++j) {
      if (m && !m[i * s + j + 1])
        continue;
      int64_t target = t[i * s + j + 1];
      if (target < 0 || target >= v)
        continue;
      const float *row = l + (i * s + j) * v;
      double mx = row[0];
      for (int64_t k = 1; k < v; ++k)
        mx = std::max(mx, double(row[k]));
      double z = 0;
      for (int64_t k = 0; k < v; ++k)
        z += std::exp(double(row[k]) - mx);
      total += std::log(z) + mx - row[target];
      ++count;
    }
  return count ? total / count : NAN;
}

static int evalArtifacts() {
  if (evalModels.size() != 2)
    return fail("qtc eval expects two models: REFERENCE.so CANDIDATE.so");
  std::vector<std::unique_ptr<qtc::Model>> models;
  for (const std::string &path : evalModels) {
    auto m = qtc::Model::load(path);
    if (!m)
      return fail(llvm::toString(m.takeError()));
    if (threadsFlag)
      (*m)->setThreads(static_cast<int>(threadsFlag));
    models.push_back(std::move(*m));
  }
  const qtc::Model &ref = *models[0], &cand = *models[1];
  auto samePorts = [](const std::vector<Port> &a, const std::vector<Port> &b) {
    return a.size() == b.size() &&
           llvm::all_of(llvm::zip(a, b), [](auto pair) {
             auto &[x, y] = pair;
             return x.name == y.name && x.dtype == y.dtype && x.shape == y.shape;
           });
  };
  if (!samePorts(ref.inputs(), cand.inputs()) || !samePorts(ref.outputs(), cand.outputs()))
    return fail(evalModels[1] + ": its inputs and outputs differ from " +
                evalModels[0] + "'s (compile both from the same model and shapes)");
  llvm::Expected<llvm::StringMap<qtc::Array>> given = givenInputs();
  if (!given)
    return fail(llvm::toString(given.takeError()));
  llvm::Expected<std::vector<qtc::Array>> inputs =
      qtc::bindInputs(ref.inputs(), std::move(*given));
  if (!inputs)
    return fail(llvm::toString(inputs.takeError()));
  std::vector<qtc::Array> refOut = qtc::allocateArrays(ref.outputs()),
                          candOut = qtc::allocateArrays(cand.outputs());
  std::vector<qtc::Array> candIn = *inputs;
  if (llvm::Error e = ref.run(*inputs, refOut))
    return fail(llvm::toString(std::move(e)));
  if (llvm::Error e = cand.run(candIn, candOut))
    return fail(llvm::toString(std::move(e)));
  llvm::json::Array outputsJSON;
  for (auto [p, r, c] : llvm::zip(ref.outputs(), refOut, candOut)) {
    if (p.dtype != "float32")
      continue;
    int64_t n = r.numElements();
    int64_t row = p.shape.empty() ? 1 : p.shape.back();
    const float *x = r.f32(), *y = c.f32();
    double dot = 0, xx = 0, yy = 0, dd = 0, maxAbs = 0;
    double rowCosSum = 0, rowCosMin = 1;
    int64_t rows = 0;
    for (int64_t start = 0; row > 0 && start < n; start += row) {
      double rd = 0, rx = 0, ry = 0;
      for (int64_t i = start; i < start + row; ++i) {
        rd += double(x[i]) * y[i];
        rx += double(x[i]) * x[i];
        ry += double(y[i]) * y[i];
        double d = double(x[i]) - y[i];
        dd += d * d;
        maxAbs = std::max(maxAbs, std::fabs(d));
      }
      dot += rd, xx += rx, yy += ry;
      double cs = (rx > 0 && ry > 0) ? rd / std::sqrt(rx * ry) : (rx == ry ? 1 : 0);
      rowCosSum += cs;
      rowCosMin = std::min(rowCosMin, cs);
      ++rows;
    }
    double cosine = (xx > 0 && yy > 0) ? dot / std::sqrt(xx * yy) : (xx == yy ? 1 : 0);
    double rel = xx > 0 ? std::sqrt(dd / xx) : std::sqrt(dd);
    llvm::outs() << llvm::format(
        "%s %s: cosine %.6f, per-row cosine mean %.6f min %.6f, relative error "
        "%.3e, max |diff| %.3e\n",
        p.name.c_str(), shapeString(p.shape).c_str(), cosine,
        rows ? rowCosSum / rows : 1.0, rowCosMin, rel, maxAbs);
    llvm::json::Object o{{"name", p.name},
                         {"cosine", cosine},
                         {"row_cosine_mean", rows ? rowCosSum / rows : 1.0},
                         {"row_cosine_min", rowCosMin},
                         {"relative_error", rel},
                         {"max_abs_diff", maxAbs}};
    // Language models: next-token cross-entropy on the given token ids.
    if (p.shape.size() == 3) {
      const qtc::Array *ids = nullptr, *mask = nullptr;
      for (auto [ip, a] : llvm::zip(ref.inputs(), *inputs)) {
        if (ip.name == "input_ids" && ip.dtype == "int64" && ip.shape.size() == 2 &&
            ip.shape[0] == p.shape[0] && ip.shape[1] == p.shape[1])
          ids = &a;
        if (ip.name == "attention_mask" && ip.dtype == "int64" &&
            ip.shape.size() == 2 && ip.shape[0] == p.shape[0] &&
            ip.shape[1] == p.shape[1])
          mask = &a;
      }
      if (ids && p.name.find("logits") != std::string::npos) {
        int64_t count;
        double ceRef = nextTokenCrossEntropy(r, *ids, mask, count);
        double ceCand = nextTokenCrossEntropy(c, *ids, mask, count);
        llvm::outs() << llvm::format(
            "%s: next-token cross-entropy over %lld tokens: reference %.4f "
            "(perplexity %.3f), candidate %.4f (perplexity %.3f)\n",
            p.name.c_str(), (long long)count, ceRef, std::exp(ceRef), ceCand,
            std::exp(ceCand));
        o["tokens"] = count;
        o["cross_entropy_reference"] = ceRef;
        o["cross_entropy_candidate"] = ceCand;
        o["perplexity_reference"] = std::exp(ceRef);
        o["perplexity_candidate"] = std::exp(ceCand);
      }
    }
    outputsJSON.push_back(std::move(o));
  }
  if (outputsJSON.empty())
    return fail("the models have no float32 outputs to compare");
  if (!evalJSON.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(evalJSON, ec);
    if (ec)
      return fail("cannot write '" + evalJSON + "': " + ec.message());
    os << llvm::formatv("{0:2}", llvm::json::Value(llvm::json::Object{
                                     {"reference", evalModels[0]},
                                     {"candidate", evalModels[1]},
                                     {"outputs", std::move(outputsJSON)}}))
       << "\n";
  }
  return 0;
}


/// MLIR's pass manager, timing and printing options, for `qtc compile`
/// (they register themselves for the top level, which subcommands do not
/// see).
static void registerMLIROptions() {
  // Passes by name, for --mlir-print-ir-after=PASS and the like.
  mlir::registerAllPasses();
  qtc::registerAllPasses();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  llvm::SetVector<cl::Option *> mlirOptions;
  for (auto &entry : cl::getRegisteredOptions(cl::SubCommand::getTopLevel()))
    if (entry.first.starts_with("mlir-"))
      mlirOptions.insert(entry.second);
  for (cl::Option *o : mlirOptions) {
    o->removeArgument();
    o->addSubCommand(compileCmd);
    o->addArgument();
  }
}

/// Where qtc generate and qtc eval --perplexity keep compiled artifacts
/// ("" with --no-cache).
static std::string artifactCacheDir() {
  if (genNoCache)
    return "";
  if (!genCacheDir.empty())
    return genCacheDir;
  return qtc::generate::defaultCacheDir();
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerCompileOptions();
  registerMLIROptions();
  // --help shows qtc's own options, not every LLVM and MLIR flag.
  cl::HideUnrelatedOptions(qtcCategory);
  cl::HideUnrelatedOptions({&qtcCategory, &quantCategory}, compileCmd);
  cl::HideUnrelatedOptions(qtcCategory, runCmd);
  cl::HideUnrelatedOptions({&qtcCategory, &quantCategory}, generateCmd);
  cl::HideUnrelatedOptions({&qtcCategory, &quantCategory}, evalCmd);
  cl::ParseCommandLineOptions(
      argc, argv,
      "qtc: compiler for quantized transformer models\n\n"
      "  qtc compile model.onnx -o model.mlir\n"
      "  qtc compile model.onnx --dim batch=1 --dim sequence=8 --emit shared "
      "-o model.so\n"
      "  qtc compile path/to/hf-checkpoint --batch 1 --seq 8 --past 0 --emit "
      "shared\n"
      "  qtc run model.so --input input_ids=ids.npy --output-dir out --bench "
      "20\n"
      "  qtc compile model.onnx --dim batch=1 --dim sequence=8 --quantize w4 "
      "--group-size 32 --emit shared -o model-w4.so\n"
      "  qtc compile path/to/hf-checkpoint --batch 4 --seq 16 --weight-bits "
      "avg:3 --calibration calib.npz --emit shared -o model-mixed.so\n"
      "  qtc eval model.so model-w4.so --inputs inputs.npz\n"
      "  qtc generate model.gguf --prompt \"The capital of France is\" -n 32\n"
      "  qtc eval model.gguf --perplexity text.txt --context 512\n"
      "  qtc compile model.mlir --compile-to=llvm --strict-fp\n"
      "  qtc compile model.onnx --print-pipeline\n\n"
      "qtc compile also takes MLIR's pass manager options, as mlir-opt does: "
      "--mlir-print-ir-after-all, --mlir-print-ir-before=PASS, --mlir-timing, "
      "--mlir-disable-threading, --mlir-elide-elementsattrs-if-larger=N, ...\n");
  if (compileCmd)
    return compile();
  if (runCmd)
    return runArtifact();
  if (generateCmd) {
    qtc::CompilerOptions options;
    if (llvm::Error e = collectCompileOptions(options))
      return fail(llvm::toString(std::move(e)));
    if (llvm::Error e = options.validate())
      return fail(llvm::toString(std::move(e)));
    qtc::tools::GenerateRequest r;
    r.model = genModel;
    r.prompt = genPrompt;
    r.maxTokens = genTokens;
    r.sampling.temperature = genTemperature;
    r.sampling.topK = genTopK;
    r.sampling.topP = genTopP;
    r.sampling.minP = genMinP;
    r.sampling.repeatPenalty = genRepeat;
    r.sampling.seed = genSeed;
    r.chat = genChat;
    r.echo = genEcho;
    r.verbose = genVerbose;
    r.stop.assign(genStop.begin(), genStop.end());
    r.threads = threadsFlag;
    r.prefillChunk = genChunk;
    r.cacheDir = artifactCacheDir();
    return qtc::tools::generate(r, options);
  }
  if (evalCmd && !evalPerplexity.empty()) {
    if (evalModels.size() != 1)
      return fail("--perplexity takes one model (a GGUF file or a "
                  "checkpoint folder)");
    qtc::CompilerOptions options;
    if (llvm::Error e = collectCompileOptions(options))
      return fail(llvm::toString(std::move(e)));
    qtc::tools::PerplexityRequest r;
    r.model = evalModels[0];
    r.textFile = evalPerplexity;
    r.context = evalContext;
    r.maxChunks = evalChunks;
    r.threads = threadsFlag;
    r.cacheDir = artifactCacheDir();
    return qtc::tools::perplexity(r, options);
  }
  if (evalCmd)
    return evalArtifacts();
  return fail("expected a command: compile, generate, run or eval (see qtc "
              "--help)");
}
