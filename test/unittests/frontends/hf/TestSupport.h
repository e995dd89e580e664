//===- TestSupport.h - Helpers of the safetensors frontend tests -*- C++ -*-===//
//
// Fixture paths (test/frontends/hf/fixtures, written by
// gen_fixtures.py), its manifest, and builders of small in-memory
// safetensors files for the malformed-input tests.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_TEST_UNITTESTS_FRONTENDS_SAFETENSORS_TESTSUPPORT_H
#define QTC_TEST_UNITTESTS_FRONTENDS_SAFETENSORS_TESTSUPPORT_H

#include "frontends/hf/Safetensors.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#ifndef QTC_SAFETENSORS_FIXTURES
#error "QTC_SAFETENSORS_FIXTURES must name the fixture directory"
#endif

namespace qtc::safetensors::test {

inline std::string fixturePath(llvm::StringRef relative = "") {
  llvm::SmallString<256> path(QTC_SAFETENSORS_FIXTURES);
  if (!relative.empty())
    llvm::sys::path::append(path, relative);
  return std::string(path);
}

/// manifest.json, parsed once; a test fails (and gets null) if it cannot be.
inline const llvm::json::Object *manifest() {
  static const llvm::json::Value value = [] {
    auto buffer = llvm::MemoryBuffer::getFile(fixturePath("manifest.json"));
    if (!buffer)
      return llvm::json::Value(nullptr);
    llvm::Expected<llvm::json::Value> parsed =
        llvm::json::parse((*buffer)->getBuffer());
    if (!parsed) {
      llvm::consumeError(parsed.takeError());
      return llvm::json::Value(nullptr);
    }
    return std::move(*parsed);
  }();
  return value.getAsObject();
}

/// The message of an error that must have happened; "" marks success.
template <typename T> std::string errorOf(llvm::Expected<T> &value) {
  if (value)
    return "";
  return llvm::toString(value.takeError());
}

inline std::vector<uint8_t> hexBytes(llvm::StringRef hex) {
  std::vector<uint8_t> bytes;
  std::string raw = llvm::fromHex(hex);
  bytes.assign(raw.begin(), raw.end());
  return bytes;
}

inline std::vector<int64_t> shapeOf(const llvm::json::Value *value) {
  std::vector<int64_t> shape;
  if (const llvm::json::Array *array = value ? value->getAsArray() : nullptr)
    for (const llvm::json::Value &dim : *array)
      shape.push_back(dim.getAsInteger().value_or(-1));
  return shape;
}

/// A safetensors file from a header text and the data section after it.
inline std::string buildFile(llvm::StringRef header, llvm::StringRef data = "",
                             std::optional<uint64_t> headerLength = {}) {
  uint64_t length = headerLength.value_or(header.size());
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i)
    file[i] = static_cast<char>((length >> (8 * i)) & 0xFF);
  file += header.str();
  file += data.str();
  return file;
}

/// Parses `contents` as a file called `name`; returns the error message or
/// "" on success.
inline std::string parseError(llvm::StringRef contents,
                              llvm::StringRef name = "model.safetensors") {
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(contents, name);
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file =
      SafetensorsFile::parse(std::move(buffer), name);
  return errorOf(file);
}

/// Builds the header of tensors given as (name, dtype, shape, begin, end).
struct HeaderEntry {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t begin;
  uint64_t end;
};

inline std::string buildHeader(llvm::ArrayRef<HeaderEntry> entries) {
  llvm::json::Object root;
  for (const HeaderEntry &entry : entries) {
    llvm::json::Array shape;
    for (int64_t dim : entry.shape)
      shape.push_back(dim);
    root[entry.name] = llvm::json::Object{
        {"dtype", entry.dtype},
        {"shape", std::move(shape)},
        {"data_offsets", llvm::json::Array{entry.begin, entry.end}}};
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(root));
  return text;
}

/// Decodes an IEEE half from its bits (exactly; independent of the code
/// under test).
inline float halfToFloat(uint16_t bits) {
  int exponent = (bits >> 10) & 0x1F;
  int mantissa = bits & 0x3FF;
  float magnitude;
  if (exponent == 0)
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  else if (exponent == 31)
    magnitude = mantissa ? NAN : INFINITY;
  else
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);
  return (bits & 0x8000) ? -magnitude : magnitude;
}

} // namespace qtc::safetensors::test

#endif // QTC_TEST_UNITTESTS_FRONTENDS_SAFETENSORS_TESTSUPPORT_H
