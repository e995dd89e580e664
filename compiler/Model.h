//===- Model.h - A compiled model, ready to run -----------------*- C++ -*-===//
//
// A model the compiler JIT-linked into this process, or a library built by
// `qtc compile --emit shared` and loaded with dlopen: its ports and a way
// to run it on buffers. Safe to run from any number of threads at once.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_COMPILER_MODEL_H
#define QTC_COMPILER_MODEL_H

#include "quant/Npy.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace qtc {

class JITSession;

/// The ports of an entry as the generated description states them (the
/// JSON that NAME_describe() returns and MODEL.json repeats).
struct ModelDescription {
  std::string name; ///< the entry points' prefix
  std::vector<Port> inputs, outputs;
  std::string weightsFile; ///< the side file of --weights external, or ""
  /// Whether the code runs parallel loops on the runtime's thread pool.
  bool parallel = false;
};

/// The description's JSON text.
std::string describeJSON(const ModelDescription &d);
/// Parses it; `where` names the text in errors.
llvm::Expected<ModelDescription> parseDescription(llvm::StringRef json,
                                                  llvm::StringRef where);

class Model {
public:
  /// Loads LIB.so built by `qtc compile --emit shared` (its prefix from
  /// LIB.json when present, else from the library itself).
  static llvm::Expected<std::unique_ptr<Model>> load(llvm::StringRef soPath);

  /// A model linked by the JIT; `session` owns its code and weights.
  static llvm::Expected<std::unique_ptr<Model>>
  fromJIT(std::unique_ptr<JITSession> session, ModelDescription description);

  ~Model();

  const ModelDescription &description() const { return desc; }
  const std::vector<Port> &inputs() const { return desc.inputs; }
  const std::vector<Port> &outputs() const { return desc.outputs; }
  /// Where it came from: the library's path, or "(JIT)".
  const std::string &origin() const { return path; }

  /// Runs the model on contiguous buffers of the ports' dtypes and shapes,
  /// inputs then outputs in port order (checked by the caller). Fails only
  /// when external weights cannot be mapped. Thread-safe.
  llvm::Error run(llvm::ArrayRef<void *> inputs,
                  llvm::ArrayRef<void *> outputs) const;
  /// The same on arrays (checked against the ports).
  llvm::Error run(std::vector<Array> &inputs, std::vector<Array> &outputs) const;

  /// Threads of the model's parallel loops (0: the default, the
  /// QTC_NUM_THREADS environment variable, else every processor).
  void setThreads(int threads);
  /// The team size a run uses.
  int threads() const;

  /// Maps the weights side file of a model compiled with --weights external
  /// from `path` instead of the default (LIB.weights next to LIB.so).
  llvm::Error loadWeights(llvm::StringRef path) const;
  bool hasExternalWeights() const { return loadWeightsFn != nullptr; }

private:
  Model() = default;
  std::string path;
  ModelDescription desc;
  int (*entry)(void **) = nullptr;
  const char *(*error)(void) = nullptr;
  int (*loadWeightsFn)(const char *) = nullptr;
  void (*setNumThreads)(int) = nullptr;
  int (*getNumThreads)(void) = nullptr;
  std::atomic<int> threadCount{0};
  void *library = nullptr;
  std::unique_ptr<JITSession> jit;
};

} // namespace qtc

#endif // QTC_COMPILER_MODEL_H
