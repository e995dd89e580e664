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
  std::string functionName = "main";
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

} // namespace qtc::hf

#endif // QTC_FRONTENDS_SAFETENSORS_HFIMPORTER_H
