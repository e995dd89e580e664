//===- Safetensors.h - Reader of .safetensors files -------------*- C++ -*-===//
//
// A validating, zero-copy reader of the safetensors format: an 8-byte
// little-endian header length N, N bytes of JSON describing every tensor
// (dtype, shape, data_offsets relative to the data section) and an optional
// `__metadata__` string map, then the raw little-endian tensor bytes.
//
// The file is memory-mapped (llvm::MemoryBuffer maps files above a few pages;
// smaller ones are read into memory) and tensor views are ArrayRefs into that
// buffer. Every check runs when the file is opened; afterwards every view lies
// inside the buffer. Errors are one line naming the file, the tensor when
// there is one, and what was expected, e.g.
//
//   model.safetensors: tensor 'h.0.attn.c_attn.weight': data_offsets [0, 100]
//   hold 100 bytes, F32 [5, 6] needs 120
//
//===----------------------------------------------------------------------===//

#ifndef QTC_FRONTENDS_SAFETENSORS_SAFETENSORS_H
#define QTC_FRONTENDS_SAFETENSORS_SAFETENSORS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qtc::safetensors {

/// Element types of the safetensors format, spelled as in the header. This is
/// the full list of the reference implementation (huggingface/safetensors),
/// including the sub-byte MX types F4, F6_E2M3 and F6_E3M2.
enum class DType : uint8_t {
  BOOL,
  U8,
  I8,
  I16,
  U16,
  I32,
  U32,
  I64,
  U64,
  F16,
  BF16,
  F32,
  F64,
  C64,
  F8_E4M3,
  F8_E5M2,
  F8_E4M3FNUZ,
  F8_E5M2FNUZ,
  F8_E8M0,
  F6_E2M3,
  F6_E3M2,
  F4,
};

/// Parses a header dtype string ("F32", "BF16", ...); nullopt if unknown.
std::optional<DType> parseDType(llvm::StringRef name);
/// The header spelling of `dtype`.
llvm::StringRef dtypeName(DType dtype);
/// Bits per element: 4 for F4, 6 for the F6 types, 8 to 64 for the others.
unsigned dtypeBits(DType dtype);
/// Every dtype, in the order of the enum (for diagnostics and tests).
llvm::ArrayRef<DType> allDTypes();

/// "[5, 6]"; "[]" for a scalar.
std::string formatShape(llvm::ArrayRef<int64_t> shape);
/// "F32 [5, 6]".
std::string formatType(DType dtype, llvm::ArrayRef<int64_t> shape);
/// 'name' with quotes, backslashes and non-printable characters escaped, so
/// that a diagnostic stays on one line whatever the tensor is called.
std::string quoteName(llvm::StringRef name);

/// "<file>: <message>" as an llvm::Error.
llvm::Error fileError(llvm::StringRef file, const llvm::Twine &message);
/// "<file>: tensor '<name>': <message>" as an llvm::Error.
llvm::Error tensorError(llvm::StringRef file, llvm::StringRef tensor,
                        const llvm::Twine &message);

/// One tensor of the header, validated against the file.
struct TensorInfo {
  std::string name;
  DType dtype = DType::U8;
  llvm::SmallVector<int64_t, 4> shape;
  /// Product of `shape` (1 for a scalar).
  int64_t numElements = 1;
  /// Byte range [begin, end) relative to the start of the data section.
  uint64_t begin = 0;
  uint64_t end = 0;

  uint64_t byteSize() const { return end - begin; }
};

/// An opened, fully validated safetensors file.
class SafetensorsFile {
public:
  /// The format's own limit on the JSON header (the reference
  /// implementation refuses larger ones).
  static constexpr uint64_t kMaxHeaderBytes = 100'000'000;
  /// The header of a valid file nests three levels deep (object, tensor
  /// entry, shape); deeper nesting is refused before the JSON parser (which
  /// recurses) sees it.
  static constexpr unsigned kMaxJsonDepth = 16;

  /// Maps and validates the file at `path`; `path` names it in errors.
  static llvm::Expected<std::unique_ptr<SafetensorsFile>>
  open(const llvm::Twine &path);

  /// Validates a file already in memory. `name` names it in errors.
  static llvm::Expected<std::unique_ptr<SafetensorsFile>>
  parse(std::unique_ptr<llvm::MemoryBuffer> buffer, llvm::StringRef name);

  /// The name used in diagnostics (the path given to open()).
  llvm::StringRef name() const { return name_; }

  /// Every tensor, sorted by data offset (ties by name).
  llvm::ArrayRef<TensorInfo> tensors() const { return tensors_; }

  /// The tensor called `name`, or nullptr.
  const TensorInfo *lookup(llvm::StringRef name) const;

  /// The tensor's bytes: a view into the mapped file, byteSize() long. Data
  /// is little-endian and carries no alignment guarantee beyond one byte.
  llvm::ArrayRef<uint8_t> bytes(const TensorInfo &tensor) const;

  /// The `__metadata__` map (empty when the header has none).
  const std::map<std::string, std::string> &metadata() const {
    return metadata_;
  }

  /// True when the file is memory-mapped (MemoryBuffer maps files larger
  /// than a few pages and reads smaller ones into memory).
  bool isMemoryMapped() const {
    return buffer_->getBufferKind() == llvm::MemoryBuffer::MemoryBuffer_MMap;
  }

  /// Length of the JSON header (N) and of the data section that follows it.
  uint64_t headerSize() const { return headerSize_; }
  uint64_t dataSize() const { return data_.size(); }

private:
  SafetensorsFile() = default;

  std::string name_;
  std::unique_ptr<llvm::MemoryBuffer> buffer_;
  llvm::ArrayRef<uint8_t> data_;
  uint64_t headerSize_ = 0;
  std::vector<TensorInfo> tensors_;
  llvm::StringMap<size_t> index_;
  std::map<std::string, std::string> metadata_;
};

} // namespace qtc::safetensors

#endif // QTC_FRONTENDS_SAFETENSORS_SAFETENSORS_H
