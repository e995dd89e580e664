//===- Artifact.cpp - Loading and running a compiled model ----------------===//

#include "tools/qtc/Artifact.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <dlfcn.h>

#include <cstring>

using namespace qtc;

std::string qtc::shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s;
  for (int64_t d : shape)
    s += (s.empty() ? "" : ", ") + std::to_string(d);
  return "[" + s + "]";
}

llvm::Expected<CompiledModel> CompiledModel::load(llvm::StringRef soPath) {
  std::string base = soPath.ends_with(".so") ? soPath.drop_back(3).str()
                                             : soPath.str();
  auto jsonText = llvm::MemoryBuffer::getFile(base + ".json");
  if (!jsonText)
    return llvm::createStringError(base + ".json: cannot open: " +
                                   jsonText.getError().message());
  llvm::Expected<llvm::json::Value> desc =
      llvm::json::parse((*jsonText)->getBuffer());
  if (!desc)
    return llvm::createStringError(base + ".json: " +
                                   llvm::toString(desc.takeError()));
  CompiledModel model;
  auto readPorts = [&](llvm::StringRef key, std::vector<Port> &ports) -> bool {
    const llvm::json::Object *root = desc->getAsObject();
    const llvm::json::Array *arr = root ? root->getArray(key) : nullptr;
    if (!arr)
      return false;
    for (const llvm::json::Value &v : *arr) {
      const llvm::json::Object *o = v.getAsObject();
      if (!o || !o->getArray("shape"))
        return false;
      Port p;
      p.name = o->getString("name").value_or("").str();
      p.dtype = o->getString("dtype").value_or("").str();
      for (const llvm::json::Value &d : *o->getArray("shape"))
        p.shape.push_back(d.getAsInteger().value_or(0));
      ports.push_back(p);
    }
    return true;
  };
  if (!readPorts("inputs", model.ins) || !readPorts("outputs", model.outs))
    return llvm::createStringError(base + ".json: not a qtc model description");
  // dlopen searches the library path for bare names; give it a path.
  llvm::SmallString<256> libPath(soPath);
  llvm::sys::fs::make_absolute(libPath);
  void *lib = dlopen(libPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return llvm::createStringError("cannot load " + soPath + ": " + dlerror());
  model.path = soPath.str();
  model.entry = reinterpret_cast<int (*)(void **)>(dlsym(lib, "qtc_model_run"));
  model.error =
      reinterpret_cast<const char *(*)(void)>(dlsym(lib, "qtc_model_error"));
  if (!model.entry || !model.error)
    return llvm::createStringError(
        soPath + ": no qtc_model_run/qtc_model_error entry (recompile it "
                 "with this qtc)");
  model.loadWeightsFn = reinterpret_cast<int (*)(const char *)>(
      dlsym(lib, "qtc_model_load_weights"));
  model.setNumThreads =
      reinterpret_cast<void (*)(int)>(dlsym(lib, "qtc_set_num_threads"));
  model.getNumThreads =
      reinterpret_cast<int (*)(void)>(dlsym(lib, "qtc_get_num_threads"));
  return model;
}

int CompiledModel::threads() const {
  return getNumThreads ? getNumThreads() : 0;
}

void CompiledModel::setThreads(int threads) const {
  // Libraries built before the thread pool existed have no such function.
  if (setNumThreads)
    setNumThreads(threads);
}

llvm::Expected<std::vector<Array>>
CompiledModel::bind(llvm::StringMap<Array> given, llvm::StringRef source) const {
  for (const auto &entry : given)
    if (llvm::none_of(ins, [&](const Port &p) { return p.name == entry.first(); }))
      return llvm::createStringError("the model has no input '" +
                                     entry.first().str() + "'");
  std::vector<Array> inputs;
  for (const Port &p : ins) {
    auto it = given.find(p.name);
    if (it == given.end())
      return llvm::createStringError(
          "input '" + p.name + "' (" + p.dtype + " " + shapeString(p.shape) +
          ") is missing: " + source);
    if (it->second.dtype != p.dtype || it->second.shape != p.shape ||
        it->second.data.size() != size_t(it->second.numElements()) * itemSize(p.dtype))
      return llvm::createStringError(
          "input '" + p.name + "' must be " + p.dtype + " " +
          shapeString(p.shape) + ", the file holds " + it->second.dtype + " " +
          shapeString(it->second.shape));
    inputs.push_back(std::move(it->second));
  }
  return inputs;
}

std::vector<Array> CompiledModel::allocateOutputs() const {
  std::vector<Array> outputs;
  for (const Port &p : outs) {
    Array a;
    a.dtype = p.dtype;
    a.shape = p.shape;
    a.data.assign(a.numElements() * itemSize(p.dtype), 0);
    outputs.push_back(std::move(a));
  }
  return outputs;
}

llvm::Error CompiledModel::loadWeights(llvm::StringRef weights) const {
  if (!loadWeightsFn)
    return llvm::createStringError(path + ": its weights are built in (it was "
                                          "not compiled with --weights external)");
  if (loadWeightsFn(weights.str().c_str()))
    return llvm::createStringError(error());
  return llvm::Error::success();
}

llvm::Error CompiledModel::run(std::vector<Array> &inputs,
                               std::vector<Array> &outputs) const {
  // Memref descriptors: {allocated, aligned, offset, sizes[r], strides[r]}.
  std::vector<std::vector<int64_t>> descriptors;
  auto addDescriptor = [&](Array &a) {
    std::vector<int64_t> d(3 + 2 * a.shape.size());
    void *ptr = a.data.data();
    std::memcpy(&d[0], &ptr, sizeof(ptr));
    std::memcpy(&d[1], &ptr, sizeof(ptr));
    d[2] = 0;
    int64_t stride = 1;
    for (int64_t i = a.shape.size() - 1; i >= 0; --i) {
      d[3 + i] = a.shape[i];
      d[3 + a.shape.size() + i] = stride;
      stride *= a.shape[i];
    }
    descriptors.push_back(std::move(d));
  };
  for (Array &a : inputs)
    addDescriptor(a);
  for (Array &a : outputs)
    addDescriptor(a);
  std::vector<void *> args;
  for (auto &d : descriptors)
    args.push_back(d.data());
  if (entry(args.data()))
    return llvm::createStringError(error());
  return llvm::Error::success();
}
