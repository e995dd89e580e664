//===- Calibration.h - Weight quantization of a whole model -----*- C++ -*-===//
//
// `qtc compile --quantize wB` (one width for every layer) and
// `--weight-bits avg:X` (a width per layer chosen under an average-bits
// budget), with or without calibration data (AWQ, GPTQ, rotations,
// measured end-to-end sensitivities): see docs/quantization.md. Works on
// the imported module before the backend, through qt-quantize-weights'
// helpers; calibration runs a copy of the model that the caller compiles
// (QuantOptions::compile).
//
//===----------------------------------------------------------------------===//

#ifndef QTC_QUANT_CALIBRATION_H
#define QTC_QUANT_CALIBRATION_H

#include "quant/Npy.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace qtc {

/// A compiled model as the calibration harness runs it.
class CalibrationModel {
public:
  virtual ~CalibrationModel() = default;
  virtual const std::vector<Port> &inputs() const = 0;
  virtual const std::vector<Port> &outputs() const = 0;
  /// Runs the model on `inputs` (in input order) into `outputs` (from
  /// allocateArrays(outputs())).
  virtual llvm::Error run(std::vector<Array> &inputs,
                          std::vector<Array> &outputs) = 0;
};

struct QuantOptions {
  /// --quantize wB: every layer at B bits (0: not given).
  unsigned uniformBits = 0;
  /// --weight-bits avg:X (0: not given).
  double averageBits = 0;
  /// Widths the per-layer search may pick, ascending.
  std::vector<unsigned> candidates = {2, 3, 4, 8};
  int64_t groupSize = 128;
  bool asymmetric = false;
  /// Unsigned codes with a real-valued min per group (llama.cpp's Q4_1).
  bool floatMin = false;
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
  /// No progress lines (on stderr otherwise).
  bool quiet = false;
  /// Where warnings go (null: nowhere), one line each.
  llvm::raw_ostream *warnings = nullptr;
  /// Compiles a module (a copy of the model whose weights are inputs) so
  /// the harness can run calibration inputs through it: the compiler's
  /// in-process JIT.
  std::function<llvm::Expected<std::unique_ptr<CalibrationModel>>(
      mlir::ModuleOp)>
      compile;
};

/// Quantizes the module's real-valued matmul weights as `options` say.
llvm::Error quantizeModule(mlir::ModuleOp module, const QuantOptions &options);

} // namespace qtc

#endif // QTC_QUANT_CALIBRATION_H
