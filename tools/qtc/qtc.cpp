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
#include "tools/qtc/Quantization.h"
#include "dialects/QT/Utils/Quantize.h"

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
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/IR/Dominators.h"
#include "llvm/Transforms/Utils/CodeExtractor.h"
#include "llvm/Transforms/Utils/LoopSimplify.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Operator.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <thread>
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
enum class Emit { MLIR, LLVMDialect, LLVMIR, Object, Shared, Exe };
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
                   "header and a JSON description (needs a C compiler)"),
        clEnumValN(Emit::Exe, "exe",
                   "a standalone program: PROG NAME=FILE.npy ... "
                   "[--output-dir DIR] [--bench N] (needs a C compiler)")),
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

enum class Weights { Embedded, External };
static cl::opt<Weights> weightsFlag(
    "weights", cl::desc("Where the weights go"), cl::init(Weights::Embedded),
    cl::values(
        clEnumValN(Weights::Embedded, "embedded", "into the object (default)"),
        clEnumValN(Weights::External, "external",
                   "into OUT.weights (OUT without .so/.o), which the "
                   "library or program memory-maps when it first runs")),
    cl::sub(compileCmd), cl::cat(qtcCategory));

static cl::SubCommand runCmd("run", "Run a shared library built by qtc compile");
static cl::SubCommand evalCmd(
    "eval", "Compare a candidate model's outputs (say, quantized) with a "
            "reference's (say, fp32) on the same inputs");
static cl::list<std::string> evalModels(cl::Positional, cl::desc("<reference.so> <candidate.so>"),
                                        cl::OneOrMore, cl::sub(evalCmd), cl::cat(qtcCategory));
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
    cl::init(0), cl::sub(runCmd), cl::sub(evalCmd), cl::cat(qtcCategory));
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
    cl::desc("Keep the source order of floating-point sums, no FMA "
             "contraction and libm's erf/exp/tanh (slower; by default sums "
             "may be reassociated and those functions approximated by "
             "polynomials)"),
    cl::sub(compileCmd), cl::cat(qtcCategory));
static cl::OptionCategory quantCategory("quantization (qtc compile)");
static cl::opt<std::string> quantizeFlag(
    "quantize",
    cl::desc("Quantize real-valued matmul weights: w8, w4, w3 or w2 "
             "(round-to-nearest, per-group clipping search)"),
    cl::value_desc("wB"), cl::sub(compileCmd), cl::cat(quantCategory));
static cl::opt<std::string> weightBitsFlag(
    "weight-bits",
    cl::desc("Choose each layer's width under an average-bits budget, e.g. "
             "avg:3.25 (see --calibration)"),
    cl::value_desc("avg:X"), cl::sub(compileCmd), cl::cat(quantCategory));
static cl::opt<int64_t> groupSizeFlag(
    "group-size", cl::desc("Weights per scale along K (0: per channel)"),
    cl::init(128), cl::sub(compileCmd), cl::cat(quantCategory));
static cl::opt<bool> asymFlag("asym",
                              cl::desc("Unsigned codes with a zero point per group"),
                              cl::sub(compileCmd), cl::cat(quantCategory));
static cl::opt<std::string> gridFlag(
    "grid",
    cl::desc("Code grid of 4-bit weights (with --quantize w4 or "
             "--weight-bits): uniform (16 evenly spaced levels), "
             "nf4 (NormalFloat 4) or iq4nl (llama.cpp's IQ4_NL table); a "
             "non-uniform grid loses less on normally distributed weights, "
             "e.g. with --rotate. Layers of other widths stay uniform"),
    cl::value_desc("NAME"), cl::init("uniform"), cl::sub(compileCmd),
    cl::cat(quantCategory));
static cl::list<std::string> tensorTypeFlags(
    "tensor-type",
    cl::desc("Fix the width of weights whose name matches a glob, e.g. "
             "'*.attention.*=8'; 16 keeps them real-valued (repeatable)"),
    cl::value_desc("PATTERN=BITS"), cl::sub(compileCmd), cl::cat(quantCategory));
static cl::opt<std::string> candidateBitsFlag(
    "candidate-bits", cl::desc("Widths --weight-bits may choose from"),
    cl::init("2,3,4,8"), cl::sub(compileCmd), cl::cat(quantCategory));
static cl::opt<std::string> calibrationFlag(
    "calibration",
    cl::desc("Model inputs (.npz, one array per input, optionally with a "
             "leading batch-count axis) for activation-aware scaling, GPTQ's "
             "statistics and --weight-bits' end-to-end sensitivities and "
             "evolutionary search"),
    cl::value_desc("FILE.npz"), cl::sub(compileCmd), cl::cat(quantCategory));
static cl::opt<bool> awqFlag(
    "awq",
    cl::desc("With --calibration, scale each layer's input channels by "
             "searched activation-aware factors before quantizing (AWQ)"),
    cl::init(true), cl::sub(compileCmd), cl::cat(quantCategory));
static cl::opt<bool> gptqFlag(
    "gptq",
    cl::desc("With --calibration, round each layer's columns in order and "
             "compensate each column's error on the columns not yet rounded, "
             "through the inverse of the layer's input statistics X^T X "
             "(GPTQ): the least output error instead of the least weight "
             "error"),
    cl::sub(compileCmd), cl::cat(quantCategory));
static cl::opt<double> gptqDampFlag(
    "gptq-damp",
    cl::desc("GPTQ damping: this fraction of the mean diagonal of X^T X is "
             "added to its diagonal (larger trusts a small calibration set "
             "less; default 1)"),
    cl::init(1.0), cl::sub(compileCmd), cl::cat(quantCategory));
static cl::opt<std::string> calibrationMaskFlag(
    "calibration-mask",
    cl::desc("Integer model input whose zeros mark padding tokens in the "
             "calibration data; layer-input rows at those tokens are left "
             "out of the statistics (AWQ, GPTQ). 'none' counts every row"),
    cl::value_desc("NAME"), cl::init("attention_mask"), cl::sub(compileCmd),
    cl::cat(quantCategory));
static cl::opt<bool> rotateFlag(
    "rotate",
    cl::desc("Quantize each group of weights after a randomized Hadamard "
             "rotation (QuaRot / QuIP# style), which spreads outlier channels "
             "over the group; the activations get the same rotation at run "
             "time (a small matmul per block of up to 128 channels before "
             "each quantized matmul)"),
    cl::sub(compileCmd), cl::cat(quantCategory));
static cl::opt<double> salientFlag(
    "salient-columns",
    cl::desc("Keep this fraction of each layer's input columns at f16: the "
             "most salient ones (activation energy x weight norm with "
             "--calibration, weight norm without), e.g. 0.01"),
    cl::init(0.0), cl::sub(compileCmd), cl::cat(quantCategory));
static cl::opt<unsigned> generationsFlag(
    "evolve-generations",
    cl::desc("Generations of evolutionary refinement of the allocation on "
             "measured error (needs --calibration; 0: off)"),
    cl::init(20), cl::sub(compileCmd), cl::cat(quantCategory));
static cl::opt<unsigned> seedFlag("seed", cl::desc("Seed of the evolutionary search"),
                                  cl::init(1), cl::sub(compileCmd),
                                  cl::cat(quantCategory));
static cl::opt<std::string> quantReportFlag(
    "quant-report", cl::desc("Write the quantization report as JSON"),
    cl::value_desc("FILE.json"), cl::sub(compileCmd), cl::cat(quantCategory));

static cl::opt<unsigned> kvBitsFlag(
    "kv-cache-bits",
    cl::desc("Pass the attention KV cache in and out quantized: 8, 4 or 2 "
             "bits (keys per channel, values per token; 0: real-valued)"),
    cl::init(0), cl::sub(compileCmd), cl::cat(quantCategory));
static cl::opt<int64_t> kvGroupFlag(
    "kv-group-size",
    cl::desc("Tokens per key scale and channels per value scale of the "
             "quantized KV cache"),
    cl::init(32), cl::sub(compileCmd), cl::cat(quantCategory));

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
      for (llvm::StringRef key : {"onnx.name", "hf.name", "qtc.name"})
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
                                const std::vector<Port> &outs,
                                llvm::StringRef weightsFile = "") {
  llvm::json::Array in, out;
  for (const Port &p : ins)
    in.push_back(llvm::json::Object{{"name", p.name}, {"dtype", p.dtype},
                                    {"shape", llvm::json::Array(p.shape)}});
  for (const Port &p : outs)
    out.push_back(llvm::json::Object{{"name", p.name}, {"dtype", p.dtype},
                                     {"shape", llvm::json::Array(p.shape)}});
  llvm::json::Object root{{"entry", entry}, {"inputs", std::move(in)},
                          {"outputs", std::move(out)}};
  // The side file of --weights external, relative to the description.
  if (!weightsFile.empty())
    root["weights"] = weightsFile;
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
  return text;
}

static std::string cHeader(const std::vector<Port> &ins,
                           const std::vector<Port> &outs, bool external) {
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
  h += "   Returns 0, or non-zero when the model cannot run (then "
       "qtc_model_error()\n   says why in one line). */\n"
       "int qtc_model_run(void **args);\nconst char *qtc_model_error(void);\n";
  if (external)
    h += "\n/* The weights live in a side file, memory-mapped on the first "
         "run: by default\n   the library's path with .so replaced by "
         ".weights. To use another path,\n   call this first; it returns 0, or "
         "non-zero (see qtc_model_error()) for a\n   missing file, one "
         "written by another compile, or a second load. */\n"
         "int qtc_model_load_weights(const char *path);\n";
  h += "\n#endif\n";
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

static int emitModule(mlir::ModuleOp module, Emit kind, const std::string &out,
                      Weights weights = Weights::Embedded);
/// Moves every top-level loop nest of a function with at least `minLoops`
/// of them into a function of its own (noinline). A whole model's entry is
/// one function with about a thousand loop nests (MiniLM: 1182), and
/// ScalarEvolution answers some queries of O3's loop passes by walking
/// back through every block before the loop, so those passes cost time
/// proportional to the function for each loop: IndVarSimplify alone took
/// 31 of the 36 s O3 spent on MiniLM. Split, O3 takes a third of the time.
/// Small functions (the parallel regions' bodies) are left whole.
static void splitLoopNests(llvm::Module &module, unsigned minLoops = 32) {
  std::vector<llvm::Function *> functions;
  for (llvm::Function &fn : module)
    if (!fn.isDeclaration())
      functions.push_back(&fn);
  for (llvm::Function *fn : functions) {
    llvm::DominatorTree dt(*fn);
    llvm::LoopInfo li(dt);
    if (li.getTopLevelLoops().size() < minLoops)
      continue;
    std::vector<llvm::Loop *> loops(li.begin(), li.end());
    for (llvm::Loop *loop : loops)
      llvm::simplifyLoop(loop, &dt, &li, nullptr, nullptr, nullptr, false);
    for (llvm::Loop *loop : loops) {
      llvm::CodeExtractorAnalysisCache cache(*fn);
      llvm::CodeExtractor extractor(loop->getBlocks(), &dt);
      if (!extractor.isEligible())
        continue;
      if (llvm::Function *nest = extractor.extractCodeRegion(cache))
        nest->addFnAttr(llvm::Attribute::NoInline);
    }
  }
}

/// Cache and vector sizes for the tiling pass: the host's (0) when
/// compiling for the host; from --target-features (or the triple's
/// baseline) and a 32 KiB L1 otherwise.
static mlir::qt::CPUTarget cpuTarget() {
  mlir::qt::CPUTarget t;
  t.reassociate = !strictFP;
  if (targetTriple.empty() && targetFeatures.empty())
    return t;
  llvm::StringRef f = targetFeatures;
  t.l1Bytes = 32 * 1024;
  t.vectorBits = f.contains("+avx512f") ? 512
                 : (f.contains("+avx2") || f.contains("+avx")) ? 256
                                                                : 128;
  t.int8Dot = f.contains("+avx512vnni") && f.contains("+avx512f") ? "avx512vnni"
              : f.contains("+avxvnni")                             ? "avxvnni"
                                                                   : "none";
  // vpermps needs AVX2 (8 lanes) or AVX-512F (16) of the vector width.
  bool permute = (t.vectorBits == 512 && f.contains("+avx512f")) ||
                 (t.vectorBits == 256 && f.contains("+avx2"));
  t.gridLookup = permute ? "permute" : "select";
  return t;
}


static bool quantizing() {
  return !quantizeFlag.empty() || !weightBitsFlag.empty() ||
         !tensorTypeFlags.empty();
}

static llvm::Error quantizeModule(mlir::ModuleOp module) {
  qtc::QuantOptions o;
  if (!quantizeFlag.empty()) {
    llvm::Expected<unsigned> bits = qtc::parseQuantizeFlag(quantizeFlag);
    if (!bits)
      return bits.takeError();
    o.uniformBits = *bits;
  }
  if (!weightBitsFlag.empty()) {
    llvm::Expected<double> avg = qtc::parseWeightBitsFlag(weightBitsFlag);
    if (!avg)
      return avg.takeError();
    o.averageBits = *avg;
  }
  for (const std::string &t : tensorTypeFlags) {
    auto ov = qtc::parseTensorTypeFlag(t);
    if (!ov)
      return ov.takeError();
    o.overrides.push_back(*ov);
  }
  o.candidates.clear();
  llvm::SmallVector<llvm::StringRef> parts;
  llvm::StringRef(candidateBitsFlag).split(parts, ',', -1, false);
  for (llvm::StringRef p : parts) {
    unsigned b;
    if (p.trim().getAsInteger(10, b) || b < 2 || b > 8)
      return llvm::createStringError("--candidate-bits expects widths 2 to 8, "
                                     "e.g. 2,3,4,8 (got '" +
                                     candidateBitsFlag + "')");
    o.candidates.push_back(b);
  }
  llvm::sort(o.candidates);
  o.candidates.erase(std::unique(o.candidates.begin(), o.candidates.end()),
                     o.candidates.end());
  if (o.candidates.empty())
    return llvm::createStringError("--candidate-bits is empty");
  if (groupSizeFlag < 0)
    return llvm::createStringError("--group-size must be 0 (per channel) or positive");
  o.groupSize = groupSizeFlag;
  o.asymmetric = asymFlag;
  {
    std::vector<float> levels;
    if (!qtc::namedGrid(gridFlag, 4, levels))
      return llvm::createStringError("--grid expects " +
                                     std::string(qtc::gridNames()) +
                                     " (got '" + gridFlag + "')");
    if (!levels.empty() && asymFlag)
      return llvm::createStringError(
          "--grid " + gridFlag + " has no zero point: drop --asym");
    if (!levels.empty() && o.uniformBits && o.uniformBits != 4)
      return llvm::createStringError(
          "--grid " + gridFlag + " is a 4-bit grid; use it with --quantize w4 "
          "(or --weight-bits, where it applies to the 4-bit layers)");
  }
  o.grid = gridFlag;
  o.calibration = calibrationFlag;
  o.generations = o.calibration.empty() ? 0 : generationsFlag.getValue();
  o.awq = awqFlag;
  if (gptqFlag && o.calibration.empty())
    return llvm::createStringError(
        "--gptq needs --calibration (the layers' input statistics)");
  if (!(gptqDampFlag >= 0) || !std::isfinite(gptqDampFlag))
    return llvm::createStringError("--gptq-damp expects a fraction >= 0");
  o.gptq = gptqFlag;
  o.gptqDamp = gptqDampFlag;
  if (salientFlag < 0 || salientFlag >= 1)
    return llvm::createStringError("--salient-columns expects a fraction in [0, 1)");
  o.salientFraction = salientFlag;
  o.rotate = rotateFlag;
  o.calibrationMask = calibrationMaskFlag == "none" ? std::string() : calibrationMaskFlag.getValue();
  o.calibrationMaskGiven = calibrationMaskFlag.getNumOccurrences() > 0;
  o.seed = seedFlag;
  o.reportPath = quantReportFlag;
  o.quiet = quiet;
  o.buildShared = [](mlir::ModuleOp m, const std::string &so) -> llvm::Error {
    if (emitModule(m, Emit::Shared, so))
      return llvm::createStringError("compiling the calibration copy failed");
    return llvm::Error::success();
  };
  return qtc::quantizeModule(module, o);
}

/// Runs qt-quantize-kv-cache; an error when no cache was quantized.
static llvm::Error quantizeKVCache(mlir::ModuleOp module) {
  if (kvBitsFlag != 2 && kvBitsFlag != 4 && kvBitsFlag != 8)
    return llvm::createStringError("--kv-cache-bits expects 8, 4 or 2 (got " +
                                   std::to_string(kvBitsFlag) + ")");
  if (kvGroupFlag <= 0)
    return llvm::createStringError("--kv-group-size must be positive");
  unsigned caches = 0;
  {
    Stage stage("qt-quantize-kv-cache");
    mlir::PassManager pm(module.getContext());
    mlir::qt::QTQuantizeKVCacheOptions o;
    o.bits = kvBitsFlag;
    o.groupSize = kvGroupFlag;
    pm.addPass(mlir::qt::createQTQuantizeKVCache(o));
    if (mlir::failed(pm.run(module))) {
      stage.abort();
      return llvm::createStringError("quantizing the KV cache failed");
    }
    module.walk([&](mlir::Operation *op) {
      if (op->getName().getStringRef() == "qt.kv_quantize")
        ++caches;
    });
    if (caches == 0) {
      stage.abort();
      return llvm::createStringError(
          model + ": --kv-cache-bits: no attention reads its KV cache from "
                  "the model's inputs (a checkpoint needs --past; an ONNX "
                  "model needs past_key_values inputs feeding attention "
                  "directly)");
    }
  }
  if (!quiet)
    llvm::errs() << "qtc: KV cache: " << caches / 2 << " attention layers, "
                 << kvBitsFlag << "-bit codes (keys per channel in groups of "
                 << kvGroupFlag << " tokens, values per token in groups of up "
                 << "to " << kvGroupFlag << " channels)\n";
  return llvm::Error::success();
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
  if (!quantizing())
    for (const char *flag : {"grid", "asym", "rotate", "gptq"})
      if (cl::getRegisteredOptions(compileCmd).lookup(flag)->getNumOccurrences())
        return fail(std::string("--") + flag +
                    " needs --quantize, --weight-bits or --tensor-type");
  if (quantizing()) {
    if (llvm::Error e = quantizeModule(*module))
      return fail(llvm::toString(std::move(e)));
  }
  if (kvBitsFlag != 0)
    if (llvm::Error e = quantizeKVCache(*module))
      return fail(llvm::toString(std::move(e)));
  std::string stem =
      llvm::sys::path::stem(llvm::StringRef(model).rtrim("/")).str();
  std::string out = output;
  if (out.empty())
    out = stem + (emit == Emit::MLIR || emit == Emit::LLVMDialect ? ".mlir"
                  : emit == Emit::LLVMIR                          ? ".ll"
                  : emit == Emit::Object                          ? ".o"
                  : emit == Emit::Exe                             ? ""
                                                                  : ".so");
  if (weightsFlag == Weights::External && emit == Emit::MLIR)
    return fail("--weights external needs --emit llvm-mlir, llvm, obj, shared "
                "or exe (the weights leave the module after lowering)");
  return emitModule(*module, emit, out, weightsFlag);
}

/// The side file of `out` for --weights external: OUT.weights, with a
/// trailing .so or .o dropped.
static std::string weightsPath(llvm::StringRef out) {
  llvm::StringRef base = out;
  if (!base.consume_back(".so"))
    base.consume_back(".o");
  return (base + ".weights").str();
}

static int emitModuleImpl(mlir::ModuleOp module, Emit kind,
                          const std::string &out, Weights weights);

/// Lowers `module` (imported, possibly quantized) and writes it as `kind`
/// to `out`; for shared libraries also OUT.h and OUT.json; with external
/// weights also the side file, which is removed again if a later step fails.
static int emitModule(mlir::ModuleOp module, Emit kind, const std::string &out,
                      Weights weights) {
  int status = emitModuleImpl(module, kind, out, weights);
  if (status && weights == Weights::External)
    llvm::sys::fs::remove(weightsPath(out));
  return status;
}

static int emitModuleImpl(mlir::ModuleOp module, Emit kind,
                          const std::string &out, Weights weights) {
  mlir::MLIRContext &context = *module.getContext();
  auto defaultOut = [&](llvm::StringRef) { return out; };
  auto entryFunc = module.lookupSymbol<mlir::func::FuncOp>("main");
  std::vector<Port> ins, outs;
  bool native = kind != Emit::MLIR;
  if (native) {
    if (llvm::Error e = describe(entryFunc, ins, outs))
      return fail(llvm::toString(std::move(e)));
    // A program has its own main(): the model's entry is renamed there.
    if (kind == Emit::Exe &&
        mlir::failed(mlir::SymbolTable::replaceAllSymbolUses(
            entryFunc, mlir::StringAttr::get(&context, "qtc_model_main"), module)))
      return fail("internal: cannot rename the entry function");
    if (kind == Emit::Exe)
      entryFunc.setSymName("qtc_model_main");
    // A C entry `_mlir_ciface_<entry>` over memref descriptors.
    entryFunc->setAttr("llvm.emit_c_interface",
                       mlir::UnitAttr::get(&context));
  }
  {
    Stage stage("qt-normalize-pipeline");
    mlir::PassManager pm(&context);
    mlir::qt::buildNormalizePipeline(pm);
    if (mlir::failed(pm.run(module))) {
      stage.abort();
      return fail(model + ": the normalize stage failed");
    }
  }
  {
    // Quantized weights should all have been fused into matmuls; name the
    // ones that were not (each is decoded into a real-valued copy).
    unsigned fused = 0, unfused = 0;
    module.walk([&](mlir::Operation *op) {
      llvm::StringRef name = op->getName().getStringRef();
      if (name == "qt.quantized_matmul") {
        ++fused;
      } else if (name == "qt.dequantize") {
        ++unfused;
        std::string loc;
        llvm::raw_string_ostream os(loc);
        op->getLoc().print(os);
        llvm::WithColor::warning(llvm::errs(), "qtc")
            << "dequantize left unfused at " << loc
            << " (a real-valued copy of that weight is made)\n";
      }
    });
    if (!quiet && (fused || unfused))
      llvm::errs() << "qtc: dequantize fusion: " << fused
                   << " quantized matmuls, " << unfused
                   << " dequantize left unfused\n";
  }
  if (native) {
    Stage stage("qt-cpu-pipeline backend stages");
    mlir::PassManager pm(&context);
    if (mlir::failed(mlir::qt::buildCPUBackendStages(pm, cpuTarget()))) {
      stage.abort();
      return fail("qt-cpu-pipeline could not be built");
    }
    if (mlir::failed(pm.run(module))) {
      stage.abort();
      return fail(model + ": the qt-cpu-pipeline failed");
    }
  }
  if (weights == Weights::External) {
    std::string side = weightsPath(out);
    Stage stage("writing the weights to " + side);
    mlir::PassManager pm(&context);
    mlir::qt::QTExternalizeWeightsOptions options;
    options.file = side;
    pm.addPass(mlir::qt::createQTExternalizeWeights(options));
    if (mlir::failed(pm.run(module))) {
      stage.abort();
      return fail(model + ": cannot move the weights to " + side);
    }
  }
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
  if (kind == Emit::MLIR || kind == Emit::LLVMDialect) {
    std::string out = defaultOut(".mlir");
    Stage stage("writing " + out);
    if (!writeText(out, [&](llvm::raw_ostream &os) {
          module.print(os, mlir::OpPrintingFlags());
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
    llvmModule = mlir::translateModuleToLLVMIR(module, llvmContext);
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
    // Functions with many loop nests are split: each top-level loop nest
    // becomes its own function, kept out of line. See splitLoopNests.
    splitLoopNests(*llvmModule);
    // Every buffer comes from the runtime's allocator (runtime/alloc.c),
    // which returns blocks nothing else points to. Saying so lets LLVM
    // keep weights in registers across stores to a temporary: without it,
    // external weights (a writable global) must be reloaded after every
    // store to a decoded panel, and the int4 GEMV runs 5x slower.
    for (const char *name : {"_mlir_memref_to_llvm_aligned_alloc",
                             "_mlir_memref_to_llvm_alloc"})
      if (llvm::Function *alloc = llvmModule->getFunction(name))
        alloc->addRetAttr(llvm::Attribute::NoAlias);
    if (llvm::Error e = mlir::makeOptimizingTransformer(3, 0, tm.get())(
            llvmModule.get())) {
      stage.abort();
      return fail(llvm::toString(std::move(e)));
    }
  }
  if (kind == Emit::LLVMIR) {
    std::string out = defaultOut(".ll");
    Stage stage("writing " + out);
    if (!writeText(out, [&](llvm::raw_ostream &os) { llvmModule->print(os, nullptr); })) {
      stage.abort();
      return 1;
    }
    return 0;
  }
  std::string objPath = kind == Emit::Object ? defaultOut(".o") : "";
  llvm::SmallString<128> tmpObj;
  if (kind == Emit::Shared || kind == Emit::Exe) {
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
  if (kind == Emit::Object)
    return 0;

  // Shared library: the object plus a trampoline with a fixed signature.
  std::string so = defaultOut(".so");
  std::string base = so.size() > 3 && llvm::StringRef(so).ends_with(".so")
                         ? so.substr(0, so.size() - 3)
                         : so;
  size_t arity = ins.size() + outs.size();
  bool standalone = kind == Emit::Exe;
  bool external = module.lookupSymbol("qtc_weights_data") != nullptr;
  std::string callee = standalone ? "qtc_model_main" : "main";
  std::string params, callArgs;
  for (size_t i = 0; i < arity; ++i) {
    params += (i ? ", " : "") + std::string("void *");
    callArgs += (i ? ", " : "") + std::string("args[") + std::to_string(i) + "]";
  }
  // qtc_model_run returns 0, or non-zero with qtc_model_error() saying why
  // (only a missing or mismatched weights file can fail). With external
  // weights the first run maps the side file next to the library/program
  // (runtime/weights.c; the struct repeats runtime/weights.h).
  std::string trampoline = "#include <stdint.h>\nvoid _mlir_ciface_" + callee +
                           "(" + params + ");\n";
  if (external) {
    trampoline +=
        "typedef struct { const void *base; int lock; char error[512]; } "
        "qtc_weights;\n"
        "int qtc_weights_load(qtc_weights *, const char *, uint64_t, uint64_t, "
        "void *);\n"
        "int qtc_weights_ensure(qtc_weights *, const void *, int, uint64_t, "
        "uint64_t, void *);\n"
        "extern const uint64_t qtc_weights_id, qtc_weights_bytes;\n"
        "extern char qtc_weights_data[];\n"
        "static qtc_weights qtc_w;\n"
        "int qtc_model_load_weights(const char *path) {\n"
        "  return qtc_weights_load(&qtc_w, path, qtc_weights_id, "
        "qtc_weights_bytes, qtc_weights_data);\n}\n"
        "const char *qtc_model_error(void) { return qtc_w.error; }\n"
        "int qtc_model_run(void **args) {\n"
        "  if (qtc_weights_ensure(&qtc_w, (const void *)qtc_model_run, " +
        std::string(standalone ? "1" : "0") +
        ", qtc_weights_id, qtc_weights_bytes, qtc_weights_data))\n"
        "    return 1;\n";
  } else {
    trampoline += "const char *qtc_model_error(void) { return \"\"; }\n"
                  "int qtc_model_run(void **args) {\n";
  }
  trampoline += "  _mlir_ciface_" + callee + "(" + callArgs + ");\n  return 0;\n}\n";
  if (standalone) {
    // The ports, and main() from the runtime (include/qtc-c/exe.h; the
    // struct is repeated here so the stub needs no include path).
    trampoline += "typedef struct { const char *name; "
                  "const char *dtype; int32_t rank; int64_t shape[8]; } "
                  "qtc_port;\nint qtc_exe_main(int, char **, const qtc_port *, "
                  "int, const qtc_port *, int, int (*)(void **), const char *(*)(void), "
                  "int (*)(const char *));\n";
    auto table = [&](const char *name, const std::vector<Port> &ports) {
      std::string t = "static const qtc_port " + std::string(name) + "[] = {\n";
      for (const Port &p : ports) {
        std::string dims;
        for (int64_t d : p.shape)
          dims += (dims.empty() ? "" : ", ") + std::to_string(d);
        t += "  {\"" + llvm::StringRef(p.name).str() + "\", \"" + p.dtype + "\", " +
             std::to_string(p.shape.size()) + ", {" + (dims.empty() ? "0" : dims) +
             "}},\n";
      }
      if (ports.empty())
        t += "  {0, 0, 0, {0}},\n";
      return t + "};\n";
    };
    trampoline += table("qtc_inputs", ins) + table("qtc_outputs", outs);
    trampoline += "int main(int argc, char **argv) {\n  return qtc_exe_main(argc, "
                  "argv, qtc_inputs, " + std::to_string(ins.size()) +
                  ", qtc_outputs, " + std::to_string(outs.size()) +
                  ", qtc_model_run, qtc_model_error, " +
                  (external ? "qtc_model_load_weights" : "0") + ");\n}\n";
    for (const Port &p : llvm::concat<const Port>(ins, outs))
      if (p.shape.size() > 8 || p.name.find_first_of("\"\\\n") != std::string::npos)
        return fail("--emit exe: port '" + p.name +
                    "' has more than 8 dimensions or an unprintable name");
  }
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
      return fail(std::string(standalone ? "--emit exe" : "--emit shared") +
                  " needs a C compiler ('cc') on PATH");
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
    llvm::SmallVector<llvm::StringRef> argv = {*cc};
    if (!standalone)
      argv.append({"-shared", "-fPIC"});
    argv.append({"-O2", "-o", so, objPath, cPath, runtimeLib, "-lm", "-pthread"});
    std::string message;
    if (llvm::sys::ExecuteAndWait(*cc, argv, std::nullopt, {}, 0, 0, &message)) {
      stage.abort();
      return fail("linking failed: " + message);
    }
  }
  llvm::sys::fs::remove(objPath);
  llvm::sys::fs::remove(cPath);
  if (standalone) {
    if (!quiet)
      llvm::errs() << "qtc: wrote " << so << " (run it with --help)\n";
    return 0;
  }
  if (!writeText(base + ".h", [&](llvm::raw_ostream &os) { os << cHeader(ins, outs, external); }) ||
      !writeText(base + ".json", [&](llvm::raw_ostream &os) {
        os << describeJSON("qtc_model_run", ins, outs,
                           external ? llvm::sys::path::filename(weightsPath(so))
                                    : llvm::StringRef());
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
static int compareWithOnnxruntime(const qtc::CompiledModel &model,
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
  bool pooled = threads > 0;
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
  llvm::Expected<qtc::CompiledModel> model = qtc::CompiledModel::load(artifact);
  if (!model)
    return fail(llvm::toString(model.takeError()));
  if (threadsFlag)
    model->setThreads(static_cast<int>(threadsFlag));
  llvm::Expected<llvm::StringMap<qtc::Array>> given = givenInputs();
  if (!given)
    return fail(llvm::toString(given.takeError()));
  llvm::Expected<std::vector<qtc::Array>> inputs = model->bind(std::move(*given));
  if (!inputs)
    return fail(llvm::toString(inputs.takeError()));
  if (!runWeights.empty())
    if (llvm::Error e = model->loadWeights(runWeights))
      return fail(llvm::toString(std::move(e)));
  std::vector<qtc::Array> outputs = model->allocateOutputs();
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
  std::vector<qtc::CompiledModel> models;
  for (const std::string &path : evalModels) {
    auto m = qtc::CompiledModel::load(path);
    if (!m)
      return fail(llvm::toString(m.takeError()));
    if (threadsFlag)
      m->setThreads(static_cast<int>(threadsFlag));
    models.push_back(std::move(*m));
  }
  const qtc::CompiledModel &ref = models[0], &cand = models[1];
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
  llvm::Expected<std::vector<qtc::Array>> inputs = ref.bind(std::move(*given));
  if (!inputs)
    return fail(llvm::toString(inputs.takeError()));
  std::vector<qtc::Array> refOut = ref.allocateOutputs(), candOut = cand.allocateOutputs();
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

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // The CPU pipeline names its upstream stages textually.
  mlir::registerAllPasses();
  mlir::qt::registerQTPasses();
  mlir::registerAsmPrinterCLOptions();
  // --help shows qtc's own options, not every LLVM and MLIR flag.
  cl::HideUnrelatedOptions(qtcCategory);
  cl::HideUnrelatedOptions({&qtcCategory, &quantCategory}, compileCmd);
  cl::HideUnrelatedOptions(qtcCategory, runCmd);
  cl::HideUnrelatedOptions(qtcCategory, evalCmd);
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
      "  qtc eval model.so model-w4.so --inputs inputs.npz\n");
  if (compileCmd)
    return compile();
  if (runCmd)
    return runArtifact();
  if (evalCmd)
    return evalArtifacts();
  return fail("expected a command: compile, run or eval (see qtc --help)");
}
