//===- Generate.cpp - qtc generate ----------------------------------------===//
//
// Text generation from a GGUF file or a checkpoint folder: the tokenizer
// from the file's metadata or the folder's tokenizer.json, the decoder compiled in-process for generation (a prompt
// chunk entry and a decoding step over a fixed KV cache), sampling, and
// the continuation streamed to stdout as it is produced.
//
//===----------------------------------------------------------------------===//

#include "tools/qtc/Generate.h"

#include "compiler/generate/Generator.h"
#include "compiler/generate/Sampler.h"
#include "compiler/generate/Tokenizer.h"
#include "frontends/gguf/Gguf.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>

using namespace qtc::generate;

namespace {

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "qtc") << message << "\n";
  return 1;
}

/// The prompt in the model's chat format, from the template the file
/// carries: ChatML (SmolLM, Qwen), Llama 3, Gemma, Phi-3, or [INST]
/// (Llama 2, Mistral). Empty when the template is none of these.
std::string applyChatTemplate(llvm::StringRef tmpl, llvm::StringRef prompt) {
  if (tmpl.contains("<|im_start|>"))
    return ("<|im_start|>user\n" + prompt + "<|im_end|>\n<|im_start|>assistant\n")
        .str();
  if (tmpl.contains("<|start_header_id|>"))
    return ("<|start_header_id|>user<|end_header_id|>\n\n" + prompt +
            "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        .str();
  if (tmpl.contains("<start_of_turn>"))
    return ("<start_of_turn>user\n" + prompt +
            "<end_of_turn>\n<start_of_turn>model\n")
        .str();
  if (tmpl.contains("<|user|>"))
    return ("<|user|>\n" + prompt + "<|end|>\n<|assistant|>\n").str();
  if (tmpl.contains("[INST]"))
    return ("[INST] " + prompt + " [/INST]").str();
  return "";
}

/// Streams decoded bytes, holding back an incomplete UTF-8 sequence.
class Utf8Stream {
public:
  explicit Utf8Stream(llvm::raw_ostream &os) : os(os) {}
  void write(llvm::StringRef bytes) {
    pending += bytes.str();
    size_t cut = completePrefix();
    os << llvm::StringRef(pending).take_front(cut);
    os.flush();
    pending.erase(0, cut);
  }
  void finish() {
    os << pending;
    os.flush();
    pending.clear();
  }

private:
  /// Bytes of `pending` up to the last complete UTF-8 character.
  size_t completePrefix() const {
    size_t n = pending.size();
    // Look back at most 3 bytes for an unfinished lead byte.
    for (size_t back = 1; back <= 3 && back <= n; ++back) {
      unsigned char c = pending[n - back];
      if ((c & 0xC0) == 0x80)
        continue; // continuation byte
      size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      return need > back ? n - back : n;
    }
    return n;
  }
  llvm::raw_ostream &os;
  std::string pending;
};

/// The tokenizer of `model`: a GGUF file's metadata, or a checkpoint
/// folder's tokenizer.json. `contextLength` gets the model's trained
/// context (GGUF context_length, config.json max_position_embeddings), or 0.
llvm::Expected<std::unique_ptr<Tokenizer>>
loadTokenizer(const std::string &model, int64_t &contextLength) {
  contextLength = 0;
  if (qtc::gguf::isGGUFFile(model)) {
    auto file = qtc::gguf::GGUFFile::open(model);
    if (!file)
      return file.takeError();
    if (const qtc::gguf::Value *arch = (*file)->find("general.architecture"))
      if (std::optional<llvm::StringRef> a = arch->getString())
        if (const qtc::gguf::Value *ctx =
                (*file)->find((*a + ".context_length").str()))
          if (std::optional<int64_t> n = ctx->getInt(); n && *n > 0)
            contextLength = *n;
    return Tokenizer::fromGGUF(**file);
  }
  if (!llvm::sys::fs::is_directory(model))
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        model + ": not a GGUF file or a checkpoint folder (qtc generate and "
                "--perplexity read the tokenizer from one of those)");
  llvm::SmallString<256> config(model);
  llvm::sys::path::append(config, "config.json");
  if (auto buf = llvm::MemoryBuffer::getFile(config, /*IsText=*/false)) {
    if (auto v = llvm::json::parse((*buf)->getBuffer())) {
      if (const llvm::json::Object *o = v->getAsObject())
        if (std::optional<int64_t> n =
                o->getInteger("max_position_embeddings");
            n && *n > 0)
          contextLength = *n;
    } else {
      llvm::consumeError(v.takeError()); // the importer reports it
    }
  }
  return Tokenizer::fromHF(model);
}

/// Streams the text of generated tokens. GGUF tokenizers give each token's
/// piece (llama.cpp's way); for Hugging Face ones the decoders work on the
/// whole sequence (a leading space is stripped from the first token only),
/// so the text is decode(prompt + generated) past decode(prompt).
class TokenStream {
public:
  TokenStream(const Tokenizer &tok, llvm::ArrayRef<int32_t> prompt,
              Utf8Stream &out)
      : tok(tok), out(out), ids(prompt.begin(), prompt.end()) {
    if (tok.isHuggingFace())
      printed = tok.decode(ids).size();
  }
  /// Writes `id`'s text and returns it.
  std::string push(int32_t id) {
    ids.push_back(id);
    std::string piece;
    if (!tok.isHuggingFace()) {
      piece = tok.tokenPiece(id);
    } else {
      std::string text = tok.decode(ids);
      if (text.size() >= printed)
        piece = text.substr(printed);
      printed = text.size();
    }
    out.write(piece);
    return piece;
  }

private:
  const Tokenizer &tok;
  Utf8Stream &out;
  std::vector<int32_t> ids;
  size_t printed = 0;
};

} // namespace

int qtc::tools::generate(const GenerateRequest &r,
                         const qtc::CompilerOptions &compileOptions) {
  if (r.maxTokens < 0)
    return fail("-n must be >= 0");
  if (llvm::Error e = r.sampling.validate())
    return fail(llvm::toString(std::move(e)));
  int64_t contextLength = 0;
  auto tokenizer = loadTokenizer(r.model, contextLength);
  if (!tokenizer)
    return fail(llvm::toString(tokenizer.takeError()));
  Tokenizer &tok = **tokenizer;

  std::string text = r.prompt;
  if (r.chat) {
    text = applyChatTemplate(tok.chatTemplate(), r.prompt);
    if (text.empty())
      return fail(r.model + ": --chat: the file's chat template is none of "
                            "the built-in ones (ChatML, Llama 3, Gemma, "
                            "Phi-3, [INST])");
  }
  auto ids = tok.encode(text, /*addSpecial=*/true, /*parseSpecial=*/r.chat);
  if (!ids)
    return fail(llvm::toString(ids.takeError()));
  if (ids->empty())
    return fail("the prompt is empty (it encodes to no tokens)");

  qtc::CompilerOptions base = compileOptions;
  GeneratorOptions go;
  // The decoding step attends over the whole cache: by default size it to
  // the request (prompt + -n, rounded up to 128), not to the model's limit.
  go.maxContext = std::min<int64_t>(
      r.defaultContext, (int64_t(ids->size()) + r.maxTokens + 127) / 128 * 128);
  // Not more than the model was trained for (its rotary tables' size).
  if (contextLength > 0)
    go.maxContext = std::min(go.maxContext, contextLength);
  if (compileOptions.maxContext > 0)
    go.maxContext = compileOptions.maxContext;
  go.prefillChunk = r.prefillChunk;
  go.threads = r.threads;
  go.cacheDir = r.cacheDir;
  if (int64_t(ids->size()) >= go.maxContext)
    return fail("the prompt has " + llvm::Twine(ids->size()) +
                " tokens, the context holds " + llvm::Twine(go.maxContext) +
                " (raise --max-context)");
  auto t0 = std::chrono::steady_clock::now();
  auto gen = Generator::create(r.model, base, go,
                               r.verbose ? &llvm::errs() : nullptr,
                               &llvm::errs());
  if (!gen)
    return fail(llvm::toString(gen.takeError()));
  auto t1 = std::chrono::steady_clock::now();
  if (r.verbose)
    llvm::errs() << llvm::format(
        "qtc: %s for generation in %.1f s (context %lld, prompt chunks "
        "of %lld)\n",
        (*gen)->cachedEntries() ? "loaded from the artifact cache"
                                : "compiled",
        std::chrono::duration<double>(t1 - t0).count(),
        (long long)go.maxContext, (long long)go.prefillChunk);

  Generator &g = **gen;
  if (g.vocabSize() < tok.vocabSize())
    return fail(r.model + ": the tokenizer has " +
                llvm::Twine(tok.vocabSize()) + " tokens, the model's output " +
                llvm::Twine(g.vocabSize()));
  Utf8Stream out(llvm::outs());
  if (r.echo)
    out.write(r.prompt);
  auto p0 = std::chrono::steady_clock::now();
  if (llvm::Error e = g.append(*ids))
    return fail(llvm::toString(std::move(e)));
  auto p1 = std::chrono::steady_clock::now();
  Sampler sampler(r.sampling);
  TokenStream stream(tok, *ids, out);
  std::vector<int32_t> history(ids->begin(), ids->end());
  int64_t produced = 0, steps = 0;
  std::string stopReason;
  std::string generated;
  double decodeSeconds = 0;
  while (produced < r.maxTokens) {
    int32_t next = sampler.sample(g.lastLogits().take_front(tok.vocabSize()),
                                  history);
    if (tok.isEOG(next)) {
      stopReason = "end of text";
      break;
    }
    ++produced;
    history.push_back(next);
    generated += stream.push(next);
    bool stopped = false;
    for (const std::string &s : r.stop)
      if (!s.empty() && llvm::StringRef(generated).ends_with(s))
        stopped = true;
    if (stopped) {
      stopReason = "stop string";
      break;
    }
    if (produced == r.maxTokens)
      break;
    if (g.position() >= g.maxContext()) {
      stopReason = "context full (--max-context " +
                   std::to_string(g.maxContext()) + ")";
      break;
    }
    auto d0 = std::chrono::steady_clock::now();
    if (llvm::Error e = g.append(next))
      return fail(llvm::toString(std::move(e)));
    ++steps;
    decodeSeconds += std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - d0)
                         .count();
  }
  out.finish();
  llvm::outs() << "\n";
  llvm::outs().flush();
  double prefillSeconds = std::chrono::duration<double>(p1 - p0).count();
  // Decode speed over the decoding steps run (the first token comes from
  // the prompt's logits).
  llvm::errs() << llvm::format(
      "prefill: %zu tokens, %.1f tok/s; decode: %lld tokens, %.1f tok/s\n",
      ids->size(), ids->size() / std::max(prefillSeconds, 1e-9),
      (long long)produced,
      decodeSeconds > 0 ? steps / decodeSeconds : 0.0);
  if (!stopReason.empty() && stopReason != "end of text" &&
      stopReason != "stop string")
    llvm::errs() << "qtc: stopped: " << stopReason << "\n";
  return 0;
}

int qtc::tools::perplexity(const PerplexityRequest &r,
                           const qtc::CompilerOptions &compileOptions) {
  if (r.context < 4)
    return fail("--context must be at least 4 tokens");
  auto text = llvm::MemoryBuffer::getFile(r.textFile, /*IsText=*/false);
  if (!text)
    return fail(r.textFile + ": cannot read: " + text.getError().message());
  int64_t contextLength = 0;
  auto tokenizer = loadTokenizer(r.model, contextLength);
  if (!tokenizer)
    return fail(llvm::toString(tokenizer.takeError()));
  Tokenizer &tok = **tokenizer;
  auto ids = tok.encode((*text)->getBuffer(), /*addSpecial=*/true,
                        /*parseSpecial=*/false);
  if (!ids)
    return fail(r.textFile + ": " + llvm::toString(ids.takeError()));
  int64_t n = r.context;
  int64_t chunks = int64_t(ids->size()) / n;
  if (r.maxChunks > 0)
    chunks = std::min(chunks, r.maxChunks);
  if (chunks < 1)
    return fail(r.textFile + ": " + llvm::Twine(ids->size()) +
                " tokens, fewer than one window of --context " +
                llvm::Twine(n));
  GeneratorOptions go;
  go.maxContext = n;
  go.prefillChunk = std::min<int64_t>(n, r.prefillChunk);
  go.threads = r.threads;
  go.cacheDir = r.cacheDir;
  auto gen = Generator::create(r.model, compileOptions, go, nullptr,
                               &llvm::errs());
  if (!gen)
    return fail(llvm::toString(gen.takeError()));
  Generator &g = **gen;
  // llama-perplexity's method: non-overlapping windows of n tokens (BOS
  // first when the model adds one), each scored on its second half; and
  // the plain cross-entropy of every token after a window's first.
  double halfNLL = 0, allNLL = 0;
  int64_t halfCount = 0, allCount = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t c = 0; c < chunks; ++c) {
    std::vector<int32_t> window(ids->begin() + c * n, ids->begin() + (c + 1) * n);
    if (tok.addBos() && tok.bos() >= 0)
      window[0] = tok.bos();
    g.reset();
    if (llvm::Error e = g.append(window))
      return fail(llvm::toString(std::move(e)));
    llvm::ArrayRef<float> logits = g.allLogits();
    int64_t V = g.vocabSize();
    for (int64_t j = 0; j + 1 < n; ++j) {
      llvm::ArrayRef<float> row = logits.slice(j * V, V);
      double mx = *std::max_element(row.begin(), row.end()), sum = 0;
      for (float v : row)
        sum += std::exp(double(v) - mx);
      double nll = -(double(row[window[j + 1]]) - mx - std::log(sum));
      allNLL += nll;
      ++allCount;
      if (j >= n / 2) {
        halfNLL += nll;
        ++halfCount;
      }
    }
    if (r.verbose)
      llvm::errs() << llvm::format("qtc: window %lld/%lld: perplexity so far %.4f\n",
                                   (long long)(c + 1), (long long)chunks,
                                   std::exp(halfNLL / halfCount));
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  llvm::outs() << llvm::format("perplexity: %.4f over %lld tokens\n",
                               std::exp(halfNLL / halfCount),
                               (long long)halfCount);
  llvm::outs() << llvm::format(
      "cross-entropy: %.4f nats per token over %lld tokens (every token "
      "after a window's first; perplexity %.4f)\n",
      allNLL / allCount, (long long)allCount, std::exp(allNLL / allCount));
  llvm::errs() << llvm::format("qtc: %lld windows of %lld tokens in %.1f s\n",
                               (long long)chunks, (long long)n, seconds);
  return 0;
}
