//===- Checkpoint.cpp - Hugging Face checkpoint directories ---------------===//

#include "frontends/hf/Checkpoint.h"
#include "frontends/hf/JsonUtils.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace llvm;

namespace qtc::safetensors {

namespace {

constexpr StringLiteral kSingleFile = "model.safetensors";
constexpr StringLiteral kIndexFile = "model.safetensors.index.json";
/// Config and index files nest a few levels; this only guards the parser.
constexpr unsigned kMaxConfigDepth = 64;

std::string joinPath(StringRef dir, StringRef file) {
  SmallString<256> path(dir);
  sys::path::append(path, file);
  return std::string(path);
}

/// Reads and parses a JSON file whose top level must be an object.
Expected<json::Value> readJsonObjectFile(StringRef path) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(path, /*IsText=*/true,
                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fileError(path, "cannot open: " + buffer.getError().message());
  StringRef text = (*buffer)->getBuffer();
  if (detail::jsonNestsDeeperThan(text, kMaxConfigDepth))
    return fileError(path, "JSON nests deeper than " + Twine(kMaxConfigDepth) +
                               " levels");
  Expected<json::Value> value = json::parse(text);
  if (!value)
    return fileError(path, "not valid JSON: " + toString(value.takeError()));
  if (!value->getAsObject())
    return fileError(path, "must hold a JSON object, got " + detail::jsonKindName(*value));
  return std::move(*value);
}

/// Reads an optional boolean field; an error if present with another type.
Error readBool(const json::Object &object, StringRef source, StringRef key,
               bool &out) {
  const json::Value *value = object.get(key);
  if (!value || value->kind() == json::Value::Null)
    return Error::success();
  std::optional<bool> flag = value->getAsBoolean();
  if (!flag)
    return fileError(source, "'" + key + "' must be a boolean, got " +
                                 detail::jsonKindName(*value));
  out = *flag;
  return Error::success();
}

/// Finds the first of `keys` present (and not null) in `object`.
const json::Value *firstOf(const json::Object &object,
                           std::initializer_list<StringRef> keys,
                           StringRef &foundKey) {
  for (StringRef key : keys) {
    const json::Value *value = object.get(key);
    if (value && value->kind() != json::Value::Null) {
      foundKey = key;
      return value;
    }
  }
  return nullptr;
}

Error readString(const json::Object &object, StringRef source,
                 std::initializer_list<StringRef> keys,
                 std::optional<std::string> &out) {
  StringRef key;
  const json::Value *value = firstOf(object, keys, key);
  if (!value)
    return Error::success();
  std::optional<StringRef> text = value->getAsString();
  if (!text)
    return fileError(source, "'" + key + "' must be a string, got " +
                                 detail::jsonKindName(*value));
  out = text->lower();
  return Error::success();
}

Error readInteger(const json::Object &object, StringRef source,
                  std::initializer_list<StringRef> keys,
                  std::optional<int64_t> &out, StringRef &foundKey) {
  const json::Value *value = firstOf(object, keys, foundKey);
  if (!value)
    return Error::success();
  std::optional<int64_t> number = value->getAsInteger();
  if (!number)
    return fileError(source, "'" + foundKey + "' must be an integer, got " +
                                 detail::jsonKindName(*value));
  out = *number;
  return Error::success();
}

} // namespace

Expected<QuantConfig>
parseQuantConfig(const json::Object &object, StringRef source,
                 std::optional<QuantConfig::Method> defaultMethod) {
  QuantConfig config;
  config.source = source.str();

  std::optional<std::string> method;
  if (Error err = readString(object, source, {"quant_method"}, method))
    return std::move(err);
  if (method) {
    if (*method == "gptq")
      config.method = QuantConfig::Method::GPTQ;
    else if (*method == "awq")
      config.method = QuantConfig::Method::AWQ;
    else
      return fileError(source, "quant_method '" + *method +
                                   "' is not supported (expected gptq or "
                                   "awq)");
  } else if (defaultMethod) {
    config.method = *defaultMethod;
  } else {
    return fileError(source, "missing 'quant_method' (gptq or awq)");
  }
  bool isGPTQ = config.method == QuantConfig::Method::GPTQ;

  StringRef key;
  std::optional<int64_t> bits;
  if (Error err = readInteger(object, source, {"bits", "w_bit"}, bits, key))
    return std::move(err);
  if (!bits)
    return fileError(source, "missing 'bits'");
  if (*bits < 2 || *bits > 8)
    return fileError(source, "'" + key + "' is " + Twine(*bits) +
                                 ", expected 2 to 8");
  config.bits = static_cast<unsigned>(*bits);

  std::optional<int64_t> groupSize;
  if (Error err = readInteger(object, source, {"group_size", "q_group_size"},
                              groupSize, key))
    return std::move(err);
  if (groupSize) {
    if (*groupSize != -1 && *groupSize <= 0)
      return fileError(source, "'" + key + "' is " + Twine(*groupSize) +
                                   ", expected a positive size or -1 (one "
                                   "group per row)");
    config.groupSize = *groupSize;
  }

  if (Error err = readBool(object, source, "desc_act", config.descAct))
    return std::move(err);
  if (Error err = readBool(object, source, "sym", config.sym))
    return std::move(err);

  if (isGPTQ) {
    std::optional<std::string> format;
    if (Error err = readString(object, source, {"checkpoint_format", "format"},
                               format))
      return std::move(err);
    if (format) {
      if (*format == "gptq")
        config.checkpointFormat = QuantConfig::GPTQFormat::V1;
      else if (*format == "gptq_v2")
        config.checkpointFormat = QuantConfig::GPTQFormat::V2;
      else
        return fileError(source, "checkpoint_format '" + *format +
                                     "' is not supported (expected gptq or "
                                     "gptq_v2)");
    }
  } else {
    // AutoAWQ writes `zero_point`; GPTQModel also writes `sym` (its
    // negation), which stands in when `zero_point` is absent.
    const json::Value *zeroPoint = object.get("zero_point");
    if (zeroPoint && zeroPoint->kind() != json::Value::Null) {
      if (Error err = readBool(object, source, "zero_point", config.zeroPoint))
        return std::move(err);
    } else if (const json::Value *sym = object.get("sym");
               sym && sym->kind() != json::Value::Null) {
      config.zeroPoint = !config.sym;
    }
    std::optional<std::string> version;
    if (Error err = readString(object, source, {"version", "format"}, version))
      return std::move(err);
    if (version)
      config.version = *version;
  }

  std::optional<std::string> packDtype;
  if (Error err = readString(object, source, {"pack_dtype"}, packDtype))
    return std::move(err);
  if (packDtype) {
    StringRef text = *packDtype;
    text.consume_front("torch.");
    config.packDtype = text.str();
  }
  return config;
}

Expected<std::unique_ptr<Checkpoint>> Checkpoint::open(const Twine &path) {
  std::unique_ptr<Checkpoint> checkpoint(new Checkpoint());
  checkpoint->path_ = path.str();
  StringRef where = checkpoint->path_;
  if (sys::fs::is_directory(where)) {
    if (Error err = checkpoint->openDirectory(where))
      return std::move(err);
    return checkpoint;
  }
  if (!sys::fs::exists(where))
    return fileError(where, "no such file or directory");
  Expected<std::unique_ptr<SafetensorsFile>> file =
      SafetensorsFile::open(where);
  if (!file)
    return file.takeError();
  checkpoint->shards_.push_back(std::move(*file));
  checkpoint->addTensorsOf(*checkpoint->shards_.back());
  StringRef dir = sys::path::parent_path(where);
  if (Error err = checkpoint->readConfigs(dir.empty() ? "." : dir))
    return std::move(err);
  return checkpoint;
}

std::unique_ptr<Checkpoint>
Checkpoint::fromFile(std::unique_ptr<SafetensorsFile> file) {
  std::unique_ptr<Checkpoint> checkpoint(new Checkpoint());
  checkpoint->path_ = file->name().str();
  checkpoint->shards_.push_back(std::move(file));
  checkpoint->addTensorsOf(*checkpoint->shards_.back());
  return checkpoint;
}

void Checkpoint::addTensorsOf(const SafetensorsFile &file) {
  for (const TensorInfo &info : file.tensors())
    tensors_[info.name] = TensorRef{&file, &info};
}

Error Checkpoint::openDirectory(StringRef dir) {
  std::string single = joinPath(dir, kSingleFile);
  std::string index = joinPath(dir, kIndexFile);
  if (sys::fs::exists(single)) {
    Expected<std::unique_ptr<SafetensorsFile>> file =
        SafetensorsFile::open(single);
    if (!file)
      return file.takeError();
    shards_.push_back(std::move(*file));
    addTensorsOf(*shards_.back());
  } else if (sys::fs::exists(index)) {
    if (Error err = openIndex(dir, index))
      return err;
  } else {
    return fileError(dir, "no " + kSingleFile + " or " + kIndexFile +
                              " in the checkpoint directory");
  }
  return readConfigs(dir);
}

Error Checkpoint::openIndex(StringRef dir, StringRef indexPath) {
  Expected<json::Value> index = readJsonObjectFile(indexPath);
  if (!index)
    return index.takeError();
  const json::Object *weightMap = index->getAsObject()->getObject("weight_map");
  if (!weightMap)
    return fileError(indexPath,
                     "missing 'weight_map' object (tensor name -> shard file)");

  std::vector<StringRef> names;
  for (const auto &entry : *weightMap)
    names.push_back(entry.first);
  llvm::sort(names);

  StringMap<const SafetensorsFile *> opened;
  for (StringRef name : names) {
    const json::Value &value = *weightMap->get(name);
    std::optional<StringRef> shard = value.getAsString();
    if (!shard)
      return fileError(indexPath, "weight_map entry " + quoteName(name) +
                                      " must be a shard file name, got " +
                                      detail::jsonKindName(value));
    bool escapes = shard->empty() || sys::path::is_absolute(*shard);
    for (auto it = sys::path::begin(*shard), e = sys::path::end(*shard);
         it != e && !escapes; ++it)
      escapes = *it == "..";
    if (escapes)
      return fileError(indexPath, "tensor " + quoteName(name) +
                                      " maps to shard " + quoteName(*shard) +
                                      ", which is not a file inside the "
                                      "checkpoint directory");

    const SafetensorsFile *file = opened.lookup(*shard);
    if (!file) {
      std::string shardPath = joinPath(dir, *shard);
      if (!sys::fs::exists(shardPath))
        return fileError(indexPath, "shard " + quoteName(*shard) +
                                        " (listed for tensor " +
                                        quoteName(name) + ") does not exist");
      Expected<std::unique_ptr<SafetensorsFile>> opening =
          SafetensorsFile::open(shardPath);
      if (!opening)
        return opening.takeError();
      shards_.push_back(std::move(*opening));
      file = shards_.back().get();
      opened[*shard] = file;
    }
    const TensorInfo *info = file->lookup(name);
    if (!info)
      return tensorError(file->name(), name,
                         "listed in " + kIndexFile +
                             " but absent from this shard");
    tensors_[name] = TensorRef{file, info};
  }
  return Error::success();
}

Error Checkpoint::readConfigs(StringRef dir) {
  std::string configPath = joinPath(dir, "config.json");
  if (sys::fs::exists(configPath)) {
    Expected<json::Value> config = readJsonObjectFile(configPath);
    if (!config)
      return config.takeError();
    config_ = std::move(*config);
    if (const json::Value *quant =
            config_->getAsObject()->get("quantization_config")) {
      const json::Object *object = quant->getAsObject();
      if (!object)
        return fileError(configPath, "'quantization_config' must be an "
                                     "object, got " +
                                         detail::jsonKindName(*quant));
      Expected<QuantConfig> parsed =
          parseQuantConfig(*object, configPath + ": quantization_config");
      if (!parsed)
        return parsed.takeError();
      quantization_ = std::move(*parsed);
      return Error::success();
    }
  }

  // Separate files written by the quantizers themselves.
  struct Candidate {
    StringRef file;
    QuantConfig::Method method;
  };
  for (Candidate candidate :
       {Candidate{"quantize_config.json", QuantConfig::Method::GPTQ},
        Candidate{"quant_config.json", QuantConfig::Method::AWQ}}) {
    std::string path = joinPath(dir, candidate.file);
    if (!sys::fs::exists(path))
      continue;
    Expected<json::Value> object = readJsonObjectFile(path);
    if (!object)
      return object.takeError();
    Expected<QuantConfig> parsed =
        parseQuantConfig(*object->getAsObject(), path, candidate.method);
    if (!parsed)
      return parsed.takeError();
    quantization_ = std::move(*parsed);
    break;
  }
  return Error::success();
}

std::optional<TensorRef> Checkpoint::find(StringRef name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end())
    return std::nullopt;
  return it->second;
}

Expected<TensorRef> Checkpoint::lookup(StringRef name) const {
  if (std::optional<TensorRef> ref = find(name))
    return *ref;
  return fileError(path_, "no tensor " + quoteName(name) +
                              " in the checkpoint");
}

std::vector<std::string> Checkpoint::tensorNames() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto &entry : tensors_)
    names.push_back(entry.getKey().str());
  llvm::sort(names);
  return names;
}

} // namespace qtc::safetensors
