//===- Checkpoint.h - Hugging Face checkpoint directories -------*- C++ -*-===//
//
// A Hugging Face checkpoint: `model.safetensors`, or shards listed by
// `model.safetensors.index.json` (`weight_map`: tensor name -> shard file),
// plus `config.json` and the quantization settings, which live either in
// config.json's `quantization_config` or in a separate `quantize_config.json`
// (AutoGPTQ, GPTQModel) or `quant_config.json` (AutoAWQ).
//
// Opening validates every shard and every index entry; afterwards a tensor
// is found by name in whichever shard holds it.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_FRONTENDS_SAFETENSORS_CHECKPOINT_H
#define QTC_FRONTENDS_SAFETENSORS_CHECKPOINT_H

#include "frontends/hf/Safetensors.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/JSON.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qtc::safetensors {

/// The quantization settings of a GPTQ or AWQ checkpoint (parsed only; the
/// readers in QuantizedLinear.h interpret them).
struct QuantConfig {
  enum class Method { GPTQ, AWQ };
  /// GPTQ `checkpoint_format` (GPTQModel also writes it as `format`):
  /// `gptq` (v1) stores zero points minus one, `gptq_v2` the true ones.
  enum class GPTQFormat { V1, V2 };

  Method method = Method::GPTQ;
  unsigned bits = 4;
  /// Codes sharing one scale along K; -1 means one group per row (K).
  int64_t groupSize = 128;
  /// GPTQ act-order (informational: the g_idx tensor is what is read).
  bool descAct = false;
  /// GPTQ symmetric quantization.
  bool sym = true;
  GPTQFormat checkpointFormat = GPTQFormat::V1;
  /// AWQ `zero_point` (asymmetric); AutoAWQ writes `zero_point: true`.
  bool zeroPoint = true;
  /// AWQ kernel layout (`version`), lower case: "gemm", "gemv", ...
  std::string version = "gemm";
  /// GPTQModel's `pack_dtype` ("int32" unless told otherwise).
  std::string packDtype = "int32";
  /// Where the settings came from, for diagnostics, e.g.
  /// "ckpt/config.json: quantization_config".
  std::string source;
};

/// Parses a quantization settings object. `defaultMethod` applies when it has
/// no `quant_method` (old AutoGPTQ and AutoAWQ files). Accepts AutoAWQ's
/// spellings (`w_bit`, `q_group_size`) and GPTQModel's `format`.
llvm::Expected<QuantConfig>
parseQuantConfig(const llvm::json::Object &object, llvm::StringRef source,
                 std::optional<QuantConfig::Method> defaultMethod =
                     std::nullopt);

/// A tensor found in a checkpoint: the shard that holds it and its entry.
struct TensorRef {
  const SafetensorsFile *file = nullptr;
  const TensorInfo *info = nullptr;

  llvm::StringRef name() const { return info->name; }
  llvm::ArrayRef<uint8_t> bytes() const { return file->bytes(*info); }
};

class Checkpoint {
public:
  /// Opens a checkpoint directory, or a single .safetensors file (then
  /// config files are looked for next to it).
  static llvm::Expected<std::unique_ptr<Checkpoint>>
  open(const llvm::Twine &path);

  /// Wraps one already opened file (no config).
  static std::unique_ptr<Checkpoint>
  fromFile(std::unique_ptr<SafetensorsFile> file);

  /// The path given to open() (a directory or a file).
  llvm::StringRef path() const { return path_; }

  /// The opened safetensors files, in the order they were first listed.
  llvm::ArrayRef<std::unique_ptr<SafetensorsFile>> shards() const {
    return shards_;
  }

  /// The tensor called `name`, or nullopt.
  std::optional<TensorRef> find(llvm::StringRef name) const;
  /// The tensor called `name`, or an error naming the checkpoint.
  llvm::Expected<TensorRef> lookup(llvm::StringRef name) const;
  /// Every tensor name, sorted.
  std::vector<std::string> tensorNames() const;

  /// config.json, when the checkpoint has one.
  const llvm::json::Object *config() const {
    return config_ ? config_->getAsObject() : nullptr;
  }
  /// The quantization settings, when the checkpoint is GPTQ or AWQ.
  const std::optional<QuantConfig> &quantization() const {
    return quantization_;
  }

private:
  Checkpoint() = default;

  llvm::Error openDirectory(llvm::StringRef dir);
  llvm::Error openIndex(llvm::StringRef dir, llvm::StringRef indexPath);
  llvm::Error readConfigs(llvm::StringRef dir);
  void addTensorsOf(const SafetensorsFile &file);

  std::string path_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  llvm::StringMap<TensorRef> tensors_;
  std::optional<llvm::json::Value> config_;
  std::optional<QuantConfig> quantization_;
};

} // namespace qtc::safetensors

#endif // QTC_FRONTENDS_SAFETENSORS_CHECKPOINT_H
