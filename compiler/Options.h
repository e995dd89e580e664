//===- Options.h - Everything a compilation can be told ---------*- C++ -*-===//
//
// One table of compiler options serves every front door: `qtc compile`
// builds its flags from it (the key is the flag's name), the C API's
// `qtc_compiler_options_set(options, "key", "value")` and Python's
// `qtc.compile(path, key=value, ...)` set options by the same keys, and
// `CompilerOptions::set` parses and checks each value in one place.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_COMPILER_OPTIONS_H
#define QTC_COMPILER_OPTIONS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace qtc {

/// How an option takes its value.
enum class OptionKind {
  Value, ///< --key VALUE (or --key=VALUE)
  Flag,  ///< --key alone means true; --key=false turns it off
  List,  ///< --key VALUE, repeatable
};

/// Which part of `qtc compile --help` lists the option.
enum class OptionGroup { Input, Target, Output, Quantization };

struct OptionInfo {
  const char *key;
  OptionKind kind;
  OptionGroup group;
  const char *valueName; ///< e.g. "NAME=SIZE" (unused for flags)
  const char *help;
};

/// Every option, in the order `--help` lists them.
llvm::ArrayRef<OptionInfo> compilerOptionTable();

/// The settings of one compilation. Defaults are what `qtc compile` uses
/// without flags.
struct CompilerOptions {
  // Input shapes.
  std::vector<std::string> dims;        ///< ONNX: "dim_param=size"
  std::vector<std::string> inputShapes; ///< ONNX: "input=d0,d1,..."
  int64_t batch = -1, seq = -1, past = -1; ///< checkpoints (-1: dynamic)
  /// Checkpoints, GGUF decoders: the generation signature with a cache of
  /// this many positions (0: the past/present signature).
  int64_t maxContext = 0;
  /// Checkpoints, GGUF: unused tensors are a warning, not an error.
  bool allowUnusedTensors = false;

  // Target.
  std::string target = "cpu";
  std::string targetTriple, targetCPU, targetFeatures;
  bool strictFP = false;
  /// Layers of equal shapes share one compiled function.
  bool outlineLayers = true;

  // Output.
  /// Prefix of the generated entry points (NAME_run, NAME_error, ...).
  std::string name = "qtc_model";
  bool externalWeights = false;
  /// Threads that optimize and emit machine code (0: every processor).
  unsigned compileThreads = 0;

  // Quantization.
  unsigned quantizeBits = 0; ///< --quantize wB (0: not given)
  double averageBits = 0;    ///< --weight-bits avg:X (0: not given)
  std::vector<std::pair<std::string, unsigned>> tensorTypes;
  std::vector<unsigned> candidateBits = {2, 3, 4, 8};
  int64_t groupSize = 128;
  bool asym = false;
  /// --min: a real-valued min per group (code * scale + min).
  bool min = false;
  /// --quantize q4_0 etc.: the llama.cpp format named (groups of 32, f16
  /// scales; `presetMin`: with mins), or empty.
  std::string quantizePreset;
  bool presetMin = false;
  std::string grid = "uniform";
  std::string calibration;
  bool awq = true;
  bool gptq = false;
  double gptqDamp = 1.0;
  std::string calibrationMask = "attention_mask";
  bool calibrationMaskGiven = false;
  bool rotate = false;
  double salientColumns = 0;
  unsigned evolveGenerations = 20;
  unsigned seed = 1;
  std::string quantReport;
  unsigned kvCacheBits = 0;
  int64_t kvGroupSize = 32;

  /// Keys set so far (for checks that depend on what was given).
  std::vector<std::string> given;
  /// Every set() call in order, as (key, trimmed value): what identifies
  /// a compilation's options (the generator's artifact cache hashes it).
  std::vector<std::pair<std::string, std::string>> settings;

  /// Sets option `key` (a key of compilerOptionTable(), without dashes) to
  /// `value`; for flags an empty value means true. Errors name the key and
  /// what it accepts.
  llvm::Error set(llvm::StringRef key, llvm::StringRef value);

  /// Whether `key` was set.
  bool has(llvm::StringRef key) const;

  /// Whether any weight quantization was asked for.
  bool quantizing() const {
    return quantizeBits || averageBits > 0 || !tensorTypes.empty();
  }

  /// Checks the combination of options (each value was checked by set()).
  llvm::Error validate() const;
};

} // namespace qtc

#endif // QTC_COMPILER_OPTIONS_H
