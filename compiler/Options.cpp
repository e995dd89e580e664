//===- Options.cpp - Everything a compilation can be told -----------------===//

#include "compiler/Options.h"

#include "dialects/QT/Utils/Grids.h"
#include "frontends/onnx/OnnxImporter.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/GlobPattern.h"

#include <algorithm>
#include <cmath>

using namespace qtc;

namespace {

const OptionInfo kOptions[] = {
    // Input.
    {"dim", OptionKind::List, OptionGroup::Input, "NAME=SIZE",
     "ONNX: bind a dim_param to a size"},
    {"input-shape", OptionKind::List, OptionGroup::Input, "NAME=DIMS",
     "ONNX: bind an input's dims (NAME=d0,d1,...)"},
    {"batch", OptionKind::Value, OptionGroup::Input, "N",
     "Checkpoint: static batch size"},
    {"seq", OptionKind::Value, OptionGroup::Input, "N",
     "Checkpoint: static number of new tokens"},
    {"past", OptionKind::Value, OptionGroup::Input, "N",
     "Checkpoint: static number of cached tokens"},
    {"max-context", OptionKind::Value, OptionGroup::Input, "N",
     "Checkpoint, GGUF decoders: the generation signature, a fixed KV cache "
     "of N positions per layer (inputs cache.L.key/value, the first "
     "position_ids[b, 0] filled) and the new keys and values as outputs "
     "(new.L.key/value), instead of past and present"},
    {"allow-unused-tensors", OptionKind::Flag, OptionGroup::Input, "",
     "Checkpoint, GGUF: build even when the file holds tensors the model's "
     "builder does not use (a warning lists them; by default an error, as "
     "such a file is not the model its config or metadata describes)"},
    // Target.
    {"target", OptionKind::Value, OptionGroup::Target, "NAME",
     "Backend: cpu (the default and, for now, the only one)"},
    {"target-triple", OptionKind::Value, OptionGroup::Target, "TRIPLE",
     "Target triple (default: the host)"},
    {"target-cpu", OptionKind::Value, OptionGroup::Target, "CPU",
     "Target CPU (default: the host's)"},
    {"target-features", OptionKind::Value, OptionGroup::Target, "FEATURES",
     "Target features, e.g. +avx2,+fma (default: the host's)"},
    {"strict-fp", OptionKind::Flag, OptionGroup::Target, "",
     "Keep the source order of floating-point sums, no FMA contraction and "
     "libm's erf/exp/tanh (slower; by default sums may be reassociated and "
     "those functions approximated by polynomials)"},
    {"outline-layers", OptionKind::Flag, OptionGroup::Target, "",
     "Compile layers of equal shapes once, as one function each layer calls "
     "with its own weights (default: on; =false compiles every layer "
     "separately)"},
    // Output.
    {"name", OptionKind::Value, OptionGroup::Output, "NAME",
     "Prefix of the generated entry points and header (NAME_run, "
     "NAME_error, NAME.h's guard), so that several models link into one "
     "program (default: qtc_model)"},
    {"weights", OptionKind::Value, OptionGroup::Output, "embedded|external",
     "Where the weights go: embedded into the object (default), or external: "
     "into OUT.weights (OUT without .so/.o), which the library or program "
     "memory-maps when it first runs"},
    {"compile-threads", OptionKind::Value, OptionGroup::Output, "N",
     "Threads that optimize and emit machine code (default: every "
     "processor)"},
    // Quantization.
    {"quantize", OptionKind::Value, OptionGroup::Quantization, "wB|FORMAT",
     "Quantize real-valued matmul weights: w8, w6, w5, w4, w3 or w2 "
     "(round-to-nearest, per-group clipping search), or a llama.cpp format "
     "at its bits per weight: q8_0, q5_0, q4_0 (symmetric, groups of 32, "
     "f16 scales), q5_1, q4_1 (with a min per group)"},
    {"weight-bits", OptionKind::Value, OptionGroup::Quantization, "avg:X",
     "Choose each layer's width under an average-bits budget, e.g. avg:3.25 "
     "(see --calibration)"},
    {"group-size", OptionKind::Value, OptionGroup::Quantization, "N",
     "Weights per scale along K (0: per channel; default 128)"},
    {"asym", OptionKind::Flag, OptionGroup::Quantization, "",
     "Unsigned codes with an integer zero point per group"},
    {"min", OptionKind::Flag, OptionGroup::Quantization, "",
     "Unsigned codes with a real-valued min per group, stored like the "
     "scales: code * scale + min (llama.cpp's Q4_1 form; represents a "
     "group's range exactly where --asym's integer zero point rounds)"},
    {"grid", OptionKind::Value, OptionGroup::Quantization, "NAME",
     "Code grid of 4-bit weights (with --quantize w4 or --weight-bits): "
     "uniform (16 evenly spaced levels), nf4 (NormalFloat 4) or iq4nl "
     "(llama.cpp's IQ4_NL table); a non-uniform grid loses less on normally "
     "distributed weights, e.g. with --rotate. Layers of other widths stay "
     "uniform"},
    {"tensor-type", OptionKind::List, OptionGroup::Quantization, "PATTERN=BITS",
     "Fix the width of weights whose name matches a glob, e.g. "
     "'*.attention.*=8'; 16 keeps them real-valued (repeatable)"},
    {"candidate-bits", OptionKind::Value, OptionGroup::Quantization, "B,B,...",
     "Widths --weight-bits may choose from (default 2,3,4,8)"},
    {"calibration", OptionKind::Value, OptionGroup::Quantization, "FILE.npz",
     "Model inputs (.npz, one array per input, optionally with a leading "
     "batch-count axis) for activation-aware scaling, GPTQ's statistics and "
     "--weight-bits' end-to-end sensitivities and evolutionary search"},
    {"awq", OptionKind::Flag, OptionGroup::Quantization, "",
     "With --calibration, scale each layer's input channels by searched "
     "activation-aware factors before quantizing (AWQ; default: on)"},
    {"gptq", OptionKind::Flag, OptionGroup::Quantization, "",
     "With --calibration, round each layer's columns in order and "
     "compensate each column's error on the columns not yet rounded, "
     "through the inverse of the layer's input statistics X^T X (GPTQ): the "
     "least output error instead of the least weight error"},
    {"gptq-damp", OptionKind::Value, OptionGroup::Quantization, "F",
     "GPTQ damping: this fraction of the mean diagonal of X^T X is added to "
     "its diagonal (larger trusts a small calibration set less; default 1)"},
    {"calibration-mask", OptionKind::Value, OptionGroup::Quantization, "NAME",
     "Integer model input whose zeros mark padding tokens in the "
     "calibration data; layer-input rows at those tokens are left out of "
     "the statistics (AWQ, GPTQ). 'none' counts every row (default: "
     "attention_mask)"},
    {"rotate", OptionKind::Flag, OptionGroup::Quantization, "",
     "Quantize each group of weights after a randomized Hadamard rotation "
     "(QuaRot / QuIP# style), which spreads outlier channels over the "
     "group; the activations get the same rotation at run time (a small "
     "matmul per block of up to 128 channels before each quantized matmul)"},
    {"salient-columns", OptionKind::Value, OptionGroup::Quantization, "F",
     "Keep this fraction of each layer's input columns at f16: the most "
     "salient ones (activation energy x weight norm with --calibration, "
     "weight norm without), e.g. 0.01"},
    {"evolve-generations", OptionKind::Value, OptionGroup::Quantization, "N",
     "Generations of evolutionary refinement of the allocation on measured "
     "error (needs --calibration; 0: off; default 20)"},
    {"seed", OptionKind::Value, OptionGroup::Quantization, "N",
     "Seed of the evolutionary search (default 1)"},
    {"quant-report", OptionKind::Value, OptionGroup::Quantization, "FILE.json",
     "Write the quantization report as JSON"},
    {"kv-cache-bits", OptionKind::Value, OptionGroup::Quantization, "B",
     "Pass the attention KV cache in and out quantized: 8, 4 or 2 bits "
     "(keys per channel, values per token; 0: real-valued)"},
    {"kv-group-size", OptionKind::Value, OptionGroup::Quantization, "N",
     "Tokens per key scale and channels per value scale of the quantized KV "
     "cache (default 32)"},
};

llvm::Error bad(llvm::StringRef key, const llvm::Twine &expects,
                llvm::StringRef value) {
  return llvm::createStringError("--" + key + " expects " + expects +
                                 " (got '" + value + "')");
}

llvm::Expected<bool> parseBool(llvm::StringRef key, llvm::StringRef value) {
  std::string v = value.trim().lower();
  if (v.empty() || v == "true" || v == "1" || v == "on" || v == "yes")
    return true;
  if (v == "false" || v == "0" || v == "off" || v == "no")
    return false;
  return bad(key, "true or false", value);
}

template <typename T>
llvm::Error parseInt(llvm::StringRef key, llvm::StringRef value, T &out,
                     int64_t lo, int64_t hi, const char *expects) {
  int64_t v;
  if (value.trim().getAsInteger(10, v) || v < lo || v > hi)
    return bad(key, expects, value);
  out = static_cast<T>(v);
  return llvm::Error::success();
}

llvm::Error parseDouble(llvm::StringRef key, llvm::StringRef value, double &out,
                        double lo, double hi, bool hiOpen, const char *expects) {
  double v;
  if (value.trim().getAsDouble(v) || !std::isfinite(v) || v < lo ||
      (hiOpen ? v >= hi : v > hi))
    return bad(key, expects, value);
  out = v;
  return llvm::Error::success();
}

} // namespace

llvm::ArrayRef<OptionInfo> qtc::compilerOptionTable() { return kOptions; }

bool CompilerOptions::has(llvm::StringRef key) const {
  return llvm::is_contained(given, key);
}

llvm::Error CompilerOptions::set(llvm::StringRef key, llvm::StringRef value) {
  key.consume_front("--");
  const OptionInfo *info = nullptr;
  for (const OptionInfo &o : kOptions)
    if (key == o.key)
      info = &o;
  if (!info) {
    // Accept Python-style keys: calibration_mask for calibration-mask.
    std::string dashed = key.str();
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    for (const OptionInfo &o : kOptions)
      if (dashed == o.key)
        info = &o;
    if (!info)
      return llvm::createStringError("unknown compiler option '" + key +
                                     "' (see qtc compile --help)");
    key = info->key;
  }
  given.push_back(key.str());
  value = value.trim();
  settings.emplace_back(key.str(), value.str());
  auto flag = [&](bool &out) -> llvm::Error {
    llvm::Expected<bool> b = parseBool(key, value);
    if (!b)
      return b.takeError();
    out = *b;
    return llvm::Error::success();
  };

  if (key == "dim") {
    onnx::ImportOptions probe;
    if (llvm::Error e = onnx::parseDimParam(value, probe))
      return e;
    dims.push_back(value.str());
    return llvm::Error::success();
  }
  if (key == "input-shape") {
    onnx::ImportOptions probe;
    if (llvm::Error e = onnx::parseInputShape(value, probe))
      return e;
    inputShapes.push_back(value.str());
    return llvm::Error::success();
  }
  if (key == "batch")
    return parseInt(key, value, batch, 1, int64_t(1) << 31,
                    "a positive batch size");
  if (key == "seq")
    return parseInt(key, value, seq, 1, int64_t(1) << 31,
                    "a positive number of new tokens");
  if (key == "past")
    return parseInt(key, value, past, 0, int64_t(1) << 31,
                    "a number of cached tokens >= 0");
  if (key == "target") {
    if (value != "cpu")
      return bad(key, "cpu (the only backend so far)", value);
    target = value.str();
    return llvm::Error::success();
  }
  if (key == "target-triple") {
    targetTriple = value.str();
    return llvm::Error::success();
  }
  if (key == "target-cpu") {
    targetCPU = value.str();
    return llvm::Error::success();
  }
  if (key == "target-features") {
    targetFeatures = value.str();
    return llvm::Error::success();
  }
  if (key == "strict-fp")
    return flag(strictFP);
  if (key == "max-context")
    return parseInt(key, value, maxContext, 1, int64_t(1) << 24,
                    "a positive number of positions");
  if (key == "allow-unused-tensors")
    return flag(allowUnusedTensors);
  if (key == "outline-layers")
    return flag(outlineLayers);
  if (key == "name") {
    bool valid = !value.empty() && !llvm::isDigit(value.front()) &&
                 llvm::all_of(value, [](char c) {
                   return llvm::isAlnum(c) || c == '_';
                 });
    if (!valid)
      return bad(key, "a C identifier (letters, digits, _; not starting "
                      "with a digit)",
                 value);
    name = value.str();
    return llvm::Error::success();
  }
  if (key == "weights") {
    if (value != "embedded" && value != "external")
      return bad(key, "embedded or external", value);
    externalWeights = value == "external";
    return llvm::Error::success();
  }
  if (key == "compile-threads")
    return parseInt(key, value, compileThreads, 0, 1024,
                    "a thread count (0: every processor)");
  if (key == "quantize") {
    // llama.cpp's formats: groups of 32, f16 scales (and mins).
    static const struct {
      const char *name;
      unsigned bits;
      bool min;
    } presets[] = {{"q8_0", 8, false}, {"q5_0", 5, false}, {"q4_0", 4, false},
                   {"q5_1", 5, true},  {"q4_1", 4, true}};
    quantizePreset.clear();
    for (const auto &p : presets)
      if (value.equals_insensitive(p.name)) {
        quantizeBits = p.bits;
        quantizePreset = p.name;
        presetMin = p.min;
        return llvm::Error::success();
      }
    llvm::StringRef t = value;
    t.consume_front("w");
    unsigned bits;
    if (t.getAsInteger(10, bits) || bits < 2 || bits > 8 || bits == 7)
      return bad(key, "w8, w6, w5, w4, w3, w2, q8_0, q5_0, q5_1, q4_0 or q4_1",
                 value);
    quantizeBits = bits;
    return llvm::Error::success();
  }
  if (key == "weight-bits") {
    llvm::StringRef t = value;
    double avg;
    if (!t.consume_front("avg:") || t.getAsDouble(avg) || !(avg >= 1) ||
        !(avg <= 16))
      return bad(key,
                 "avg:X with X an average bit width from 1 to 16, e.g. "
                 "avg:3.25",
                 value);
    averageBits = avg;
    return llvm::Error::success();
  }
  if (key == "tensor-type") {
    auto [pattern, width] = value.rsplit('=');
    width.consume_front("w");
    unsigned bits;
    if (pattern.empty() || width.getAsInteger(10, bits) || bits < 2 ||
        (bits > 8 && bits != 16 && bits != 32))
      return bad(key,
                 "PATTERN=BITS with BITS 2-8, or 16/32 to keep the weight "
                 "real-valued",
                 value);
    if (llvm::Expected<llvm::GlobPattern> g = llvm::GlobPattern::create(pattern);
        !g)
      return llvm::createStringError("--tensor-type pattern '" + pattern +
                                     "': " + llvm::toString(g.takeError()));
    tensorTypes.emplace_back(pattern.str(), bits);
    return llvm::Error::success();
  }
  if (key == "candidate-bits") {
    std::vector<unsigned> widths;
    llvm::SmallVector<llvm::StringRef> parts;
    value.split(parts, ',', -1, false);
    for (llvm::StringRef p : parts) {
      unsigned b;
      if (p.trim().getAsInteger(10, b) || b < 2 || b > 8)
        return bad(key, "widths 2 to 8, e.g. 2,3,4,8", value);
      widths.push_back(b);
    }
    llvm::sort(widths);
    widths.erase(std::unique(widths.begin(), widths.end()), widths.end());
    if (widths.empty())
      return bad(key, "at least one width, e.g. 2,3,4,8", value);
    candidateBits = std::move(widths);
    return llvm::Error::success();
  }
  if (key == "group-size")
    return parseInt(key, value, groupSize, 0, int64_t(1) << 31,
                    "0 (per channel) or a positive group size");
  if (key == "asym")
    return flag(asym);
  if (key == "min")
    return flag(min);
  if (key == "grid") {
    std::vector<float> levels;
    if (!namedGrid(value, 4, levels))
      return bad(key, gridNames(), value);
    grid = value.str();
    return llvm::Error::success();
  }
  if (key == "calibration") {
    calibration = value.str();
    return llvm::Error::success();
  }
  if (key == "awq")
    return flag(awq);
  if (key == "gptq")
    return flag(gptq);
  if (key == "gptq-damp")
    return parseDouble(key, value, gptqDamp, 0, 1e6, false, "a fraction >= 0");
  if (key == "calibration-mask") {
    calibrationMask = value == "none" ? std::string() : value.str();
    calibrationMaskGiven = true;
    return llvm::Error::success();
  }
  if (key == "rotate")
    return flag(rotate);
  if (key == "salient-columns")
    return parseDouble(key, value, salientColumns, 0, 1, true,
                       "a fraction in [0, 1)");
  if (key == "evolve-generations")
    return parseInt(key, value, evolveGenerations, 0, 100000,
                    "a number of generations >= 0");
  if (key == "seed")
    return parseInt(key, value, seed, 0, UINT32_MAX, "an unsigned seed");
  if (key == "quant-report") {
    quantReport = value.str();
    return llvm::Error::success();
  }
  if (key == "kv-cache-bits") {
    if (llvm::Error e = parseInt(key, value, kvCacheBits, 0, 8, "8, 4 or 2"))
      return e;
    if (kvCacheBits && kvCacheBits != 2 && kvCacheBits != 4 && kvCacheBits != 8)
      return bad(key, "8, 4 or 2", value);
    return llvm::Error::success();
  }
  if (key == "kv-group-size")
    return parseInt(key, value, kvGroupSize, 1, int64_t(1) << 31,
                    "a positive group size");
  return llvm::createStringError("internal: option '" + key +
                                 "' has no parser");
}

llvm::Error CompilerOptions::validate() const {
  if (!quantizing())
    for (const char *key : {"grid", "asym", "min", "rotate", "gptq"})
      if (has(key))
        return llvm::createStringError(
            "--" + llvm::Twine(key) +
            " needs --quantize, --weight-bits or --tensor-type");
  std::vector<float> levels;
  namedGrid(grid, 4, levels);
  if (!levels.empty() && asym)
    return llvm::createStringError("--grid " + grid +
                                   " has no zero point: drop --asym");
  if (!levels.empty() && min)
    return llvm::createStringError("--grid " + grid +
                                   " has no min: drop --min");
  if (asym && min)
    return llvm::createStringError(
        "--asym and --min are two ways to offset a group; choose one");
  if (!quantizePreset.empty()) {
    for (const char *key : {"group-size", "asym", "min", "grid"})
      if (has(key))
        return llvm::createStringError(
            "--quantize " + quantizePreset + " fixes the format (groups of "
            "32, f16 scales" + (presetMin ? " and mins" : "") +
            "); drop --" + key);
  }
  if (!levels.empty() && quantizeBits && quantizeBits != 4)
    return llvm::createStringError(
        "--grid " + grid +
        " is a 4-bit grid; use it with --quantize w4 (or --weight-bits, where "
        "it applies to the 4-bit layers)");
  if (gptq && calibration.empty())
    return llvm::createStringError(
        "--gptq needs --calibration (the layers' input statistics)");
  return llvm::Error::success();
}
