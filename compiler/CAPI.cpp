//===- CAPI.cpp - include/qtc-c/qtc.h over the compiler library -----------===//
//
// libqtc.so: every entry point checks its handles against the live ones and
// its arguments against the model's ports before anything runs, and turns
// every failure into a status object with a one-line message; nothing
// aborts the host process.
//
//===----------------------------------------------------------------------===//

#include "include/qtc-c/qtc.h"

#include "compiler/Compiler.h"
#include "compiler/generate/Generator.h"
#include "compiler/Model.h"
#include "compiler/Options.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringExtras.h"

#include <cstdlib>
#include <atomic>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <string>

struct qtc_status {
  qtc_status_code code;
  std::string message;
};

struct qtc_compiler_options {
  qtc::CompilerOptions options;
};

struct qtc_model {
  std::unique_ptr<qtc::Model> model;
};

struct qtc_generator {
  std::unique_ptr<qtc::generate::Generator> generator;
};

namespace {

/// The handles alive now, so that a NULL or destroyed handle is an error
/// status rather than a crash.
class Registry {
public:
  void add(const void *p) {
    std::unique_lock<std::shared_mutex> lock(mutex);
    live.insert(p);
  }
  bool remove(const void *p) {
    std::unique_lock<std::shared_mutex> lock(mutex);
    return live.erase(p);
  }
  bool contains(const void *p) const {
    std::shared_lock<std::shared_mutex> lock(mutex);
    return live.contains(p);
  }

private:
  mutable std::shared_mutex mutex;
  llvm::DenseSet<const void *> live;
};

Registry &optionsRegistry() {
  static Registry r;
  return r;
}
Registry &modelRegistry() {
  static Registry r;
  return r;
}
Registry &generatorRegistry() {
  static Registry r;
  return r;
}


qtc_status_code report(qtc_status **status, qtc_status_code code,
                       const llvm::Twine &message) {
  if (status) {
    *status = new (std::nothrow) qtc_status{code, message.str()};
  }
  return code;
}

qtc_status_code ok(qtc_status **status) {
  if (status)
    *status = nullptr;
  return QTC_OK;
}

qtc_status_code invalid(qtc_status **status, const llvm::Twine &message) {
  return report(status, QTC_ERROR_INVALID_ARGUMENT, message);
}

/// Checks a model handle; `what` names the argument.
const qtc::Model *modelOf(const qtc_model *m, const char *function,
                          qtc_status **status) {
  if (!m) {
    invalid(status, llvm::Twine(function) + ": model is NULL");
    return nullptr;
  }
  if (!modelRegistry().contains(m)) {
    invalid(status, llvm::Twine(function) +
                        ": model is not a live qtc_model (already freed?)");
    return nullptr;
  }
  return m->model.get();
}

/// Checks a generator handle.
qtc::generate::Generator *generatorOf(const qtc_generator *g,
                                      const char *function,
                                      qtc_status **status) {
  if (!g) {
    report(status, QTC_ERROR_INVALID_ARGUMENT,
           llvm::Twine(function) + ": generator is NULL");
    return nullptr;
  }
  if (!generatorRegistry().contains(g)) {
    report(status, QTC_ERROR_INVALID_ARGUMENT,
           llvm::Twine(function) +
               ": generator is not a live qtc_generator (already freed?)");
    return nullptr;
  }
  return g->generator.get();
}

qtc_dtype dtypeOf(llvm::StringRef name) {
  return llvm::StringSwitch<qtc_dtype>(name)
      .Case("float32", QTC_DTYPE_FLOAT32)
      .Case("float16", QTC_DTYPE_FLOAT16)
      .Case("bfloat16", QTC_DTYPE_BFLOAT16)
      .Case("float64", QTC_DTYPE_FLOAT64)
      .Case("int8", QTC_DTYPE_INT8)
      .Case("int16", QTC_DTYPE_INT16)
      .Case("int32", QTC_DTYPE_INT32)
      .Case("int64", QTC_DTYPE_INT64)
      .Case("bool", QTC_DTYPE_BOOL)
      .Default(static_cast<qtc_dtype>(0));
}

/// The port list of `m` and the index check.
const qtc::Port *portOf(const qtc_model *m, int index, bool input,
                        const char *function, qtc_status **status) {
  const qtc::Model *model = modelOf(m, function, status);
  if (!model)
    return nullptr;
  const std::vector<qtc::Port> &ports = input ? model->inputs() : model->outputs();
  if (index < 0 || size_t(index) >= ports.size()) {
    invalid(status, llvm::Twine(function) + ": index " + llvm::Twine(index) +
                        " is out of range: the model has " +
                        llvm::Twine(ports.size()) + (input ? " inputs" : " outputs"));
    return nullptr;
  }
  return &ports[index];
}

std::string shapeOf(const int64_t *dims, int32_t rank) {
  std::string s;
  for (int32_t i = 0; i < rank; ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  return "[" + s + "]";
}

/// Checks one tensor against its port: false with the status set, or
/// true with `data` set.
bool checkTensor(const qtc_tensor &t, const qtc::Port &p, const char *what,
                 int index, void *&data, qtc_status **status) {
  std::string name = std::string(what) + " " + std::to_string(index) + " ('" +
                     p.name + "')";
  qtc_dtype want = dtypeOf(p.dtype);
  if (t.dtype != want) {
    const char *got = qtc_dtype_name(t.dtype);
    invalid(status, "qtc_model_run: " + name + " must be " + p.dtype +
                        ", got " + (got ? got : "an unknown dtype (" +
                                                    std::to_string(int(t.dtype)) + ")"));
    return false;
  }
  if (t.rank != int32_t(p.shape.size()) || (t.rank > 0 && !t.dims)) {
    invalid(status, "qtc_model_run: " + name + " must have rank " +
                        std::to_string(p.shape.size()) + " " +
                        qtc::shapeString(p.shape) + ", got rank " +
                        std::to_string(t.rank) + (t.rank > 0 && !t.dims ? " with dims NULL" : ""));
    return false;
  }
  for (int32_t i = 0; i < t.rank; ++i)
    if (t.dims[i] != p.shape[i]) {
      invalid(status, "qtc_model_run: " + name + " must have shape " +
                          qtc::shapeString(p.shape) + ", got " +
                          shapeOf(t.dims, t.rank));
      return false;
    }
  if (t.strides) {
    int64_t expected = 1;
    for (int32_t i = t.rank; i-- > 0;) {
      if (p.shape[i] != 1 && t.strides[i] != expected) {
        invalid(status, "qtc_model_run: " + name +
                            " is not contiguous (strides " +
                            shapeOf(t.strides, t.rank) +
                            "); models read and write C-order buffers");
        return false;
      }
      expected *= p.shape[i];
    }
  }
  int64_t elements = 1;
  for (int64_t d : p.shape)
    elements *= d;
  if (!t.data && elements > 0) {
    invalid(status, "qtc_model_run: " + name + " has data NULL");
    return false;
  }
  size_t align = qtc::itemSize(p.dtype);
  if (align > 1 && reinterpret_cast<uintptr_t>(t.data) % align) {
    invalid(status, "qtc_model_run: " + name + " data is not aligned to its " +
                        std::to_string(align) + "-byte elements");
    return false;
  }
  data = t.data;
  return true;
}

} // namespace

extern "C" {

int qtc_api_version(void) { return QTC_API_VERSION; }

int qtc_dtype_size(qtc_dtype dtype) {
  switch (dtype) {
  case QTC_DTYPE_FLOAT64:
  case QTC_DTYPE_INT64:
    return 8;
  case QTC_DTYPE_FLOAT32:
  case QTC_DTYPE_INT32:
    return 4;
  case QTC_DTYPE_FLOAT16:
  case QTC_DTYPE_BFLOAT16:
  case QTC_DTYPE_INT16:
    return 2;
  case QTC_DTYPE_INT8:
  case QTC_DTYPE_BOOL:
    return 1;
  }
  return 0;
}

const char *qtc_dtype_name(qtc_dtype dtype) {
  switch (dtype) {
  case QTC_DTYPE_FLOAT32: return "float32";
  case QTC_DTYPE_FLOAT16: return "float16";
  case QTC_DTYPE_BFLOAT16: return "bfloat16";
  case QTC_DTYPE_FLOAT64: return "float64";
  case QTC_DTYPE_INT8: return "int8";
  case QTC_DTYPE_INT16: return "int16";
  case QTC_DTYPE_INT32: return "int32";
  case QTC_DTYPE_INT64: return "int64";
  case QTC_DTYPE_BOOL: return "bool";
  }
  return nullptr;
}

qtc_status_code qtc_status_code_of(const qtc_status *status) {
  return status ? status->code : QTC_OK;
}

const char *qtc_status_message(const qtc_status *status) {
  return status ? status->message.c_str() : "";
}

void qtc_status_free(qtc_status *status) { delete status; }

qtc_compiler_options *qtc_compiler_options_create(void) {
  auto *o = new (std::nothrow) qtc_compiler_options();
  if (o)
    optionsRegistry().add(o);
  return o;
}

qtc_status_code qtc_compiler_options_set(qtc_compiler_options *options,
                                         const char *key, const char *value,
                                         qtc_status **status) {
  if (!options)
    return invalid(status, "qtc_compiler_options_set: options is NULL");
  if (!optionsRegistry().contains(options))
    return invalid(status, "qtc_compiler_options_set: options is not a live "
                           "qtc_compiler_options (already destroyed?)");
  if (!key)
    return invalid(status, "qtc_compiler_options_set: key is NULL");
  if (!value)
    return invalid(status, "qtc_compiler_options_set: value of '" +
                               llvm::Twine(key) + "' is NULL");
  if (llvm::Error e = options->options.set(key, value))
    return invalid(status, "qtc_compiler_options_set: " +
                               llvm::toString(std::move(e)));
  return ok(status);
}

void qtc_compiler_options_destroy(qtc_compiler_options *options) {
  if (options && optionsRegistry().remove(options))
    delete options;
}

qtc_status_code qtc_model_compile(const char *path,
                                  const qtc_compiler_options *options,
                                  qtc_model **model, qtc_status **status) {
  if (!model)
    return invalid(status, "qtc_model_compile: model (the result) is NULL");
  *model = nullptr;
  if (!path)
    return invalid(status, "qtc_model_compile: path is NULL");
  if (options && !optionsRegistry().contains(options))
    return invalid(status, "qtc_model_compile: options is not a live "
                           "qtc_compiler_options (already destroyed?)");
  qtc::CompilerOptions o = options ? options->options : qtc::CompilerOptions();
  if (llvm::Error e = o.validate())
    return invalid(status, "qtc_model_compile: " + llvm::toString(std::move(e)));
  llvm::Expected<std::unique_ptr<qtc::Model>> compiled = [&] {
    // The compiler, its context and the module are gone once this returns;
    // the model keeps its code and a copy of its weights.
    qtc::Compiler compiler(o, nullptr);
    return compiler.compile(path);
  }();
  if (!compiled)
    return report(status, QTC_ERROR_COMPILE, llvm::toString(compiled.takeError()));
  auto *m = new (std::nothrow) qtc_model{std::move(*compiled)};
  if (!m)
    return report(status, QTC_ERROR_COMPILE, "qtc_model_compile: out of memory");
  modelRegistry().add(m);
  *model = m;
  return ok(status);
}

qtc_status_code qtc_model_load(const char *path, qtc_model **model,
                               qtc_status **status) {
  if (!model)
    return invalid(status, "qtc_model_load: model (the result) is NULL");
  *model = nullptr;
  if (!path)
    return invalid(status, "qtc_model_load: path is NULL");
  llvm::Expected<std::unique_ptr<qtc::Model>> loaded = qtc::Model::load(path);
  if (!loaded)
    return report(status, QTC_ERROR_LOAD, llvm::toString(loaded.takeError()));
  auto *m = new (std::nothrow) qtc_model{std::move(*loaded)};
  if (!m)
    return report(status, QTC_ERROR_LOAD, "qtc_model_load: out of memory");
  modelRegistry().add(m);
  *model = m;
  return ok(status);
}

static qtc_status_code countOf(const qtc_model *m, int *count, bool input,
                               const char *function, qtc_status **status) {
  const qtc::Model *model = modelOf(m, function, status);
  if (!model)
    return QTC_ERROR_INVALID_ARGUMENT;
  if (!count)
    return invalid(status, llvm::Twine(function) + ": count is NULL");
  *count = int(input ? model->inputs().size() : model->outputs().size());
  return ok(status);
}

qtc_status_code qtc_model_num_inputs(const qtc_model *model, int *count,
                                     qtc_status **status) {
  return countOf(model, count, true, "qtc_model_num_inputs", status);
}

qtc_status_code qtc_model_num_outputs(const qtc_model *model, int *count,
                                      qtc_status **status) {
  return countOf(model, count, false, "qtc_model_num_outputs", status);
}

static qtc_status_code nameOf(const qtc_model *m, int index, const char **name,
                              bool input, const char *function,
                              qtc_status **status) {
  const qtc::Port *p = portOf(m, index, input, function, status);
  if (!p)
    return QTC_ERROR_INVALID_ARGUMENT;
  if (!name)
    return invalid(status, llvm::Twine(function) + ": name is NULL");
  *name = p->name.c_str();
  return ok(status);
}

qtc_status_code qtc_model_input_name(const qtc_model *model, int index,
                                     const char **name, qtc_status **status) {
  return nameOf(model, index, name, true, "qtc_model_input_name", status);
}

qtc_status_code qtc_model_output_name(const qtc_model *model, int index,
                                      const char **name, qtc_status **status) {
  return nameOf(model, index, name, false, "qtc_model_output_name", status);
}

static qtc_status_code shapeOfPort(const qtc_model *m, int index, int64_t *dims,
                                   int32_t *rank, bool input,
                                   const char *function, qtc_status **status) {
  const qtc::Port *p = portOf(m, index, input, function, status);
  if (!p)
    return QTC_ERROR_INVALID_ARGUMENT;
  if (!rank)
    return invalid(status, llvm::Twine(function) +
                               ": rank is NULL (it holds the capacity of dims)");
  if (*rank < int32_t(p->shape.size()) || (!dims && !p->shape.empty()))
    return invalid(status, llvm::Twine(function) + ": '" + p->name +
                               "' has rank " + llvm::Twine(p->shape.size()) +
                               ", dims holds " +
                               llvm::Twine(dims ? *rank : 0) + " entries");
  for (size_t i = 0; i < p->shape.size(); ++i)
    dims[i] = p->shape[i];
  *rank = int32_t(p->shape.size());
  return ok(status);
}

qtc_status_code qtc_model_input_shape(const qtc_model *model, int index,
                                      int64_t *dims, int32_t *rank,
                                      qtc_status **status) {
  return shapeOfPort(model, index, dims, rank, true, "qtc_model_input_shape",
                     status);
}

qtc_status_code qtc_model_output_shape(const qtc_model *model, int index,
                                       int64_t *dims, int32_t *rank,
                                       qtc_status **status) {
  return shapeOfPort(model, index, dims, rank, false, "qtc_model_output_shape",
                     status);
}

static qtc_status_code dtypeOfPort(const qtc_model *m, int index,
                                   qtc_dtype *dtype, bool input,
                                   const char *function, qtc_status **status) {
  const qtc::Port *p = portOf(m, index, input, function, status);
  if (!p)
    return QTC_ERROR_INVALID_ARGUMENT;
  if (!dtype)
    return invalid(status, llvm::Twine(function) + ": dtype is NULL");
  *dtype = dtypeOf(p->dtype);
  return ok(status);
}

qtc_status_code qtc_model_input_dtype(const qtc_model *model, int index,
                                      qtc_dtype *dtype, qtc_status **status) {
  return dtypeOfPort(model, index, dtype, true, "qtc_model_input_dtype", status);
}

qtc_status_code qtc_model_output_dtype(const qtc_model *model, int index,
                                       qtc_dtype *dtype, qtc_status **status) {
  return dtypeOfPort(model, index, dtype, false, "qtc_model_output_dtype",
                     status);
}

qtc_status_code qtc_model_run(const qtc_model *m, const qtc_tensor *inputs,
                              int numInputs, qtc_tensor *outputs,
                              int numOutputs, qtc_status **status) {
  const qtc::Model *model = modelOf(m, "qtc_model_run", status);
  if (!model)
    return QTC_ERROR_INVALID_ARGUMENT;
  auto count = [&](int n, const void *tensors, const std::vector<qtc::Port> &ports,
                   const char *what) -> bool {
    if (n != int(ports.size())) {
      invalid(status, "qtc_model_run: the model has " +
                          llvm::Twine(ports.size()) + " " + what + "s, got " +
                          llvm::Twine(n));
      return false;
    }
    if (n > 0 && !tensors) {
      invalid(status, "qtc_model_run: " + llvm::Twine(what) + "s is NULL");
      return false;
    }
    return true;
  };
  if (!count(numInputs, inputs, model->inputs(), "input") ||
      !count(numOutputs, outputs, model->outputs(), "output"))
    return QTC_ERROR_INVALID_ARGUMENT;
  llvm::SmallVector<void *, 16> in, out;
  for (int i = 0; i < numInputs; ++i) {
    void *d = nullptr;
    if (!checkTensor(inputs[i], model->inputs()[i], "input", i, d, status))
      return QTC_ERROR_INVALID_ARGUMENT;
    in.push_back(d);
  }
  for (int i = 0; i < numOutputs; ++i) {
    void *d = nullptr;
    if (!checkTensor(outputs[i], model->outputs()[i], "output", i, d, status))
      return QTC_ERROR_INVALID_ARGUMENT;
    out.push_back(d);
  }
  if (llvm::Error e = model->run(in, out))
    return report(status, QTC_ERROR_RUN, llvm::toString(std::move(e)));
  return ok(status);
}

qtc_status_code qtc_model_set_num_threads(qtc_model *m, int threads,
                                          qtc_status **status) {
  if (!modelOf(m, "qtc_model_set_num_threads", status))
    return QTC_ERROR_INVALID_ARGUMENT;
  if (threads < 0 || threads > 256)
    return invalid(status, "qtc_model_set_num_threads: threads must be 0 "
                           "(the default) to 256, got " +
                               llvm::Twine(threads));
  m->model->setThreads(threads);
  return ok(status);
}

void qtc_model_free(qtc_model *model) {
  if (model && modelRegistry().remove(model))
    delete model;
}

} // extern "C"

qtc_status_code qtc_generator_create(const char *path,
                                     const qtc_compiler_options *options,
                                     int64_t max_context,
                                     int64_t prefill_chunk,
                                     qtc_generator **generator,
                                     qtc_status **status) {
  if (!generator)
    return invalid(status,
                   "qtc_generator_create: generator (the result) is NULL");
  *generator = nullptr;
  if (!path)
    return invalid(status, "qtc_generator_create: path is NULL");
  if (options && !optionsRegistry().contains(options))
    return invalid(status, "qtc_generator_create: options is not a live "
                           "qtc_compiler_options (already destroyed?)");
  if (max_context < 1 || prefill_chunk < 1)
    return invalid(status, "qtc_generator_create: max_context and "
                           "prefill_chunk must be at least 1, got " +
                               llvm::Twine(max_context) + " and " +
                               llvm::Twine(prefill_chunk));
  qtc::CompilerOptions o = options ? options->options : qtc::CompilerOptions();
  if (llvm::Error e = o.validate())
    return invalid(status,
                   "qtc_generator_create: " + llvm::toString(std::move(e)));
  qtc::generate::GeneratorOptions go;
  // Opt-in for embedders: the artifact cache only where $QTC_CACHE_DIR
  // names it (qtc generate uses it by default).
  if (const char *dir = std::getenv("QTC_CACHE_DIR"))
    go.cacheDir = dir;
  go.maxContext = max_context;
  go.prefillChunk = prefill_chunk;
  auto made = qtc::generate::Generator::create(path, o, go, nullptr, nullptr);
  if (!made)
    return report(status, QTC_ERROR_COMPILE, llvm::toString(made.takeError()));
  auto *g = new (std::nothrow) qtc_generator{std::move(*made)};
  if (!g)
    return report(status, QTC_ERROR_COMPILE,
                  "qtc_generator_create: out of memory");
  generatorRegistry().add(g);
  *generator = g;
  return ok(status);
}

qtc_status_code qtc_generator_append(qtc_generator *generator,
                                     const int32_t *tokens, int64_t count,
                                     qtc_status **status) {
  qtc::generate::Generator *g =
      generatorOf(generator, "qtc_generator_append", status);
  if (!g)
    return QTC_ERROR_INVALID_ARGUMENT;
  if (!tokens || count < 1)
    return invalid(status, "qtc_generator_append: tokens is NULL or count < 1");
  if (llvm::Error e = g->append(llvm::ArrayRef<int32_t>(tokens, count)))
    return invalid(status,
                   "qtc_generator_append: " + llvm::toString(std::move(e)));
  return ok(status);
}

qtc_status_code qtc_generator_logits(const qtc_generator *generator,
                                     const float **logits, int64_t *count,
                                     qtc_status **status) {
  qtc::generate::Generator *g =
      generatorOf(generator, "qtc_generator_logits", status);
  if (!g)
    return QTC_ERROR_INVALID_ARGUMENT;
  if (!logits || !count)
    return invalid(status, "qtc_generator_logits: logits or count is NULL");
  if (g->lastLogits().empty())
    return invalid(status, "qtc_generator_logits: no token was appended yet");
  *logits = g->lastLogits().data();
  *count = static_cast<int64_t>(g->lastLogits().size());
  return ok(status);
}

qtc_status_code qtc_generator_position(const qtc_generator *generator,
                                       int64_t *position,
                                       int64_t *max_context,
                                       qtc_status **status) {
  qtc::generate::Generator *g =
      generatorOf(generator, "qtc_generator_position", status);
  if (!g)
    return QTC_ERROR_INVALID_ARGUMENT;
  if (position)
    *position = g->position();
  if (max_context)
    *max_context = g->maxContext();
  return ok(status);
}

qtc_status_code qtc_generator_reset(qtc_generator *generator,
                                    qtc_status **status) {
  qtc::generate::Generator *g =
      generatorOf(generator, "qtc_generator_reset", status);
  if (!g)
    return QTC_ERROR_INVALID_ARGUMENT;
  g->reset();
  return ok(status);
}

void qtc_generator_free(qtc_generator *generator) {
  if (generator && generatorRegistry().remove(generator))
    delete generator;
}
