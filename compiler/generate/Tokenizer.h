//===- Tokenizer.h - Text <-> token ids for `qtc generate` ------*- C++ -*-===//
//
// The tokenizer of a GGUF model, read from its `tokenizer.*` metadata and
// behaving like llama.cpp's (llama-vocab.cpp) for the two vocabulary types
// small chat models use:
//
//  - `tokenizer.ggml.model = "gpt2"`: byte-level BPE. The text is split by
//    the pre-tokenizer that `tokenizer.ggml.pre` names (hand-written
//    matchers for llama.cpp's regular expressions, see Tokenizer.cpp), each
//    piece's bytes are mapped to GPT-2's printable code points and merged by
//    the ranks of `tokenizer.ggml.merges`.
//  - `tokenizer.ggml.model = "llama"`: SentencePiece BPE. Spaces become
//    U+2581, a space is put in front when `tokenizer.ggml.add_space_prefix`
//    (default true) asks for it, pieces are merged by their scores, and
//    characters that no piece covers fall back to the <0xNN> byte tokens.
//
// Control (token type 3), user-defined (4) and unknown (2) tokens are found
// in the text before that, user-defined ones always, the others only with
// `parseSpecial`.
//
// Input text must be well-formed UTF-8: encode() refuses anything else with
// a one-line error naming the byte offset (llama.cpp replaces such bytes by
// U+FFFD for BPE vocabularies, or passes them through as bytes for
// SentencePiece ones, and can abort on some; refusing is the one behaviour
// that is the same for both). Where llama.cpp would abort, in a
// SentencePiece vocabulary without byte tokens, a character no piece covers
// becomes the unknown token.
//
// fromHF reads a Hugging Face tokenizer.json instead (with the folder's
// tokenizer_config.json and generation_config.json) and then behaves like
// the `tokenizers` library on it: see fromHF and docs/generate.md.
//
// Depends on LLVM Support and the GGUF reader only.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_COMPILER_GENERATE_TOKENIZER_H
#define QTC_COMPILER_GENERATE_TOKENIZER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qtc::gguf {
class GGUFFile;
} // namespace qtc::gguf

namespace qtc::generate {

class Tokenizer {
public:
  enum class Kind { BPE, SentencePiece };

  /// Reads the tokenizer metadata of `file`. The tokenizer keeps copies of
  /// what it needs: `file` may be closed afterwards. Missing or malformed
  /// metadata gives a one-line error naming the file and the key.
  static llvm::Expected<std::unique_ptr<Tokenizer>>
  fromGGUF(const qtc::gguf::GGUFFile &file);

  /// Reads a Hugging Face tokenizer: `path` is a checkpoint folder holding
  /// tokenizer.json, or a tokenizer.json file. Beside it, when present:
  /// tokenizer_config.json (bos_token, eos_token, chat_template; add_bos_token
  /// and add_eos_token where tokenizer.json has no post-processor),
  /// chat_template.jinja, and generation_config.json (else config.json) for
  /// eos_token_id, one id or a list: the end-of-generation ids. Encoding and
  /// decoding then follow the `tokenizers` library (added tokens matched
  /// leftmost-longest, normalizer, pre-tokenizer, BPE by merge ranks,
  /// post-processor, decoder). A component or setting it does not implement
  /// is a one-line error naming the file and the JSON path.
  static llvm::Expected<std::unique_ptr<Tokenizer>>
  fromHF(llvm::StringRef path);

  ~Tokenizer();
  Tokenizer(const Tokenizer &) = delete;
  Tokenizer &operator=(const Tokenizer &) = delete;

  /// Token ids of `text`. `addSpecial` puts BOS in front when the model asks
  /// for it (add_bos_token) and EOS at the end when it asks for that
  /// (add_eos_token); `parseSpecial` recognises control tokens such as
  /// <|im_start|> written in the text (user-defined tokens always are).
  /// Fails on ill-formed UTF-8, or when BOS/EOS is asked for and the
  /// vocabulary has none.
  /// From fromHF: `parseSpecial` false leaves special added tokens as text
  /// (the library's encode_special_tokens), `addSpecial` applies the
  /// post-processor (TemplateProcessing's tokens around the text).
  llvm::Expected<std::vector<int32_t>>
  encode(llvm::StringRef text, bool addSpecial, bool parseSpecial) const;

  /// From fromHF: as the library's decode(ids, skip_special_tokens =
  /// !renderSpecial), except that the bytes are returned as they are (the
  /// library replaces ill-formed UTF-8 by U+FFFD).
  /// From GGUF: the text of `ids`, as llama.cpp's
  /// llama_detokenize(remove_special = false, unparse_special =
  /// `renderSpecial`): control tokens are left out
  /// unless `renderSpecial`; with add_space_prefix the first token's
  /// leading space is dropped; some BPE pre-tokenizers (gpt-2, llama-bpe)
  /// also clean up spaces before punctuation. Ids outside the vocabulary
  /// are skipped. The result is raw bytes (may be ill-formed UTF-8 when the
  /// ids cut a character).
  std::string decode(llvm::ArrayRef<int32_t> ids,
                     bool renderSpecial = false) const;

  /// The bytes of one token for streaming output: llama_token_to_piece with
  /// lstrip 0, possibly part of a UTF-8 sequence; empty for control and
  /// unknown tokens unless `renderSpecial`, and for ids out of range. From
  /// fromHF: decode() of the token alone, which may drop a leading space
  /// (stream the difference of decode() over the sequence instead).
  std::string tokenPiece(int32_t id, bool renderSpecial = false) const;

  /// Special tokens; -1 where the vocabulary has none.
  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  int32_t eot() const { return eot_; }
  int32_t unk() const { return unk_; }
  /// End of generation: EOS, EOT, <|im_end|>, <|endoftext|>... (llama.cpp's
  /// llama_vocab_is_eog).
  bool isEOG(int32_t id) const;
  llvm::ArrayRef<int32_t> eogIds() const { return eog_; }
  /// Control tokens (type 3, or detected by name like llama.cpp does).
  bool isControl(int32_t id) const;

  bool addBos() const { return addBos_; }
  bool addEos() const { return addEos_; }
  int64_t vocabSize() const { return static_cast<int64_t>(texts_.size()); }
  /// `tokenizer.chat_template`, or "".
  llvm::StringRef chatTemplate() const { return chatTemplate_; }

  Kind kind() const { return kind_; }
  /// Read by fromHF (decode follows the `tokenizers` library).
  bool isHuggingFace() const;
  /// `tokenizer.ggml.pre` as read ("" for SentencePiece).
  llvm::StringRef preTokenizer() const { return pre_; }
  /// The vocabulary entry of `id` as stored ("" when out of range).
  llvm::StringRef tokenText(int32_t id) const;
  /// The id whose vocabulary entry is exactly `text`.
  std::optional<int32_t> tokenId(llvm::StringRef text) const;

  struct Impl;

private:
  Tokenizer();

  Kind kind_ = Kind::BPE;
  std::string pre_, chatTemplate_;
  std::vector<llvm::StringRef> texts_;
  int32_t bos_ = -1, eos_ = -1, eot_ = -1, unk_ = -1;
  bool addBos_ = false, addEos_ = false;
  std::vector<int32_t> eog_;
  std::unique_ptr<Impl> impl_;
};

} // namespace qtc::generate

#endif // QTC_COMPILER_GENERATE_TOKENIZER_H
