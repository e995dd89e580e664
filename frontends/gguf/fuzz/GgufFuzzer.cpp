//===- GgufFuzzer.cpp - libFuzzer harness of the GGUF reader --------------===//
//
// Feeds arbitrary bytes to the GGUF reader as a file. On success, calls
// every accessor of every metadata value (nested array items included) and
// reads every byte of every tensor view, so that ASan sees any view that
// reaches outside the input. Any crash, sanitizer report, inconsistent
// tensor info, or empty / multi-line error message is a finding. Built with
// clang++ -fsanitize=fuzzer,address,undefined by test/fuzz/CMakeLists.txt
// (the clang sub-build) and run by ctest (label `fuzz`), seeded with the
// reader fixtures (test/unittests/frontends/gguf/fixtures/reader-*.gguf).
//
//===----------------------------------------------------------------------===//

#include "frontends/gguf/Gguf.h"

#include "frontends/gguf/BlockFormats.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace qtc::gguf;

namespace {

/// Errors must be one line; anything else is a finding.
void checkMessage(llvm::Error error) {
  std::string message = llvm::toString(std::move(error));
  if (message.empty() || message.find('\n') != std::string::npos ||
      message.find('\r') != std::string::npos)
    abort();
}

uint64_t touchValue(const Value &v, int depth) {
  // The reader bounds array nesting; a deeper value is a finding.
  if (depth > 8)
    abort();
  uint64_t sum = v.isInteger() + v.isFloat() + v.typeName().size();
  if (std::optional<int64_t> i = v.getInt())
    sum += static_cast<uint64_t>(*i);
  if (std::optional<double> f = v.getFloat())
    sum += *f == *f;
  if (std::optional<bool> b = v.getBool())
    sum += *b;
  if (std::optional<llvm::StringRef> s = v.getString())
    for (char c : *s)
      sum += static_cast<uint8_t>(c);
  if (std::optional<std::vector<int64_t>> ints = v.getIntArray()) {
    if (ints->size() != v.count)
      abort();
    for (int64_t i : *ints)
      sum += static_cast<uint64_t>(i);
  }
  if (std::optional<std::vector<float>> floats = v.getFloatArray()) {
    if (floats->size() != v.count)
      abort();
    for (float f : *floats)
      sum += f == f;
  }
  if (v.type == ValueType::Array) {
    // Exactly one of the element stores holds the `count` elements.
    uint64_t held = v.elemType == ValueType::String  ? v.strings.size()
                    : v.elemType == ValueType::Array ? v.items.size()
                                                     : v.count;
    if (held != v.count)
      abort();
  }
  for (uint8_t b : v.raw)
    sum += b;
  for (llvm::StringRef s : v.strings)
    for (char c : s)
      sum += static_cast<uint8_t>(c);
  for (const Value &item : v.items)
    sum += touchValue(item, depth + 1);
  return sum;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A view of libFuzzer's copy of the input (exactly `size` bytes on the
  // heap), so that ASan sees any read past the end.
  std::unique_ptr<llvm::MemoryBuffer> buffer = llvm::MemoryBuffer::getMemBuffer(
      llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz.gguf",
      /*RequiresNullTerminator=*/false);
  llvm::Expected<std::unique_ptr<GGUFFile>> file =
      GGUFFile::parse(std::move(buffer), "fuzz.gguf");
  if (!file) {
    checkMessage(file.takeError());
    return 0;
  }
  const GGUFFile &gguf = **file;

  volatile uint64_t sink = 0;
  uint64_t sum = gguf.version() + gguf.alignment();
  for (const auto &kv : gguf.metadata()) {
    if (gguf.find(kv.first) != &kv.second)
      abort();
    sum += touchValue(kv.second, 0);
  }
  for (const TensorInfo &info : gguf.tensors()) {
    if (gguf.findTensor(info.name) != &info)
      abort();
    const TypeTraits *traits = typeTraits(info.type);
    if (!traits || info.dims.empty() || info.dims.size() > 4 ||
        info.offset % gguf.alignment() != 0)
      abort();
    int64_t elements = 1;
    for (int64_t d : info.dims) {
      if (d <= 0)
        abort();
      elements *= d;
    }
    if (elements != info.numElements ||
        info.byteSize !=
            uint64_t(elements / traits->blockSize) * uint64_t(traits->typeSize))
      abort();
    sum += info.shape().size() + info.typeName().size();
    llvm::ArrayRef<uint8_t> bytes = gguf.bytes(info);
    if (bytes.size() != info.byteSize)
      abort();
    // Inside the input.
    if (bytes.data() < data || bytes.data() + bytes.size() > data + size)
      abort();
    for (uint8_t b : bytes)
      sum += b;
  }
  sink = sum;
  (void)sink;
  return 0;
}
