//===- HFImporter.cpp - Hugging Face checkpoint -> MLIR -------------------===//

#include "frontends/hf/HFImporter.h"

#include "dialects/QT/Utils/TensorBuilders.h"
#include "frontends/hf/Checkpoint.h"
#include "frontends/hf/QuantizedLinear.h"
#include "frontends/gguf/BlockFormats.h"
#include "frontends/gguf/Gguf.h"

#include "dialects/QT/IR/QTDialect.h"
#include "dialects/QT/IR/QTOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/WithColor.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace qtc::ir;
using qtc::safetensors::Checkpoint;
using qtc::safetensors::DType;
using qtc::safetensors::TensorRef;
using llvm::Error;
using llvm::Expected;

namespace {

llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Model hyper-parameters read from config.json.
struct Config {
  std::string modelType;
  int64_t hidden = 0, layers = 0, heads = 0, kvHeads = 0, headDim = 0,
          intermediate = 0, vocab = 0, maxPositions = 0;
  double ropeTheta = 10000.0, ropeLinearFactor = 1.0, normEps = 1e-6;
  bool tied = false;
  /// Rotary pairs (2j, 2j+1) instead of (j, j + d/2): llama.cpp's "normal"
  /// rope, which its converter arranges Llama's q/k rows for.
  bool ropeInterleaved = false;
  /// Per-pair divisors of the rotary frequencies (Llama 3's rope scaling,
  /// GGUF `rope_freqs.weight`; Phi-3's longrope factors); empty when none.
  std::vector<float> ropeFreqFactors;
  /// Multiplies cos and sin (longrope's attention factor).
  double ropeAttentionFactor = 1.0;
  /// Rotary features per head (Phi-3's partial rotary; 0: all).
  int64_t rotaryDim = 0;
  /// Base of the local (sliding-window) layers' rope (Gemma 3; 0: same).
  double ropeLocalTheta = 0;
  /// Sliding-window attention: the window (0: none) and which layers use it.
  int64_t slidingWindow = 0;
  std::vector<bool> layerSliding;
  /// Softmax scale (0: 1/sqrt(head_dim)); Gemma's query_pre_attn_scalar.
  double attnScale = 0;
  /// Gemma 2: tanh soft-capping of attention scores and of the logits.
  double attnSoftcap = 0, finalSoftcap = 0;
  /// Gemma: embeddings times sqrt(hidden); RMSNorm by (1 + w) (in HF
  /// checkpoints; GGUF files store 1 + w); norms after attention and MLP.
  double embedScale = 1.0;
  bool normPlusOne = false, sandwichNorms = false;
  /// Qwen 3, Gemma 3: RMSNorm of each head's query and key.
  bool qkNorm = false;
  /// Phi-3: one qkv projection, one gate_up projection.
  bool fusedQKV = false, fusedGateUp = false;
  /// GPT-2 / BERT: activation ("gelu" erf form, "gelu_new" tanh form),
  /// token types.
  std::string activation = "gelu";
  int64_t typeVocab = 0;
};

class ModelBuilder {
public:
  ModelBuilder(MLIRContext &context, std::shared_ptr<Checkpoint> ckpt,
          std::string dir, const qtc::hf::ImportOptions &options)
      : context(context), b(&context), ckpt(std::move(ckpt)),
        dir(std::move(dir)), options(options) {}
  /// Builds from a GGUF file: the same families, with names and
  /// hyper-parameters mapped from llama.cpp's conventions.
  ModelBuilder(MLIRContext &context, std::shared_ptr<qtc::gguf::GGUFFile> file,
               const qtc::hf::ImportOptions &options)
      : context(context), b(&context), gguf(std::move(file)),
        dir(gguf->path().str()), options(options) {}

  Expected<OwningOpRef<ModuleOp>> run();

private:
  MLIRContext &context;
  OpBuilder b;
  std::shared_ptr<Checkpoint> ckpt;
  std::shared_ptr<qtc::gguf::GGUFFile> gguf;
  std::string dir;
  const qtc::hf::ImportOptions &options;
  Config cfg;
  /// linear(): a missing bias is an error, not a layer without bias.
  bool biasRequired = false;
  std::string prefix; // "model." or ""
  Block *entry = nullptr;
  Operation *lastConstant = nullptr;
  /// Weights already turned into constants (a tied lm_head reuses the
  /// embedding table), keyed by tensor name and whether widened to f32.
  llvm::StringMap<Value> weights;
  /// Source tensors the builder consumed (checked against the file's at the
  /// end: a tensor nobody reads means the model was misread).
  llvm::StringSet<> used;
  /// GGUF matrices repacked into #qt.packed, by GGUF tensor name.
  struct PackedConstants {
    Value codes, scales, mins;
    qt::PackedAttr format;
  };
  llvm::StringMap<PackedConstants> packedWeights;

  /// A weight as stored: its bytes, row-major shape and element type
  /// (F32/F16/BF16), or a GGUF block type to repack.
  struct Stored {
    std::string name; // as in the file
    llvm::ArrayRef<uint8_t> bytes;
    std::vector<int64_t> shape;
    DType dtype = DType::F32;
    bool real = true; // false: `ggmlType` holds quantized blocks
    uint32_t ggmlType = 0;
  };
  /// The GGUF name of a Hugging Face tensor name ("" when none).
  std::string ggufName(llvm::StringRef name) const;
  Expected<Stored> stored(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                          llvm::StringRef why);
  Expected<PackedConstants> packedWeight(const Stored &st);
  Error readGGUFConfig();
  Error readGGUFLayerNormConfig();
  Error checkAllUsed();

  Location loc(llvm::StringRef name) {
    return NameLoc::get(b.getStringAttr(name),
                        FileLineColLoc::get(&context, dir, 0, 0));
  }
  Error readConfig();
  Expected<TensorRef> tensor(llvm::StringRef name,
                             llvm::ArrayRef<int64_t> shape,
                             llvm::StringRef why);
  bool has(llvm::StringRef name) const {
    if (gguf) {
      std::string g = ggufName(name);
      return !g.empty() && gguf->findTensor(g);
    }
    return ckpt->find(name).has_value();
  }
  /// A constant over the checkpoint bytes (no copy when aligned).
  Value constant(llvm::ArrayRef<uint8_t> bytes, llvm::ArrayRef<int64_t> shape,
                 Type elem, llvm::StringRef name,
                 std::shared_ptr<void> owner = nullptr);
  Expected<Value> floatWeight(llvm::StringRef name,
                              llvm::ArrayRef<int64_t> shape,
                              llvm::StringRef why, bool asF32);
  Expected<Value> makeFloatWeight(llvm::StringRef name,
                                  llvm::ArrayRef<int64_t> shape,
                                  llvm::StringRef why, bool asF32);
  /// `inOut`: the weight is stored [in, out] (GPT-2's Conv1D), not
  /// [out, in] (nn.Linear).
  Expected<Value> linear(Value x, llvm::StringRef name, int64_t out,
                         int64_t in, bool inOut = false);
  Expected<Value> layerNorm(Value x, llvm::StringRef name);
  /// Rows `ids` of the table `name` [rows, hidden] as f32 [..., hidden]; a
  /// quantized GGUF table stays packed and only looked-up rows are decoded.
  Expected<Value> lookup(llvm::StringRef name, int64_t rows, Value ids,
                         llvm::StringRef why, llvm::StringRef locName = "");
  Value gelu(Value x, llvm::StringRef name) {
    auto kind = cfg.activation == "gelu" ? qt::GeluApproximation::None
                                         : qt::GeluApproximation::Tanh;
    return qt::GeluOp::create(b, loc(name), x,
                              qt::GeluApproximationAttr::get(&context, kind));
  }
  Value sliceLast(Value x, int64_t offset, int64_t size) {
    Location l = b.getUnknownLoc();
    SmallVector<OpFoldResult> sizes = mixedSizes(b, l, x);
    int64_t r = sizes.size();
    SmallVector<OpFoldResult> offsets(r, b.getIndexAttr(0)),
        strides(r, b.getIndexAttr(1));
    offsets.back() = b.getIndexAttr(offset);
    sizes.back() = b.getIndexAttr(size);
    return tensor::ExtractSliceOp::create(b, l, x, offsets, sizes, strides);
  }
  Expected<OwningOpRef<ModuleOp>> buildGPT2();
  Expected<OwningOpRef<ModuleOp>> buildBert();
  struct Decoder {
    func::FuncOp func;
    RankedTensorType present;
    int64_t B = 0, S = 0;
  };
  Decoder beginDecoder(OwningOpRef<ModuleOp> &owned);
  void finishDecoder(Decoder &d, Value logits, ArrayRef<Value> presents);
  Value add(Value a, Value c) {
    return mapElements(b, b.getUnknownLoc(), ValueRange{a, c},
                       typeOf(a).getElementType(),
                       [](OpBuilder &nb, Location l, ValueRange v) {
                         return arith::AddFOp::create(nb, l, v[0], v[1]);
                       });
  }
  Value splitHeads(Value x, int64_t heads) {
    SmallVector<OpFoldResult> s = mixedSizes(b, b.getUnknownLoc(), x);
    Value r = reshapeTo(b, b.getUnknownLoc(), x,
                        {s[0], s[1], b.getIndexAttr(heads),
                         b.getIndexAttr(cfg.headDim)});
    return transpose(b, b.getUnknownLoc(), r, {0, 2, 1, 3});
  }
  Value mergeHeads(Value x) {
    Value t = transpose(b, b.getUnknownLoc(), x, {0, 2, 1, 3});
    SmallVector<OpFoldResult> s = mixedSizes(b, b.getUnknownLoc(), t);
    return reshapeTo(b, b.getUnknownLoc(), t,
                     {s[0], s[1], b.getIndexAttr(cfg.heads * cfg.headDim)});
  }
  Expected<OwningOpRef<ModuleOp>> buildDecoder();
  Expected<Value> normWeight(llvm::StringRef name, int64_t dim,
                             llvm::StringRef why);
  Expected<Value> rmsNorm(Value x, llvm::StringRef name, int64_t dim,
                          llvm::StringRef why);
  Value scaleBy(Value x, double factor);
  Value softcap(Value x, double cap, llvm::StringRef name);
  std::pair<Value, Value> ropeTables(double theta, llvm::StringRef name,
                                     bool scaled);
  Value cacheMask(Value positions, int64_t C, int64_t window);
};

Error ModelBuilder::readConfig() {
  const llvm::json::Object *c = ckpt->config();
  std::string where = dir + "/config.json";
  if (!c)
    return fail(dir + ": no config.json");
  auto str = [&](llvm::StringRef k) -> std::string {
    if (std::optional<llvm::StringRef> v = c->getString(k))
      return v->str();
    return "";
  };
  auto num = [&](llvm::StringRef k, int64_t &out, bool required) -> Error {
    if (std::optional<int64_t> v = c->getInteger(k)) {
      if (*v <= 0)
        return fail(where + ": '" + k + "' must be positive");
      out = *v;
    } else if (required) {
      return fail(where + ": '" + k + "' is missing");
    }
    return Error::success();
  };
  cfg.modelType = str("model_type");
  if (cfg.modelType == "gpt2") {
    if (Error e = num("n_embd", cfg.hidden, true)) return e;
    if (Error e = num("n_layer", cfg.layers, true)) return e;
    if (Error e = num("n_head", cfg.heads, true)) return e;
    if (Error e = num("vocab_size", cfg.vocab, true)) return e;
    cfg.maxPositions = 1024;
    if (Error e = num("n_positions", cfg.maxPositions, false)) return e;
    cfg.intermediate = 4 * cfg.hidden;
    if (Error e = num("n_inner", cfg.intermediate, false)) return e;
    cfg.kvHeads = cfg.heads;
    if (cfg.hidden % cfg.heads)
      return fail(where + ": n_embd must be a multiple of n_head");
    cfg.headDim = cfg.hidden / cfg.heads;
    cfg.normEps = c->getNumber("layer_norm_epsilon").value_or(1e-5);
    cfg.activation = str("activation_function");
    cfg.tied = c->getBoolean("tie_word_embeddings").value_or(true);
    prefix = has("transformer.wte.weight") ? "transformer." : "";
  } else if (cfg.modelType == "bert") {
    if (Error e = num("hidden_size", cfg.hidden, true)) return e;
    if (Error e = num("num_hidden_layers", cfg.layers, true)) return e;
    if (Error e = num("num_attention_heads", cfg.heads, true)) return e;
    if (Error e = num("intermediate_size", cfg.intermediate, true)) return e;
    if (Error e = num("vocab_size", cfg.vocab, true)) return e;
    cfg.maxPositions = 512;
    if (Error e = num("max_position_embeddings", cfg.maxPositions, false)) return e;
    cfg.typeVocab = 2;
    if (Error e = num("type_vocab_size", cfg.typeVocab, false)) return e;
    cfg.kvHeads = cfg.heads;
    if (cfg.hidden % cfg.heads)
      return fail(where + ": hidden_size must be a multiple of "
                          "num_attention_heads");
    cfg.headDim = cfg.hidden / cfg.heads;
    cfg.normEps = c->getNumber("layer_norm_eps").value_or(1e-12);
    cfg.activation = str("hidden_act");
    std::string pe = str("position_embedding_type");
    if (!pe.empty() && pe != "absolute")
      return fail(where + ": position_embedding_type '" + pe +
                  "' is not supported (absolute)");
    prefix = has("bert.embeddings.word_embeddings.weight") ? "bert." : "";
  }
  if (cfg.modelType == "gpt2" || cfg.modelType == "bert") {
    if (cfg.activation.empty())
      cfg.activation = "gelu";
    if (cfg.activation != "gelu" && cfg.activation != "gelu_new" &&
        cfg.activation != "gelu_pytorch_tanh")
      return fail(where + ": activation '" + cfg.activation +
                  "' is not supported (gelu, gelu_new, gelu_pytorch_tanh)");
    return Error::success();
  }
  static const llvm::StringLiteral decoders[] = {
      "llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text", "phi3"};
  if (!llvm::is_contained(decoders, cfg.modelType))
    return fail(where + ": model_type '" + cfg.modelType +
                "' is not supported (llama, mistral, qwen2, qwen3, gemma2, "
                "gemma3_text, phi3, gpt2, bert)");
  bool gemma = cfg.modelType == "gemma2" || cfg.modelType == "gemma3_text";
  if (Error e = num("hidden_size", cfg.hidden, true)) return e;
  if (Error e = num("num_hidden_layers", cfg.layers, true)) return e;
  if (Error e = num("num_attention_heads", cfg.heads, true)) return e;
  if (Error e = num("intermediate_size", cfg.intermediate, true)) return e;
  if (Error e = num("vocab_size", cfg.vocab, true)) return e;
  cfg.kvHeads = cfg.heads;
  if (Error e = num("num_key_value_heads", cfg.kvHeads, false)) return e;
  cfg.maxPositions = 2048;
  if (Error e = num("max_position_embeddings", cfg.maxPositions, false)) return e;
  cfg.headDim = cfg.hidden / cfg.heads;
  if (Error e = num("head_dim", cfg.headDim, false)) return e;
  if (cfg.heads % cfg.kvHeads != 0)
    return fail(where + ": num_attention_heads must be a multiple of "
                        "num_key_value_heads");
  if (std::optional<double> eps = c->getNumber("rms_norm_eps"))
    cfg.normEps = *eps;
  // Gemma always ties its embeddings.
  cfg.tied = gemma;
  if (std::optional<bool> t = c->getBoolean("tie_word_embeddings"))
    cfg.tied = *t;
  cfg.activation = "silu";
  std::string act = str("hidden_activation");
  if (act.empty())
    act = str("hidden_act");
  if (!act.empty()) {
    if (act != "silu" && act != "gelu_pytorch_tanh" && act != "gelu")
      return fail(where + ": hidden activation '" + act +
                  "' is not supported (silu, gelu_pytorch_tanh, gelu)");
    cfg.activation = act;
  }
  cfg.qkNorm = cfg.modelType == "qwen3" || cfg.modelType == "gemma3_text";
  cfg.fusedQKV = cfg.fusedGateUp = cfg.modelType == "phi3";
  if (gemma) {
    cfg.normPlusOne = cfg.sandwichNorms = true;
    cfg.embedScale = static_cast<double>(
        static_cast<float>(std::sqrt(static_cast<double>(cfg.hidden))));
    double scalar = static_cast<double>(cfg.headDim);
    if (std::optional<double> v = c->getNumber("query_pre_attn_scalar"))
      scalar = *v;
    if (!(scalar > 0))
      return fail(where + ": 'query_pre_attn_scalar' must be positive");
    cfg.attnScale = 1.0 / std::sqrt(scalar);
    cfg.attnSoftcap = c->getNumber("attn_logit_softcapping").value_or(0.0);
    cfg.finalSoftcap = c->getNumber("final_logit_softcapping").value_or(0.0);
  }
  std::optional<double> partial = c->getNumber("partial_rotary_factor");
  if (const llvm::json::Object *rp = c->getObject("rope_parameters"))
    if (std::optional<double> f = rp->getNumber("partial_rotary_factor"))
      partial = f;
  if (std::optional<double> f = partial) {
    if (!(*f > 0 && *f <= 1))
      return fail(where + ": 'partial_rotary_factor' must be in (0, 1]");
    cfg.rotaryDim = static_cast<int64_t>(cfg.headDim * *f);
    if (cfg.rotaryDim % 2)
      return fail(where + ": 'partial_rotary_factor' gives an odd rotary "
                          "dimension " + std::to_string(cfg.rotaryDim));
  }

  // Sliding-window attention: which layers use the window. transformers
  // writes `layer_types`; older configs give the pattern per family.
  std::optional<int64_t> window = c->getInteger("sliding_window");
  bool useWindow = window && *window > 0 &&
                   c->getBoolean("use_sliding_window").value_or(true);
  cfg.layerSliding.assign(cfg.layers, false);
  if (const llvm::json::Array *types = c->getArray("layer_types")) {
    if (static_cast<int64_t>(types->size()) != cfg.layers)
      return fail(where + ": 'layer_types' has " +
                  std::to_string(types->size()) + " entries for " +
                  std::to_string(cfg.layers) + " layers");
    for (int64_t i = 0; i < cfg.layers; ++i) {
      std::optional<llvm::StringRef> t = (*types)[i].getAsString();
      if (!t || (*t != "sliding_attention" && *t != "full_attention"))
        return fail(where + ": 'layer_types' entry " + std::to_string(i) +
                    " must be 'sliding_attention' or 'full_attention'");
      cfg.layerSliding[i] = *t == "sliding_attention";
    }
  } else if (cfg.modelType == "gemma2") {
    for (int64_t i = 0; i < cfg.layers; ++i)
      cfg.layerSliding[i] = i % 2 == 0;
  } else if (cfg.modelType == "gemma3_text") {
    int64_t pattern = c->getInteger("sliding_window_pattern").value_or(6);
    for (int64_t i = 0; i < cfg.layers; ++i)
      cfg.layerSliding[i] = pattern <= 0 || (i + 1) % pattern != 0;
  } else if (cfg.modelType == "qwen2" || cfg.modelType == "qwen3") {
    int64_t from = c->getInteger("max_window_layers").value_or(0);
    for (int64_t i = from; i < cfg.layers; ++i)
      cfg.layerSliding[i] = true;
  } else {
    cfg.layerSliding.assign(cfg.layers, true);
  }
  if (useWindow)
    cfg.slidingWindow = *window;
  else
    cfg.layerSliding.assign(cfg.layers, false);

  // Rotary settings: transformers 5 writes `rope_parameters` (per layer
  // type for Gemma 3), older versions `rope_theta` and `rope_scaling`.
  if (std::optional<double> theta = c->getNumber("rope_theta"))
    cfg.ropeTheta = *theta;
  if (std::optional<double> local = c->getNumber("rope_local_base_freq"))
    cfg.ropeLocalTheta = *local;
  const llvm::json::Object *rope = c->getObject("rope_parameters");
  if (rope && rope->getObject("full_attention")) {
    if (const llvm::json::Object *sl = rope->getObject("sliding_attention"))
      if (std::optional<double> t = sl->getNumber("rope_theta"))
        cfg.ropeLocalTheta = *t;
    rope = rope->getObject("full_attention");
  }
  if (const llvm::json::Object *legacy = c->getObject("rope_scaling"))
    if (!rope)
      rope = legacy;
  if (rope) {
    if (std::optional<double> theta = rope->getNumber("rope_theta"))
      cfg.ropeTheta = *theta;
    std::string type;
    if (std::optional<llvm::StringRef> t = rope->getString("rope_type"))
      type = t->str();
    else if (std::optional<llvm::StringRef> t = rope->getString("type"))
      type = t->str();
    int64_t rot = cfg.rotaryDim ? cfg.rotaryDim : cfg.headDim;
    if (type == "linear") {
      cfg.ropeLinearFactor = rope->getNumber("factor").value_or(1.0);
    } else if (type == "llama3") {
      // Llama 3.1: low frequencies divided by `factor`, high ones kept,
      // a smooth blend between (transformers' _compute_llama3_parameters).
      double factor = rope->getNumber("factor").value_or(8.0);
      double lowF = rope->getNumber("low_freq_factor").value_or(1.0);
      double highF = rope->getNumber("high_freq_factor").value_or(4.0);
      double orig =
          rope->getNumber("original_max_position_embeddings").value_or(8192);
      double lowWave = orig / lowF, highWave = orig / highF;
      cfg.ropeFreqFactors.resize(rot / 2);
      for (int64_t j = 0; j < rot / 2; ++j) {
        double inv = std::pow(cfg.ropeTheta, -2.0 * j / rot);
        double wave = 2 * M_PI / inv;
        double scaled = inv;
        if (wave > lowWave) {
          scaled = inv / factor;
        } else if (wave >= highWave) {
          double smooth = (orig / wave - lowF) / (highF - lowF);
          scaled = (1 - smooth) * inv / factor + smooth * inv;
        }
        cfg.ropeFreqFactors[j] = static_cast<float>(inv / scaled);
      }
    } else if (type == "longrope") {
      // Phi-3: per-pair factors (the short ones: exact up to the original
      // context), cos and sin scaled by the attention factor.
      const llvm::json::Array *shortF = rope->getArray("short_factor");
      if (!shortF || static_cast<int64_t>(shortF->size()) != rot / 2)
        return fail(where + ": longrope 'short_factor' must list " +
                    std::to_string(rot / 2) + " factors");
      for (const llvm::json::Value &v : *shortF) {
        std::optional<double> f = v.getAsNumber();
        if (!f || !(*f > 0))
          return fail(where + ": longrope 'short_factor' holds a value that "
                              "is not a positive number");
        cfg.ropeFreqFactors.push_back(static_cast<float>(*f));
      }
      double orig = c->getNumber("original_max_position_embeddings")
                        .value_or(rope->getNumber(
                                      "original_max_position_embeddings")
                                      .value_or(cfg.maxPositions));
      double factor = cfg.maxPositions / orig;
      cfg.ropeAttentionFactor =
          factor <= 1 ? 1.0
                      : std::sqrt(1 + std::log(factor) / std::log(orig));
      if (std::optional<double> a = rope->getNumber("attention_factor"))
        cfg.ropeAttentionFactor = *a;
    } else if (!type.empty() && type != "default") {
      return fail(where + ": rope type '" + type + "' is not supported "
                          "(default, linear, llama3, longrope)");
    }
  }
  prefix = has("model.embed_tokens.weight") ? "model." : "";
  return Error::success();
}

Expected<TensorRef> ModelBuilder::tensor(llvm::StringRef name,
                                    llvm::ArrayRef<int64_t> shape,
                                    llvm::StringRef why) {
  std::optional<TensorRef> t = ckpt->find(name);
  if (!t)
    return fail(dir + ": tensor '" + name + "' is missing (" + why + ")");
  used.insert(name);
  if (!shape.empty() && llvm::ArrayRef<int64_t>(t->info->shape) != shape) {
    std::string want, got;
    for (int64_t d : shape)
      want += (want.empty() ? "" : ", ") + std::to_string(d);
    for (int64_t d : t->info->shape)
      got += (got.empty() ? "" : ", ") + std::to_string(d);
    return fail(dir + ": tensor '" + name + "' has shape [" + got +
                "], the config needs [" + want + "] (" + why + ")");
  }
  return *t;
}

Value ModelBuilder::constant(llvm::ArrayRef<uint8_t> bytes,
                        llvm::ArrayRef<int64_t> shape, Type elem,
                        llvm::StringRef name, std::shared_ptr<void> owner) {
  OpBuilder::InsertionGuard guard(b);
  if (lastConstant)
    b.setInsertionPointAfter(lastConstant);
  else
    b.setInsertionPointToStart(entry);
  auto type = RankedTensorType::get(shape, elem);
  size_t align = std::max<size_t>(1, elem.getIntOrFloatBitWidth() / 8);
  ArrayRef<char> data(reinterpret_cast<const char *>(bytes.data()),
                      bytes.size());
  AsmResourceBlob blob;
  if (reinterpret_cast<uintptr_t>(bytes.data()) % align == 0) {
    // Share the mapping; the blob keeps the checkpoint (or `owner`) alive.
    std::shared_ptr<void> keep =
        owner  ? owner
        : gguf ? std::static_pointer_cast<void>(gguf)
               : std::static_pointer_cast<void>(ckpt);
    blob = AsmResourceBlob(
        data, align, [keep](void *, size_t, size_t) mutable { keep.reset(); },
        /*dataIsMutable=*/false);
  } else {
    blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(data, align);
  }
  auto attr =
      DenseResourceElementsAttr::get(type, resourceKey(name), std::move(blob));
  auto op = arith::ConstantOp::create(b, loc(name), type,
                                      cast<TypedAttr>(attr));
  lastConstant = op;
  return op;
}

Expected<Value> ModelBuilder::floatWeight(llvm::StringRef name,
                                     llvm::ArrayRef<int64_t> shape,
                                     llvm::StringRef why, bool asF32) {
  // A stored f32 tensor is the same constant whether widened or not.
  bool storedF32 = false;
  if (gguf) {
    const qtc::gguf::TensorInfo *t = gguf->findTensor(ggufName(name));
    storedF32 = t && t->type == uint32_t(qtc::gguf::GGMLType::F32);
  } else if (std::optional<TensorRef> st = ckpt->find(name)) {
    storedF32 = st->info->dtype == DType::F32;
  }
  bool widen = asF32 && !storedF32;
  std::string key = (name + (widen ? "#f32" : "")).str();
  if (Value cached = weights.lookup(key))
    return cached;
  Expected<Value> made = makeFloatWeight(name, shape, why, asF32);
  if (made)
    weights[key] = *made;
  return made;
}

Expected<Value> ModelBuilder::makeFloatWeight(llvm::StringRef name,
                                              llvm::ArrayRef<int64_t> shape,
                                              llvm::StringRef why, bool asF32) {
  Expected<Stored> t = stored(name, shape, why);
  if (!t)
    return t.takeError();
  if (!t->real)
    return fail(dir + ": tensor '" + t->name + "' is " +
                qtc::gguf::typeTraits(t->ggmlType)->name +
                ", a quantized type, where a real-valued tensor is needed (" +
                why + ")");
  DType dt = t->dtype;
  Type elem;
  if (dt == DType::F32)
    elem = b.getF32Type();
  else if (dt == DType::F16)
    elem = b.getF16Type();
  else if (dt == DType::BF16)
    elem = b.getBF16Type();
  else
    return fail(dir + ": tensor '" + name + "' has dtype " +
                qtc::safetensors::dtypeName(dt) + ", expected F32, F16 or BF16");
  if (!asF32 || elem.isF32())
    return constant(t->bytes, shape, elem, name);
  // Small per-feature vectors (norm weights, biases) are widened to f32 at
  // import; matrices stay in their stored type.
  int64_t count = static_cast<int64_t>(t->bytes.size() / 2);
  auto out = std::make_shared<std::vector<float>>(count);
  const llvm::fltSemantics &sem =
      dt == DType::F16 ? llvm::APFloat::IEEEhalf() : llvm::APFloat::BFloat();
  for (int64_t i = 0; i < count; ++i) {
    uint16_t bits;
    std::memcpy(&bits, t->bytes.data() + 2 * i, 2);
    (*out)[i] = llvm::APFloat(sem, llvm::APInt(16, bits)).convertToFloat();
  }
  return constant(
      llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(out->data()),
                              out->size() * 4),
      shape, b.getF32Type(), name, out);
}

/// llama.cpp's names for GPT-2 tensors (checkpoint names without the
/// `transformer.` prefix): per layer, HF module -> GGUF tensor.
static std::string gpt2GGUFName(llvm::StringRef n) {
  static const std::pair<llvm::StringLiteral, llvm::StringLiteral> top[] = {
      {"wte.weight", "token_embd.weight"},
      {"wpe.weight", "position_embd.weight"},
      {"ln_f.weight", "output_norm.weight"},
      {"ln_f.bias", "output_norm.bias"},
      {"lm_head.weight", "output.weight"},
  };
  for (const auto &[hf, gg] : top)
    if (n == hf)
      return gg.str();
  if (!n.consume_front("h."))
    return "";
  auto [layer, rest] = n.split('.');
  auto [module, param] = rest.rsplit('.');
  static const std::pair<llvm::StringLiteral, llvm::StringLiteral> map[] = {
      {"ln_1", "attn_norm"},        {"attn.c_attn", "attn_qkv"},
      {"attn.c_proj", "attn_output"}, {"ln_2", "ffn_norm"},
      {"mlp.c_fc", "ffn_up"},       {"mlp.c_proj", "ffn_down"},
  };
  for (const auto &[hf, gg] : map)
    if (module == hf)
      return ("blk." + layer + "." + gg + "." + param).str();
  return "";
}

/// llama.cpp's names for BERT tensors (checkpoint names without `bert.`).
static std::string bertGGUFName(llvm::StringRef n) {
  static const std::pair<llvm::StringLiteral, llvm::StringLiteral> top[] = {
      {"embeddings.word_embeddings", "token_embd"},
      {"embeddings.position_embeddings", "position_embd"},
      {"embeddings.token_type_embeddings", "token_types"},
      {"embeddings.LayerNorm", "token_embd_norm"},
  };
  auto [module, param] = n.rsplit('.');
  for (const auto &[hf, gg] : top)
    if (module == hf)
      return (gg + "." + param).str();
  if (!module.consume_front("encoder.layer."))
    return "";
  auto [layer, rest] = module.split('.');
  static const std::pair<llvm::StringLiteral, llvm::StringLiteral> map[] = {
      {"attention.self.query", "attn_q"},
      {"attention.self.key", "attn_k"},
      {"attention.self.value", "attn_v"},
      {"attention.output.dense", "attn_output"},
      {"attention.output.LayerNorm", "attn_output_norm"},
      {"intermediate.dense", "ffn_up"},
      {"output.dense", "ffn_down"},
      {"output.LayerNorm", "layer_output_norm"},
  };
  for (const auto &[hf, gg] : map)
    if (rest == hf)
      return ("blk." + layer + "." + gg + "." + param).str();
  return "";
}

std::string ModelBuilder::ggufName(llvm::StringRef name) const {
  if (cfg.modelType == "gpt2")
    return gpt2GGUFName(name);
  if (cfg.modelType == "bert")
    return bertGGUFName(name);
  llvm::StringRef n = name;
  n.consume_front("model.");
  if (n == "embed_tokens.weight")
    return "token_embd.weight";
  if (n == "norm.weight")
    return "output_norm.weight";
  if (n == "lm_head.weight")
    return "output.weight";
  if (!n.consume_front("layers."))
    return "";
  auto [layer, rest] = n.split('.');
  static const std::pair<llvm::StringLiteral, llvm::StringLiteral> map[] = {
      {"input_layernorm", "attn_norm"},
      {"self_attn.q_proj", "attn_q"},
      {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"},
      {"self_attn.o_proj", "attn_output"},
      {"self_attn.q_norm", "attn_q_norm"},
      {"self_attn.k_norm", "attn_k_norm"},
      {"post_attention_layernorm", "ffn_norm"},
      {"mlp.gate_proj", "ffn_gate"},
      {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"},
  };
  // Gemma's norms around attention and MLP; Phi-3's fused projections.
  static const std::pair<llvm::StringLiteral, llvm::StringLiteral> sandwich[] = {
      {"post_attention_layernorm", "post_attention_norm"},
      {"pre_feedforward_layernorm", "ffn_norm"},
      {"post_feedforward_layernorm", "post_ffw_norm"},
      {"self_attn.qkv_proj", "attn_qkv"},
      {"mlp.gate_up_proj", "ffn_up"},
  };
  auto [module, param] = rest.rsplit('.');
  for (const auto &[hf, gg] : sandwich) {
    bool fused = hf.ends_with("_proj");
    if (module == hf && (fused ? cfg.fusedQKV : cfg.sandwichNorms))
      return ("blk." + layer + "." + gg + "." + param).str();
  }
  for (const auto &[hf, gg] : map)
    if (module == hf)
      return ("blk." + layer + "." + gg + "." + param).str();
  return "";
}

Expected<ModelBuilder::Stored>
ModelBuilder::stored(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                     llvm::StringRef why) {
  Stored st;
  if (!gguf) {
    Expected<TensorRef> t = tensor(name, shape, why);
    if (!t)
      return t.takeError();
    st.name = name.str();
    st.bytes = t->bytes();
    st.shape.assign(t->info->shape.begin(), t->info->shape.end());
    st.dtype = t->info->dtype;
    return st;
  }
  std::string g = ggufName(name);
  const qtc::gguf::TensorInfo *info = g.empty() ? nullptr : gguf->findTensor(g);
  if (!info)
    return fail(dir + ": tensor '" + (g.empty() ? name.str() : g) +
                "' is missing (" + why + ")");
  used.insert(g);
  st.name = g;
  st.bytes = gguf->bytes(*info);
  st.shape = info->shape();
  if (!shape.empty() && llvm::ArrayRef<int64_t>(st.shape) != shape)
    return fail(dir + ": tensor '" + g + "' has shape " +
                qtc::safetensors::formatShape(st.shape) +
                ", the metadata needs " + qtc::safetensors::formatShape(shape) +
                " (" + why + ")");
  using qtc::gguf::GGMLType;
  switch (static_cast<GGMLType>(info->type)) {
  case GGMLType::F32: st.dtype = DType::F32; break;
  case GGMLType::F16: st.dtype = DType::F16; break;
  case GGMLType::BF16: st.dtype = DType::BF16; break;
  default: {
    const qtc::gguf::TypeTraits *traits = qtc::gguf::typeTraits(info->type);
    if (!traits || !traits->supported)
      return fail(dir + ": tensor '" + g + "' has type " + info->typeName() +
                  ", which qtc cannot read (F32, F16, BF16, Q4_0, Q4_1, "
                  "Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, "
                  "IQ4_XS)");
    st.real = false;
    st.ggmlType = info->type;
  }
  }
  return st;
}

Expected<ModelBuilder::PackedConstants>
ModelBuilder::packedWeight(const Stored &st) {
  auto it = packedWeights.find(st.name);
  if (it != packedWeights.end())
    return it->second;
  if (st.shape.size() != 2)
    return fail(dir + ": tensor '" + st.name + "' is " +
                qtc::gguf::typeTraits(st.ggmlType)->name + " with " +
                std::to_string(st.shape.size()) +
                " dimensions; quantized tensors must be matrices");
  Expected<qtc::gguf::PackedMatrix> m =
      qtc::gguf::repack(st.ggmlType, st.bytes, st.shape[0], st.shape[1]);
  if (!m)
    return fail(dir + ": tensor '" + st.name + "': " +
                llvm::toString(m.takeError()));
  auto keep = std::make_shared<qtc::gguf::PackedMatrix>(std::move(*m));
  Type scaleType = keep->f32Scales ? b.getF32Type() : b.getF16Type();
  PackedConstants pc;
  pc.codes = constant(keep->codes, {keep->rows, keep->rowBytes()},
                      b.getI8Type(), st.name, keep);
  pc.scales = constant(keep->scales, {keep->rows, keep->groups()}, scaleType,
                       st.name + ".scales", keep);
  if (keep->hasMin)
    pc.mins = constant(keep->mins, {keep->rows, keep->groups()}, scaleType,
                       st.name + ".mins", keep);
  pc.format = qt::PackedAttr::get(
      &context,
      IntegerType::get(&context, keep->bits,
                       keep->signedCodes ? IntegerType::Signed
                                         : IntegerType::Unsigned),
      keep->groupSize, scaleType, /*hasZeroPoint=*/false,
      qt::BitOrder::LsbFirst, keep->levels, keep->hasMin);
  packedWeights[st.name] = pc;
  return pc;
}

/// y = x . W^T (+ bias), W [out, in] as stored, or the packed GPTQ/AWQ
/// layer at `name`.
Expected<Value> ModelBuilder::layerNorm(Value x, llvm::StringRef name) {
  Expected<Value> w = floatWeight((name + ".weight").str(), {cfg.hidden},
                                  "LayerNorm weight", true);
  if (!w)
    return w.takeError();
  Expected<Value> bias = floatWeight((name + ".bias").str(), {cfg.hidden},
                                     "LayerNorm bias", true);
  if (!bias)
    return bias.takeError();
  return qt::LayerNormOp::create(
             b, loc(name), typeOf(x), x, *w, *bias,
             b.getF32FloatAttr(static_cast<float>(cfg.normEps)))
      .getResult();
}

Expected<Value> ModelBuilder::lookup(llvm::StringRef name, int64_t rows,
                                     Value ids, llvm::StringRef why,
                                     llvm::StringRef locName) {
  Location l = loc(locName.empty() ? name : locName);
  auto idsType = typeOf(ids);
  SmallVector<int64_t> shape(idsType.getShape());
  shape.push_back(cfg.hidden);
  auto type = RankedTensorType::get(shape, b.getF32Type());
  if (gguf) {
    Expected<Stored> st = stored(name, {rows, cfg.hidden}, why);
    if (!st)
      return st.takeError();
    if (!st->real) {
      Expected<PackedConstants> pc = packedWeight(*st);
      if (!pc)
        return pc.takeError();
      return qt::EmbeddingOp::create(b, l, type, pc->codes, ids,
                                     pc->scales, pc->mins, pc->format)
          .getResult();
    }
  }
  Expected<Value> table = floatWeight(name, {rows, cfg.hidden}, why, true);
  if (!table)
    return table.takeError();
  return qt::EmbeddingOp::create(b, l, type, *table, ids, Value(), Value(),
                                 qt::PackedAttr())
      .getResult();
}

Expected<Value> ModelBuilder::linear(Value x, llvm::StringRef name, int64_t out,
                                int64_t in, bool inOut) {
  Location l = loc(name);
  RankedTensorType xt = typeOf(x);
  std::string base = name.str();
  Value bias;
  if (has(base + ".bias") || biasRequired) {
    Expected<Value> bv = floatWeight(base + ".bias", {out}, "bias", true);
    if (!bv)
      return bv.takeError();
    bias = *bv;
  }
  SmallVector<int64_t> outShape(xt.getShape());
  outShape.back() = out;
  auto outType = RankedTensorType::get(outShape, xt.getElementType());
  if (gguf && !inOut) {
    Expected<Stored> st = stored(base + ".weight", {out, in}, "linear weight");
    if (!st)
      return st.takeError();
    if (!st->real) {
      Expected<PackedConstants> pc = packedWeight(*st);
      if (!pc)
        return pc.takeError();
      return qt::QuantizedMatmulOp::create(b, l, outType, x, pc->codes,
                                           pc->scales, pc->mins, bias,
                                           pc->format)
          .getResult();
    }
  }
  if (ckpt && ckpt->quantization() && has(base + ".qweight")) {
    Expected<qtc::safetensors::PackedLinear> p =
        qtc::safetensors::readQuantizedLinear(*ckpt, base, *ckpt->quantization());
    if (!p)
      return p.takeError();
    for (const char *part : {".qweight", ".qzeros", ".scales", ".g_idx"})
      used.insert(base + part);
    if (p->outFeatures != out || p->inFeatures != in)
      return fail(dir + ": quantized layer '" + base + "' is " +
                  std::to_string(p->outFeatures) + " x " +
                  std::to_string(p->inFeatures) + ", the config needs " +
                  std::to_string(out) + " x " + std::to_string(in));
    auto keep = std::make_shared<qtc::safetensors::PackedLinear>(std::move(*p));
    Value w = constant(keep->weights, {out, keep->rowBytes()}, b.getI8Type(),
                       base + ".qweight", keep);
    Value s = constant(
        llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(keep->scales.data()),
                                keep->scales.size() * 2),
        {out, keep->numGroups()}, b.getF16Type(), base + ".scales", keep);
    Value zp;
    if (keep->zeroPoints)
      zp = constant(*keep->zeroPoints, {out, keep->numGroups()}, b.getI8Type(),
                    base + ".qzeros", keep);
    if (keep->bias) {
      std::vector<float> f(out);
      for (int64_t i = 0; i < out; ++i)
        f[i] = llvm::APFloat(llvm::APFloat::IEEEhalf(),
                             llvm::APInt(16, (*keep->bias)[i]))
                   .convertToFloat();
      auto fb = std::make_shared<std::vector<float>>(std::move(f));
      bias = constant(llvm::ArrayRef<uint8_t>(
                          reinterpret_cast<const uint8_t *>(fb->data()),
                          fb->size() * 4),
                      {out}, b.getF32Type(), base + ".bias", fb);
    }
    Value input = x;
    if (keep->inputPermutation) {
      // Act-order: gather the input features in the packed K order.
      const std::vector<int64_t> &perm = *keep->inputPermutation;
      Value idx = constant(
          llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(perm.data()),
                                  perm.size() * 8),
          {in}, b.getI64Type(), base + ".g_idx_order", keep);
      Value init = emptyLike(b, l, x, xt.getElementType());
      int64_t rank = xt.getRank();
      SmallVector<AffineMap> maps = {
          AffineMap::get(rank, 0, {b.getAffineDimExpr(rank - 1)}, &context),
          b.getMultiDimIdentityMap(rank)};
      SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
      input = linalg::GenericOp::create(
                  b, l, TypeRange{init.getType()}, ValueRange{idx},
                  ValueRange{init}, maps, iters,
                  [&](OpBuilder &nb, Location nl, ValueRange a) {
                    SmallVector<Value> coords;
                    for (int64_t d = 0; d + 1 < rank; ++d)
                      coords.push_back(linalg::IndexOp::create(nb, nl, d));
                    coords.push_back(arith::IndexCastOp::create(
                        nb, nl, nb.getIndexType(), a[0]));
                    linalg::YieldOp::create(
                        nb, nl, tensor::ExtractOp::create(nb, nl, x, coords)
                                    .getResult());
                  })
                  ->getResult(0);
    }
    auto format = qt::PackedAttr::get(
        &context, IntegerType::get(&context, keep->bits, IntegerType::Unsigned),
        keep->groupSize, b.getF16Type(), static_cast<bool>(zp),
        qt::BitOrder::LsbFirst);
    return qt::QuantizedMatmulOp::create(b, l, outType, input, w, s, zp, bias,
                                         format)
        .getResult();
  }
  SmallVector<int64_t> wShape = inOut ? SmallVector<int64_t>{in, out}
                                      : SmallVector<int64_t>{out, in};
  Expected<Value> w = floatWeight(base + ".weight", wShape, "linear weight",
                                  /*asF32=*/false);
  if (!w)
    return w.takeError();
  // [..., K] -> [M, K]; W [N, K] read transposed by the matmul's maps.
  Value x2 = collapseLeading(b, l, x, 1);
  SmallVector<OpFoldResult> s2 = mixedSizes(b, l, x2);
  Value init = zeros(b, l, {s2[0], b.getIndexAttr(out)}, xt.getElementType());
  AffineExpr m, n, k;
  bindDims(&context, m, n, k);
  auto maps = b.getAffineMapArrayAttr(
      {AffineMap::get(3, 0, {m, k}, &context), AffineMap::get(3, 0, {n, k}, &context),
       AffineMap::get(3, 0, {m, n}, &context)});
  auto mm = linalg::MatmulOp::create(b, l, TypeRange{init.getType()},
                                     ValueRange{x2, *w}, ValueRange{init});
  if (!inOut)
    mm->setAttr("indexing_maps", maps);
  Value y = mm->getResult(0);
  SmallVector<OpFoldResult> xs = mixedSizes(b, l, x);
  xs.back() = b.getIndexAttr(out);
  if (xt.getRank() != 2)
    y = reshapeTo(b, l, y, xs);
  if (bias)
    y = add(y, broadcastTo(b, l, bias, mixedSizes(b, l, y)));
  return y;
}

/// The signature every decoder shares: input_ids and position_ids, then
/// each layer's past key and value; the body starts at the entry block.
ModelBuilder::Decoder ModelBuilder::beginDecoder(OwningOpRef<ModuleOp> &owned) {
  Type f32 = b.getF32Type(), i64 = b.getI64Type();
  Decoder d;
  d.B = options.batch.value_or(ShapedType::kDynamic);
  d.S = options.sequence.value_or(ShapedType::kDynamic);
  int64_t P = options.past.value_or(ShapedType::kDynamic);
  int64_t T = (ShapedType::isDynamic(d.S) || ShapedType::isDynamic(P))
                  ? ShapedType::kDynamic
                  : d.S + P;
  if (options.maxContext) {
    // Generation: a fixed cache of maxContext positions per layer, of which
    // the first position_ids[b, 0] are filled.
    P = *options.maxContext;
    T = ShapedType::isDynamic(d.S) ? ShapedType::kDynamic : d.S + P;
  }
  auto ids = RankedTensorType::get({d.B, d.S}, i64);
  auto cache = RankedTensorType::get({d.B, cfg.kvHeads, P, cfg.headDim}, f32);
  d.present = RankedTensorType::get({d.B, cfg.kvHeads, T, cfg.headDim}, f32);
  SmallVector<Type> args = {ids, ids};
  SmallVector<std::string> argNames = {"input_ids", "position_ids"};
  for (int64_t i = 0; i < cfg.layers; ++i) {
    args.append({cache, cache});
    std::string prefix = options.maxContext ? "cache." : "past_key_values.";
    argNames.push_back(prefix + std::to_string(i) + ".key");
    argNames.push_back(prefix + std::to_string(i) + ".value");
  }
  auto module = ModuleOp::create(FileLineColLoc::get(&context, dir, 0, 0));
  owned = OwningOpRef<ModuleOp>(module);
  b.setInsertionPointToEnd(module.getBody());
  d.func = func::FuncOp::create(b, loc(cfg.modelType), options.functionName,
                                b.getFunctionType(args, {}));
  entry = d.func.addEntryBlock();
  for (auto [i, n] : llvm::enumerate(argNames))
    d.func.setArgAttr(i, "hf.name", b.getStringAttr(n));
  b.setInsertionPointToEnd(entry);
  return d;
}

/// Returns the logits and the present keys and values.
void ModelBuilder::finishDecoder(Decoder &d, Value logits,
                                 ArrayRef<Value> presents) {
  SmallVector<Value> results = {logits};
  results.append(presents.begin(), presents.end());
  func::ReturnOp::create(b, d.func.getLoc(), results);
  d.func.setFunctionType(b.getFunctionType(
      d.func.getArgumentTypes(), TypeRange(ValueRange(results))));
  d.func.setResultAttr(0, "hf.name", b.getStringAttr("logits"));
  std::string prefix = options.maxContext ? "new." : "present.";
  for (int64_t i = 0; i < cfg.layers; ++i) {
    d.func.setResultAttr(1 + 2 * i, "hf.name",
                         b.getStringAttr(prefix + std::to_string(i) + ".key"));
    d.func.setResultAttr(2 + 2 * i, "hf.name",
                         b.getStringAttr(prefix + std::to_string(i) + ".value"));
  }
}

Expected<Value> ModelBuilder::normWeight(llvm::StringRef name, int64_t dim,
                                         llvm::StringRef why) {
  Expected<Value> w = floatWeight(name, {dim}, why, true);
  if (!w || !cfg.normPlusOne)
    return w;
  // Gemma's RMSNorm scales by (1 + w); llama.cpp's converter stores 1 + w.
  std::string key = (name + "#plus1").str();
  if (Value cached = weights.lookup(key))
    return cached;
  auto out = std::make_shared<std::vector<float>>(dim);
  Expected<Stored> st = stored(name, {dim}, why);
  if (!st)
    return st.takeError();
  auto c = (*w).getDefiningOp<arith::ConstantOp>();
  auto attr = c ? dyn_cast<DenseResourceElementsAttr>(c.getValue()) : nullptr;
  AsmResourceBlob *blob = attr ? attr.getRawHandle().getBlob() : nullptr;
  if (!blob || blob->getData().size() != static_cast<size_t>(dim) * 4)
    return fail(dir + ": tensor '" + name + "' could not be read back");
  std::memcpy(out->data(), blob->getData().data(), dim * 4);
  for (float &v : *out)
    v = 1.0f + v;
  Value made = constant(
      llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(out->data()),
                              out->size() * 4),
      {dim}, b.getF32Type(), name, out);
  weights[key] = made;
  return made;
}

Expected<Value> ModelBuilder::rmsNorm(Value x, llvm::StringRef name,
                                      int64_t dim, llvm::StringRef why) {
  Expected<Value> w = normWeight((name + ".weight").str(), dim, why);
  if (!w)
    return w.takeError();
  return qt::RmsNormOp::create(
             b, loc(name), typeOf(x), x, *w,
             b.getF32FloatAttr(static_cast<float>(cfg.normEps)))
      .getResult();
}

Value ModelBuilder::scaleBy(Value x, double factor) {
  Type et = typeOf(x).getElementType();
  return mapElements(b, b.getUnknownLoc(), x, et,
                     [&](OpBuilder &nb, Location l, ValueRange v) {
                       Value f = scalarConstant(nb, l, et, factor);
                       return arith::MulFOp::create(nb, l, v[0], f);
                     });
}

Value ModelBuilder::softcap(Value x, double cap, llvm::StringRef name) {
  Type et = typeOf(x).getElementType();
  return mapElements(b, loc(name), x, et,
                     [&](OpBuilder &nb, Location l, ValueRange v) {
                       Value c = scalarConstant(nb, l, et, cap);
                       Value t = math::TanhOp::create(
                           nb, l, arith::DivFOp::create(nb, l, v[0], c));
                       return arith::MulFOp::create(nb, l, t, c);
                     });
}

/// Rotary tables for base `theta`: angle(p, j) = p * mscale-free inverse
/// frequency of pair j (divided by the scaling factors the family has).
std::pair<Value, Value> ModelBuilder::ropeTables(double theta,
                                                 llvm::StringRef name,
                                                 bool scaled) {
  Type f32 = b.getF32Type();
  int64_t rot = cfg.rotaryDim ? cfg.rotaryDim : cfg.headDim;
  int64_t half = rot / 2;
  auto cosT = std::make_shared<std::vector<float>>(cfg.maxPositions * half);
  auto sinT = std::make_shared<std::vector<float>>(cfg.maxPositions * half);
  for (int64_t p = 0; p < cfg.maxPositions; ++p)
    for (int64_t j = 0; j < half; ++j) {
      double inv = std::pow(theta, -2.0 * j / rot);
      if (scaled && !cfg.ropeFreqFactors.empty())
        inv /= cfg.ropeFreqFactors[j];
      double a = (p / (scaled ? cfg.ropeLinearFactor : 1.0)) * inv;
      double m = scaled ? cfg.ropeAttentionFactor : 1.0;
      (*cosT)[p * half + j] = static_cast<float>(std::cos(a) * m);
      (*sinT)[p * half + j] = static_cast<float>(std::sin(a) * m);
    }
  auto tableBytes = [](const std::shared_ptr<std::vector<float>> &v) {
    return llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(v->data()),
                                   v->size() * 4);
  };
  Value c = constant(tableBytes(cosT), {cfg.maxPositions, half}, f32,
                     (name + "_cos").str(), cosT);
  Value s = constant(tableBytes(sinT), {cfg.maxPositions, half}, f32,
                     (name + "_sin").str(), sinT);
  return {c, s};
}

/// Generation's attention mask over [cache (C positions), new (S)]:
/// query s (at position pos[b, s]) sees cache slot t < pos[b, 0] and new key
/// j <= s, within the last `window` positions when window > 0.
Value ModelBuilder::cacheMask(Value positions, int64_t C, int64_t window) {
  Location l = b.getUnknownLoc();
  SmallVector<OpFoldResult> ps = mixedSizes(b, l, positions);
  int64_t S = typeOf(positions).getDimSize(1);
  SmallVector<OpFoldResult> sizes = {ps[0], b.getIndexAttr(1), ps[1],
                                     b.getIndexAttr(C + S)};
  Value init = tensor::EmptyOp::create(b, l, sizes, b.getI1Type());
  SmallVector<utils::IteratorType> iters(4, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, l, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
             SmallVector<AffineMap>{b.getMultiDimIdentityMap(4)}, iters,
             [&](OpBuilder &nb, Location nl, ValueRange) {
               Value bi = linalg::IndexOp::create(nb, nl, 0);
               Value si = linalg::IndexOp::create(nb, nl, 2);
               Value ti = linalg::IndexOp::create(nb, nl, 3);
               Value c0 = arith::ConstantIndexOp::create(nb, nl, 0);
               Value cC = arith::ConstantIndexOp::create(nb, nl, C);
               auto i64 = nb.getI64Type();
               Value p0 = tensor::ExtractOp::create(nb, nl, positions,
                                                    ValueRange{bi, c0});
               Value ps = tensor::ExtractOp::create(nb, nl, positions,
                                                    ValueRange{bi, si});
               Value t = arith::IndexCastOp::create(nb, nl, i64, ti);
               Value s = arith::IndexCastOp::create(nb, nl, i64, si);
               Value cc = arith::IndexCastOp::create(nb, nl, i64, cC);
               // Absolute position of key t: t in the cache, p0 + (t - C)
               // for the new ones.
               Value inCache = arith::CmpIOp::create(
                   nb, nl, arith::CmpIPredicate::slt, t, cc);
               Value j = arith::SubIOp::create(nb, nl, t, cc);
               Value keyPos = arith::SelectOp::create(
                   nb, nl, inCache, t, arith::AddIOp::create(nb, nl, p0, j));
               Value filled = arith::CmpIOp::create(
                   nb, nl, arith::CmpIPredicate::slt, t, p0);
               Value causal = arith::CmpIOp::create(
                   nb, nl, arith::CmpIPredicate::sle, j, s);
               Value keep = arith::SelectOp::create(nb, nl, inCache, filled,
                                                    causal);
               if (window > 0) {
                 Value w = arith::ConstantIntOp::create(nb, nl, window, 64);
                 Value recent = arith::CmpIOp::create(
                     nb, nl, arith::CmpIPredicate::slt,
                     arith::SubIOp::create(nb, nl, ps, keyPos), w);
                 keep = arith::AndIOp::create(nb, nl, keep, recent);
               }
               linalg::YieldOp::create(nb, nl, keep);
             })
      ->getResult(0);
}

Expected<OwningOpRef<ModuleOp>> ModelBuilder::buildDecoder() {
  Type f32 = b.getF32Type();
  OwningOpRef<ModuleOp> owned;
  Decoder d = beginDecoder(owned);
  int64_t B = d.B, S = d.S;
  RankedTensorType present = d.present;
  Value inputIds = entry->getArgument(0), positions = entry->getArgument(1);

  auto [cosV, sinV] = ropeTables(cfg.ropeTheta, "rope", /*scaled=*/true);
  Value cosLocal = cosV, sinLocal = sinV;
  if (cfg.ropeLocalTheta > 0)
    std::tie(cosLocal, sinLocal) =
        ropeTables(cfg.ropeLocalTheta, "rope_local", /*scaled=*/false);

  std::string emb = prefix + "embed_tokens.weight";
  Value h;
  Expected<Stored> embStored =
      stored(emb, {cfg.vocab, cfg.hidden}, "token embeddings");
  if (!embStored)
    return embStored.takeError();
  Type tableElem = f32;
  if (!embStored->real) {
    // A quantized table stays packed: each looked-up row is decoded.
    Expected<PackedConstants> pc = packedWeight(*embStored);
    if (!pc)
      return pc.takeError();
    h = qt::EmbeddingOp::create(
        b, loc(emb), RankedTensorType::get({B, S, cfg.hidden}, f32), pc->codes,
        inputIds, pc->scales, pc->mins, pc->format);
  } else {
    Expected<Value> table = floatWeight(emb, {cfg.vocab, cfg.hidden},
                                        "token embeddings", false);
    if (!table)
      return table.takeError();
    tableElem = typeOf(*table).getElementType();
    h = qt::EmbeddingOp::create(
        b, loc(emb), RankedTensorType::get({B, S, cfg.hidden}, tableElem),
        *table, inputIds, Value(), Value(), qt::PackedAttr());
  }
  if (!tableElem.isF32())
    h = mapElements(b, loc(emb), h, f32, [](OpBuilder &nb, Location l, ValueRange v) {
      return arith::ExtFOp::create(nb, l, nb.getF32Type(), v[0]);
    });
  if (cfg.embedScale != 1.0)
    h = scaleBy(h, cfg.embedScale);

  SmallVector<Value> presents;
  int64_t qDim = cfg.heads * cfg.headDim, kvDim = cfg.kvHeads * cfg.headDim;
  // Generation: the masks over the fixed cache and the new positions.
  Value fullMask, windowMask;
  if (options.maxContext && *options.maxContext > cfg.maxPositions)
    return fail(dir + ": a context of " + std::to_string(*options.maxContext) +
                " positions exceeds the model's " +
                std::to_string(cfg.maxPositions));
  if (options.maxContext) {
    fullMask = cacheMask(positions, *options.maxContext, 0);
    if (cfg.slidingWindow > 0)
      windowMask = cacheMask(positions, *options.maxContext, cfg.slidingWindow);
  }
  for (int64_t i = 0; i < cfg.layers; ++i) {
    std::string lp = prefix + "layers." + std::to_string(i) + ".";
    bool sliding = cfg.slidingWindow > 0 && cfg.layerSliding[i];
    Expected<Value> x = rmsNorm(h, lp + "input_layernorm", cfg.hidden,
                                "RMSNorm weight");
    if (!x)
      return x.takeError();
    Value q, k, v;
    if (cfg.fusedQKV) {
      Expected<Value> qkv = linear(*x, lp + "self_attn.qkv_proj",
                                   qDim + 2 * kvDim, cfg.hidden);
      if (!qkv) return qkv.takeError();
      q = sliceLast(*qkv, 0, qDim);
      k = sliceLast(*qkv, qDim, kvDim);
      v = sliceLast(*qkv, qDim + kvDim, kvDim);
    } else {
      Expected<Value> qe = linear(*x, lp + "self_attn.q_proj", qDim, cfg.hidden);
      if (!qe) return qe.takeError();
      Expected<Value> ke = linear(*x, lp + "self_attn.k_proj", kvDim, cfg.hidden);
      if (!ke) return ke.takeError();
      Expected<Value> ve = linear(*x, lp + "self_attn.v_proj", kvDim, cfg.hidden);
      if (!ve) return ve.takeError();
      q = *qe, k = *ke, v = *ve;
    }
    Value qh = splitHeads(q, cfg.heads), kh = splitHeads(k, cfg.kvHeads),
          vh = splitHeads(v, cfg.kvHeads);
    if (cfg.qkNorm) {
      // Qwen 3, Gemma 3: RMSNorm of each head's query and key.
      Expected<Value> qn = rmsNorm(qh, lp + "self_attn.q_norm", cfg.headDim,
                                   "query norm weight");
      if (!qn) return qn.takeError();
      Expected<Value> kn = rmsNorm(kh, lp + "self_attn.k_norm", cfg.headDim,
                                   "key norm weight");
      if (!kn) return kn.takeError();
      qh = *qn, kh = *kn;
    }
    Location rl = loc(lp + "self_attn.rotary_emb");
    UnitAttr pairs = cfg.ropeInterleaved ? b.getUnitAttr() : UnitAttr();
    IntegerAttr rotDim = cfg.rotaryDim && cfg.rotaryDim != cfg.headDim
                             ? b.getI64IntegerAttr(cfg.rotaryDim)
                             : IntegerAttr();
    bool local = sliding && cfg.ropeLocalTheta > 0;
    Value c = local ? cosLocal : cosV, s = local ? sinLocal : sinV;
    qh = qt::RotaryEmbeddingOp::create(b, rl, typeOf(qh), qh, c, s, positions,
                                       rotDim, pairs);
    kh = qt::RotaryEmbeddingOp::create(b, rl, typeOf(kh), kh, c, s, positions,
                                       rotDim, pairs);
    auto attnType = RankedTensorType::get({B, cfg.heads, S, cfg.headDim}, f32);
    double scale = cfg.attnScale > 0
                       ? cfg.attnScale
                       : 1.0 / std::sqrt(static_cast<double>(cfg.headDim));
    bool generation = options.maxContext.has_value();
    auto att = qt::AttentionOp::create(
        b, loc(lp + "self_attn"), attnType, present, present, qh, kh, vh,
        generation ? (sliding ? windowMask : fullMask) : Value(),
        entry->getArgument(2 + 2 * i), entry->getArgument(3 + 2 * i),
        b.getF32FloatAttr(static_cast<float>(scale)),
        generation ? UnitAttr() : b.getUnitAttr(),
        sliding && !generation ? b.getI64IntegerAttr(cfg.slidingWindow)
                               : IntegerAttr(),
        cfg.attnSoftcap > 0
            ? b.getF32FloatAttr(static_cast<float>(cfg.attnSoftcap))
            : FloatAttr());
    // Generation returns only the new keys and values (after the rotary
    // embedding); the runtime writes them into its cache.
    if (generation)
      presents.append({kh, vh});
    else
      presents.append({att.getPresentKey(), att.getPresentValue()});
    Expected<Value> o = linear(mergeHeads(att.getOutput()),
                               lp + "self_attn.o_proj", cfg.hidden, qDim);
    if (!o) return o.takeError();
    Value attnOut = *o;
    if (cfg.sandwichNorms) {
      Expected<Value> post = rmsNorm(attnOut, lp + "post_attention_layernorm",
                                     cfg.hidden, "RMSNorm weight");
      if (!post) return post.takeError();
      attnOut = *post;
    }
    h = add(h, attnOut);
    Expected<Value> x2 =
        rmsNorm(h,
                lp + (cfg.sandwichNorms ? "pre_feedforward_layernorm"
                                        : "post_attention_layernorm"),
                cfg.hidden, "RMSNorm weight");
    if (!x2)
      return x2.takeError();
    Value gate, up;
    if (cfg.fusedGateUp) {
      Expected<Value> gu = linear(*x2, lp + "mlp.gate_up_proj",
                                  2 * cfg.intermediate, cfg.hidden);
      if (!gu) return gu.takeError();
      gate = sliceLast(*gu, 0, cfg.intermediate);
      up = sliceLast(*gu, cfg.intermediate, cfg.intermediate);
    } else {
      Expected<Value> ge = linear(*x2, lp + "mlp.gate_proj", cfg.intermediate, cfg.hidden);
      if (!ge) return ge.takeError();
      Expected<Value> ue = linear(*x2, lp + "mlp.up_proj", cfg.intermediate, cfg.hidden);
      if (!ue) return ue.takeError();
      gate = *ge, up = *ue;
    }
    Value act = cfg.activation == "silu"
                    ? Value(qt::SiluOp::create(b, loc(lp + "mlp.act_fn"), gate))
                    : gelu(gate, lp + "mlp.act_fn");
    Value prod = mapElements(b, loc(lp + "mlp"), ValueRange{act, up}, f32,
                             [](OpBuilder &nb, Location l, ValueRange a) {
                               return arith::MulFOp::create(nb, l, a[0], a[1]);
                             });
    Expected<Value> down = linear(prod, lp + "mlp.down_proj", cfg.hidden, cfg.intermediate);
    if (!down) return down.takeError();
    Value mlpOut = *down;
    if (cfg.sandwichNorms) {
      Expected<Value> post = rmsNorm(mlpOut, lp + "post_feedforward_layernorm",
                                     cfg.hidden, "RMSNorm weight");
      if (!post) return post.takeError();
      mlpOut = *post;
    }
    h = add(h, mlpOut);
  }
  Expected<Value> norm = rmsNorm(h, prefix + "norm", cfg.hidden,
                                 "final RMSNorm weight");
  if (!norm)
    return norm.takeError();
  h = *norm;
  std::string head = (cfg.tied || (!has("lm_head.weight") && !has("lm_head.qweight")))
                         ? emb
                         : std::string("lm_head");
  Expected<Value> logits =
      head == emb ? linear(h, emb.substr(0, emb.size() - 7), cfg.vocab, cfg.hidden)
                  : linear(h, head, cfg.vocab, cfg.hidden);
  if (!logits)
    return logits.takeError();
  Value out = *logits;
  if (cfg.finalSoftcap > 0)
    out = softcap(out, cfg.finalSoftcap, "final_logit_softcapping");
  finishDecoder(d, out, presents);
  return std::move(owned);
}

Expected<OwningOpRef<ModuleOp>> ModelBuilder::buildGPT2() {
  Type f32 = b.getF32Type();
  OwningOpRef<ModuleOp> owned;
  Decoder d = beginDecoder(owned);
  int64_t B = d.B, S = d.S;
  RankedTensorType present = d.present;
  std::string wte = prefix + "wte.weight", wpe = prefix + "wpe.weight";
  // Checkpoints store Conv1D weights [in, out]; llama.cpp's converter
  // transposes them to [out, in] like every other GGUF matrix.
  bool inOut = !gguf;
  // Separate statements keep the op order deterministic.
  Expected<Value> tokens = lookup(wte, cfg.vocab, entry->getArgument(0),
                                  "token embeddings");
  if (!tokens) return tokens.takeError();
  Expected<Value> places = lookup(wpe, cfg.maxPositions, entry->getArgument(1),
                                  "position embeddings");
  if (!places) return places.takeError();
  Value h = add(*tokens, *places);
  SmallVector<Value> presents;
  // Generation: the mask over the fixed cache and the new positions (the
  // position table bounds the context).
  bool generation = options.maxContext.has_value();
  if (generation && *options.maxContext > cfg.maxPositions)
    return fail(dir + ": a context of " + std::to_string(*options.maxContext) +
                " positions exceeds the model's " +
                std::to_string(cfg.maxPositions));
  Value mask = generation ? cacheMask(entry->getArgument(1),
                                      *options.maxContext, 0)
                          : Value();
  // Every GPT-2 layer has biases (llama.cpp requires them too); the head
  // has none.
  biasRequired = true;
  for (int64_t i = 0; i < cfg.layers; ++i) {
    std::string lp = prefix + "h." + std::to_string(i) + ".";
    Expected<Value> x = layerNorm(h, lp + "ln_1");
    if (!x) return x.takeError();
    Expected<Value> qkv = linear(*x, lp + "attn.c_attn", 3 * cfg.hidden,
                                 cfg.hidden, inOut);
    if (!qkv) return qkv.takeError();
    Value qh = splitHeads(sliceLast(*qkv, 0, cfg.hidden), cfg.heads);
    Value kh = splitHeads(sliceLast(*qkv, cfg.hidden, cfg.hidden), cfg.heads);
    Value vh = splitHeads(sliceLast(*qkv, 2 * cfg.hidden, cfg.hidden), cfg.heads);
    auto attnType = RankedTensorType::get({B, cfg.heads, S, cfg.headDim}, f32);
    auto att = qt::AttentionOp::create(
        b, loc(lp + "attn"), attnType, present, present, qh, kh, vh, mask,
        entry->getArgument(2 + 2 * i), entry->getArgument(3 + 2 * i),
        b.getF32FloatAttr(1.0f / std::sqrt(static_cast<float>(cfg.headDim))),
        generation ? UnitAttr() : b.getUnitAttr(), IntegerAttr(), FloatAttr());
    // Generation returns only the new keys and values.
    if (generation)
      presents.append({kh, vh});
    else
      presents.append({att.getPresentKey(), att.getPresentValue()});
    Expected<Value> o = linear(mergeHeads(att.getOutput()), lp + "attn.c_proj",
                               cfg.hidden, cfg.hidden, inOut);
    if (!o) return o.takeError();
    h = add(h, *o);
    Expected<Value> x2 = layerNorm(h, lp + "ln_2");
    if (!x2) return x2.takeError();
    Expected<Value> fc = linear(*x2, lp + "mlp.c_fc", cfg.intermediate,
                                cfg.hidden, inOut);
    if (!fc) return fc.takeError();
    Expected<Value> proj = linear(gelu(*fc, lp + "mlp.act"), lp + "mlp.c_proj",
                                  cfg.hidden, cfg.intermediate, inOut);
    if (!proj) return proj.takeError();
    h = add(h, *proj);
  }
  biasRequired = false;
  Expected<Value> hf = layerNorm(h, prefix + "ln_f");
  if (!hf) return hf.takeError();
  bool ownHead = has("lm_head.weight") && !cfg.tied;
  Expected<Value> logits =
      linear(*hf, ownHead ? "lm_head" : prefix + "wte", cfg.vocab, cfg.hidden);
  if (!logits) return logits.takeError();
  finishDecoder(d, *logits, presents);
  return std::move(owned);
}

Expected<OwningOpRef<ModuleOp>> ModelBuilder::buildBert() {
  if (options.maxContext)
    return fail(dir + ": bert is an encoder; it has no generation signature "
                      "(--max-context, qtc generate)");
  Type f32 = b.getF32Type(), i64 = b.getI64Type();
  int64_t B = options.batch.value_or(ShapedType::kDynamic);
  int64_t S = options.sequence.value_or(ShapedType::kDynamic);
  auto ids = RankedTensorType::get({B, S}, i64);
  SmallVector<Type> args = {ids, ids, ids};
  auto module = ModuleOp::create(FileLineColLoc::get(&context, dir, 0, 0));
  OwningOpRef<ModuleOp> owned(module);
  b.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(b, loc("bert"), options.functionName,
                                   b.getFunctionType(args, {}));
  entry = func.addEntryBlock();
  const char *names[] = {"input_ids", "attention_mask", "token_type_ids"};
  for (int i = 0; i < 3; ++i)
    func.setArgAttr(i, "hf.name", b.getStringAttr(names[i]));
  b.setInsertionPointToEnd(entry);
  Location l0 = loc(prefix + "embeddings");
  Value inputIds = entry->getArgument(0);
  // Positions 0..S-1 for every row.
  Value posInit = emptyLike(b, l0, inputIds, i64);
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(2)};
  SmallVector<utils::IteratorType> iters(2, utils::IteratorType::parallel);
  Value positions =
      linalg::GenericOp::create(
          b, l0, TypeRange{posInit.getType()}, ValueRange{}, ValueRange{posInit},
          maps, iters,
          [&](OpBuilder &nb, Location l, ValueRange) {
            linalg::YieldOp::create(
                nb, l,
                arith::IndexCastOp::create(nb, l, nb.getI64Type(),
                                           linalg::IndexOp::create(nb, l, 1))
                    .getResult());
          })
          ->getResult(0);
  std::string ep = prefix + "embeddings.";
  Expected<Value> words = lookup(ep + "word_embeddings.weight", cfg.vocab,
                                 inputIds, "word embeddings",
                                 ep + "word_embeddings");
  if (!words) return words.takeError();
  Expected<Value> places = lookup(ep + "position_embeddings.weight",
                                  cfg.maxPositions, positions,
                                  "position embeddings",
                                  ep + "position_embeddings");
  if (!places) return places.takeError();
  Expected<Value> types = lookup(ep + "token_type_embeddings.weight",
                                 cfg.typeVocab, entry->getArgument(2),
                                 "token type embeddings",
                                 ep + "token_type_embeddings");
  if (!types) return types.takeError();
  Value h = add(add(*words, *places), *types);
  Expected<Value> hn = layerNorm(h, ep + "LayerNorm");
  if (!hn) return hn.takeError();
  h = *hn;
  // Keys of padding tokens (attention_mask == 0) are masked: [B, 1, 1, S].
  Value keep = mapElements(
      b, l0, entry->getArgument(1), b.getI1Type(),
      [](OpBuilder &nb, Location l, ValueRange v) {
        Value zero = arith::ConstantIntOp::create(nb, l, 0, 64);
        return arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ne, v[0], zero);
      });
  Value mask = insertUnitDims(b, l0, keep, {1, 2});
  for (int64_t i = 0; i < cfg.layers; ++i) {
    std::string lp = prefix + "encoder.layer." + std::to_string(i) + ".";
    Expected<Value> q = linear(h, lp + "attention.self.query", cfg.hidden, cfg.hidden);
    if (!q) return q.takeError();
    Expected<Value> k = linear(h, lp + "attention.self.key", cfg.hidden, cfg.hidden);
    if (!k) return k.takeError();
    Expected<Value> v = linear(h, lp + "attention.self.value", cfg.hidden, cfg.hidden);
    if (!v) return v.takeError();
    auto attnType = RankedTensorType::get({B, cfg.heads, S, cfg.headDim}, f32);
    Value att = qt::AttentionOp::create(
                    b, loc(lp + "attention.self"), attnType, Type(), Type(),
                    splitHeads(*q, cfg.heads), splitHeads(*k, cfg.heads),
                    splitHeads(*v, cfg.heads), mask, Value(), Value(),
                    b.getF32FloatAttr(1.0f / std::sqrt(static_cast<float>(cfg.headDim))),
                    UnitAttr(), IntegerAttr(), FloatAttr())
                    .getOutput();
    Expected<Value> o = linear(mergeHeads(att), lp + "attention.output.dense",
                               cfg.hidden, cfg.hidden);
    if (!o) return o.takeError();
    Expected<Value> h1 = layerNorm(add(h, *o), lp + "attention.output.LayerNorm");
    if (!h1) return h1.takeError();
    Expected<Value> inter = linear(*h1, lp + "intermediate.dense",
                                   cfg.intermediate, cfg.hidden);
    if (!inter) return inter.takeError();
    Expected<Value> out = linear(gelu(*inter, lp + "intermediate.act"),
                                 lp + "output.dense", cfg.hidden, cfg.intermediate);
    if (!out) return out.takeError();
    Expected<Value> h2 = layerNorm(add(*h1, *out), lp + "output.LayerNorm");
    if (!h2) return h2.takeError();
    h = *h2;
  }
  func::ReturnOp::create(b, func.getLoc(), ValueRange{h});
  func.setFunctionType(b.getFunctionType(args, TypeRange{h.getType()}));
  func.setResultAttr(0, "hf.name", b.getStringAttr("last_hidden_state"));
  return std::move(owned);
}

Error ModelBuilder::readGGUFConfig() {
  auto str = [&](llvm::StringRef k) -> std::optional<llvm::StringRef> {
    if (const qtc::gguf::Value *v = gguf->find(k))
      return v->getString();
    return std::nullopt;
  };
  std::optional<llvm::StringRef> arch = str("general.architecture");
  if (!arch)
    return fail(dir + ": metadata 'general.architecture' is missing or not "
                      "a string");
  // What llama.cpp does with each architecture (llama-model.cpp's hparams
  // and graphs), which a GGUF file's metadata does not always spell out.
  // llama.cpp converts Mistral and SmolLM checkpoints as `llama`.
  if (*arch == "llama") {
    cfg.modelType = "llama";
    // The converter permutes q/k rows so that llama.cpp's "normal" rope
    // (adjacent pairs) computes what Llama's half-split rope does.
    cfg.ropeInterleaved = true;
  } else if (*arch == "qwen2" || *arch == "qwen3" || *arch == "phi3") {
    cfg.modelType = arch->str();
  } else if (*arch == "gemma2" || *arch == "gemma3") {
    cfg.modelType = *arch == "gemma3" ? "gemma3_text" : "gemma2";
  } else if (*arch == "gpt2" || *arch == "bert") {
    cfg.modelType = arch->str();
  } else {
    return fail(dir + ": metadata 'general.architecture' is '" + *arch +
                "', which qtc does not build from GGUF (llama, qwen2, qwen3, "
                "gemma2, gemma3, phi3, gpt2, bert)");
  }
  // GPT-2 and BERT: LayerNorm with biases, learned absolute positions.
  bool layerNormFamily = *arch == "gpt2" || *arch == "bert";
  std::string a = arch->str();
  auto num = [&](llvm::StringRef suffix, int64_t &out,
                 bool required) -> Error {
    std::string key = a + "." + suffix.str();
    const qtc::gguf::Value *v = gguf->find(key);
    if (!v) {
      if (required)
        return fail(dir + ": metadata '" + key + "' is missing");
      return Error::success();
    }
    std::optional<int64_t> i = v->getInt();
    if (!i || *i <= 0)
      return fail(dir + ": metadata '" + key +
                  "' must be a positive integer, got " + v->typeName());
    out = *i;
    return Error::success();
  };
  auto real = [&](llvm::StringRef suffix, double &out,
                  bool required) -> Error {
    std::string key = a + "." + suffix.str();
    const qtc::gguf::Value *v = gguf->find(key);
    if (!v) {
      if (required)
        return fail(dir + ": metadata '" + key + "' is missing");
      return Error::success();
    }
    std::optional<double> f = v->getFloat();
    if (!f || !std::isfinite(*f) || *f <= 0)
      return fail(dir + ": metadata '" + key +
                  "' must be a positive number, got " + v->typeName());
    out = *f;
    return Error::success();
  };
  if (Error e = num("block_count", cfg.layers, true)) return e;
  if (Error e = num("embedding_length", cfg.hidden, true)) return e;
  if (Error e = num("feed_forward_length", cfg.intermediate, true)) return e;
  if (Error e = num("attention.head_count", cfg.heads, true)) return e;
  cfg.kvHeads = cfg.heads;
  if (Error e = num("attention.head_count_kv", cfg.kvHeads, false)) return e;
  cfg.maxPositions = 2048;
  if (Error e = num("context_length", cfg.maxPositions, false)) return e;
  if (cfg.hidden % cfg.heads)
    return fail(dir + ": metadata '" + a + ".embedding_length' (" +
                std::to_string(cfg.hidden) + ") is not a multiple of '" + a +
                ".attention.head_count' (" + std::to_string(cfg.heads) + ")");
  cfg.headDim = cfg.hidden / cfg.heads;
  if (Error e = num("attention.key_length", cfg.headDim, false)) return e;
  int64_t valueDim = cfg.headDim;
  if (Error e = num("attention.value_length", valueDim, false)) return e;
  if (valueDim != cfg.headDim)
    return fail(dir + ": metadata '" + a + ".attention.value_length' (" +
                std::to_string(valueDim) + ") differs from the key length " +
                std::to_string(cfg.headDim) + "; not supported");
  if (cfg.heads % cfg.kvHeads)
    return fail(dir + ": metadata '" + a + ".attention.head_count' (" +
                std::to_string(cfg.heads) + ") is not a multiple of '" + a +
                ".attention.head_count_kv' (" + std::to_string(cfg.kvHeads) +
                ")");
  int64_t ropeDim = cfg.headDim;
  if (Error e = num("rope.dimension_count", ropeDim, false)) return e;
  if (ropeDim != cfg.headDim && *arch != "phi3")
    return fail(dir + ": metadata '" + a + ".rope.dimension_count' is " +
                std::to_string(ropeDim) + ", a partial rotary embedding of "
                "heads of " + std::to_string(cfg.headDim) +
                ", which this family does not have");
  if (Error e = real(layerNormFamily ? "attention.layer_norm_epsilon"
                                     : "attention.layer_norm_rms_epsilon",
                     cfg.normEps, true))
    return e;
  if (Error e = real("rope.freq_base", cfg.ropeTheta, false)) return e;
  if (const qtc::gguf::Value *v = gguf->find(a + ".expert_count"))
    if (v->getInt().value_or(0) > 0)
      return fail(dir + ": metadata '" + a + ".expert_count' is " +
                  std::to_string(*v->getInt()) +
                  ": mixture-of-experts models are not supported");
  if (std::optional<llvm::StringRef> type = str(a + ".rope.scaling.type")) {
    if (*type == "linear") {
      if (Error e = real("rope.scaling.factor", cfg.ropeLinearFactor, true))
        return e;
    } else if (*type != "none") {
      return fail(dir + ": metadata '" + a + ".rope.scaling.type' is '" +
                  *type + "', which is not supported (none, linear)");
    }
  }
  // The vocabulary is the embedding table's row count.
  const qtc::gguf::TensorInfo *embd = gguf->findTensor("token_embd.weight");
  if (!embd || embd->dims.size() != 2)
    return fail(dir + ": tensor 'token_embd.weight' is missing or not a "
                      "matrix (token embeddings)");
  cfg.vocab = embd->dims[1];
  if (const qtc::gguf::Value *v = gguf->find(a + ".vocab_size"))
    if (v->getInt() != cfg.vocab)
      return fail(dir + ": metadata '" + a + ".vocab_size' (" +
                  (v->getInt() ? std::to_string(*v->getInt()) : v->typeName()) +
                  ") disagrees with tensor 'token_embd.weight' (" +
                  std::to_string(cfg.vocab) + " rows)");
  cfg.tied = !gguf->findTensor("output.weight");
  if (layerNormFamily)
    return readGGUFLayerNormConfig();
  // Llama 3's rope scaling: per-pair frequency divisors.
  if (const qtc::gguf::TensorInfo *f = gguf->findTensor("rope_freqs.weight")) {
    if (f->type != uint32_t(qtc::gguf::GGMLType::F32) || f->dims.size() != 1 ||
        f->dims[0] != cfg.headDim / 2)
      return fail(dir + ": tensor 'rope_freqs.weight' must be F32 [" +
                  std::to_string(cfg.headDim / 2) + "], got " +
                  f->typeName() + " " +
                  qtc::safetensors::formatShape(f->shape()));
    llvm::ArrayRef<uint8_t> bytes = gguf->bytes(*f);
    cfg.ropeFreqFactors.resize(cfg.headDim / 2);
    std::memcpy(cfg.ropeFreqFactors.data(), bytes.data(), bytes.size());
    for (float v : cfg.ropeFreqFactors)
      if (!(v > 0) || !std::isfinite(v))
        return fail(dir + ": tensor 'rope_freqs.weight' holds " +
                    std::to_string(v) + ", expected positive factors");
    used.insert("rope_freqs.weight");
  }
  cfg.activation = "silu";
  cfg.layerSliding.assign(cfg.layers, false);
  cfg.qkNorm = *arch == "qwen3" || *arch == "gemma3";
  if (*arch == "gemma2" || *arch == "gemma3") {
    // The converter stores Gemma's norm weights as 1 + w already.
    cfg.sandwichNorms = true;
    cfg.activation = "gelu_pytorch_tanh";
    cfg.embedScale = static_cast<double>(
        static_cast<float>(std::sqrt(static_cast<double>(cfg.hidden))));
    // No key carries query_pre_attn_scalar: llama.cpp takes the head size,
    // but hidden / heads for the 27B models (46 and 62 layers).
    bool is27B = cfg.layers == (*arch == "gemma2" ? 46 : 62);
    cfg.attnScale =
        1.0 / std::sqrt(static_cast<double>(
                  is27B ? cfg.hidden / cfg.heads : cfg.headDim));
    double cap = 0;
    if (*arch == "gemma2") {
      if (Error e = real("attn_logit_softcapping", cap, false)) return e;
      cfg.attnSoftcap = cap;
    }
    cap = 0;
    if (Error e = real("final_logit_softcapping", cap, false)) return e;
    cfg.finalSoftcap = cap;
    int64_t window = 0;
    if (Error e = num("attention.sliding_window", window, false)) return e;
    // Sliding layers: every other one (Gemma 2), five of each six
    // (Gemma 3), unless the file says otherwise.
    int64_t pattern = *arch == "gemma2" ? 2 : 6;
    if (Error e = num("attention.sliding_window_pattern", pattern, false))
      return e;
    cfg.slidingWindow = window;
    for (int64_t i = 0; i < cfg.layers && window > 0; ++i)
      cfg.layerSliding[i] = i % pattern < pattern - 1;
    if (*arch == "gemma3") {
      cfg.ropeLocalTheta = 10000.0;
      if (Error e = real("rope.freq_base_swa", cfg.ropeLocalTheta, false))
        return e;
    }
  }
  if (*arch == "phi3") {
    cfg.fusedQKV = cfg.fusedGateUp = true;
    // Partial rotary: the rope covers rope.dimension_count features.
    cfg.rotaryDim = ropeDim;
    // Longrope: llama.cpp takes the long factors when the context exceeds
    // the original one; qtc's context is the file's context_length.
    int64_t orig = cfg.maxPositions;
    if (Error e = num("rope.scaling.original_context_length", orig, false))
      return e;
    const char *which = cfg.maxPositions > orig ? "rope_factors_long.weight"
                                                : "rope_factors_short.weight";
    for (const char *name :
         {"rope_factors_long.weight", "rope_factors_short.weight"}) {
      const qtc::gguf::TensorInfo *f = gguf->findTensor(name);
      if (!f)
        continue;
      if (f->type != uint32_t(qtc::gguf::GGMLType::F32) ||
          f->dims.size() != 1 || f->dims[0] != ropeDim / 2)
        return fail(dir + ": tensor '" + name + "' must be F32 [" +
                    std::to_string(ropeDim / 2) + "], got " + f->typeName() +
                    " " + qtc::safetensors::formatShape(f->shape()));
      used.insert(name);
      if (llvm::StringRef(name) != which)
        continue;
      llvm::ArrayRef<uint8_t> bytes = gguf->bytes(*f);
      cfg.ropeFreqFactors.resize(ropeDim / 2);
      std::memcpy(cfg.ropeFreqFactors.data(), bytes.data(), bytes.size());
      for (float v : cfg.ropeFreqFactors)
        if (!(v > 0) || !std::isfinite(v))
          return fail(dir + ": tensor '" + name + "' holds " +
                      std::to_string(v) + ", expected positive factors");
    }
    if (Error e = real("rope.scaling.attn_factor", cfg.ropeAttentionFactor,
                       false))
      return e;
  }
  prefix = "model.";
  return Error::success();
}

/// GPT-2 and BERT from GGUF: what llama.cpp's graphs for them (llama-model.cpp)
/// compute, beyond the keys every family shares.
Error ModelBuilder::readGGUFLayerNormConfig() {
  std::string a = cfg.modelType;
  if (cfg.kvHeads != cfg.heads)
    return fail(dir + ": metadata '" + a + ".attention.head_count_kv' (" +
                std::to_string(cfg.kvHeads) + ") differs from '" + a +
                ".attention.head_count' (" + std::to_string(cfg.heads) +
                "); " + a + " has no grouped-query attention");
  if (cfg.headDim * cfg.heads != cfg.hidden)
    return fail(dir + ": metadata '" + a + ".attention.key_length' (" +
                std::to_string(cfg.headDim) + ") times the head count is not "
                "'" + a + ".embedding_length' (" + std::to_string(cfg.hidden) +
                ")");
  // llama.cpp's GELU for both is the tanh form (ggml_gelu), also for BERT
  // checkpoints whose hidden_act was the erf form: the file does not say.
  cfg.activation = "gelu_new";
  prefix = "";
  if (a == "gpt2")
    return Error::success();
  // BERT: bidirectional attention, token types.
  if (const qtc::gguf::Value *v = gguf->find("bert.attention.causal")) {
    std::optional<bool> causal = v->getBool();
    if (!causal)
      return fail(dir + ": metadata 'bert.attention.causal' must be a bool, "
                        "got " + v->typeName());
    if (*causal)
      return fail(dir + ": metadata 'bert.attention.causal' is true; qtc "
                        "builds BERT with bidirectional attention only");
  }
  if (const qtc::gguf::Value *v = gguf->find("bert.pooling_type")) {
    std::optional<int64_t> pooling = v->getInt();
    if (!pooling)
      return fail(dir + ": metadata 'bert.pooling_type' must be an integer, "
                        "got " + v->typeName());
    // The graph returns every token's last hidden state; pooling it
    // (llama.cpp: 1 mean, 2 CLS, 3 last token) is left to the caller.
    if (*pooling < 0 || *pooling > 3)
      return fail(dir + ": metadata 'bert.pooling_type' is " +
                  std::to_string(*pooling) + "; qtc's BERT returns the last "
                  "hidden state, which pooling none (0), mean (1), CLS (2) "
                  "and last (3) are computed from, but not rank (4)");
  }
  const qtc::gguf::TensorInfo *types = gguf->findTensor("token_types.weight");
  if (!types || types->dims.size() != 2)
    return fail(dir + ": tensor 'token_types.weight' is missing or not a "
                      "matrix (token type embeddings)");
  cfg.typeVocab = types->dims[1];
  if (const qtc::gguf::Value *v = gguf->find("tokenizer.ggml.token_type_count"))
    if (v->getInt() != cfg.typeVocab)
      return fail(dir + ": metadata 'tokenizer.ggml.token_type_count' (" +
                  (v->getInt() ? std::to_string(*v->getInt()) : v->typeName()) +
                  ") disagrees with tensor 'token_types.weight' (" +
                  std::to_string(cfg.typeVocab) + " rows)");
  return Error::success();
}

Error ModelBuilder::checkAllUsed() {
  std::vector<std::string> unused;
  auto consider = [&](llvm::StringRef name) {
    if (used.contains(name))
      return;
    // Buffers transformers saves that are derived, not weights.
    if (name.ends_with("rotary_emb.inv_freq") ||
        name.ends_with("embeddings.position_ids") ||
        name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias"))
      return;
    // A tied head stored anyway is the embedding table again.
    if (cfg.tied && name == "lm_head.weight")
      return;
    // BERT checkpoints carry the pooler and pre-training heads, which
    // last_hidden_state does not use.
    if (cfg.modelType == "bert" && !gguf &&
        (name.starts_with("pooler.") || name.starts_with("bert.pooler.") ||
         name.starts_with("cls.")))
      return;
    unused.push_back(name.str());
  };
  if (gguf) {
    for (const qtc::gguf::TensorInfo &t : gguf->tensors())
      consider(t.name);
  } else {
    for (const std::string &n : ckpt->tensorNames())
      consider(n);
  }
  if (unused.empty())
    return Error::success();
  std::string list;
  for (size_t i = 0; i < unused.size() && i < 8; ++i)
    list += (i ? ", '" : "'") + unused[i] + "'";
  if (unused.size() > 8)
    list += " and " + std::to_string(unused.size() - 8) + " more";
  std::string what = std::to_string(unused.size()) + " tensor" +
                     (unused.size() == 1 ? "" : "s") + " the " +
                     cfg.modelType + " builder does not use: " + list;
  if (!options.allowUnusedTensors)
    return fail(dir + ": " + what + " (the " +
                (gguf ? "file is not the model its metadata" :
                        "checkpoint is not the model its config.json") +
                " describes; --allow-unused-tensors builds it anyway)");
  if (options.warnings)
    llvm::WithColor::warning(*options.warnings, "qtc")
        << dir << ": " << what << " (ignored: --allow-unused-tensors)\n";
  return Error::success();
}

Expected<OwningOpRef<ModuleOp>> ModelBuilder::run() {
  if (Error e = gguf ? readGGUFConfig() : readConfig())
    return std::move(e);
  Expected<OwningOpRef<ModuleOp>> module =
      cfg.modelType == "gpt2"   ? buildGPT2()
      : cfg.modelType == "bert" ? buildBert()
                                : buildDecoder();
  if (!module)
    return module.takeError();
  if (Error e = checkAllUsed())
    return std::move(e);
  std::string diagnostics;
  {
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      if (diag.getSeverity() == DiagnosticSeverity::Error && diagnostics.empty())
        diagnostics = diag.str();
      return success();
    });
    if (failed(mlir::verify(**module)))
      return fail(dir + ": the built IR is invalid: " + diagnostics);
  }
  return module;
}

} // namespace

void qtc::hf::registerImportDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, func::FuncDialect, linalg::LinalgDialect,
                  math::MathDialect, tensor::TensorDialect, qt::QTDialect>();
}

Expected<OwningOpRef<ModuleOp>>
qtc::hf::importCheckpoint(llvm::StringRef dir, MLIRContext &context,
                          const ImportOptions &options) {
  DialectRegistry registry;
  registerImportDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  Expected<std::unique_ptr<Checkpoint>> ckpt = Checkpoint::open(dir);
  if (!ckpt)
    return ckpt.takeError();
  std::shared_ptr<Checkpoint> shared(std::move(*ckpt));
  ModelBuilder builder(context, shared, dir.str(), options);
  return builder.run();
}

Expected<OwningOpRef<ModuleOp>>
qtc::hf::importGGUF(llvm::StringRef path, MLIRContext &context,
                    const ImportOptions &options) {
  DialectRegistry registry;
  registerImportDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
  Expected<std::unique_ptr<qtc::gguf::GGUFFile>> file =
      qtc::gguf::GGUFFile::open(path);
  if (!file)
    return file.takeError();
  std::shared_ptr<qtc::gguf::GGUFFile> shared(std::move(*file));
  ModelBuilder builder(context, shared, options);
  return builder.run();
}
