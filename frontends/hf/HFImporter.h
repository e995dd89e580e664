//===- HFImporter.h - Hugging Face checkpoint -> MLIR -----------*- C++ -*-===//
//
// Builds the qt + upstream IR of a model straight from a Hugging Face
// checkpoint directory (config.json + safetensors shards), with no PyTorch
// or ONNX export. Weights are dense_resource constants over the mapped
// checkpoint bytes; GPTQ and AWQ linear layers become qt.quantized_matmul
// over their packed codes.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_FRONTENDS_SAFETENSORS_HFIMPORTER_H
#define QTC_FRONTENDS_SAFETENSORS_HFIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace mlir {
class DialectRegistry;
class MLIRContext;
} // namespace mlir

namespace qtc::hf {

struct ImportOptions {
  /// Static sizes for the batch, new-token and cached-token dims (dynamic
  /// when unset).
  std::optional<int64_t> batch, sequence, past;
  /// Generation signature (decoders): instead of past keys and values of
  /// `past` positions returned grown by the new ones, a fixed cache of
  /// `maxContext` positions per layer (`cache.N.key` / `.value`, the first
  /// position_ids[b, 0] of them filled), and only the new keys and values
  /// returned (`new.N.key` / `.value`, after the rotary embedding) for the
  /// caller to write into its cache at position_ids[b, 0].
  std::optional<int64_t> maxContext;
  std::string functionName = "main";
  /// Tensors in the file that the model's builder does not use are an
  /// error (the file is not the model its config or metadata describes);
  /// with this set, a warning that lists them.
  bool allowUnusedTensors = false;
  /// Where warnings go, one line each ("qtc: warning: ..."; nullptr: none).
  llvm::raw_ostream *warnings = nullptr;
};

/// Dialects the builders create ops of.
void registerImportDialects(mlir::DialectRegistry &registry);

/// Builds the model in `dir` (model_type llama, mistral, qwen2, gpt2 or
/// bert). Decoder models take input_ids, position_ids and per-layer past
/// keys and values [batch, kv_heads, past, head_dim], and return logits and
/// the present keys and values; BERT takes input_ids, attention_mask and
/// token_type_ids and returns last_hidden_state.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importCheckpoint(llvm::StringRef dir, mlir::MLIRContext &context,
                 const ImportOptions &options = {});

/// Builds the model in the GGUF file at `path` (general.architecture llama,
/// qwen2, qwen3, gemma2, gemma3, phi3, gpt2 or bert), with the same
/// signatures as importCheckpoint's.
/// Quantized tensors stay packed (repacked losslessly into #qt.packed);
/// F32/F16/BF16 tensors are views of the mapped file.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importGGUF(llvm::StringRef path, mlir::MLIRContext &context,
           const ImportOptions &options = {});

} // namespace qtc::hf

#endif // QTC_FRONTENDS_SAFETENSORS_HFIMPORTER_H
