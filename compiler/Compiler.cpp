//===- Compiler.cpp - qtc as a library ------------------------------------===//

#include "compiler/Compiler.h"

#include "compiler/JIT.h"
#include "compiler/Registration.h"

#include "codegen/CPU/Pipeline.h"
#include "codegen/LLVM/Emit.h"
#include "codegen/LLVM/Weights.h"
#include "codegen/Passes.h"
#include "dialects/QT/IR/QTDialect.h"
#include "frontends/hf/HFImporter.h"
#include "frontends/gguf/Gguf.h"
#include "frontends/onnx/OnnxImporter.h"
#include "passes/Passes.h"
#include "passes/Pipelines.h"
#include "quant/Calibration.h"
#include "quant/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <dlfcn.h>
#include <chrono>

using namespace qtc;

std::optional<Phase> qtc::parsePhase(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<Phase>>(name)
      .Case("import", Phase::Import)
      .Case("normalize", Phase::Normalize)
      .Case("quantize", Phase::Quantize)
      .Case("lowered", Phase::Lowered)
      .Case("llvm", Phase::LLVM)
      .Default(std::nullopt);
}

const char *qtc::phaseNames() {
  return "import, normalize, quantize, lowered or llvm";
}

llvm::ArrayRef<TargetInfo> qtc::targetRegistry() {
  static const TargetInfo targets[] = {
      {"cpu", "x86-64 (AVX2, AVX-512, VNNI) and AArch64 CPUs through LLVM: "
              "qt-cpu-pipeline, objects, shared libraries, programs, JIT"},
  };
  return targets;
}

/// Prints "qtc: <stage> ... <seconds> s" around a stage.
class Compiler::Stage {
public:
  Stage(llvm::raw_ostream *log, const llvm::Twine &name) : log(log) {
    if (log)
      *log << "qtc: " << name << " ... ";
    start = std::chrono::steady_clock::now();
  }
  /// Ends the progress line without a time (an error message follows).
  void abort() {
    if (log && !aborted)
      *log << "failed\n";
    aborted = true;
  }
  ~Stage() {
    if (!log || aborted)
      return;
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                             start)
                   .count();
    *log << llvm::format("%.2f s\n", s);
  }

private:
  llvm::raw_ostream *log;
  std::chrono::steady_clock::time_point start;
  bool aborted = false;
};

namespace {

/// Collects the first error diagnostic of a pass manager run, so that a
/// failure reaches the caller as one line (file:line:col: message).
class FirstError {
public:
  explicit FirstError(mlir::MLIRContext &ctx)
      : handler(&ctx, [this](mlir::Diagnostic &d) {
          if (d.getSeverity() == mlir::DiagnosticSeverity::Error &&
              message.empty())
            message = where(d.getLocation()) + d.str();
          return mlir::success();
        }) {}
  llvm::Error error(const llvm::Twine &what) const {
    return llvm::createStringError(what + (message.empty() ? "" : ": " + message));
  }

private:
  /// "file:line:col: " or "node 'name': " (ONNX node names), else the
  /// location as MLIR prints it.
  static std::string where(mlir::Location loc) {
    if (auto file = llvm::dyn_cast<mlir::FileLineColLoc>(loc))
      return (file.getFilename().strref() + ":" + llvm::Twine(file.getLine()) +
              ":" + llvm::Twine(file.getColumn()) + ": ")
          .str();
    if (auto name = llvm::dyn_cast<mlir::NameLoc>(loc))
      return "node '" + name.getName().str() + "': ";
    if (auto fused = llvm::dyn_cast<mlir::FusedLoc>(loc))
      for (mlir::Location inner : fused.getLocations())
        if (llvm::isa<mlir::FileLineColLoc, mlir::NameLoc>(inner))
          return where(inner);
    if (llvm::isa<mlir::UnknownLoc>(loc))
      return "";
    std::string text;
    llvm::raw_string_ostream os(text);
    loc.print(os);
    return text + ": ";
  }

  std::string message;
  mlir::ScopedDiagnosticHandler handler;
};

std::string dtypeOf(mlir::Type t) {
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

std::unique_ptr<mlir::qt::CPUPipelineOptions>
pipelineOptionsOf(const CompilerOptions &o) {
  auto p = std::make_unique<mlir::qt::CPUPipelineOptions>();
  p->targetTriple = o.targetTriple;
  p->targetCPU = o.targetCPU;
  p->targetFeatures = o.targetFeatures;
  p->strictFP = o.strictFP;
  p->outlineLayers = o.outlineLayers;
  return p;
}

/// The calibration harness's view of a JIT-linked model.
class CalibrationAdapter : public CalibrationModel {
public:
  explicit CalibrationAdapter(std::unique_ptr<Model> model)
      : model(std::move(model)) {}
  const std::vector<Port> &inputs() const override { return model->inputs(); }
  const std::vector<Port> &outputs() const override { return model->outputs(); }
  llvm::Error run(std::vector<Array> &inputs,
                  std::vector<Array> &outputs) override {
    return model->run(inputs, outputs);
  }

private:
  std::unique_ptr<Model> model;
};

/// A C header for a library: the entry points (see EntrySpec) and the
/// ports.
std::string cHeader(const ModelDescription &d, bool external) {
  std::string p = d.name, guard = llvm::StringRef(p).upper() + "_H";
  std::string h =
      "/* Generated by qtc compile. */\n#ifndef " + guard + "\n#define " +
      guard + "\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" "
      "{\n#endif\n\n"
      "/* Runs the model. args[i] points to a memref descriptor of rank R,\n"
      "   struct { void *allocated; void *aligned; int64_t offset;\n"
      "            int64_t sizes[R]; int64_t strides[R]; },\n"
      "   for the inputs, then the outputs (preallocated by the caller), in "
      "this\n   order:\n";
  unsigned i = 0;
  for (const Port &port : d.inputs)
    h += "     args[" + std::to_string(i++) + "] input  " + port.name + ": " +
         port.dtype + " " + shapeString(port.shape) + "\n";
  for (const Port &port : d.outputs)
    h += "     args[" + std::to_string(i++) + "] output " + port.name + ": " +
         port.dtype + " " + shapeString(port.shape) + "\n";
  h += "   Returns 0, or non-zero when the model cannot run (then " + p +
       "_error()\n   says why in one line). Safe to call from several threads "
       "at once. */\n"
       "int " + p + "_run(void **args);\nconst char *" + p +
       "_error(void);\n\n"
       "/* The ports above as JSON (as " + p + ".json holds them). */\n"
       "const char *" + p + "_describe(void);\n\n"
       "/* Threads of the model's parallel loops (default: QTC_NUM_THREADS, "
       "else\n   every processor). */\nvoid " + p +
       "_set_num_threads(int threads);\nint " + p +
       "_get_num_threads(void);\n";
  if (external)
    h += "\n/* The weights live in a side file, memory-mapped on the first "
         "run: by default\n   the library's path with .so replaced by "
         ".weights. To use another path,\n   call this first; it returns 0, or "
         "non-zero (see " + p + "_error()) for a\n   missing file, one "
         "written by another compile, or a second load. */\n"
         "int " + p + "_load_weights(const char *path);\n";
  h += "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
  return h;
}

/// Writes `text` to `path` (all or nothing).
llvm::Error writeText(llvm::StringRef path, llvm::StringRef text) {
  std::error_code ec;
  llvm::ToolOutputFile file(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError("cannot write '" + path + "': " + ec.message());
  file.os() << text;
  file.os().flush();
  if (file.os().has_error())
    return llvm::createStringError("cannot write '" + path +
                                   "': " + file.os().error().message());
  file.keep();
  return llvm::Error::success();
}

} // namespace

Compiler::Compiler(CompilerOptions options, llvm::raw_ostream *log,
                   llvm::raw_ostream *warnings)
    : opts(std::move(options)), log(log), warnings(warnings) {
  mlir::DialectRegistry registry;
  qtc::registerAllDialects(registry);
  qtc::onnx::registerImportDialects(registry);
  qtc::hf::registerImportDialects(registry);
  ctx = std::make_unique<mlir::MLIRContext>(registry);
  ctx->loadAllAvailableDialects();
}

Compiler::~Compiler() = default;

llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
Compiler::import(llvm::StringRef path) {
  inputPath = path.rtrim("/").str();
  described.reset();
  quantized = false;
  Stage stage(log, "importing " + path);
  auto failed = [&](llvm::Error e) {
    stage.abort();
    return std::move(e);
  };
  bool gguf = qtc::gguf::isGGUFFile(path);
  if (gguf || llvm::sys::fs::is_directory(path) ||
      path.ends_with(".safetensors")) {
    qtc::hf::ImportOptions o;
    if (opts.batch >= 0) o.batch = opts.batch;
    if (opts.seq >= 0) o.sequence = opts.seq;
    if (opts.past >= 0) o.past = opts.past;
    o.allowUnusedTensors = opts.allowUnusedTensors;
    if (opts.maxContext > 0)
      o.maxContext = opts.maxContext;
    o.warnings = warnings;
    auto module = gguf ? qtc::hf::importGGUF(path, *ctx, o)
                       : qtc::hf::importCheckpoint(path, *ctx, o);
    if (!module)
      return failed(module.takeError());
    return std::move(*module);
  }
  if (path.ends_with(".mlir") || path.ends_with(".mlirbc")) {
    FirstError first(*ctx);
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::parseSourceFile<mlir::ModuleOp>(path, mlir::ParserConfig(ctx.get()));
    if (!module)
      return failed(first.error(path + ": cannot parse"));
    return module;
  }
  qtc::onnx::ImportOptions o;
  for (const std::string &d : opts.dims)
    if (llvm::Error e = qtc::onnx::parseDimParam(d, o))
      return failed(std::move(e));
  for (const std::string &s : opts.inputShapes)
    if (llvm::Error e = qtc::onnx::parseInputShape(s, o))
      return failed(std::move(e));
  auto module = qtc::onnx::importOnnxFile(path, *ctx, o);
  if (!module)
    return failed(module.takeError());
  return std::move(*module);
}

llvm::Expected<ModelDescription> Compiler::describe(mlir::ModuleOp module) const {
  auto f = module.lookupSymbol<mlir::func::FuncOp>("main");
  if (!f || f.isExternal())
    return llvm::createStringError(inputPath + ": the module has no @main "
                                               "function to compile");
  ModelDescription d;
  d.name = opts.name;
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
          inputPath + ": " + what + " '" + p.name + "' has a dynamic shape; " +
          "compiled models need static shapes (bind them with --dim / "
          "--input-shape, or --batch / --seq / --past)");
    p.dtype = dtypeOf(rt.getElementType());
    if (p.dtype.empty())
      return llvm::createStringError(inputPath + ": " + what + " '" + p.name +
                                     "' has an unsupported element type");
    p.shape.assign(rt.getShape().begin(), rt.getShape().end());
    return p;
  };
  for (unsigned i = 0; i < f.getNumArguments(); ++i) {
    auto p = port(f.getArgument(i).getType(), f.getArgAttrDict(i), "input", i);
    if (!p)
      return p.takeError();
    d.inputs.push_back(*p);
  }
  for (unsigned i = 0; i < f.getNumResults(); ++i) {
    auto p = port(f.getResultTypes()[i], f.getResultAttrDict(i), "output", i);
    if (!p)
      return p.takeError();
    d.outputs.push_back(*p);
  }
  return d;
}

llvm::Error Compiler::normalize(mlir::ModuleOp module) {
  {
    Stage stage(log, "qt-normalize-pipeline");
    mlir::PassManager pm(ctx.get());
    mlir::qt::buildNormalizePipeline(pm);
    if (llvm::Error e = runPasses(pm, module, "the normalize stage failed")) {
      stage.abort();
      return e;
    }
  }
  // Quantized weights should all have been fused into matmuls; name the
  // ones that were not (each is decoded into a real-valued copy).
  unsigned fused = 0, unfused = 0;
  module.walk([&](mlir::Operation *op) {
    llvm::StringRef name = op->getName().getStringRef();
    if (name == "qt.quantized_matmul") {
      ++fused;
    } else if (name == "qt.dequantize") {
      ++unfused;
      if (warnings) {
        std::string loc;
        llvm::raw_string_ostream os(loc);
        op->getLoc().print(os);
        llvm::WithColor::warning(*warnings, "qtc")
            << "dequantize left unfused at " << loc
            << " (a real-valued copy of that weight is made)\n";
      }
    }
  });
  if (log && (fused || unfused))
    *log << "qtc: dequantize fusion: " << fused << " quantized matmuls, "
         << unfused << " dequantize left unfused\n";
  return llvm::Error::success();
}

llvm::Error Compiler::quantize(mlir::ModuleOp module) {
  // The calibration copy is compiled as it is.
  if (calibrating)
    return llvm::Error::success();
  if (opts.quantizing()) {
    QuantOptions q;
    q.uniformBits = opts.quantizeBits;
    q.averageBits = opts.averageBits;
    q.overrides = opts.tensorTypes;
    q.candidates = opts.candidateBits;
    q.groupSize = opts.quantizePreset.empty() ? opts.groupSize : 32;
    q.asymmetric = opts.asym;
    q.floatMin = opts.min || (!opts.quantizePreset.empty() && opts.presetMin);
    q.grid = opts.grid;
    q.calibration = opts.calibration;
    q.generations = q.calibration.empty() ? 0 : opts.evolveGenerations;
    q.awq = opts.awq;
    q.gptq = opts.gptq;
    q.gptqDamp = opts.gptqDamp;
    q.salientFraction = opts.salientColumns;
    q.rotate = opts.rotate;
    q.calibrationMask = opts.calibrationMask;
    q.calibrationMaskGiven = opts.calibrationMaskGiven;
    q.seed = opts.seed;
    q.reportPath = opts.quantReport;
    q.quiet = log == nullptr;
    q.warnings = warnings;
    // The calibration copy runs in this process: the same lowering, with
    // the compiler quiet, JIT-linked.
    q.compile = [this](mlir::ModuleOp copy)
        -> llvm::Expected<std::unique_ptr<CalibrationModel>> {
      llvm::raw_ostream *savedLog = log, *savedWarnings = warnings;
      log = warnings = nullptr;
      calibrating = true;
      auto restore = llvm::make_scope_exit([&] {
        log = savedLog;
        warnings = savedWarnings;
        calibrating = false;
      });
      std::optional<ModelDescription> savedDescription = described;
      described.reset();
      auto keep = llvm::make_scope_exit([&] { described = savedDescription; });
      llvm::Expected<std::unique_ptr<Model>> model = jit(copy);
      if (!model)
        return model.takeError();
      return std::make_unique<CalibrationAdapter>(std::move(*model));
    };
    if (llvm::Error e = quantizeModule(module, q))
      return e;
    quantized = true;
  }
  // The quantized module is normalized again (constants hoisted, the new
  // matmuls canonical), as the target pipeline's first stage will see it.
  if (quantized && !opts.kvCacheBits)
    return normalizeQuiet(module);
  if (opts.kvCacheBits) {
    unsigned caches = 0;
    {
      Stage stage(log, "qt-quantize-kv-cache");
      mlir::PassManager pm(ctx.get());
      mlir::qt::QTQuantizeKVCacheOptions o;
      o.bits = opts.kvCacheBits;
      o.groupSize = opts.kvGroupSize;
      pm.addPass(mlir::qt::createQTQuantizeKVCache(o));
      if (llvm::Error e = runPasses(pm, module, "quantizing the KV cache failed")) {
        stage.abort();
        return e;
      }
      module.walk([&](mlir::Operation *op) {
        if (op->getName().getStringRef() == "qt.kv_quantize")
          ++caches;
      });
      if (caches == 0) {
        stage.abort();
        return llvm::createStringError(
            inputPath +
            ": --kv-cache-bits: no attention reads its KV cache from the "
            "model's inputs (a checkpoint needs --past; an ONNX model needs "
            "past_key_values inputs feeding attention directly)");
      }
    }
    if (log)
      *log << "qtc: KV cache: " << caches / 2 << " attention layers, "
           << opts.kvCacheBits
           << "-bit codes (keys per channel in groups of " << opts.kvGroupSize
           << " tokens, values per token in groups of up to "
           << opts.kvGroupSize << " channels)\n";
    quantized = true;
    return normalizeQuiet(module);
  }
  return llvm::Error::success();
}

llvm::Error Compiler::normalizeQuiet(mlir::ModuleOp module) {
  mlir::PassManager pm(ctx.get());
  mlir::qt::buildNormalizePipeline(pm);
  return runPasses(pm, module, "normalizing the quantized module failed");
}

llvm::Error Compiler::runPasses(mlir::PassManager &pm, mlir::ModuleOp module,
                                const llvm::Twine &what) {
  if (pmHook && mlir::failed(pmHook(pm)))
    return llvm::createStringError("cannot apply the pass manager options");
  FirstError first(*ctx);
  if (mlir::failed(pm.run(module)))
    return first.error(inputPath + ": " + what);
  return llvm::Error::success();
}

llvm::Error Compiler::buildLowering(mlir::OpPassManager &pm, Phase stop) const {
  std::unique_ptr<mlir::qt::CPUPipelineOptions> options = pipelineOptionsOf(opts);
  const mlir::qt::CPUPipelineOptions &p = *options;
  if (llvm::Expected<mlir::qt::CPUTarget> t =
          mlir::qt::resolveCPUTarget(p.request());
      !t)
    return t.takeError();
  // A quantized module is normalized again, as qt-cpu-pipeline does: the
  // lowering is then exactly `qtc-opt --qt-cpu-pipeline` on the output of
  // --compile-to=quantize. Otherwise normalize already ran as the
  // pipeline's first stage.
  if (quantized)
    mlir::qt::buildNormalizePipeline(pm);
  if (mlir::failed(mlir::qt::buildCPULoweringStages(pm, p)))
    return llvm::createStringError("internal: qt-cpu-pipeline cannot be built");
  if (stop == Phase::LLVM && mlir::failed(mlir::qt::buildCPUToLLVMStages(pm)))
    return llvm::createStringError("internal: qt-cpu-pipeline cannot be built");
  return llvm::Error::success();
}

llvm::Error Compiler::lower(mlir::ModuleOp module, Phase stop) {
  Stage stage(log, "qt-cpu-pipeline backend stages");
  mlir::PassManager pm(ctx.get());
  if (llvm::Error e = buildLowering(pm, stop)) {
    stage.abort();
    return e;
  }
  if (llvm::Error e = runPasses(pm, module, "qt-cpu-pipeline failed")) {
    stage.abort();
    return e;
  }
  return llvm::Error::success();
}

llvm::Error Compiler::runPhases(mlir::ModuleOp module, Phase stop) {
  if (llvm::Error e = opts.validate())
    return e;
  if (stop == Phase::Import)
    return llvm::Error::success();
  if (llvm::Error e = normalize(module))
    return e;
  if (stop == Phase::Normalize)
    return llvm::Error::success();
  if (llvm::Error e = quantize(module))
    return e;
  if (stop == Phase::Quantize)
    return llvm::Error::success();
  // The ports, before bufferization turns results into out-parameters.
  llvm::Expected<ModelDescription> d = describe(module);
  if (!d)
    return d.takeError();
  described = std::move(*d);
  return lower(module, stop);
}

llvm::Expected<std::string> Compiler::pipelineOptions() const {
  return mlir::qt::resolvedCPUPipelineOptions(*pipelineOptionsOf(opts));
}

llvm::Expected<std::string> Compiler::pipelineText() const {
  // qt-cpu-pipeline as registered: normalization, then the lowering.
  mlir::PassManager pm(ctx.get(), mlir::ModuleOp::getOperationName());
  if (!quantized)
    mlir::qt::buildNormalizePipeline(pm);
  if (llvm::Error e = buildLowering(pm, Phase::LLVM))
    return std::move(e);
  std::string text;
  llvm::raw_string_ostream os(text);
  pm.printAsTextualPipeline(os);
  return text;
}

llvm::Expected<std::unique_ptr<llvm::Module>>
Compiler::translate(mlir::ModuleOp module, llvm::LLVMContext &context,
                    llvm::TargetMachine &tm, ModelDescription &desc,
                    const mlir::qt::EntrySpec &base) {
  Stage stage(log, "translating to LLVM IR");
  llvm::Expected<std::unique_ptr<llvm::Module>> m =
      mlir::qt::translateToLLVMIR(module, context, tm, opts.strictFP);
  if (!m) {
    stage.abort();
    return m.takeError();
  }
  desc.parallel = (*m)->getFunction("__kmpc_fork_call") != nullptr;
  mlir::qt::EntrySpec spec = base;
  spec.prefix = opts.name;
  for (const Port &p : desc.inputs)
    spec.inputs.push_back({p.name, p.dtype, p.shape});
  for (const Port &p : desc.outputs)
    spec.outputs.push_back({p.name, p.dtype, p.shape});
  spec.description = describeJSON(desc);
  if (llvm::Error e = mlir::qt::addEntryPoints(**m, spec)) {
    stage.abort();
    return std::move(e);
  }
  return m;
}

llvm::Expected<std::vector<std::unique_ptr<llvm::MemoryBuffer>>>
Compiler::codegen(std::unique_ptr<llvm::Module> m,
                  const mlir::qt::CPUTarget &target, bool oneObject) {
  unsigned threads = opts.compileThreads
                         ? opts.compileThreads
                         : llvm::hardware_concurrency().compute_thread_count();
  if (oneObject)
    threads = 1;
  Stage stage(log, "optimizing (O3) and emitting code (" + target.triple +
                       ", " + target.cpu + ", " + llvm::Twine(threads) +
                       " threads)");
  llvm::Expected<std::vector<std::unique_ptr<llvm::MemoryBuffer>>> objects =
      mlir::qt::compileToObjects(std::move(m), target, threads);
  if (!objects)
    stage.abort();
  return objects;
}

llvm::Error Compiler::emitFile(mlir::ModuleOp module, EmitKind kind,
                               llvm::StringRef out) {
  if (llvm::Error e = runPhases(module, Phase::LLVM))
    return e;
  llvm::Expected<mlir::qt::CPUTarget> target =
      mlir::qt::resolveCPUTarget(pipelineOptionsOf(opts)->request());
  if (!target)
    return target.takeError();
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> tm =
      mlir::qt::createTargetMachine(*target);
  if (!tm)
    return tm.takeError();
  llvm::Triple triple((*tm)->getTargetTriple());
  bool linked = kind == EmitKind::Shared || kind == EmitKind::Exe;

  // Weights: a side file, an object of their own, or (a single object
  // file, LLVM IR) through LLVM.
  std::string base = out.str();
  if (llvm::StringRef(base).ends_with(".so"))
    base.resize(base.size() - 3);
  else if (llvm::StringRef(base).ends_with(".o"))
    base.resize(base.size() - 2);
  std::string weightsPath = base + ".weights";
  bool weightsObject = linked && !opts.externalWeights &&
                       mlir::qt::canWriteWeightsObject(triple);
  mlir::qt::WeightBlob weights;
  if (opts.externalWeights || weightsObject) {
    Stage stage(log, opts.externalWeights
                         ? "writing the weights to " + weightsPath
                         : llvm::Twine("moving the weights out of the code"));
    mlir::qt::WeightOptions w;
    w.prefix = opts.name;
    w.placement = opts.externalWeights ? mlir::qt::WeightPlacement::Mapped
                                       : mlir::qt::WeightPlacement::Linked;
    llvm::Expected<mlir::qt::WeightBlob> blob = mlir::qt::detachWeights(module, w);
    if (!blob) {
      stage.abort();
      return blob.takeError();
    }
    weights = std::move(*blob);
    if (opts.externalWeights)
      if (llvm::Error e = mlir::qt::writeWeightsFile(weightsPath, weights)) {
        stage.abort();
        return e;
      }
  }
  // The side file goes again if a later step fails.
  auto removeWeights = llvm::make_scope_exit([&] {
    if (opts.externalWeights)
      llvm::sys::fs::remove(weightsPath);
  });

  llvm::LLVMContext llvmContext;
  mlir::qt::EntrySpec spec;
  spec.mappedWeights = opts.externalWeights;
  spec.program = kind == EmitKind::Exe;
  ModelDescription &desc = *described;
  if (opts.externalWeights)
    desc.weightsFile = llvm::sys::path::filename(weightsPath).str();
  llvm::Expected<std::unique_ptr<llvm::Module>> translated =
      translate(module, llvmContext, **tm, desc, spec);
  if (!translated)
    return translated.takeError();
  std::unique_ptr<llvm::Module> m = std::move(*translated);
  // Weights beyond the small code model's reach get 64-bit addressing.
  if (weights.bytes > mlir::qt::kLargeWeightsBytes && triple.isX86())
    for (llvm::GlobalVariable &g : m->globals())
      if (g.getName().ends_with(weights.symbol))
        g.setCodeModel(llvm::CodeModel::Large);

  if (kind == EmitKind::LLVMIR) {
    Stage stage(log, "optimizing (O3) and writing " + out);
    if (llvm::Error e = mlir::qt::optimizeModule(*m, **tm)) {
      stage.abort();
      return e;
    }
    std::string text;
    llvm::raw_string_ostream os(text);
    m->print(os, nullptr);
    if (llvm::Error e = writeText(out, text)) {
      stage.abort();
      return e;
    }
    removeWeights.release();
    return llvm::Error::success();
  }

  // One object file holds everything: a single partition.
  llvm::Expected<std::vector<std::unique_ptr<llvm::MemoryBuffer>>> compiled =
      codegen(std::move(m), *target, kind == EmitKind::Object);
  if (!compiled)
    return compiled.takeError();
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects = std::move(*compiled);
  if (kind == EmitKind::Object) {
    if (llvm::Error e = writeText(out, objects.front()->getBuffer()))
      return e;
    removeWeights.release();
    return llvm::Error::success();
  }

  // Shared library or program: the objects, the weights object and the
  // runtime, linked by the system's C compiler driver in a private folder
  // removed on every path; the result is renamed into place at the end.
  llvm::SmallString<128> dir;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("qtc-link", dir))
    return llvm::createStringError("cannot create a temporary folder: " +
                                   ec.message());
  std::vector<std::string> files;
  auto cleanup = llvm::make_scope_exit([&] {
    for (const std::string &f : files)
      llvm::sys::fs::remove(f);
    llvm::sys::fs::remove(dir);
  });
  std::vector<std::string> linkInputs;
  for (auto [i, obj] : llvm::enumerate(objects)) {
    files.push_back((dir + "/code" + llvm::Twine(i) + ".o").str());
    if (llvm::Error e = writeText(files.back(), obj->getBuffer()))
      return e;
    linkInputs.push_back(files.back());
  }
  objects.clear();
  if (weightsObject && !weights.pieces.empty()) {
    Stage stage(log, "writing the weights object (" +
                         llvm::Twine(weights.bytes >> 20) + " MiB)");
    files.push_back((dir + "/weights.o").str());
    if (llvm::Error e = mlir::qt::writeWeightsObject(files.back(), weights, triple)) {
      stage.abort();
      return e;
    }
    linkInputs.push_back(files.back());
  }
  std::string linkedPath = (dir + "/out").str();
  files.push_back(linkedPath);
  {
    Stage stage(log, "linking " + out);
    bool program = kind == EmitKind::Exe;
    llvm::ErrorOr<std::string> cc = llvm::sys::findProgramByName("cc");
    if (!cc) {
      stage.abort();
      return llvm::createStringError(
          std::string(program ? "--emit exe" : "--emit shared") +
          " needs a C compiler ('cc') on PATH");
    }
    std::string runtime = runtimeArchive;
    if (runtime.empty()) {
      // lib/ beside the running program's bin/ (qtc), else beside the
      // library holding this code (libqtc.so loaded by Python or a C
      // program).
      std::string exe = llvm::sys::fs::getMainExecutable(nullptr, nullptr);
      llvm::SmallString<256> lib(
          llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
      llvm::sys::path::append(lib, "lib", "libqtc_runtime.a");
      runtime = lib.str().str();
      Dl_info info;
      if (!llvm::sys::fs::exists(runtime) &&
          dladdr(reinterpret_cast<void *>(&writeText), &info) &&
          info.dli_fname) {
        llvm::SmallString<256> beside(
            llvm::sys::path::parent_path(info.dli_fname));
        llvm::sys::path::append(beside, "libqtc_runtime.a");
        if (llvm::sys::fs::exists(beside))
          runtime = beside.str().str();
      }
    }
    if (!llvm::sys::fs::exists(runtime)) {
      stage.abort();
      return llvm::createStringError("the qtc runtime is missing: " + runtime);
    }
    llvm::SmallVector<llvm::StringRef> argv = {*cc};
    if (!program)
      argv.append({"-shared", "-fPIC", "-Wl,--exclude-libs,ALL"});
    // No build ID: the linker would hash every byte of the weights for it
    // (a second per 500 MB).
    argv.append({"-Wl,--build-id=none", "-o", linkedPath});
    for (const std::string &f : linkInputs)
      argv.push_back(f);
    argv.append({runtime, "-lm", "-pthread"});
    files.push_back((dir + "/link.log").str());
    std::optional<llvm::StringRef> redirects[] = {std::nullopt, files.back(),
                                                  files.back()};
    std::string message;
    int status = llvm::sys::ExecuteAndWait(*cc, argv, std::nullopt, redirects,
                                           0, 0, &message);
    if (status != 0) {
      stage.abort();
      std::string why = message;
      if (auto text = llvm::MemoryBuffer::getFile(files.back()))
        for (llvm::StringRef line : llvm::split((*text)->getBuffer(), '\n'))
          if (line.contains("error") || line.contains("undefined")) {
            why = line.trim().str();
            break;
          }
      return llvm::createStringError("linking " + out + " failed (" + *cc +
                                     (why.empty() ? ")" : "): " + why));
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(linkedPath, out)) {
    // Across file systems: copy instead.
    if (std::error_code ec2 = llvm::sys::fs::copy_file(linkedPath, out))
      return llvm::createStringError("cannot write '" + out +
                                     "': " + ec2.message());
    llvm::sys::fs::setPermissions(out, llvm::sys::fs::all_read |
                                           llvm::sys::fs::all_exe |
                                           llvm::sys::fs::owner_write);
  }
  if (kind == EmitKind::Shared) {
    if (llvm::Error e = writeText(base + ".h", cHeader(desc, opts.externalWeights)))
      return e;
    if (llvm::Error e = writeText(base + ".json", describeJSON(desc)))
      return e;
  }
  removeWeights.release();
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<Model>> Compiler::jit(mlir::ModuleOp module) {
  if (opts.externalWeights)
    return llvm::createStringError(
        "--weights external applies to files qtc compile writes; the JIT "
        "keeps the weights in memory");
  if (llvm::Error e = runPhases(module, Phase::LLVM))
    return std::move(e);
  ModelDescription desc = *described;
  llvm::Expected<mlir::qt::CPUTarget> target =
      mlir::qt::resolveCPUTarget(pipelineOptionsOf(opts)->request());
  if (!target)
    return target.takeError();
  if (!opts.targetTriple.empty() || !opts.targetFeatures.empty())
    if (llvm::Triple(target->triple).getArch() !=
        llvm::Triple(llvm::sys::getProcessTriple()).getArch())
      return llvm::createStringError("the JIT runs code for this machine; "
                                     "target " + target->triple + " cannot run here");
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> tm =
      mlir::qt::createTargetMachine(*target);
  if (!tm)
    return tm.takeError();
  mlir::qt::WeightOptions w;
  w.prefix = opts.name;
  w.placement = mlir::qt::WeightPlacement::Linked;
  w.anywhere = true;
  llvm::Expected<mlir::qt::WeightBlob> weights = mlir::qt::detachWeights(module, w);
  if (!weights)
    return weights.takeError();
  llvm::LLVMContext llvmContext;
  llvm::Expected<std::unique_ptr<llvm::Module>> translated =
      translate(module, llvmContext, **tm, desc, mlir::qt::EntrySpec());
  if (!translated)
    return translated.takeError();
  llvm::Expected<std::vector<std::unique_ptr<llvm::MemoryBuffer>>> objects =
      codegen(std::move(*translated), *target, false);
  if (!objects)
    return objects.takeError();
  Stage stage(log, "linking into this process (JIT)");
  llvm::Expected<std::unique_ptr<JITSession>> session =
      JITSession::create(*target, std::move(*objects), &*weights);
  if (!session) {
    stage.abort();
    return session.takeError();
  }
  return Model::fromJIT(std::move(*session), std::move(desc));
}

llvm::Expected<std::unique_ptr<Model>> Compiler::compile(llvm::StringRef path) {
  llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>> module = import(path);
  if (!module)
    return module.takeError();
  return jit(**module);
}
