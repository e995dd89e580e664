//===- Quantization.h - qtc compile's weight quantization -------*- C++ -*-===//
//
// `qtc compile --quantize wB` (one width for every layer) and
// `--weight-bits avg:X` (a width per layer chosen under an average-bits
// budget): see docs/quantization.md. Works on the imported module before
// the backend, through qt-quantize-weights' helpers.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_TOOLS_QTC_QUANTIZATION_H
#define QTC_TOOLS_QTC_QUANTIZATION_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace qtc {

struct QuantOptions {
  /// --quantize wB: every layer at B bits (0: not given).
  unsigned uniformBits = 0;
  /// --weight-bits avg:X (0: not given).
  double averageBits = 0;
  /// Widths the per-layer search may pick, ascending.
  std::vector<unsigned> candidates = {2, 3, 4, 8};
  int64_t groupSize = 128;
  bool asymmetric = false;
  /// --grid: the code grid of 4-bit layers ("uniform", "nf4", "iq4nl");
  /// layers of other widths keep evenly spaced codes.
  std::string grid = "uniform";
  /// --tensor-type PATTERN=BITS: fixed widths for matching weights (glob
  /// patterns over weight names); 16 or more keeps them real-valued.
  std::vector<std::pair<std::string, unsigned>> overrides;
  /// .npz of model inputs for end-to-end sensitivities and activation-aware
  /// scaling.
  std::string calibration;
  /// Activation-aware per-input-channel scaling when calibrated.
  bool awq = true;
  /// Fraction of each layer's input columns kept at f16 (most salient).
  double salientFraction = 0;
  /// GPTQ error compensation when calibrated (damping: a fraction of the
  /// mean diagonal of each layer's X^T X).
  bool gptq = false;
  double gptqDamp = 1.0;
  /// Rotate each group of weights (and of activations, at run time) by a
  /// randomized Hadamard matrix before quantizing.
  bool rotate = false;
  /// Int input whose zeros mark padding tokens: rows of layer inputs at
  /// those tokens are left out of the calibration statistics (when the
  /// layer input has one row per mask element). Empty: none. Given: an
  /// error when the model has no such input.
  std::string calibrationMask = "attention_mask";
  bool calibrationMaskGiven = false;
  unsigned generations = 20, offspring = 4, seed = 1;
  /// Where to write the JSON report (empty: none).
  std::string reportPath;
  bool quiet = false;
  /// Compiles a module into a shared library at the given path (the
  /// driver's --emit shared), for running calibration inputs.
  std::function<llvm::Error(mlir::ModuleOp, const std::string &)> buildShared;
};

/// Parses "w4" / "4" into bits.
llvm::Expected<unsigned> parseQuantizeFlag(llvm::StringRef text);
/// Parses "avg:3.25".
llvm::Expected<double> parseWeightBitsFlag(llvm::StringRef text);
/// Parses "PATTERN=BITS".
llvm::Expected<std::pair<std::string, unsigned>>
parseTensorTypeFlag(llvm::StringRef text);

/// Quantizes the module's real-valued matmul weights as `options` say.
llvm::Error quantizeModule(mlir::ModuleOp module, const QuantOptions &options);

} // namespace qtc

#endif // QTC_TOOLS_QTC_QUANTIZATION_H
