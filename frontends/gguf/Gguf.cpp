//===- Gguf.cpp - GGUF file reader -----------------------------------------===//

#include "frontends/gguf/Gguf.h"

#include "frontends/gguf/BlockFormats.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>
#include <limits>

using namespace qtc::gguf;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

namespace {

// Arrays of arrays nest; real files never go deeper than one level.
constexpr int kMaxArrayDepth = 4;
// ggml tensors have at most 4 dims.
constexpr uint32_t kMaxDims = 4;
// Tables are reserved for at most this many entries up front: counts are
// only bounded by the file's size, and each entry takes several times the
// bytes it needs in the file (a corrupted count in a multi-GB file would
// otherwise ask for hundreds of GB).
constexpr uint64_t kMaxReserve = 4096;

Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// A key or tensor name for messages: quoted, with non-printable bytes
/// escaped so that the message stays on one line.
std::string quoted(StringRef name) {
  std::string out = "'";
  llvm::raw_string_ostream os(out);
  llvm::printEscapedString(name, os);
  os << "'";
  return out;
}

/// Size in bytes of a fixed-size value type; 0 for strings and arrays,
/// nullopt for unknown ids.
std::optional<uint64_t> fixedSize(uint32_t type) {
  switch (static_cast<ValueType>(type)) {
  case ValueType::UInt8:
  case ValueType::Int8:
  case ValueType::Bool:
    return 1;
  case ValueType::UInt16:
  case ValueType::Int16:
    return 2;
  case ValueType::UInt32:
  case ValueType::Int32:
  case ValueType::Float32:
    return 4;
  case ValueType::UInt64:
  case ValueType::Int64:
  case ValueType::Float64:
    return 8;
  case ValueType::String:
  case ValueType::Array:
    return 0;
  }
  return std::nullopt;
}

/// A bounds-checked little-endian cursor over the mapping.
class Cursor {
public:
  Cursor(llvm::ArrayRef<uint8_t> bytes, StringRef file)
      : bytes(bytes), file(file) {}

  uint64_t offset() const { return pos; }
  uint64_t left() const { return bytes.size() - pos; }

  /// `what` names the field for messages, e.g. "tensor count".
  Error need(uint64_t n, const llvm::Twine &what) {
    if (n > left())
      return fail(file + ": truncated at byte " + llvm::Twine(pos) + ": " +
                  what + " needs " + llvm::Twine(n) + " bytes, " +
                  llvm::Twine(left()) + " left");
    return Error::success();
  }
  template <typename T> Expected<T> read(const llvm::Twine &what) {
    if (Error e = need(sizeof(T), what))
      return std::move(e);
    T v = llvm::support::endian::read<T, llvm::endianness::little>(
        bytes.data() + pos);
    pos += sizeof(T);
    return v;
  }
  Expected<StringRef> string(const llvm::Twine &what) {
    Expected<uint64_t> n = read<uint64_t>(what + " length");
    if (!n)
      return n.takeError();
    if (Error e = need(*n, what))
      return std::move(e);
    StringRef s(reinterpret_cast<const char *>(bytes.data() + pos), *n);
    pos += *n;
    return s;
  }
  llvm::ArrayRef<uint8_t> take(uint64_t n) {
    llvm::ArrayRef<uint8_t> r = bytes.slice(pos, n);
    pos += n;
    return r;
  }

private:
  llvm::ArrayRef<uint8_t> bytes;
  StringRef file;
  uint64_t pos = 0;
};

Expected<Value> readValue(Cursor &c, uint32_t type, const std::string &key,
                          StringRef file, int depth) {
  Value v;
  std::optional<uint64_t> size = fixedSize(type);
  if (!size)
    return fail(file + ": metadata " + quoted(key) +
                " has unknown value type " + llvm::Twine(type));
  v.type = static_cast<ValueType>(type);
  std::string what = "metadata " + quoted(key);
  switch (v.type) {
  case ValueType::UInt8:
  case ValueType::Bool: {
    Expected<uint8_t> x = c.read<uint8_t>(what);
    if (!x)
      return x.takeError();
    if (v.type == ValueType::Bool && *x > 1)
      return fail(file + ": " + what + " is a bool holding " +
                  llvm::Twine(unsigned(*x)) + ", expected 0 or 1");
    v.u = *x;
    v.i = *x;
    return v;
  }
  case ValueType::Int8: {
    Expected<int8_t> x = c.read<int8_t>(what);
    if (!x)
      return x.takeError();
    v.i = *x;
    v.u = static_cast<uint64_t>(v.i);
    return v;
  }
  case ValueType::UInt16: {
    Expected<uint16_t> x = c.read<uint16_t>(what);
    if (!x)
      return x.takeError();
    v.u = *x;
    v.i = *x;
    return v;
  }
  case ValueType::Int16: {
    Expected<int16_t> x = c.read<int16_t>(what);
    if (!x)
      return x.takeError();
    v.i = *x;
    v.u = static_cast<uint64_t>(v.i);
    return v;
  }
  case ValueType::UInt32: {
    Expected<uint32_t> x = c.read<uint32_t>(what);
    if (!x)
      return x.takeError();
    v.u = *x;
    v.i = *x;
    return v;
  }
  case ValueType::Int32: {
    Expected<int32_t> x = c.read<int32_t>(what);
    if (!x)
      return x.takeError();
    v.i = *x;
    v.u = static_cast<uint64_t>(v.i);
    return v;
  }
  case ValueType::UInt64: {
    Expected<uint64_t> x = c.read<uint64_t>(what);
    if (!x)
      return x.takeError();
    v.u = *x;
    v.i = static_cast<int64_t>(*x);
    return v;
  }
  case ValueType::Int64: {
    Expected<int64_t> x = c.read<int64_t>(what);
    if (!x)
      return x.takeError();
    v.i = *x;
    v.u = static_cast<uint64_t>(*x);
    return v;
  }
  case ValueType::Float32: {
    Expected<uint32_t> x = c.read<uint32_t>(what);
    if (!x)
      return x.takeError();
    float f;
    std::memcpy(&f, &*x, 4);
    v.f = f;
    return v;
  }
  case ValueType::Float64: {
    Expected<uint64_t> x = c.read<uint64_t>(what);
    if (!x)
      return x.takeError();
    std::memcpy(&v.f, &*x, 8);
    return v;
  }
  case ValueType::String: {
    Expected<StringRef> s = c.string(what);
    if (!s)
      return s.takeError();
    v.str = *s;
    return v;
  }
  case ValueType::Array: {
    if (depth >= kMaxArrayDepth)
      return fail(file + ": " + what + " nests arrays deeper than " +
                  llvm::Twine(kMaxArrayDepth) + " levels");
    Expected<uint32_t> et = c.read<uint32_t>(what + " element type");
    if (!et)
      return et.takeError();
    std::optional<uint64_t> esize = fixedSize(*et);
    if (!esize)
      return fail(file + ": " + what + " is an array of unknown value type " +
                  llvm::Twine(*et));
    Expected<uint64_t> n = c.read<uint64_t>(what + " element count");
    if (!n)
      return n.takeError();
    v.elemType = static_cast<ValueType>(*et);
    v.count = *n;
    if (*esize) {
      // Fixed-size elements: the whole array must fit (no overflow: the
      // count is checked against the bytes left first).
      if (*n > c.left() / *esize)
        return fail(file + ": truncated at byte " + llvm::Twine(c.offset()) +
                    ": " + what + " holds " + llvm::Twine(*n) +
                    " elements of " + llvm::Twine(*esize) + " bytes, " +
                    llvm::Twine(c.left()) + " bytes left");
      v.raw = c.take(*n * *esize);
      if (v.elemType == ValueType::Bool)
        for (uint8_t b : v.raw)
          if (b > 1)
            return fail(file + ": " + what +
                        " is an array of bools holding a value other than "
                        "0 or 1");
      return v;
    }
    // Strings and arrays take at least 8 bytes each (a length or an
    // element type + count): bound the count before reserving.
    uint64_t minSize = v.elemType == ValueType::String ? 8 : 12;
    if (*n > c.left() / minSize)
      return fail(file + ": truncated at byte " + llvm::Twine(c.offset()) +
                  ": " + what + " holds " + llvm::Twine(*n) + " " +
                  valueTypeName(v.elemType) + " elements, more than the " +
                  llvm::Twine(c.left()) + " bytes left can");
    if (v.elemType == ValueType::String) {
      v.strings.reserve(std::min(*n, kMaxReserve));
      for (uint64_t i = 0; i < *n; ++i) {
        Expected<StringRef> s =
            c.string(what + " element " + llvm::Twine(i));
        if (!s)
          return s.takeError();
        v.strings.push_back(*s);
      }
      return v;
    }
    v.items.reserve(std::min(*n, kMaxReserve));
    for (uint64_t i = 0; i < *n; ++i) {
      Expected<Value> item =
          readValue(c, static_cast<uint32_t>(ValueType::Array),
                    key + "[" + std::to_string(i) + "]", file, depth + 1);
      if (!item)
        return item.takeError();
      v.items.push_back(std::move(*item));
    }
    return v;
  }
  }
  llvm_unreachable("value types are checked above");
}

} // namespace

StringRef qtc::gguf::valueTypeName(ValueType type) {
  switch (type) {
  case ValueType::UInt8: return "uint8";
  case ValueType::Int8: return "int8";
  case ValueType::UInt16: return "uint16";
  case ValueType::Int16: return "int16";
  case ValueType::UInt32: return "uint32";
  case ValueType::Int32: return "int32";
  case ValueType::Float32: return "float32";
  case ValueType::Bool: return "bool";
  case ValueType::String: return "string";
  case ValueType::Array: return "array";
  case ValueType::UInt64: return "uint64";
  case ValueType::Int64: return "int64";
  case ValueType::Float64: return "float64";
  }
  return "unknown";
}

bool Value::isInteger() const {
  switch (type) {
  case ValueType::UInt8: case ValueType::Int8: case ValueType::UInt16:
  case ValueType::Int16: case ValueType::UInt32: case ValueType::Int32:
  case ValueType::UInt64: case ValueType::Int64:
    return true;
  default:
    return false;
  }
}

std::optional<int64_t> Value::getInt() const {
  if (!isInteger())
    return std::nullopt;
  if (type == ValueType::UInt64 &&
      u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return std::nullopt;
  return i;
}

std::optional<double> Value::getFloat() const {
  if (isFloat())
    return f;
  if (type == ValueType::UInt64)
    return static_cast<double>(u);
  if (isInteger())
    return static_cast<double>(i);
  return std::nullopt;
}

std::optional<bool> Value::getBool() const {
  if (type != ValueType::Bool)
    return std::nullopt;
  return u != 0;
}

std::optional<StringRef> Value::getString() const {
  if (type != ValueType::String)
    return std::nullopt;
  return str;
}

namespace {
/// Element `i` of a numeric array as (is float, integer value, float value).
template <typename T> T loadLE(const uint8_t *p) {
  return llvm::support::endian::read<T, llvm::endianness::little>(p);
}
} // namespace

std::optional<std::vector<int64_t>> Value::getIntArray() const {
  // Checked before the loop: an empty array of strings is not one of ints.
  if (type != ValueType::Array || elemType == ValueType::Float32 ||
      elemType == ValueType::Float64 || elemType == ValueType::String ||
      elemType == ValueType::Array)
    return std::nullopt;
  std::vector<int64_t> out;
  out.reserve(count);
  const uint8_t *p = raw.data();
  for (uint64_t k = 0; k < count; ++k) {
    switch (elemType) {
    case ValueType::UInt8: case ValueType::Bool: out.push_back(p[k]); break;
    case ValueType::Int8: out.push_back(static_cast<int8_t>(p[k])); break;
    case ValueType::UInt16: out.push_back(loadLE<uint16_t>(p + 2 * k)); break;
    case ValueType::Int16: out.push_back(loadLE<int16_t>(p + 2 * k)); break;
    case ValueType::UInt32: out.push_back(loadLE<uint32_t>(p + 4 * k)); break;
    case ValueType::Int32: out.push_back(loadLE<int32_t>(p + 4 * k)); break;
    case ValueType::Int64: out.push_back(loadLE<int64_t>(p + 8 * k)); break;
    case ValueType::UInt64: {
      uint64_t x = loadLE<uint64_t>(p + 8 * k);
      if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return std::nullopt;
      out.push_back(static_cast<int64_t>(x));
      break;
    }
    default:
      return std::nullopt;
    }
  }
  return out;
}

std::optional<std::vector<float>> Value::getFloatArray() const {
  if (type != ValueType::Array)
    return std::nullopt;
  if (elemType == ValueType::Float32 || elemType == ValueType::Float64) {
    std::vector<float> out;
    out.reserve(count);
    for (uint64_t k = 0; k < count; ++k) {
      if (elemType == ValueType::Float32) {
        uint32_t bits = loadLE<uint32_t>(raw.data() + 4 * k);
        float f;
        std::memcpy(&f, &bits, 4);
        out.push_back(f);
      } else {
        uint64_t bits = loadLE<uint64_t>(raw.data() + 8 * k);
        double d;
        std::memcpy(&d, &bits, 8);
        out.push_back(static_cast<float>(d));
      }
    }
    return out;
  }
  std::optional<std::vector<int64_t>> ints = getIntArray();
  if (!ints)
    return std::nullopt;
  return std::vector<float>(ints->begin(), ints->end());
}

std::string Value::typeName() const {
  if (type != ValueType::Array)
    return valueTypeName(type).str();
  return ("array[" + valueTypeName(elemType) + "]").str();
}

StringRef TensorInfo::typeName() const {
  if (const TypeTraits *t = typeTraits(type))
    return t->name;
  return "unknown";
}

bool qtc::gguf::hasMagic(llvm::ArrayRef<uint8_t> bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(), "GGUF", 4) == 0;
}

bool qtc::gguf::isGGUFFile(const llvm::Twine &path) {
  if (llvm::sys::fs::is_directory(path))
    return false;
  Expected<llvm::sys::fs::file_t> fd =
      llvm::sys::fs::openNativeFileForRead(path);
  if (!fd) {
    llvm::consumeError(fd.takeError());
    return false;
  }
  char buf[4];
  Expected<size_t> n = llvm::sys::fs::readNativeFile(
      *fd, llvm::MutableArrayRef<char>(buf, 4));
  llvm::sys::fs::closeFile(*fd);
  if (!n) {
    llvm::consumeError(n.takeError());
    return false;
  }
  return *n == 4 && std::memcmp(buf, "GGUF", 4) == 0;
}

Expected<std::unique_ptr<GGUFFile>> GGUFFile::open(const llvm::Twine &path) {
  std::string name = path.str();
  if (llvm::sys::fs::is_directory(name))
    return fail(name + ": is a directory, not a GGUF file");
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(name, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail(name + ": cannot open: " + buffer.getError().message());
  return parse(std::move(*buffer), name);
}

Expected<std::unique_ptr<GGUFFile>>
GGUFFile::parse(std::unique_ptr<llvm::MemoryBuffer> buffer, StringRef name) {
  std::unique_ptr<GGUFFile> file(new GGUFFile());
  file->buffer_ = std::move(buffer);
  file->name_ = name.str();
  if (Error e = file->parseAll())
    return std::move(e);
  return std::move(file);
}

Error GGUFFile::parseAll() {
  llvm::ArrayRef<uint8_t> bytes(
      reinterpret_cast<const uint8_t *>(buffer_->getBufferStart()),
      buffer_->getBufferSize());
  StringRef file = name_;
  if (bytes.size() < 4 || !hasMagic(bytes))
    return fail(file + ": not a GGUF file (no 'GGUF' magic)");
  Cursor c(bytes, file);
  (void)c.take(4);
  Expected<uint32_t> version = c.read<uint32_t>("version");
  if (!version)
    return version.takeError();
  if (*version != 2 && *version != 3) {
    // A big-endian file reads as a huge version number.
    if (llvm::byteswap(*version) == 2 || llvm::byteswap(*version) == 3)
      return fail(file + ": big-endian GGUF files are not supported");
    if (*version == 1)
      return fail(file + ": GGUF version 1 (32-bit counts) is not supported; "
                         "convert the file with a current llama.cpp");
    return fail(file + ": unsupported GGUF version " + llvm::Twine(*version) +
                " (expected 2 or 3)");
  }
  version_ = *version;
  Expected<uint64_t> tensorCount = c.read<uint64_t>("tensor count");
  if (!tensorCount)
    return tensorCount.takeError();
  Expected<uint64_t> kvCount = c.read<uint64_t>("metadata count");
  if (!kvCount)
    return kvCount.takeError();
  // Each key/value takes at least 12 bytes (key length + value type), each
  // tensor info at least 24 (name length, n_dims, type, offset).
  if (*kvCount > c.left() / 12)
    return fail(file + ": header says " + llvm::Twine(*kvCount) +
                " metadata entries, more than the file's " +
                llvm::Twine(bytes.size()) + " bytes can hold");
  if (*tensorCount > c.left() / 24)
    return fail(file + ": header says " + llvm::Twine(*tensorCount) +
                " tensors, more than the file's " + llvm::Twine(bytes.size()) +
                " bytes can hold");

  metadata_.reserve(std::min(*kvCount, kMaxReserve));
  for (uint64_t k = 0; k < *kvCount; ++k) {
    Expected<StringRef> key =
        c.string("metadata key " + llvm::Twine(k));
    if (!key)
      return key.takeError();
    if (key->empty())
      return fail(file + ": metadata key " + llvm::Twine(k) + " is empty");
    Expected<uint32_t> type =
        c.read<uint32_t>("metadata " + quoted(*key) + " value type");
    if (!type)
      return type.takeError();
    Expected<Value> value = readValue(c, *type, key->str(), file, 0);
    if (!value)
      return value.takeError();
    if (!keyIndex_.try_emplace(*key, metadata_.size()).second)
      return fail(file + ": metadata key " + quoted(*key) + " appears twice");
    metadata_.emplace_back(key->str(), std::move(*value));
  }

  if (const Value *align = find("general.alignment")) {
    std::optional<int64_t> a = align->getInt();
    if (align->type != ValueType::UInt32 || !a || *a == 0 ||
        !llvm::isPowerOf2_64(static_cast<uint64_t>(*a)))
      return fail(file + ": metadata 'general.alignment' must be a uint32 "
                         "power of two, got " +
                  align->typeName() +
                  (a ? " " + std::to_string(*a) : std::string()));
    alignment_ = static_cast<uint64_t>(*a);
  }

  tensors_.reserve(std::min(*tensorCount, kMaxReserve));
  for (uint64_t t = 0; t < *tensorCount; ++t) {
    TensorInfo info;
    Expected<StringRef> tname = c.string("tensor " + llvm::Twine(t) + " name");
    if (!tname)
      return tname.takeError();
    info.name = tname->str();
    std::string what = "tensor " + quoted(info.name);
    if (info.name.empty())
      return fail(file + ": tensor " + llvm::Twine(t) + " has an empty name");
    Expected<uint32_t> nDims = c.read<uint32_t>(what + " dimension count");
    if (!nDims)
      return nDims.takeError();
    if (*nDims == 0 || *nDims > kMaxDims)
      return fail(file + ": " + what + " has " + llvm::Twine(*nDims) +
                  " dimensions, expected 1 to " + llvm::Twine(kMaxDims));
    uint64_t elements = 1;
    for (uint32_t d = 0; d < *nDims; ++d) {
      Expected<uint64_t> dim = c.read<uint64_t>(what + " dimension");
      if (!dim)
        return dim.takeError();
      if (*dim == 0 ||
          *dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          elements > static_cast<uint64_t>(
                         std::numeric_limits<int64_t>::max()) / *dim)
        return fail(file + ": " + what + " has dimension " +
                    llvm::Twine(d) + " = " + llvm::Twine(*dim) +
                    (*dim == 0 ? ", expected at least 1"
                               : ": the element count overflows"));
      elements *= *dim;
      info.dims.push_back(static_cast<int64_t>(*dim));
    }
    info.numElements = static_cast<int64_t>(elements);
    Expected<uint32_t> type = c.read<uint32_t>(what + " type");
    if (!type)
      return type.takeError();
    info.type = *type;
    const TypeTraits *traits = typeTraits(*type);
    if (!traits)
      return fail(file + ": " + what + " has unknown ggml type " +
                  llvm::Twine(*type));
    if (info.dims[0] % traits->blockSize != 0)
      return fail(file + ": " + what + " of type " + traits->name +
                  " has rows of " + llvm::Twine(info.dims[0]) +
                  " elements, not a multiple of its block size " +
                  llvm::Twine(traits->blockSize));
    uint64_t blocks = elements / traits->blockSize;
    if (blocks > std::numeric_limits<uint64_t>::max() / traits->typeSize)
      return fail(file + ": " + what + ": byte size overflows");
    info.byteSize = blocks * traits->typeSize;
    Expected<uint64_t> offset = c.read<uint64_t>(what + " offset");
    if (!offset)
      return offset.takeError();
    if (*offset % alignment_ != 0)
      return fail(file + ": " + what + " starts at data offset " +
                  llvm::Twine(*offset) + ", not a multiple of the alignment " +
                  llvm::Twine(alignment_));
    info.offset = *offset;
    if (!tensorIndex_.try_emplace(info.name, tensors_.size()).second)
      return fail(file + ": " + what + " appears twice");
    tensors_.push_back(std::move(info));
  }

  // The data section starts at the next multiple of the alignment.
  uint64_t end = c.offset();
  dataStart_ = (end + alignment_ - 1) / alignment_ * alignment_;
  uint64_t dataSize = dataStart_ <= bytes.size() ? bytes.size() - dataStart_ : 0;
  if (!tensors_.empty() && dataStart_ > bytes.size())
    return fail(file + ": truncated: the tensor data would start at byte " +
                llvm::Twine(dataStart_) + " of a " +
                llvm::Twine(bytes.size()) + "-byte file");
  std::vector<const TensorInfo *> byOffset;
  for (const TensorInfo &info : tensors_) {
    if (info.offset > dataSize || info.byteSize > dataSize - info.offset)
      return fail(file + ": tensor " + quoted(info.name) + " (" +
                  info.typeName() + ", " + llvm::Twine(info.byteSize) +
                  " bytes at data offset " + llvm::Twine(info.offset) +
                  ") extends past the end of the file's " +
                  llvm::Twine(dataSize) + " data bytes");
    byOffset.push_back(&info);
  }
  llvm::stable_sort(byOffset, [](const TensorInfo *a, const TensorInfo *b) {
    return a->offset < b->offset;
  });
  for (size_t i = 1; i < byOffset.size(); ++i) {
    const TensorInfo *prev = byOffset[i - 1], *cur = byOffset[i];
    if (prev->offset + prev->byteSize > cur->offset)
      return fail(file + ": tensor " + quoted(cur->name) + " at data offset " +
                  llvm::Twine(cur->offset) + " overlaps tensor " +
                  quoted(prev->name) + " (" + llvm::Twine(prev->byteSize) +
                  " bytes at " + llvm::Twine(prev->offset) + ")");
  }
  return Error::success();
}

const Value *GGUFFile::find(StringRef key) const {
  auto it = keyIndex_.find(key);
  return it == keyIndex_.end() ? nullptr : &metadata_[it->second].second;
}

const TensorInfo *GGUFFile::findTensor(StringRef name) const {
  auto it = tensorIndex_.find(name);
  return it == tensorIndex_.end() ? nullptr : &tensors_[it->second];
}

llvm::ArrayRef<uint8_t> GGUFFile::bytes(const TensorInfo &info) const {
  return llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(buffer_->getBufferStart()) +
          dataStart_ + info.offset,
      info.byteSize);
}
