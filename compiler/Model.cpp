//===- Model.cpp - A compiled model, ready to run -------------------------===//

#include "compiler/Model.h"

#include "compiler/JIT.h"
#include "include/qtc-c/runtime.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <dlfcn.h>

#include <cstring>

using namespace qtc;

std::string qtc::describeJSON(const ModelDescription &d) {
  auto ports = [](const std::vector<Port> &ps) {
    llvm::json::Array a;
    for (const Port &p : ps)
      a.push_back(llvm::json::Object{{"name", p.name},
                                     {"dtype", p.dtype},
                                     {"shape", llvm::json::Array(p.shape)}});
    return a;
  };
  llvm::json::Object root{{"name", d.name},
                          {"entry", d.name + "_run"},
                          {"parallel", d.parallel},
                          {"inputs", ports(d.inputs)},
                          {"outputs", ports(d.outputs)}};
  // The side file of --weights external, relative to the library.
  if (!d.weightsFile.empty())
    root["weights"] = d.weightsFile;
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
  return text;
}

llvm::Expected<ModelDescription> qtc::parseDescription(llvm::StringRef json,
                                                       llvm::StringRef where) {
  llvm::Expected<llvm::json::Value> value = llvm::json::parse(json);
  if (!value)
    return llvm::createStringError(where + ": " + llvm::toString(value.takeError()));
  ModelDescription d;
  const llvm::json::Object *root = value->getAsObject();
  auto readPorts = [&](llvm::StringRef key, std::vector<Port> &ports) -> bool {
    const llvm::json::Array *arr = root ? root->getArray(key) : nullptr;
    if (!arr)
      return false;
    for (const llvm::json::Value &v : *arr) {
      const llvm::json::Object *o = v.getAsObject();
      if (!o || !o->getArray("shape") || !o->getString("name") ||
          !o->getString("dtype") || itemSize(*o->getString("dtype")) == 0)
        return false;
      Port p;
      p.name = o->getString("name")->str();
      p.dtype = o->getString("dtype")->str();
      for (const llvm::json::Value &dim : *o->getArray("shape")) {
        std::optional<int64_t> n = dim.getAsInteger();
        if (!n || *n < 0)
          return false;
        p.shape.push_back(*n);
      }
      ports.push_back(std::move(p));
    }
    return true;
  };
  if (!readPorts("inputs", d.inputs) || !readPorts("outputs", d.outputs))
    return llvm::createStringError(where + ": not a qtc model description");
  if (std::optional<llvm::StringRef> name = root->getString("name"))
    d.name = name->str();
  else if (std::optional<llvm::StringRef> entry = root->getString("entry"))
    d.name = entry->str().substr(0, entry->rfind("_run"));
  if (std::optional<llvm::StringRef> w = root->getString("weights"))
    d.weightsFile = w->str();
  d.parallel = root->getBoolean("parallel").value_or(false);
  return d;
}

Model::~Model() {
  // The library stays loaded: other threads may still hold its functions,
  // and a model is usually loaded once per process. The JIT session frees
  // its code and weights.
}

llvm::Expected<std::unique_ptr<Model>> Model::load(llvm::StringRef soPath) {
  if (!llvm::sys::fs::exists(soPath))
    return llvm::createStringError(soPath + ": no such file");
  std::string base = soPath.ends_with(".so") ? soPath.drop_back(3).str()
                                             : soPath.str();
  // dlopen searches the library path for bare names; give it a path.
  llvm::SmallString<256> libPath(soPath);
  llvm::sys::fs::make_absolute(libPath);
  void *lib = dlopen(libPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return llvm::createStringError("cannot load " + soPath + ": " + dlerror());
  std::unique_ptr<Model> model(new Model());
  model->library = lib;
  model->path = soPath.str();
  // The prefix: from the JSON next to the library, else the default.
  std::string prefix = "qtc_model";
  if (auto json = llvm::MemoryBuffer::getFile(base + ".json")) {
    llvm::Expected<ModelDescription> d =
        parseDescription((*json)->getBuffer(), base + ".json");
    if (!d)
      return d.takeError();
    prefix = d->name;
  }
  auto sym = [&](const std::string &name) { return dlsym(lib, name.c_str()); };
  auto describe =
      reinterpret_cast<const char *(*)(void)>(sym(prefix + "_describe"));
  if (!describe)
    return llvm::createStringError(
        soPath + ": no " + prefix + "_describe entry (not a library built by "
                                    "this qtc's compile --emit shared, or its "
                                    ".json names another model)");
  llvm::Expected<ModelDescription> d = parseDescription(describe(), soPath);
  if (!d)
    return d.takeError();
  model->desc = std::move(*d);
  model->entry = reinterpret_cast<int (*)(void **)>(sym(prefix + "_run"));
  model->error = reinterpret_cast<const char *(*)(void)>(sym(prefix + "_error"));
  model->loadWeightsFn =
      reinterpret_cast<int (*)(const char *)>(sym(prefix + "_load_weights"));
  model->setNumThreads =
      reinterpret_cast<void (*)(int)>(sym(prefix + "_set_num_threads"));
  model->getNumThreads =
      reinterpret_cast<int (*)(void)>(sym(prefix + "_get_num_threads"));
  if (!model->entry || !model->error)
    return llvm::createStringError(soPath + ": no " + prefix + "_run / " +
                                   prefix + "_error entry");
  return model;
}

llvm::Expected<std::unique_ptr<Model>>
Model::fromJIT(std::unique_ptr<JITSession> session, ModelDescription description) {
  std::unique_ptr<Model> model(new Model());
  model->path = "(JIT)";
  const std::string &p = description.name;
  auto lookup = [&](const std::string &name) -> llvm::Expected<void *> {
    return session->lookup(name);
  };
  llvm::Expected<void *> run = lookup(p + "_run");
  if (!run)
    return run.takeError();
  llvm::Expected<void *> error = lookup(p + "_error");
  if (!error)
    return error.takeError();
  model->entry = reinterpret_cast<int (*)(void **)>(*run);
  model->error = reinterpret_cast<const char *(*)(void)>(*error);
  model->desc = std::move(description);
  model->jit = std::move(session);
  return model;
}

void Model::setThreads(int threads) {
  threadCount = std::max(threads, 0);
  // A library has a runtime (and pool) of its own: set it there.
  if (library && setNumThreads && threadCount)
    setNumThreads(threadCount);
}

int Model::threads() const {
  if (library)
    return getNumThreads ? getNumThreads() : 0;
  int n = threadCount.load();
  return n ? n : qtc_get_num_threads();
}

llvm::Error Model::loadWeights(llvm::StringRef weights) const {
  if (!loadWeightsFn)
    return llvm::createStringError(path + ": its weights are built in (it was "
                                          "not compiled with --weights external)");
  if (loadWeightsFn(weights.str().c_str()))
    return llvm::createStringError(error());
  return llvm::Error::success();
}

llvm::Error Model::run(llvm::ArrayRef<void *> inputs,
                       llvm::ArrayRef<void *> outputs) const {
  // Memref descriptors {allocated, aligned, offset, sizes[r], strides[r]},
  // on this call's stack (a run keeps no state between calls).
  size_t words = 0;
  for (const Port &p : llvm::concat<const Port>(desc.inputs, desc.outputs))
    words += 3 + 2 * p.shape.size();
  llvm::SmallVector<int64_t, 128> storage(words);
  llvm::SmallVector<void *, 32> args;
  int64_t *at = storage.data();
  auto add = [&](const Port &p, void *data) {
    std::memcpy(&at[0], &data, sizeof(data));
    std::memcpy(&at[1], &data, sizeof(data));
    at[2] = 0;
    size_t r = p.shape.size();
    int64_t stride = 1;
    for (size_t i = r; i-- > 0;) {
      at[3 + i] = p.shape[i];
      at[3 + r + i] = stride;
      stride *= p.shape[i];
    }
    args.push_back(at);
    at += 3 + 2 * r;
  };
  for (auto [p, data] : llvm::zip(desc.inputs, inputs))
    add(p, data);
  for (auto [p, data] : llvm::zip(desc.outputs, outputs))
    add(p, data);
  if (jit)
    qtc_set_call_threads(threadCount.load());
  int status = entry(args.data());
  if (jit)
    qtc_set_call_threads(0);
  if (status)
    return llvm::createStringError(error());
  return llvm::Error::success();
}

llvm::Error Model::run(std::vector<Array> &inputs,
                       std::vector<Array> &outputs) const {
  auto check = [](const std::vector<Port> &ports, std::vector<Array> &arrays,
                  const char *what, llvm::SmallVectorImpl<void *> &data)
      -> llvm::Error {
    if (arrays.size() != ports.size())
      return llvm::createStringError("the model has " +
                                     std::to_string(ports.size()) + " " + what +
                                     "s, got " + std::to_string(arrays.size()));
    for (auto [p, a] : llvm::zip(ports, arrays)) {
      if (a.dtype != p.dtype || a.shape != p.shape ||
          a.data.size() != size_t(a.numElements()) * itemSize(a.dtype))
        return llvm::createStringError(
            std::string(what) + " '" + p.name + "' must be " + p.dtype + " " +
            shapeString(p.shape) + ", got " + a.dtype + " " +
            shapeString(a.shape));
      data.push_back(a.data.data());
    }
    return llvm::Error::success();
  };
  llvm::SmallVector<void *> in, out;
  if (llvm::Error e = check(desc.inputs, inputs, "input", in))
    return e;
  if (llvm::Error e = check(desc.outputs, outputs, "output", out))
    return e;
  return run(in, out);
}
