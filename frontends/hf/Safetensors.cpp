//===- Safetensors.cpp - Reader of .safetensors files ---------------------===//

#include "frontends/hf/Safetensors.h"
#include "frontends/hf/JsonUtils.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <tuple>

using namespace llvm;

namespace qtc::safetensors {

namespace {

struct DTypeEntry {
  DType dtype;
  const char *name;
  unsigned bits;
};

constexpr DTypeEntry kDTypes[] = {
    {DType::BOOL, "BOOL", 8},
    {DType::U8, "U8", 8},
    {DType::I8, "I8", 8},
    {DType::I16, "I16", 16},
    {DType::U16, "U16", 16},
    {DType::I32, "I32", 32},
    {DType::U32, "U32", 32},
    {DType::I64, "I64", 64},
    {DType::U64, "U64", 64},
    {DType::F16, "F16", 16},
    {DType::BF16, "BF16", 16},
    {DType::F32, "F32", 32},
    {DType::F64, "F64", 64},
    {DType::C64, "C64", 64},
    {DType::F8_E4M3, "F8_E4M3", 8},
    {DType::F8_E5M2, "F8_E5M2", 8},
    {DType::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8},
    {DType::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8},
    {DType::F8_E8M0, "F8_E8M0", 8},
    {DType::F6_E2M3, "F6_E2M3", 6},
    {DType::F6_E3M2, "F6_E3M2", 6},
    {DType::F4, "F4", 4},
};

constexpr DType kAllDTypes[] = {
    DType::BOOL,        DType::U8,          DType::I8,      DType::I16,
    DType::U16,         DType::I32,         DType::U32,     DType::I64,
    DType::U64,         DType::F16,         DType::BF16,    DType::F32,
    DType::F64,         DType::C64,         DType::F8_E4M3, DType::F8_E5M2,
    DType::F8_E4M3FNUZ, DType::F8_E5M2FNUZ, DType::F8_E8M0, DType::F6_E2M3,
    DType::F6_E3M2,     DType::F4,
};

static_assert(std::size(kDTypes) == std::size(kAllDTypes),
              "every dtype needs a table entry");

const DTypeEntry &entryFor(DType dtype) {
  for (const DTypeEntry &entry : kDTypes)
    if (entry.dtype == dtype)
      return entry;
  llvm_unreachable("dtype without a table entry");
}

/// Describes a number refused as a dimension: too large for int64_t,
/// negative, or not written as an integer.
std::string describeNumber(const json::Value &value) {
  if (std::optional<uint64_t> u = value.getAsUINT64())
    return std::to_string(*u);
  if (std::optional<int64_t> i = value.getAsInteger(); i && *i < 0)
    return std::to_string(*i);
  return "a floating-point number";
}

std::string knownDTypeList() {
  std::string list;
  for (const DTypeEntry &entry : kDTypes) {
    if (!list.empty())
      list += ", ";
    list += entry.name;
  }
  return list;
}

} // namespace

std::optional<DType> parseDType(StringRef name) {
  for (const DTypeEntry &entry : kDTypes)
    if (name == entry.name)
      return entry.dtype;
  return std::nullopt;
}

StringRef dtypeName(DType dtype) { return entryFor(dtype).name; }

unsigned dtypeBits(DType dtype) { return entryFor(dtype).bits; }

ArrayRef<DType> allDTypes() { return kAllDTypes; }

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

std::string formatType(DType dtype, ArrayRef<int64_t> shape) {
  return (dtypeName(dtype) + " " + formatShape(shape)).str();
}

std::string quoteName(StringRef name) {
  std::string text;
  raw_string_ostream os(text);
  os << '\'';
  printEscapedString(name, os);
  os << '\'';
  return text;
}

Error fileError(StringRef file, const Twine &message) {
  return createStringError(inconvertibleErrorCode(),
                           file + ": " + message);
}

Error tensorError(StringRef file, StringRef tensor, const Twine &message) {
  return fileError(file, "tensor " + quoteName(tensor) + ": " + message);
}

Expected<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::open(const Twine &path) {
  std::string name = path.str();
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(name, /*IsText=*/false,
                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fileError(name, "cannot open: " + buffer.getError().message());
  return parse(std::move(*buffer), name);
}

Expected<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::parse(std::unique_ptr<MemoryBuffer> buffer, StringRef name) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->name_ = name.str();
  StringRef contents = buffer->getBuffer();
  uint64_t fileSize = contents.size();

  if (fileSize < 8)
    return fileError(name, "file is " + Twine(fileSize) +
                               " bytes, too short for the 8-byte header "
                               "length");
  if (contents.starts_with("GGUF"))
    return fileError(name, "is a GGUF file (llama.cpp's format), not "
                           "safetensors: give it to `qtc compile` or "
                           "`qtc-translate --import-gguf`");
  uint64_t headerSize =
      support::endian::read64le(reinterpret_cast<const uint8_t *>(
          contents.data()));
  if (headerSize > kMaxHeaderBytes)
    return fileError(name, "header length " + Twine(headerSize) +
                               " exceeds the format's limit of " +
                               Twine(kMaxHeaderBytes) + " bytes");
  if (headerSize > fileSize - 8)
    return fileError(name, "header length " + Twine(headerSize) +
                               " runs past the end of the file (" +
                               Twine(fileSize) + " bytes, so at most " +
                               Twine(fileSize - 8) + ")");
  file->headerSize_ = headerSize;
  StringRef headerText = contents.substr(8, headerSize);
  file->data_ = ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(contents.data()) + 8 + headerSize,
      fileSize - 8 - headerSize);

  if (detail::jsonNestsDeeperThan(headerText, kMaxJsonDepth))
    return fileError(name, "header JSON nests deeper than " +
                               Twine(kMaxJsonDepth) + " levels");
  Expected<json::Value> parsed = json::parse(headerText);
  if (!parsed)
    return fileError(name, "header is not valid JSON: " +
                               toString(parsed.takeError()));
  const json::Object *root = parsed->getAsObject();
  if (!root)
    return fileError(name, "header must be a JSON object, got " +
                               detail::jsonKindName(*parsed));
  if (std::optional<std::string> key =
          detail::jsonDuplicateTopLevelKey(headerText)) {
    if (*key == "__metadata__")
      return fileError(name, "'__metadata__' appears twice in the header");
    return tensorError(name, *key, "appears twice in the header");
  }

  // Visit entries by name so that the first error reported does not depend
  // on hash order.
  std::vector<StringRef> keys;
  keys.reserve(root->size());
  for (const auto &entry : *root)
    keys.push_back(entry.first);
  llvm::sort(keys);

  for (StringRef key : keys) {
    const json::Value &value = *root->get(key);
    if (key == "__metadata__") {
      if (value.kind() == json::Value::Null)
        continue;
      const json::Object *metadata = value.getAsObject();
      if (!metadata)
        return fileError(name, "'__metadata__' must be an object of strings, "
                               "got " +
                                   detail::jsonKindName(value));
      for (const auto &item : *metadata) {
        std::optional<StringRef> text = item.second.getAsString();
        if (!text)
          return fileError(name, "'__metadata__' entry " +
                                     quoteName(item.first) +
                                     " must be a string, got " +
                                     detail::jsonKindName(item.second));
        file->metadata_[item.first.str()] = text->str();
      }
      continue;
    }

    const json::Object *entry = value.getAsObject();
    if (!entry)
      return tensorError(name, key,
                         "header entry must be an object with dtype, shape "
                         "and data_offsets, got " +
                             detail::jsonKindName(value));
    TensorInfo info;
    info.name = key.str();

    const json::Value *dtypeValue = entry->get("dtype");
    if (!dtypeValue)
      return tensorError(name, key, "missing 'dtype'");
    std::optional<StringRef> dtypeText = dtypeValue->getAsString();
    if (!dtypeText)
      return tensorError(name, key,
                         "'dtype' must be a string, got " +
                             detail::jsonKindName(*dtypeValue));
    std::optional<DType> dtype = parseDType(*dtypeText);
    if (!dtype)
      return tensorError(name, key,
                         "unknown dtype " + quoteName(*dtypeText) +
                             " (expected one of " + knownDTypeList() + ")");
    info.dtype = *dtype;

    const json::Value *shapeValue = entry->get("shape");
    if (!shapeValue)
      return tensorError(name, key, "missing 'shape'");
    const json::Array *shape = shapeValue->getAsArray();
    if (!shape)
      return tensorError(name, key,
                         "'shape' must be an array of non-negative integers, "
                         "got " +
                             detail::jsonKindName(*shapeValue));
    int64_t numElements = 1;
    bool overflow = false;
    for (size_t i = 0; i < shape->size(); ++i) {
      const json::Value &dimValue = (*shape)[i];
      std::optional<uint64_t> dim = dimValue.getAsUINT64();
      if (!dim || *dim > uint64_t(std::numeric_limits<int64_t>::max())) {
        std::string got = dimValue.kind() == json::Value::Number
                              ? describeNumber(dimValue)
                              : detail::jsonKindName(dimValue).str();
        return tensorError(name, key,
                           "'shape' entry " + Twine(i) + " is " + got +
                               ", expected a non-negative integer");
      }
      info.shape.push_back(static_cast<int64_t>(*dim));
      int64_t product;
      if (MulOverflow(numElements, static_cast<int64_t>(*dim), product))
        overflow = true;
      numElements = product;
    }
    // A zero dimension makes an overflowing product harmless, but the
    // reference implementation multiplies left to right and refuses it too.
    if (overflow)
      return tensorError(name, key,
                         "shape " + formatShape(info.shape) +
                             " has more elements than a 64-bit count holds");
    info.numElements = numElements;

    const json::Value *offsetsValue = entry->get("data_offsets");
    if (!offsetsValue)
      return tensorError(name, key, "missing 'data_offsets'");
    const json::Array *offsets = offsetsValue->getAsArray();
    std::optional<uint64_t> begin, end;
    if (offsets && offsets->size() == 2) {
      begin = (*offsets)[0].getAsUINT64();
      end = (*offsets)[1].getAsUINT64();
    }
    if (!begin || !end)
      return tensorError(name, key,
                         "'data_offsets' must be [begin, end], two "
                         "non-negative integers");
    info.begin = *begin;
    info.end = *end;
    std::string offsetsText =
        "data_offsets [" + std::to_string(info.begin) + ", " +
        std::to_string(info.end) + "]";
    if (info.begin > info.end)
      return tensorError(name, key, offsetsText + " begin after they end");

    unsigned bits = dtypeBits(info.dtype);
    bool bitsOverflow = false;
    uint64_t totalBits = SaturatingMultiply(
        static_cast<uint64_t>(numElements), uint64_t(bits), &bitsOverflow);
    if (bitsOverflow)
      return tensorError(name, key,
                         formatType(info.dtype, info.shape) +
                             " has more bits than a 64-bit count holds");
    if (totalBits % 8 != 0)
      return tensorError(name, key,
                         formatType(info.dtype, info.shape) + " holds " +
                             Twine(totalBits) +
                             " bits, not a whole number of bytes");
    uint64_t needed = totalBits / 8;
    if (info.byteSize() != needed)
      return tensorError(name, key,
                         offsetsText + " hold " + Twine(info.byteSize()) +
                             " bytes, " + formatType(info.dtype, info.shape) +
                             " needs " + Twine(needed));
    if (info.end > file->data_.size())
      return tensorError(name, key,
                         offsetsText + " run past the data section, which "
                                       "holds " +
                             Twine(file->data_.size()) + " bytes");
    file->tensors_.push_back(std::move(info));
  }

  llvm::sort(file->tensors_, [](const TensorInfo &a, const TensorInfo &b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  // Tensors are sorted by begin; each non-empty one must start at or after
  // the furthest end seen so far. Empty tensors occupy no bytes.
  const TensorInfo *furthest = nullptr;
  for (const TensorInfo &info : file->tensors_) {
    if (info.byteSize() == 0)
      continue;
    if (furthest && info.begin < furthest->end)
      return tensorError(name, info.name,
                         "data_offsets [" + Twine(info.begin) + ", " +
                             Twine(info.end) + "] overlap tensor " +
                             quoteName(furthest->name) + " at [" +
                             Twine(furthest->begin) + ", " +
                             Twine(furthest->end) + "]");
    if (!furthest || info.end > furthest->end)
      furthest = &info;
  }

  for (size_t i = 0; i < file->tensors_.size(); ++i)
    file->index_[file->tensors_[i].name] = i;
  file->buffer_ = std::move(buffer);
  return file;
}

const TensorInfo *SafetensorsFile::lookup(StringRef name) const {
  auto it = index_.find(name);
  if (it == index_.end())
    return nullptr;
  return &tensors_[it->second];
}

ArrayRef<uint8_t> SafetensorsFile::bytes(const TensorInfo &tensor) const {
  return data_.slice(tensor.begin, tensor.byteSize());
}

} // namespace qtc::safetensors
