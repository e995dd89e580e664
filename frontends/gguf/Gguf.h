//===- Gguf.h - GGUF files (llama.cpp's model format) -----------*- C++ -*-===//
//
// A GGUF file (versions 2 and 3, little-endian): the magic `GGUF`, a version,
// the tensor and metadata counts, typed metadata key/values, tensor infos
// (name, dims innermost first, ggml type, offset), then the tensor data,
// aligned to `general.alignment` (default 32).
//
// Opening maps the file and validates all of it before anything is used:
// every count and string length against the bytes left, value types, array
// nesting, tensor types, byte sizes, offsets (aligned, inside the data,
// not overlapping), duplicate keys and names. Errors are one line naming
// the file and the key or tensor. Tensor data is handed out as views of the
// mapping: nothing is copied.
//
// Depends on LLVM Support only.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_FRONTENDS_GGUF_GGUF_H
#define QTC_FRONTENDS_GGUF_GGUF_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qtc::gguf {

/// Metadata value types (`gguf_type`).
enum class ValueType : uint32_t {
  UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5,
  Float32 = 6, Bool = 7, String = 8, Array = 9, UInt64 = 10, Int64 = 11,
  Float64 = 12,
};

/// "uint32", "string", "array"...
llvm::StringRef valueTypeName(ValueType type);

/// One metadata value. Scalars are held decoded; strings and the elements
/// of numeric arrays point into the mapping.
struct Value {
  ValueType type = ValueType::UInt8;
  /// Integers (any width; unsigned 64-bit values above INT64_MAX keep
  /// their bits in `u`), bools, floats.
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0.0;
  llvm::StringRef str;
  /// Arrays: element type and count; numeric elements packed in `raw`,
  /// strings in `strings`, nested arrays in `items`.
  ValueType elemType = ValueType::UInt8;
  uint64_t count = 0;
  llvm::ArrayRef<uint8_t> raw;
  std::vector<llvm::StringRef> strings;
  std::vector<Value> items;

  bool isInteger() const;
  bool isFloat() const {
    return type == ValueType::Float32 || type == ValueType::Float64;
  }
  /// The value as a signed integer (integer types within int64's range).
  std::optional<int64_t> getInt() const;
  /// The value as a double (floats and integers).
  std::optional<double> getFloat() const;
  std::optional<bool> getBool() const;
  std::optional<llvm::StringRef> getString() const;
  /// Elements of an array of integers / of numbers.
  std::optional<std::vector<int64_t>> getIntArray() const;
  std::optional<std::vector<float>> getFloatArray() const;
  /// "uint32", "array[string]"... for messages.
  std::string typeName() const;
};

/// One tensor info.
struct TensorInfo {
  std::string name;
  /// ggml order: dims[0] is the innermost (contiguous) dimension.
  std::vector<int64_t> dims;
  uint32_t type = 0;
  /// Offset from the start of the data section.
  uint64_t offset = 0;
  uint64_t byteSize = 0;
  int64_t numElements = 0;

  /// Dims outermost first (row-major shape): a [rows, cols] matrix has
  /// dims {cols, rows}.
  std::vector<int64_t> shape() const {
    return std::vector<int64_t>(dims.rbegin(), dims.rend());
  }
  /// "Q4_K" etc.
  llvm::StringRef typeName() const;
};

class GGUFFile {
public:
  /// Maps and validates `path`.
  static llvm::Expected<std::unique_ptr<GGUFFile>> open(const llvm::Twine &path);
  /// Validates a buffer (`name` for messages).
  static llvm::Expected<std::unique_ptr<GGUFFile>>
  parse(std::unique_ptr<llvm::MemoryBuffer> buffer, llvm::StringRef name);

  llvm::StringRef path() const { return name_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }

  /// Metadata in file order.
  llvm::ArrayRef<std::pair<std::string, Value>> metadata() const {
    return metadata_;
  }
  const Value *find(llvm::StringRef key) const;

  llvm::ArrayRef<TensorInfo> tensors() const { return tensors_; }
  const TensorInfo *findTensor(llvm::StringRef name) const;
  /// The tensor's bytes: a view of the mapping.
  llvm::ArrayRef<uint8_t> bytes(const TensorInfo &info) const;

private:
  GGUFFile() = default;
  llvm::Error parseAll();

  std::unique_ptr<llvm::MemoryBuffer> buffer_;
  std::string name_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t dataStart_ = 0;
  std::vector<std::pair<std::string, Value>> metadata_;
  llvm::StringMap<size_t> keyIndex_;
  std::vector<TensorInfo> tensors_;
  llvm::StringMap<size_t> tensorIndex_;
};

/// True when `bytes` starts with the GGUF magic.
bool hasMagic(llvm::ArrayRef<uint8_t> bytes);
/// True when the file at `path` starts with the GGUF magic.
bool isGGUFFile(const llvm::Twine &path);

} // namespace qtc::gguf

#endif // QTC_FRONTENDS_GGUF_GGUF_H
