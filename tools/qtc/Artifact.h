//===- Artifact.h - Loading and running a compiled model --------*- C++ -*-===//
//
// A shared library from `qtc compile --emit shared` with its JSON
// description (MODEL.json next to MODEL.so): the ports of `qtc_model_run`
// and a way to call it on arrays. Used by qtc run and qtc eval, and by
// compile's mixed-precision search to run calibration inputs.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_TOOLS_QTC_ARTIFACT_H
#define QTC_TOOLS_QTC_ARTIFACT_H

#include "tools/qtc/Npy.h"

#include "llvm/ADT/StringMap.h"

namespace qtc {

/// One argument or result of the compiled entry.
struct Port {
  std::string name, dtype;
  llvm::SmallVector<int64_t> shape;
};

/// "[1, 8, 384]".
std::string shapeString(llvm::ArrayRef<int64_t> shape);

class CompiledModel {
public:
  /// Loads LIB.so and reads LIB.json.
  static llvm::Expected<CompiledModel> load(llvm::StringRef soPath);

  const std::vector<Port> &inputs() const { return ins; }
  const std::vector<Port> &outputs() const { return outs; }

  /// The arrays of `given` in input order, each checked for its name,
  /// dtype and shape (one-line errors naming the input and expectation).
  /// `source` says where inputs come from, for the missing-input error.
  llvm::Expected<std::vector<Array>>
  bind(llvm::StringMap<Array> given,
       llvm::StringRef source = "give --input NAME=FILE.npy") const;

  /// Zero-filled arrays for the outputs.
  std::vector<Array> allocateOutputs() const;

  /// Sets the size of the model's thread pool (qtc_set_num_threads in
  /// the runtime linked into the library).
  void setThreads(int threads) const;
  /// The size the pool will have (qtc_get_num_threads); 0 if unknown.
  int threads() const;

  /// Maps the weights side file of a model compiled with --weights
  /// external from `path` instead of the default (MODEL.weights next to
  /// MODEL.so). An error for a model with embedded weights.
  llvm::Error loadWeights(llvm::StringRef path) const;

  /// Runs the model; `inputs` in input order, `outputs` from
  /// allocateOutputs(). Fails only when external weights cannot be mapped.
  llvm::Error run(std::vector<Array> &inputs, std::vector<Array> &outputs) const;

private:
  std::string path;
  std::vector<Port> ins, outs;
  int (*entry)(void **) = nullptr;
  const char *(*error)(void) = nullptr;
  int (*loadWeightsFn)(const char *) = nullptr;
  void (*setNumThreads)(int) = nullptr;
  int (*getNumThreads)(void) = nullptr;
};

} // namespace qtc

#endif // QTC_TOOLS_QTC_ARTIFACT_H
