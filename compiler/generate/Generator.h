//===- Generator.h - A decoder compiled for text generation -----*- C++ -*-===//
//
// Owns what generating text needs besides the tokenizer: the model
// compiled twice in this process with the generation signature (see
// qtc::hf::ImportOptions::maxContext), once for prompt chunks of a fixed
// length and once for single decoding steps, and the KV cache, one fixed
// buffer per layer of `maxContext` positions that both read and that the
// generator updates in place with the keys and values each call returns.
// No shape depends on the prompt's length or the position: nothing is
// recompiled while generating.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_COMPILER_GENERATE_GENERATOR_H
#define QTC_COMPILER_GENERATE_GENERATOR_H

#include "compiler/Model.h"
#include "compiler/Options.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace qtc::generate {

struct GeneratorOptions {
  /// KV cache positions (prompt and generated tokens together).
  int64_t maxContext = 2048;
  /// Tokens per prompt chunk (the prefill entry's static length).
  int64_t prefillChunk = 32;
  /// Threads of the models' parallel loops (0: the default).
  int threads = 0;
  /// Folder of compiled artifacts (empty: compile in process every time).
  /// Each entry is a shared library keyed by a hash of the model file(s)
  /// (path, size, modification time), every compiler option, the entry's
  /// shapes and this qtc build; a later create() with the same key loads
  /// it instead of compiling. An artifact that cannot be written or loaded
  /// is compiled in process instead, with a note on `warnings`.
  std::string cacheDir;
};

/// The default artifact cache: $QTC_CACHE_DIR, else $XDG_CACHE_HOME/qtc,
/// else $HOME/.cache/qtc ("" when none of them is set).
std::string defaultCacheDir();

class Generator {
public:
  /// Compiles the decoder at `path` (GGUF file or checkpoint folder) with
  /// `base` (quantization, target...) for generation. `log` (may be null)
  /// gets the compiler's progress lines.
  static llvm::Expected<std::unique_ptr<Generator>>
  create(llvm::StringRef path, const CompilerOptions &base,
         const GeneratorOptions &options, llvm::raw_ostream *log,
         llvm::raw_ostream *warnings);

  /// Forgets the cached positions.
  void reset() { pos = 0; }
  /// Runs `tokens` (prompt chunks, or one decoding step for a single
  /// token) from the current position; lastLogits() are then the next
  /// token's. A one-line error when the cache would overflow or a token is
  /// outside the vocabulary (nothing is run then).
  llvm::Error append(llvm::ArrayRef<int32_t> tokens);

  llvm::ArrayRef<float> lastLogits() const { return last; }
  /// Logits of every token of the last append(), [n, vocab] row-major.
  llvm::ArrayRef<float> allLogits() const { return all; }
  int64_t position() const { return pos; }
  int64_t maxContext() const { return opts.maxContext; }
  int64_t vocabSize() const { return vocab; }
  /// Entries (decoding step, prefill chunk) loaded from the artifact
  /// cache rather than compiled.
  unsigned cachedEntries() const { return fromCache; }

private:
  Generator() = default;
  llvm::Error run(const Model &m, int64_t seq, llvm::ArrayRef<int32_t> tokens);

  GeneratorOptions opts;
  unsigned fromCache = 0;
  std::unique_ptr<Model> prefillModel, decodeModel;
  int64_t vocab = 0, pos = 0;
  /// Per cache port (cache.L.key, cache.L.value in port order): the
  /// buffer and its [kv heads, positions, head dim].
  struct Cache {
    std::vector<float> data;
    int64_t heads = 0, dim = 0;
  };
  std::vector<Cache> caches;
  std::vector<float> last, all;
};

} // namespace qtc::generate

#endif // QTC_COMPILER_GENERATE_GENERATOR_H
