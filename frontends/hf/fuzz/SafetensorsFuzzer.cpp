//===- SafetensorsFuzzer.cpp - libFuzzer harness of the reader ------------===//
//
// Feeds arbitrary bytes to the safetensors reader as a file, then to the
// GPTQ and AWQ readers for every `<prefix>.qweight` the file holds. Any
// crash, sanitizer report, read outside a tensor view, or multi-line error
// message is a finding. Built with clang++ -fsanitize=fuzzer,address,undefined
// by test/unittests/frontends/hf/CMakeLists.txt and run by ctest
// (label `fuzz`), seeded with the fixture files.
//
//===----------------------------------------------------------------------===//

#include "frontends/hf/QuantizedLinear.h"

#include "dialects/QT/Utils/BitPacking.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace qtc::safetensors;

namespace {

/// Errors must be one line; anything else is a finding.
void checkMessage(llvm::Error error) {
  std::string message = llvm::toString(std::move(error));
  if (message.empty() || message.find('\n') != std::string::npos)
    abort();
}

void checkLayer(const PackedLinear &layer) {
  int64_t rowBytes = qtc::packedBytes(layer.inFeatures, layer.bits);
  int64_t groups = layer.inFeatures / layer.groupSize;
  if (int64_t(layer.weights.size()) != layer.outFeatures * rowBytes ||
      int64_t(layer.scales.size()) != layer.outFeatures * groups ||
      (layer.zeroPoints &&
       int64_t(layer.zeroPoints->size()) != layer.outFeatures * groups))
    abort();
  if (layer.inputPermutation) {
    std::vector<bool> seen(static_cast<size_t>(layer.inFeatures));
    for (int64_t k : *layer.inputPermutation) {
      if (k < 0 || k >= layer.inFeatures || seen[k])
        abort();
      seen[k] = true;
    }
  }
}

QuantConfig makeConfig(QuantConfig::Method method, unsigned bits,
                       int64_t groupSize, bool v2, bool zeroPoint) {
  QuantConfig config;
  config.method = method;
  config.bits = bits;
  config.groupSize = groupSize;
  config.sym = !zeroPoint;
  config.zeroPoint = zeroPoint;
  config.checkpointFormat =
      v2 ? QuantConfig::GPTQFormat::V2 : QuantConfig::GPTQFormat::V1;
  return config;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // A copy of exactly `size` bytes, so that ASan sees any read past the end.
  std::unique_ptr<llvm::MemoryBuffer> buffer =
      llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size),
          "fuzz.safetensors");
  llvm::Expected<std::unique_ptr<SafetensorsFile>> file =
      SafetensorsFile::parse(std::move(buffer), "fuzz.safetensors");
  if (!file) {
    checkMessage(file.takeError());
    return 0;
  }

  // Touch the first and last byte of every view.
  volatile uint8_t sink = 0;
  for (const TensorInfo &info : (*file)->tensors()) {
    llvm::ArrayRef<uint8_t> bytes = (*file)->bytes(info);
    if (bytes.size() != info.byteSize())
      abort();
    if (!bytes.empty())
      sink = sink ^ bytes.front() ^ bytes.back();
  }

  std::unique_ptr<Checkpoint> checkpoint =
      Checkpoint::fromFile(std::move(*file));
  static const QuantConfig configs[] = {
      makeConfig(QuantConfig::Method::GPTQ, 2, 16, false, true),
      makeConfig(QuantConfig::Method::GPTQ, 3, -1, false, false),
      makeConfig(QuantConfig::Method::GPTQ, 4, 16, true, true),
      makeConfig(QuantConfig::Method::GPTQ, 8, 32, false, true),
      makeConfig(QuantConfig::Method::AWQ, 4, 16, false, true),
      makeConfig(QuantConfig::Method::AWQ, 4, -1, false, false),
  };
  for (const std::string &name : checkpoint->tensorNames()) {
    llvm::StringRef prefix(name);
    if (!prefix.consume_back(".qweight"))
      continue;
    for (const QuantConfig &config : configs) {
      llvm::Expected<PackedLinear> layer =
          readQuantizedLinear(*checkpoint, prefix, config);
      if (layer)
        checkLayer(*layer);
      else
        checkMessage(layer.takeError());
    }
  }
  return 0;
}
