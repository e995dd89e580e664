//===- Tokenizer.cpp - Text <-> token ids for `qtc generate` --------------===//
//
// Encoding runs in three steps, as in llama.cpp:
//
//  1. Special tokens. The text is cut around every occurrence of a
//     control / user-defined / unknown token's text, longest tokens first;
//     the occurrences become their ids, the rest stays text.
//  2. Pre-tokenization (BPE only). Each text fragment is split into words
//     by llama.cpp's regular expressions for `tokenizer.ggml.pre`. They are
//     not run by a regex engine here: each is a short hand-written matcher
//     over code points and their Unicode classes (Unicode.h), reproducing
//     what llama.cpp's matchers compute, corner cases included (a piece
//     boundary left by an earlier expression ends a whitespace run, \s+(?!\S)
//     leaves the last space to the next word, and so on).
//  3. Merging. BPE: the word's bytes, as GPT-2 code points, start as one
//     symbol per byte and the adjacent pair with the lowest merge rank is
//     merged until none is ranked. SentencePiece: the whole fragment, one
//     symbol per character, and the adjacent pair whose concatenation is the
//     highest-scoring piece is merged until no concatenation is a piece.
//     Ties go to the leftmost pair. A priority queue holds the candidate
//     pairs; entries made stale by a merge are recognised by the symbols'
//     lengths and dropped.
//
//===----------------------------------------------------------------------===//

#include "compiler/generate/Tokenizer.h"

#include "compiler/generate/Unicode.h"
#include "frontends/gguf/Gguf.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Allocator.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/StringSaver.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>
#include <utility>

using llvm::ArrayRef;
using llvm::Expected;
using llvm::StringRef;

namespace qtc::generate {

namespace {

using namespace unicode;

// llama.cpp's token attributes (llama_token_attr), a bit set.
constexpr uint16_t kAttrUnknown = 1 << 0;
constexpr uint16_t kAttrUnused = 1 << 1;
constexpr uint16_t kAttrNormal = 1 << 2;
constexpr uint16_t kAttrControl = 1 << 3;
constexpr uint16_t kAttrUserDefined = 1 << 4;
constexpr uint16_t kAttrByte = 1 << 5;
constexpr uint16_t kAttrLStrip = 1 << 7;
constexpr uint16_t kAttrRStrip = 1 << 8;

/// GGUF token types (tokenizer.ggml.token_type) to attributes.
uint16_t attrOfType(int64_t type) {
  // clang-format off
  switch (type) {
  case 1: return kAttrNormal;
  case 2: return kAttrUnknown;
  case 3: return kAttrControl;
  case 4: return kAttrUserDefined;
  case 5: return kAttrUnused;
  case 6: return kAttrByte;
  default: return 0; // undefined
  }
  // clang-format on
}

/// The pre-tokenizer expressions llama.cpp uses, by family.
enum class Split {
  /// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
  GPT2,
  /// \p{N} isolated first, then GPT2.
  SmolLM,
  /// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
  ///  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  Llama3,
  /// Llama3 with \p{N} instead of \p{N}{1,3}.
  Qwen2,
  /// [\p{P}\$\+<=>\^~\|]+, then GPT2, then \p{N}+, then [0-9][0-9][0-9].
  Default,
};

struct PreTokenizer {
  const char *name;
  Split split;
  bool cleanSpaces;
  bool ignoreMerges;
  bool addBos;
};

// `tokenizer.ggml.pre` values whose expressions are one of the above, with
// the options llama.cpp sets for them (llama_vocab::impl::load).
const PreTokenizer kPreTokenizers[] = {
    {"default", Split::Default, true, false, false},
    // GPT-2's expression.
    {"gpt-2", Split::GPT2, true, false, false},
    {"gpt2", Split::GPT2, true, false, false}, // not llama.cpp's spelling
    {"phi-2", Split::GPT2, true, false, false},
    {"gigachat", Split::GPT2, true, false, false},
    {"a.x-4.0", Split::GPT2, true, false, false},
    {"mellum", Split::GPT2, true, false, false},
    {"mpt", Split::GPT2, true, false, false},
    {"olmo", Split::GPT2, true, false, false},
    {"jais", Split::GPT2, true, false, false},
    {"exaone4", Split::GPT2, true, false, false},
    {"trillion", Split::GPT2, false, false, false},
    {"granite-docling", Split::GPT2, false, false, false},
    // Digits isolated, then GPT-2's expression.
    {"smollm", Split::SmolLM, false, false, false},
    {"starcoder", Split::SmolLM, true, false, false},
    {"refact", Split::SmolLM, true, false, false},
    {"command-r", Split::SmolLM, false, false, false},
    {"codeshell", Split::SmolLM, true, false, false},
    {"exaone", Split::SmolLM, true, false, false},
    {"minerva-7b", Split::SmolLM, true, false, false},
    {"mellum2", Split::SmolLM, true, false, false},
    // Llama 3's expression.
    {"llama3", Split::Llama3, true, true, true},
    {"llama-v3", Split::Llama3, true, true, true},
    {"llama-bpe", Split::Llama3, true, true, true},
    {"falcon3", Split::Llama3, true, true, true},
    {"falcon-h1", Split::Llama3, true, true, true},
    {"pixtral", Split::Llama3, true, true, true},
    {"midm-2.0", Split::Llama3, true, true, true},
    {"lfm2", Split::Llama3, true, true, true},
    {"jina-v5-nano", Split::Llama3, true, true, true},
    {"dbrx", Split::Llama3, true, false, false},
    {"smaug-bpe", Split::Llama3, true, false, false},
    // Qwen 2's expression.
    {"qwen2", Split::Qwen2, false, false, false},
    {"deepseek-r1-qwen", Split::Qwen2, false, false, false},
    {"kormo", Split::Qwen2, false, false, false},
    {"f2llmv2", Split::Qwen2, false, false, false},
    {"stablelm2", Split::Qwen2, true, false, false},
    {"megrez", Split::Qwen2, true, false, false},
    {"hunyuan", Split::Qwen2, false, false, false},
};

// Token texts llama.cpp recognises (llama_vocab::impl::load): the first
// lists name the special token, all are made control tokens; EOG texts end
// generation.
// clang-format off
const char *const kEotTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
    "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>",
    "<end_of_utterance>"};
const char *const kEomTexts[] = {"<|eom_id|>"};
const char *const kFimPreTexts[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
    "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>", "<PRE>",
    "\xE2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>"};
const char *const kFimSufTexts[] = {
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
    "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "hole\xEF\xBD\x9C>", "<SUF>",
    "\xE2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>"};
const char *const kFimMidTexts[] = {
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>",
    "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>", "<MID>",
    "\xE2\x96\x81<MID>", "<|code_middle|>", "<|middle|>"};
const char *const kFimPadTexts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>",
                                    "<PAD>", "[PAD]"};
const char *const kFimRepTexts[] = {"<|fim_repo|>", "<|repo_name|>",
                                    "<fim-repo>", "<REPO>", "<reponame>"};
const char *const kFimSepTexts[] = {"<|file_sep|>"};
const char *const kEogTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
    "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>",
    "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
    "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81" "of\xE2\x96\x81" "sentence\xEF\xBD\x9C>",
    "[e~["};
/// Always rendered (llama.cpp's gpt-oss rule).
const char *const kAlwaysRenderedTexts[] = {"<|channel|>", "<|message|>",
                                            "<|start|>", "<|constrain|>"};
// clang-format on

const char kSpaceMarker[] = "\xE2\x96\x81"; // U+2581

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

bool isAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
         c == '\r';
}

std::string replaceAll(StringRef text, StringRef from, StringRef to) {
  std::string out;
  out.reserve(text.size());
  while (true) {
    size_t at = text.find(from);
    if (at == StringRef::npos)
      break;
    out.append(text.data(), at);
    out.append(to.data(), to.size());
    text = text.drop_front(at + from.size());
  }
  out.append(text.data(), text.size());
  return out;
}

std::string hex2(uint8_t b, bool upper) {
  const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  return {digits[b >> 4], digits[b & 15]};
}

/// The value of up to two hex digits at text[3..5] (llama.cpp's
/// token_to_byte: strtol of `substr(3, 2)`; stops at a non-digit).
uint8_t byteOfByteToken(StringRef text) {
  StringRef digits = text.size() > 3 ? text.substr(3, 2) : StringRef();
  unsigned value = 0;
  for (char c : digits) {
    unsigned d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      break;
    value = value * 16 + d;
  }
  return static_cast<uint8_t>(value);
}

/// Decodes UTF-8 the way llama.cpp's unicode_cpts_from_utf8 does for
/// vocabulary entries: a byte that does not start a complete sequence
/// becomes U+FFFD; forms it does not check (overlong...) are kept.
std::vector<uint32_t> decodeLenient(StringRef text) {
  std::vector<uint32_t> out;
  const auto *s = reinterpret_cast<const uint8_t *>(text.data());
  size_t n = text.size(), i = 0;
  while (i < n) {
    uint8_t b = s[i];
    size_t len = b < 0x80             ? 1
                 : (b & 0xE0) == 0xC0 ? 2
                 : (b & 0xF0) == 0xE0 ? 3
                 : (b & 0xF8) == 0xF0 ? 4
                                      : 0;
    bool ok = len != 0 && n - i >= len;
    for (size_t k = 1; ok && k < len; ++k)
      ok = (s[i + k] & 0xC0) == 0x80;
    if (!ok) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    uint32_t cp = len == 1 ? b : b & (0x7F >> len);
    for (size_t k = 1; k < len; ++k)
      cp = (cp << 6) | (s[i + k] & 0x3F);
    out.push_back(cp > 0x10FFFF ? 0xFFFD : cp);
    i += len;
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Pre-tokenizers: code point ranges [begin, end) of a fragment
//===----------------------------------------------------------------------===//

using Ranges = std::vector<std::pair<size_t, size_t>>;

struct CodepointText {
  std::vector<uint32_t> cps;
  std::vector<CharInfo> info;
};

/// Length of a contraction ('s 't 'm 'd 're 've 'll) at `i`, or 0.
size_t contractionAt(const CodepointText &t, size_t i, size_t end,
                     bool ignoreCase) {
  const std::vector<uint32_t> &c = t.cps;
  if (c[i] != '\'' || i + 1 >= end)
    return 0;
  auto lower = [&](uint32_t cp) {
    return ignoreCase && cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp;
  };
  uint32_t a = lower(c[i + 1]);
  if (a == 's' || a == 't' || a == 'm' || a == 'd')
    return 2;
  if (i + 2 >= end)
    return 0;
  uint32_t b = lower(c[i + 2]);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
      (a == 'l' && b == 'l'))
    return 3;
  return 0;
}

/// Not whitespace, letter or number: [^\s\p{L}\p{N}].
bool isOther(const CharInfo &ci) {
  return !ci.space && !ci.isLetter() && !ci.isNumber();
}

/// The end of a whitespace run at `i` as \s+(?!\S)|\s+ takes it: all of it
/// unless a non-space follows inside the range, then all but the last.
size_t whitespaceEnd(const CodepointText &t, size_t i, size_t end) {
  size_t j = i;
  while (j < end && t.info[j].space)
    ++j;
  if (j - i > 1 && j < end)
    return j - 1;
  return j > i ? j : i + 1;
}

void splitGPT2(const CodepointText &t, size_t begin, size_t end, Ranges &out) {
  size_t i = begin;
  while (i < end) {
    size_t j;
    if (size_t n = contractionAt(t, i, end, /*ignoreCase=*/false)) {
      j = i + n;
    } else {
      // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+': an optional space,
      // then a run of one kind.
      size_t k = t.cps[i] == ' ' ? i + 1 : i;
      if (k < end && (t.info[k].isLetter() || t.info[k].isNumber() ||
                      isOther(t.info[k]))) {
        const CharInfo &kind = t.info[k];
        auto same = [&](const CharInfo &ci) {
          if (kind.isLetter())
            return ci.isLetter();
          if (kind.isNumber())
            return ci.isNumber();
          return isOther(ci);
        };
        j = k + 1;
        while (j < end && same(t.info[j]))
          ++j;
      } else {
        j = whitespaceEnd(t, i, end);
      }
    }
    out.emplace_back(i, j);
    i = j;
  }
}

void splitLlama3(const CodepointText &t, size_t begin, size_t end,
                 size_t maxDigits, Ranges &out) {
  const std::vector<uint32_t> &c = t.cps;
  size_t i = begin;
  while (i < end) {
    size_t j;
    const CharInfo &ci = t.info[i];
    bool newline = c[i] == '\r' || c[i] == '\n';
    if (size_t n = contractionAt(t, i, end, /*ignoreCase=*/true)) {
      j = i + n;
    } else if (!newline && !ci.isNumber() &&
               (ci.isLetter() || (i + 1 < end && t.info[i + 1].isLetter()))) {
      // [^\r\n\p{L}\p{N}]?\p{L}+
      j = i + 1;
      while (j < end && t.info[j].isLetter())
        ++j;
    } else if (ci.isNumber()) {
      // \p{N}{1,maxDigits}
      j = i + 1;
      while (j < end && j - i < maxDigits && t.info[j].isNumber())
        ++j;
    } else if (size_t k = c[i] == ' ' ? i + 1 : i;
               k < end && isOther(t.info[k])) {
      // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
      j = k + 1;
      while (j < end && isOther(t.info[j]))
        ++j;
      while (j < end && (c[j] == '\r' || c[j] == '\n'))
        ++j;
    } else {
      // \s*[\r\n]+ when the whitespace run holds a line break, up to the
      // last one; else \s+(?!\S)|\s+.
      size_t runEnd = i, lastBreak = 0;
      while (runEnd < end && t.info[runEnd].space) {
        if (c[runEnd] == '\r' || c[runEnd] == '\n')
          lastBreak = runEnd + 1;
        ++runEnd;
      }
      j = lastBreak ? lastBreak : whitespaceEnd(t, i, end);
    }
    out.emplace_back(i, j);
    i = j;
  }
}

/// Splits each range around the code points matching `pred`: each match
/// alone (`runs` false) or maximal runs of them (`runs` true), the text
/// between matches as ranges of its own.
template <typename Pred>
Ranges splitAround(const Ranges &in, bool runs, Pred pred) {
  Ranges out;
  for (auto [begin, end] : in) {
    size_t gap = begin, i = begin;
    while (i < end) {
      if (!pred(i)) {
        ++i;
        continue;
      }
      if (gap < i)
        out.emplace_back(gap, i);
      size_t j = i + 1;
      while (runs && j < end && pred(j))
        ++j;
      out.emplace_back(i, j);
      gap = i = j;
    }
    if (gap < end)
      out.emplace_back(gap, end);
  }
  return out;
}

/// [0-9][0-9][0-9], leftmost matches first.
Ranges splitDigitTriples(const CodepointText &t, const Ranges &in) {
  auto digit = [&](size_t i) { return t.cps[i] >= '0' && t.cps[i] <= '9'; };
  Ranges out;
  for (auto [begin, end] : in) {
    size_t gap = begin, i = begin;
    while (i + 3 <= end) {
      if (digit(i) && digit(i + 1) && digit(i + 2)) {
        if (gap < i)
          out.emplace_back(gap, i);
        out.emplace_back(i, i + 3);
        gap = i = i + 3;
      } else {
        ++i;
      }
    }
    if (gap < end)
      out.emplace_back(gap, end);
  }
  return out;
}

template <typename Fn> Ranges refine(const Ranges &in, Fn fn) {
  Ranges out;
  for (auto [begin, end] : in)
    fn(begin, end, out);
  return out;
}

/// llama.cpp runs \p{N} and \p{P} through std::regex on a copy of the text
/// where every non-ASCII code point stands for its class, whitespace for
/// \v: non-ASCII whitespace thus never matches them.
bool collapsedNumber(const CodepointText &t, size_t i) {
  uint32_t cp = t.cps[i];
  if (cp < 0x80)
    return cp >= '0' && cp <= '9';
  return !t.info[i].space && t.info[i].isNumber();
}

bool collapsedPunctuationOrListed(const CodepointText &t, size_t i) {
  uint32_t cp = t.cps[i];
  if (cp < 0x80) // ASCII \p{P} and $+<=>^~|: all of it but the backquote
    return cp >= 0x21 && cp <= 0x7E && cp != '`' && !(cp >= '0' && cp <= '9') &&
           !(cp >= 'A' && cp <= 'Z') && !(cp >= 'a' && cp <= 'z');
  return !t.info[i].space && t.info[i].isPunctuation();
}

Ranges preTokenize(Split split, const CodepointText &t) {
  Ranges whole;
  if (!t.cps.empty())
    whole.emplace_back(0, t.cps.size());
  auto gpt2 = [&](size_t b, size_t e, Ranges &out) { splitGPT2(t, b, e, out); };
  switch (split) {
  case Split::GPT2:
    return refine(whole, gpt2);
  case Split::SmolLM: {
    Ranges digits = splitAround(
        whole, /*runs=*/false, [&](size_t i) { return collapsedNumber(t, i); });
    return refine(digits, gpt2);
  }
  case Split::Llama3:
  case Split::Qwen2: {
    size_t maxDigits = split == Split::Llama3 ? 3 : 1;
    return refine(whole, [&](size_t b, size_t e, Ranges &out) {
      splitLlama3(t, b, e, maxDigits, out);
    });
  }
  case Split::Default: {
    Ranges r = splitAround(whole, /*runs=*/true, [&](size_t i) {
      return collapsedPunctuationOrListed(t, i);
    });
    r = refine(r, gpt2);
    r = splitAround(r, /*runs=*/true,
                    [&](size_t i) { return collapsedNumber(t, i); });
    return splitDigitTriples(t, r);
  }
  }
  return whole;
}

//===----------------------------------------------------------------------===//
// Merging
//===----------------------------------------------------------------------===//

struct Symbol {
  int32_t prev, next;
  uint32_t begin, len;
};

/// Splits `word` into one symbol per UTF-8 character (by lead byte).
std::vector<Symbol> charSymbols(StringRef word) {
  std::vector<Symbol> syms;
  uint32_t offset = 0, n = static_cast<uint32_t>(word.size());
  while (offset < n) {
    uint32_t len = static_cast<uint32_t>(std::min<size_t>(
        utf8LengthFromLead(static_cast<uint8_t>(word[offset])), n - offset));
    int32_t index = static_cast<int32_t>(syms.size());
    syms.push_back({index - 1, offset + len < n ? index + 1 : -1, offset, len});
    offset += len;
  }
  return syms;
}

/// Merges adjacent symbols of `word` while `score(left, right)` ranks a
/// pair: each time the pair that `better` prefers, the leftmost on ties.
/// `score` returns std::optional<Key>.
template <typename Key, typename ScoreFn, typename BetterFn>
void mergeSymbols(StringRef word, std::vector<Symbol> &syms, ScoreFn score,
                  BetterFn better) {
  struct Candidate {
    Key key;
    int32_t left, right;
    uint32_t leftLen, rightLen;
  };
  // std::priority_queue pops the greatest: "less" = comes later.
  auto later = [&](const Candidate &a, const Candidate &b) {
    if (better(b.key, a.key))
      return true;
    if (better(a.key, b.key))
      return false;
    return a.left > b.left;
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(later)> queue(
      later);
  auto consider = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0)
      return;
    const Symbol &a = syms[l], &b = syms[r];
    std::optional<Key> key =
        score(word.substr(a.begin, a.len), word.substr(b.begin, b.len));
    if (key)
      queue.push({*key, l, r, a.len, b.len});
  };
  for (size_t i = 1; i < syms.size(); ++i)
    consider(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  while (!queue.empty()) {
    Candidate c = queue.top();
    queue.pop();
    Symbol &l = syms[c.left], &r = syms[c.right];
    if (l.len == 0 || r.len == 0 || l.len != c.leftLen || r.len != c.rightLen)
      continue; // stale
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0)
      syms[r.next].prev = c.left;
    consider(l.prev, c.left);
    consider(c.left, l.next);
  }
}

/// Special token ids (-1: none).
struct SpecialIds {
  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, sep = -1, pad = -1,
          mask = -1;
  int32_t fimPre = -1, fimSuf = -1, fimMid = -1, fimPad = -1, fimRep = -1,
          fimSep = -1;
};

/// A text fragment, or a special token found in the text.
struct Fragment {
  int32_t token; // -1: text
  size_t begin, end;
};

} // namespace

//===----------------------------------------------------------------------===//
// Tokenizer::Impl
//===----------------------------------------------------------------------===//

struct Tokenizer::Impl {
  llvm::BumpPtrAllocator alloc;
  llvm::StringSaver saver{alloc};
  std::vector<float> scores;
  std::vector<uint16_t> attrs;
  llvm::DenseMap<StringRef, int32_t> ids;
  llvm::DenseMap<std::pair<StringRef, StringRef>, int32_t> ranks;
  /// Control, user-defined and unknown tokens, longest text first.
  std::vector<int32_t> specials;
  Split split = Split::GPT2;
  bool cleanSpaces = false, ignoreMerges = false, addSpacePrefix = false;

  // Read from a Hugging Face tokenizer.json (fromHF); see "Hugging Face
  // tokenizer.json" below.
  bool hf = false;
  struct HFStep {
    enum Kind {
      // normalizer
      Prepend, Replace,
      // pre-tokenizer
      Regex, Digits, ByteLevel, Metaspace,
      // decoder (and Replace, ByteLevel, Metaspace)
      ByteFallback, Fuse, Strip,
    } kind;
    std::string a, b;    // Prepend: a; Replace: a -> b; Metaspace: a
    Split split = Split::GPT2; // Regex
    bool flag = false; // Digits: individual; ByteLevel: add_prefix_space,
                       // Metaspace: split
    bool useRegex = false; // ByteLevel
    int scheme = 0;        // Metaspace: 0 always, 1 first, 2 never
    int start = 0, stop = 0; // Strip
  };
  std::vector<HFStep> normalizer, preTokenizer, decoder;
  bool byteFallback = false, fuseUnk = false;
  int32_t hfUnk = -1;
  /// Post-processor: the ids before and after the text.
  std::vector<int32_t> prefix, suffix;
  struct Added {
    int32_t id;
    StringRef content;
    bool special, lstrip, rstrip;
  };
  /// Added tokens, and the index in `added` of each id (-1: none).
  std::vector<Added> added;
  std::vector<bool> addedNormalized;
  std::vector<int32_t> addedIndex;
  bool hasDecoder = false;

  std::vector<Fragment> splitAdded(StringRef text, bool parseSpecial) const;
  void encodeHF(StringRef text, size_t begin, size_t end,
                std::vector<int32_t> &out) const;
  std::string decodeHF(ArrayRef<int32_t> ids, ArrayRef<StringRef> texts,
                       bool renderSpecial) const;

  /// The symbols of `word` after every ranked merge (byte-level BPE and
  /// tokenizer.json's BPE alike); with ignore_merges, a word in the
  /// vocabulary is one symbol as it is.
  std::vector<Symbol> mergedSymbols(StringRef word) const {
    if (ignoreMerges && find(word) >= 0)
      return {{-1, -1, 0, static_cast<uint32_t>(word.size())}};
    std::vector<Symbol> syms = charSymbols(word);
    mergeSymbols<int32_t>(
        word, syms,
        [&](StringRef l, StringRef r) -> std::optional<int32_t> {
          auto it = ranks.find({l, r});
          if (it == ranks.end())
            return std::nullopt;
          return it->second;
        },
        [](int32_t x, int32_t y) { return x < y; });
    return syms;
  }

  int32_t find(StringRef text) const {
    auto it = ids.find(text);
    return it == ids.end() ? -1 : it->second;
  }

  /// Attributes and ids of the special tokens llama.cpp recognises by
  /// their text, the RSTRIP rule of Phi-3; the EOG tokens, sorted.
  std::vector<int32_t> markSpecialTokens(ArrayRef<StringRef> texts,
                                         SpecialIds &ids,
                                         StringRef generalName);

  /// Step 1: `text` cut around the special tokens.
  std::vector<Fragment> splitSpecials(StringRef text, bool parseSpecial,
                                      ArrayRef<StringRef> texts) const;
  /// Steps 2 and 3 for one fragment.
  llvm::Error encodeSentencePiece(StringRef fragment, bool spacePrefix,
                                  int32_t unk, std::vector<int32_t> &out) const;
  llvm::Error encodeBPE(StringRef text, size_t begin, size_t end,
                        std::vector<int32_t> &out) const;
};

Tokenizer::Tokenizer() : impl_(std::make_unique<Impl>()) {}
Tokenizer::~Tokenizer() = default;

StringRef Tokenizer::tokenText(int32_t id) const {
  if (id < 0 || id >= vocabSize())
    return {};
  return texts_[id];
}

std::optional<int32_t> Tokenizer::tokenId(StringRef text) const {
  for (const Impl::Added &a : impl_->added)
    if (a.content == text)
      return a.id;
  int32_t id = impl_->find(text);
  if (id < 0)
    return std::nullopt;
  return id;
}

bool Tokenizer::isEOG(int32_t id) const {
  return std::binary_search(eog_.begin(), eog_.end(), id);
}

bool Tokenizer::isHuggingFace() const { return impl_->hf; }

bool Tokenizer::isControl(int32_t id) const {
  return id >= 0 && id < vocabSize() && (impl_->attrs[id] & kAttrControl);
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

std::vector<int32_t>
Tokenizer::Impl::markSpecialTokens(ArrayRef<StringRef> texts, SpecialIds &ids,
                                   StringRef generalName) {
  // Special tokens recognised by their text, made control tokens. Where
  // several texts of a list are in the vocabulary, llama.cpp takes the first
  // its hash map yields; this takes the lowest id.
  auto findAny = [&](ArrayRef<const char *> names) {
    int32_t best = -1;
    for (const char *t : names) {
      int32_t id = find(t);
      if (id >= 0 && (best < 0 || id < best))
        best = id;
    }
    return best;
  };
  auto detect = [&](int32_t &id, ArrayRef<const char *> names) {
    if (id >= 0)
      return;
    id = findAny(names);
    if (id >= 0)
      attrs[id] |= kAttrControl;
  };
  detect(ids.eot, kEotTexts);
  detect(ids.eom, kEomTexts);
  detect(ids.fimPre, kFimPreTexts);
  detect(ids.fimSuf, kFimSufTexts);
  detect(ids.fimMid, kFimMidTexts);
  detect(ids.fimPad, kFimPadTexts);
  detect(ids.fimRep, kFimRepTexts);
  detect(ids.fimSep, kFimSepTexts);

  // Control tokens named "unused...".
  for (size_t i = 0; i < texts.size(); ++i)
    if ((attrs[i] & kAttrControl) && texts[i].contains("unused"))
      attrs[i] |= kAttrUnused;

  // End of generation.
  std::vector<int32_t> eog;
  for (int32_t id : {ids.fimPad, ids.fimRep, ids.fimSep})
    if (id >= 0)
      eog.push_back(id);
  for (const char *t : kEogTexts) {
    int32_t id = find(t);
    if (id >= 0) {
      eog.push_back(id);
      attrs[id] |= kAttrControl;
    }
  }
  for (const char *t : kAlwaysRenderedTexts) {
    int32_t id = find(t);
    if (id >= 0)
      attrs[id] = kAttrUserDefined;
  }
  for (int32_t id : {ids.eos, ids.eot, ids.eom})
    if (id >= 0)
      eog.push_back(id);
  llvm::sort(eog);
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
  auto eogHas = [&](StringRef text) {
    return llvm::any_of(eog, [&](int32_t id) { return texts[id] == text; });
  };
  auto eogDrop = [&](StringRef text, uint16_t attr) {
    for (size_t k = 0; k < eog.size(); ++k)
      if (texts[eog[k]] == text) {
        attrs[eog[k]] = attr;
        eog.erase(eog.begin() + k);
        return;
      }
  };
  // gpt-oss / solar-open: <|end|> ends a message, not the generation.
  bool hasCall = eogHas("<|call|>") || eogHas("<|calls|>");
  if (eogHas("<|end|>") && hasCall &&
      (eogHas("<|return|>") || eogHas("<|flush|>")))
    eogDrop("<|end|>", kAttrUserDefined);
  // gemma4, plamo: </s> is an ordinary token there.
  if (eogHas("</s>") && (eogHas("<|tool_response>") || eogHas("<|plamo:eos|>")))
    eogDrop("</s>", kAttrNormal);

  // The special tokens matched in the text, longest first.
  for (size_t i = 0; i < texts.size(); ++i)
    if (attrs[i] & (kAttrControl | kAttrUserDefined | kAttrUnknown))
      specials.push_back(static_cast<int32_t>(i));
  llvm::stable_sort(specials, [&](int32_t a, int32_t b) {
    return texts[a].size() > texts[b].size();
  });

  // Phi-3 (by general.name, as llama.cpp does): special tokens swallow the
  // whitespace after them, except <unk>, <s> and <|endoftext|>.
  std::string lower = generalName.lower();
  if (StringRef(lower).contains("phi-3") || StringRef(lower).contains("phi3")) {
    for (int32_t id : specials)
      attrs[id] |= kAttrRStrip;
    if (int32_t id = find("</s>"); id >= 0)
      attrs[id] |= kAttrRStrip;
    for (const char *t : {"<unk>", "<s>", "<|endoftext|>"})
      if (int32_t id = find(t); id >= 0)
        attrs[id] &= static_cast<uint16_t>(~kAttrRStrip);
  }

  return eog;
}

Expected<std::unique_ptr<Tokenizer>>
Tokenizer::fromGGUF(const qtc::gguf::GGUFFile &file) {
  using qtc::gguf::Value;
  using qtc::gguf::ValueType;
  std::unique_ptr<Tokenizer> tok(new Tokenizer());
  Impl &impl = *tok->impl_;
  StringRef path = file.path();
  auto fail = [&](StringRef key, const llvm::Twine &what) {
    return makeError(path + ": " + key + ": " + what);
  };
  auto wrongType = [&](StringRef key, const Value &v, StringRef want) {
    return fail(key, "expected " + want + ", got " + v.typeName());
  };
  auto getString = [&](StringRef key,
                       std::optional<StringRef> &out) -> llvm::Error {
    if (const Value *v = file.find(key)) {
      out = v->getString();
      if (!out)
        return wrongType(key, *v, "a string");
    }
    return llvm::Error::success();
  };
  auto getBool = [&](StringRef key, bool &out) -> llvm::Error {
    if (const Value *v = file.find(key)) {
      std::optional<bool> b = v->getBool();
      if (!b)
        return wrongType(key, *v, "a bool");
      out = *b;
    }
    return llvm::Error::success();
  };

  // Model and pre-tokenizer.
  std::optional<StringRef> model, pre, chatTemplate;
  if (llvm::Error e = getString("tokenizer.ggml.model", model))
    return std::move(e);
  if (!model)
    return makeError(path + ": no tokenizer (tokenizer.ggml.model is missing)");
  if (llvm::Error e = getString("tokenizer.ggml.pre", pre))
    return std::move(e);
  if (llvm::Error e = getString("tokenizer.chat_template", chatTemplate))
    return std::move(e);
  tok->chatTemplate_ = chatTemplate.value_or("").str();

  SpecialIds ids;
  if (*model == "llama") {
    tok->kind_ = Kind::SentencePiece;
    ids.bos = 1, ids.eos = 2, ids.unk = 0;
    impl.addSpacePrefix = true;
    tok->addBos_ = true;
  } else if (*model == "gpt2") {
    tok->kind_ = Kind::BPE;
    ids.bos = 11, ids.eos = 11; // llama.cpp's defaults
    StringRef name = pre.value_or("default");
    const PreTokenizer *found = nullptr;
    for (const PreTokenizer &p : kPreTokenizers)
      if (name == p.name)
        found = &p;
    if (!found)
      return fail("tokenizer.ggml.pre",
                  "unsupported pre-tokenizer '" + name + "'");
    tok->pre_ = name.str();
    impl.split = found->split;
    impl.cleanSpaces = found->cleanSpaces;
    impl.ignoreMerges = found->ignoreMerges;
    tok->addBos_ = found->addBos;
  } else {
    return fail("tokenizer.ggml.model", "unsupported tokenizer model '" +
                                            *model +
                                            "' (supported: gpt2, llama)");
  }
  if (llvm::Error e =
          getBool("tokenizer.ggml.add_space_prefix", impl.addSpacePrefix))
    return std::move(e);

  // The vocabulary.
  StringRef tokensKey = "tokenizer.ggml.tokens";
  const Value *tokens = file.find(tokensKey);
  if (!tokens)
    return fail(tokensKey, "missing");
  if (tokens->type != ValueType::Array || tokens->elemType != ValueType::String)
    return wrongType(tokensKey, *tokens, "an array of strings");
  size_t n = tokens->strings.size();
  if (n == 0)
    return fail(tokensKey, "empty vocabulary");
  if (n > static_cast<size_t>(INT32_MAX))
    return fail(tokensKey, "too many tokens");

  std::vector<int64_t> types;
  StringRef typesKey = "tokenizer.ggml.token_type";
  if (const Value *v = file.find(typesKey)) {
    std::optional<std::vector<int64_t>> a = v->getIntArray();
    if (!a)
      return wrongType(typesKey, *v, "an array of integers");
    if (a->size() < n)
      return fail(typesKey,
                  llvm::formatv("{0} entries for {1} tokens", a->size(), n));
    types = std::move(*a);
  }
  StringRef scoresKey = "tokenizer.ggml.scores";
  if (const Value *v = file.find(scoresKey)) {
    std::optional<std::vector<float>> a = v->getFloatArray();
    if (!a)
      return wrongType(scoresKey, *v, "an array of numbers");
    if (a->size() < n)
      return fail(scoresKey,
                  llvm::formatv("{0} entries for {1} tokens", a->size(), n));
    impl.scores.assign(a->begin(), a->begin() + n);
    // A NaN would break the merge queue's ordering.
    for (float &f : impl.scores)
      if (std::isnan(f))
        f = -std::numeric_limits<float>::infinity();
  } else {
    impl.scores.assign(n, 0.0f);
  }

  tok->texts_.resize(n);
  impl.attrs.resize(n);
  impl.ids.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    StringRef text = tokens->strings[i];
    StringRef saved = text.empty()
                          ? impl.saver.save("[EMPTY_" + llvm::Twine(i) + "]")
                          : impl.saver.save(text);
    tok->texts_[i] = saved;
    if (!impl.ids.try_emplace(saved, static_cast<int32_t>(i)).second)
      return fail(tokensKey, llvm::formatv("token {0} repeats token {1}", i,
                                           impl.ids[saved]));
    impl.attrs[i] = types.empty() ? kAttrNormal : attrOfType(types[i]);
  }

  if (tok->kind_ == Kind::BPE) {
    StringRef mergesKey = "tokenizer.ggml.merges";
    const Value *merges = file.find(mergesKey);
    if (!merges)
      return fail(mergesKey, "missing");
    if (merges->type != ValueType::Array ||
        merges->elemType != ValueType::String)
      return wrongType(mergesKey, *merges, "an array of strings");
    impl.ranks.reserve(merges->strings.size());
    for (size_t r = 0; r < merges->strings.size(); ++r) {
      StringRef m = impl.saver.save(merges->strings[r]);
      // "left right", split at the first space after the first byte.
      size_t at = m.size() > 1 ? m.find(' ', 1) : StringRef::npos;
      std::pair<StringRef, StringRef> key;
      if (at != StringRef::npos)
        key = {m.substr(0, at), m.substr(at + 1)};
      impl.ranks.try_emplace(key, static_cast<int32_t>(r));
    }
  }

  // Special token ids: defaults (dropped when out of range), then keys.
  auto inRange = [&](int64_t id) { return id >= 0 && id < (int64_t)n; };
  auto specialId = [&](StringRef key, int32_t &id) -> llvm::Error {
    if (!inRange(id))
      id = -1;
    if (const Value *v = file.find(key)) {
      if (!v->isInteger())
        return wrongType(key, *v, "an integer");
      std::optional<int64_t> x = v->getInt(); // none: past INT64_MAX
      if (x && inRange(*x)) // else llama.cpp keeps the default
        id = static_cast<int32_t>(*x);
    }
    return llvm::Error::success();
  };
  const std::pair<const char *, int32_t *> idKeys[] = {
      {"tokenizer.ggml.bos_token_id", &ids.bos},
      {"tokenizer.ggml.eos_token_id", &ids.eos},
      {"tokenizer.ggml.eot_token_id", &ids.eot},
      {"tokenizer.ggml.eom_token_id", &ids.eom},
      {"tokenizer.ggml.unknown_token_id", &ids.unk},
      {"tokenizer.ggml.seperator_token_id", &ids.sep}, // sic
      {"tokenizer.ggml.padding_token_id", &ids.pad},
      {"tokenizer.ggml.mask_token_id", &ids.mask},
      {"tokenizer.ggml.fim_pre_token_id", &ids.fimPre},
      {"tokenizer.ggml.fim_suf_token_id", &ids.fimSuf},
      {"tokenizer.ggml.fim_mid_token_id", &ids.fimMid},
      {"tokenizer.ggml.fim_pad_token_id", &ids.fimPad},
      {"tokenizer.ggml.fim_rep_token_id", &ids.fimRep},
      {"tokenizer.ggml.fim_sep_token_id", &ids.fimSep},
      {"tokenizer.ggml.prefix_token_id", &ids.fimPre},
      {"tokenizer.ggml.suffix_token_id", &ids.fimSuf},
      {"tokenizer.ggml.middle_token_id", &ids.fimMid},
  };
  for (auto [key, id] : idKeys)
    if (llvm::Error e = specialId(key, *id))
      return std::move(e);
  if (llvm::Error e = getBool("tokenizer.ggml.add_bos_token", tok->addBos_))
    return std::move(e);
  if (llvm::Error e = getBool("tokenizer.ggml.add_eos_token", tok->addEos_))
    return std::move(e);

  std::optional<StringRef> name;
  if (const Value *v = file.find("general.name"))
    name = v->getString();
  tok->eog_ = impl.markSpecialTokens(tok->texts_, ids, name.value_or(""));

  tok->bos_ = ids.bos;
  tok->eos_ = ids.eos;
  tok->eot_ = ids.eot;
  tok->unk_ = ids.unk;
  return std::move(tok);
}

//===----------------------------------------------------------------------===//
// Encoding
//===----------------------------------------------------------------------===//

std::vector<Fragment>
Tokenizer::Impl::splitSpecials(StringRef text, bool parseSpecial,
                               ArrayRef<StringRef> texts) const {
  std::vector<Fragment> frags;
  if (!text.empty())
    frags.push_back({-1, 0, text.size()});
  for (int32_t id : specials) {
    uint16_t attr = attrs[id];
    if (!parseSpecial && (attr & (kAttrControl | kAttrUnknown)))
      continue;
    StringRef needle = texts[id];
    std::vector<Fragment> next;
    next.reserve(frags.size());
    for (const Fragment &f : frags) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      // Every occurrence, left to right; LSTRIP / RSTRIP tokens also take
      // the ASCII whitespace before / after them.
      size_t pos = f.begin, end = f.end;
      while (pos < end) {
        size_t at = text.substr(0, end).find(needle, pos);
        if (at == StringRef::npos)
          break;
        size_t leftEnd = at;
        if (attr & kAttrLStrip)
          while (leftEnd > pos && isAsciiSpace(text[leftEnd - 1]))
            --leftEnd;
        if (leftEnd > pos)
          next.push_back({-1, pos, leftEnd});
        next.push_back({id, 0, 0});
        pos = at + needle.size();
        if (attr & kAttrRStrip)
          while (pos < end && isAsciiSpace(text[pos]))
            ++pos;
      }
      if (pos < end)
        next.push_back({-1, pos, end});
    }
    frags = std::move(next);
  }
  return frags;
}

llvm::Error
Tokenizer::Impl::encodeSentencePiece(StringRef fragment, bool spacePrefix,
                                     int32_t unk,
                                     std::vector<int32_t> &out) const {
  std::string word =
      replaceAll((spacePrefix ? " " : "") + fragment.str(), " ", kSpaceMarker);
  std::vector<Symbol> syms = charSymbols(word);
  mergeSymbols<float>(
      word, syms,
      [&](StringRef l, StringRef r) -> std::optional<float> {
        // l and r are adjacent in `word`.
        int32_t id = find(StringRef(l.data(), l.size() + r.size()));
        if (id < 0)
          return std::nullopt;
        return scores[id];
      },
      [](float a, float b) { return a > b; });
  for (int32_t i = syms.empty() ? -1 : 0; i >= 0; i = syms[i].next) {
    StringRef s = StringRef(word).substr(syms[i].begin, syms[i].len);
    int32_t id = find(s);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    // Byte fallback: <0xNN>, else the byte itself as a token, else (where
    // llama.cpp aborts) the unknown token.
    for (char c : s) {
      uint8_t b = static_cast<uint8_t>(c);
      int32_t byteId = find("<0x" + hex2(b, /*upper=*/true) + ">");
      if (byteId < 0)
        byteId = find(StringRef(&c, 1));
      if (byteId < 0)
        byteId = unk;
      if (byteId < 0)
        return makeError("no token for byte 0x" + hex2(b, true) +
                         ", and no unknown token");
      out.push_back(byteId);
    }
  }
  return llvm::Error::success();
}

llvm::Error Tokenizer::Impl::encodeBPE(StringRef text, size_t begin, size_t end,
                                       std::vector<int32_t> &out) const {
  StringRef fragment = text.slice(begin, end);
  CodepointText cpt;
  size_t bad = 0;
  // The text is well-formed; a fragment is not only when a vocabulary entry
  // that is not UTF-8 itself was found inside a character.
  if (!decodeUTF8(fragment, cpt.cps, bad))
    return makeError(llvm::formatv("a special token of the vocabulary splits "
                                   "the character at byte {0} of the text",
                                   begin + bad));
  cpt.info.reserve(cpt.cps.size());
  std::vector<size_t> offsets; // of each code point in `fragment`
  offsets.reserve(cpt.cps.size() + 1);
  size_t off = 0;
  for (uint32_t cp : cpt.cps) {
    cpt.info.push_back(charInfo(cp));
    offsets.push_back(off);
    off += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  offsets.push_back(off);

  std::string word;
  for (auto [b, e] : preTokenize(split, cpt)) {
    // The word's bytes as GPT-2 code points.
    word.clear();
    for (char c : fragment.slice(offsets[b], offsets[e]))
      appendUTF8(word, byteToCodepoint(static_cast<uint8_t>(c)));
    std::vector<Symbol> syms = mergedSymbols(word);
    for (int32_t i = syms.empty() ? -1 : 0; i >= 0; i = syms[i].next) {
      StringRef s = StringRef(word).substr(syms[i].begin, syms[i].len);
      if (int32_t id = find(s); id >= 0) {
        out.push_back(id);
        continue;
      }
      // llama.cpp looks each byte of the symbol up as a one-byte token and
      // drops those that are none.
      for (size_t k = 0; k < s.size(); ++k)
        if (int32_t byteId = find(s.substr(k, 1)); byteId >= 0)
          out.push_back(byteId);
    }
  }
  return llvm::Error::success();
}

Expected<std::vector<int32_t>>
Tokenizer::encode(StringRef text, bool addSpecial, bool parseSpecial) const {
  const Impl &impl = *impl_;
  if (text.size() > static_cast<size_t>(INT32_MAX))
    return makeError("the text is too long (2 GiB at most)");
  {
    std::vector<uint32_t> scratch;
    size_t bad = 0;
    if (!decodeUTF8(text, scratch, bad))
      return makeError(
          llvm::formatv("invalid UTF-8 at byte {0} of the text", bad));
  }

  if (impl.hf) {
    std::vector<int32_t> out;
    if (addSpecial)
      out = impl.prefix;
    for (const Fragment &f : impl.splitAdded(text, parseSpecial)) {
      if (f.token >= 0)
        out.push_back(f.token);
      else
        impl.encodeHF(text, f.begin, f.end, out);
    }
    if (addSpecial)
      out.insert(out.end(), impl.suffix.begin(), impl.suffix.end());
    return out;
  }

  std::vector<int32_t> out;
  if (addSpecial && addBos_) {
    if (bos_ < 0)
      return makeError("the model asks for a BOS token but its vocabulary "
                       "has none");
    out.push_back(bos_);
  }
  // A SentencePiece fragment gets the space prefix at the start of the text
  // and after each special token.
  bool prevSpecial = true;
  for (const Fragment &f : impl.splitSpecials(text, parseSpecial, texts_)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      prevSpecial = true;
      continue;
    }
    llvm::Error e = kind_ == Kind::SentencePiece
                        ? impl.encodeSentencePiece(
                              text.slice(f.begin, f.end),
                              impl.addSpacePrefix && prevSpecial, unk_, out)
                        : impl.encodeBPE(text, f.begin, f.end, out);
    if (e)
      return std::move(e);
    prevSpecial = false;
  }
  if (addSpecial && addEos_) {
    if (eos_ < 0)
      return makeError("the model asks for an EOS token but its vocabulary "
                       "has none");
    out.push_back(eos_);
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Decoding
//===----------------------------------------------------------------------===//

std::string Tokenizer::tokenPiece(int32_t id, bool renderSpecial) const {
  if (id < 0 || id >= vocabSize())
    return {};
  if (impl_->hf)
    return impl_->decodeHF(id, texts_, renderSpecial);
  uint16_t attr = impl_->attrs[id];
  StringRef text = texts_[id];
  if (attr & (kAttrUnknown | kAttrControl))
    return renderSpecial ? text.str() : std::string();
  if (attr & kAttrUserDefined)
    return text.str();
  if (attr & kAttrNormal) {
    if (kind_ == Kind::SentencePiece)
      return replaceAll(text, kSpaceMarker, " ");
    std::string out;
    for (uint32_t cp : decodeLenient(text)) {
      int b = codepointToByte(cp);
      if (b >= 0) {
        out.push_back(static_cast<char>(b));
        continue;
      }
      // llama.cpp's marker for a code point that is no byte.
      std::string utf8;
      appendUTF8(utf8, cp);
      out += "[UNK_BYTE_0x";
      for (char c : utf8)
        out += hex2(static_cast<uint8_t>(c), /*upper=*/false);
      out += text.str() + "]";
    }
    return out;
  }
  if (attr & kAttrByte)
    return std::string(1, static_cast<char>(byteOfByteToken(text)));
  return {}; // unused, undefined
}

std::string Tokenizer::decode(ArrayRef<int32_t> ids, bool renderSpecial) const {
  if (impl_->hf)
    return impl_->decodeHF(ids, texts_, renderSpecial);
  std::string text;
  bool stripSpace = impl_->addSpacePrefix;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocabSize())
      continue;
    std::string piece = tokenPiece(id, renderSpecial);
    size_t skip = stripSpace && !piece.empty() && piece[0] == ' ' ? 1 : 0;
    text.append(piece, skip, std::string::npos);
    stripSpace = false;
  }
  if (!impl_->cleanSpaces || text.empty())
    return text;

  // llama.cpp's clean-up for BPE vocabularies, three passes. Each keeps the
  // first character and reads the others as they were before the pass.
  // 1. No space before ? ! . ,
  std::string a(1, text[0]);
  for (size_t i = 1; i < text.size(); ++i) {
    char x = text[i];
    if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ','))
      a.pop_back();
    a.push_back(x);
  }
  // 2. " ' " becomes "'"; the space consumed after it no longer counts as
  //    one for the next character.
  std::string b(1, a[0]);
  bool prevConsumed = false;
  for (size_t i = 1; i < a.size(); ++i) {
    char x = a[i];
    bool prevSpace = a[i - 1] == ' ' && !prevConsumed;
    prevConsumed = false;
    if (x == '\'' && i + 1 < a.size() && prevSpace && a[i + 1] == ' ') {
      b.pop_back();
      b.push_back(x);
      ++i; // the space after
      prevConsumed = true;
      continue;
    }
    b.push_back(x);
  }
  // 3. No space before 's 'm 're 've.
  std::string c(1, b[0]);
  for (size_t i = 1; i < b.size(); ++i) {
    char x = b[i];
    if (b[i - 1] == ' ' && x == '\'' && i + 1 < b.size()) {
      char x1 = b[i + 1];
      char x2 = i + 2 < b.size() ? b[i + 2] : 0;
      bool glued = x1 == 's' || x1 == 'm' ||
                   (i + 2 < b.size() &&
                    ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')));
      if (glued)
        c.pop_back();
    }
    c.push_back(x);
  }
  return c;
}

//===----------------------------------------------------------------------===//
// Hugging Face tokenizer.json
//
// What the `tokenizers` library does with a tokenizer.json, for the
// components decoder models' files use:
//
//  1. Added tokens are found in the text, leftmost first and the longest
//     there, in two passes: those with "normalized": false on the raw text,
//     then the others (only allowed without a normalizer, where the text
//     stays as it is). lstrip / rstrip tokens take the whitespace beside
//     them. Without parseSpecial, "special" ones are not looked for.
//  2. Each fragment between them is normalized (Prepend, Replace), split by
//     the pre-tokenizers in order (Split with a known expression, Digits,
//     ByteLevel, Metaspace), and each piece goes through BPE: the symbols
//     of the piece merged by the ranks of "merges", the piece itself when
//     ignore_merges and it is in the vocabulary; a character no token
//     covers becomes its <0xNN> tokens (byte_fallback) or unk_token.
//  3. addSpecial: the post-processor's tokens around the text.
//
// Decoding: the tokens' texts (special added tokens' only with
// renderSpecial), added tokens' included, go through the decoders in order
// (ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip).
//===----------------------------------------------------------------------===//

namespace {

using llvm::json::Array;
using llvm::json::Object;
using JValue = llvm::json::Value;

// The pre-tokenizer expressions of the published tokenizer.json files, as
// written there, and the splitters above that compute them.
const struct {
  const char *regex;
  Split split;
} kHFRegexes[] = {
    // GPT-2 (and ByteLevel's use_regex)
    {R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
     Split::GPT2},
    // Llama 3
    {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     Split::Llama3},
    // Qwen 2
    {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     Split::Qwen2},
};

const char *jsonKind(const JValue &v) {
  switch (v.kind()) {
  case JValue::Null:
    return "null";
  case JValue::Boolean:
    return "a bool";
  case JValue::Number:
    return "a number";
  case JValue::String:
    return "a string";
  case JValue::Array:
    return "an array";
  case JValue::Object:
    return "an object";
  }
  return "?";
}

/// Typed reads from a parsed JSON file; errors name the file and the JSON
/// path ("model.merges[3]").
struct JSONFile {
  std::string name;
  JValue root = nullptr;

  llvm::Error fail(const std::string &at, const llvm::Twine &what) const {
    return makeError(name + ": " + (at.empty() ? "" : at + ": ") + what);
  }
  llvm::Error wrong(const std::string &at, const JValue &v,
                    StringRef want) const {
    return fail(at, "expected " + want + ", got " + jsonKind(v));
  }
  static std::string join(const std::string &at, StringRef key) {
    return at.empty() ? key.str() : at + "." + key.str();
  }
  static std::string index(const std::string &at, size_t i) {
    return at + "[" + std::to_string(i) + "]";
  }

  llvm::Error object(const JValue &v, const std::string &at,
                     const Object *&out) const {
    out = v.getAsObject();
    return out ? llvm::Error::success() : wrong(at, v, "an object");
  }
  llvm::Error array(const JValue &v, const std::string &at,
                    const Array *&out) const {
    out = v.getAsArray();
    return out ? llvm::Error::success() : wrong(at, v, "an array");
  }
  /// o[key] as a string: `def` when missing or null (an error when there is
  /// no default).
  llvm::Error str(const Object &o, const std::string &at, StringRef key,
                  std::string &out,
                  std::optional<StringRef> def = std::nullopt) const {
    const JValue *v = o.get(key);
    if (!v || v->kind() == JValue::Null) {
      if (!def)
        return fail(join(at, key), "missing");
      out = def->str();
      return llvm::Error::success();
    }
    std::optional<StringRef> s = v->getAsString();
    if (!s)
      return wrong(join(at, key), *v, "a string");
    out = s->str();
    return llvm::Error::success();
  }
  llvm::Error boolean(const Object &o, const std::string &at, StringRef key,
                      bool &out, std::optional<bool> def) const {
    const JValue *v = o.get(key);
    if (!v || v->kind() == JValue::Null) {
      if (!def)
        return fail(join(at, key), "missing");
      out = *def;
      return llvm::Error::success();
    }
    std::optional<bool> b = v->getAsBoolean();
    if (!b)
      return wrong(join(at, key), *v, "a bool");
    out = *b;
    return llvm::Error::success();
  }
  llvm::Error integer(const JValue &v, const std::string &at, int64_t lo,
                      int64_t hi, int64_t &out) const {
    std::optional<int64_t> i = v.getAsInteger();
    if (!i)
      return wrong(at, v, "an integer");
    if (*i < lo || *i > hi)
      return fail(at, llvm::formatv("{0} is out of range [{1}, {2}]", *i, lo,
                                    hi));
    out = *i;
    return llvm::Error::success();
  }
  /// The "type" of a component object.
  llvm::Error type(const Object &o, const std::string &at,
                   std::string &out) const {
    return str(o, at, "type", out);
  }
};

/// Reads `path` as JSON; `required` false: a missing file is no error and
/// leaves `file.root` null.
llvm::Error readJSON(StringRef path, JSONFile &file, bool required) {
  file.name = path.str();
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buf) {
    if (!required && buf.getError() == std::errc::no_such_file_or_directory)
      return llvm::Error::success();
    return makeError(path + ": cannot read: " + buf.getError().message());
  }
  Expected<JValue> v = llvm::json::parse((*buf)->getBuffer());
  if (!v)
    return makeError(path + ": not valid JSON: " +
                     llvm::toString(v.takeError()));
  file.root = std::move(*v);
  if (!file.root.getAsObject())
    return file.wrong("", file.root, "an object at the top");
  return llvm::Error::success();
}

/// Whether `text` is a byte token, "<0xNN>".
bool isByteToken(StringRef text) {
  return text.size() == 6 && text.starts_with("<0x") && text.ends_with(">") &&
         llvm::isHexDigit(text[3]) && llvm::isHexDigit(text[4]);
}

/// Code points of a well-formed UTF-8 string with their classes and byte
/// offsets (one more offset at the end).
void toCodepoints(StringRef s, CodepointText &t, std::vector<size_t> &offsets) {
  t.cps.clear();
  t.info.clear();
  offsets.clear();
  size_t bad = 0;
  decodeUTF8(s, t.cps, bad);
  size_t off = 0;
  for (uint32_t cp : t.cps) {
    t.info.push_back(charInfo(cp));
    offsets.push_back(off);
    off += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  offsets.push_back(off);
}

/// Whether the code point ending at byte `end` of `text` (starting at
/// `begin` or later) is whitespace; its start in `start`.
bool whitespaceBefore(StringRef text, size_t begin, size_t end,
                      size_t &start) {
  if (end <= begin)
    return false;
  size_t i = end - 1;
  while (i > begin && (static_cast<uint8_t>(text[i]) & 0xC0) == 0x80)
    --i;
  std::vector<uint32_t> cps;
  size_t bad = 0;
  if (!decodeUTF8(text.slice(i, end), cps, bad) || cps.size() != 1)
    return false;
  start = i;
  return charInfo(cps[0]).space;
}

/// Whether the code point at byte `at` of `text` is whitespace; its end in
/// `next`.
bool whitespaceAt(StringRef text, size_t at, size_t &next) {
  if (at >= text.size())
    return false;
  size_t len = utf8LengthFromLead(static_cast<uint8_t>(text[at]));
  std::vector<uint32_t> cps;
  size_t bad = 0;
  if (len == 0 || at + len > text.size() ||
      !decodeUTF8(text.substr(at, len), cps, bad) || cps.size() != 1)
    return false;
  next = at + len;
  return charInfo(cps[0]).space;
}

} // namespace

std::vector<Fragment> Tokenizer::Impl::splitAdded(StringRef text,
                                                  bool parseSpecial) const {
  std::vector<Fragment> frags;
  if (!text.empty())
    frags.push_back({-1, 0, text.size()});
  // Two passes: "normalized": false tokens, then the others.
  for (bool normalizedPass : {false, true}) {
    // Candidates by first byte, longest first.
    std::vector<const Added *> byFirst[256];
    bool any = false;
    for (const Added &a : added) {
      if (a.content.empty() || (a.special && !parseSpecial))
        continue;
      if (addedNormalized[&a - added.data()] != normalizedPass)
        continue;
      byFirst[static_cast<uint8_t>(a.content[0])].push_back(&a);
      any = true;
    }
    if (!any)
      continue;
    for (auto &list : byFirst)
      llvm::stable_sort(list, [](const Added *x, const Added *y) {
        return x->content.size() > y->content.size();
      });
    std::vector<Fragment> next;
    for (const Fragment &f : frags) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      size_t pos = f.begin;
      size_t i = f.begin;
      while (i < f.end) {
        const Added *match = nullptr;
        for (const Added *a : byFirst[static_cast<uint8_t>(text[i])])
          if (a->content.size() <= f.end - i &&
              text.substr(i, a->content.size()) == a->content) {
            match = a;
            break;
          }
        if (!match) {
          ++i;
          continue;
        }
        size_t left = i, right = i + match->content.size(), at;
        if (match->lstrip)
          while (whitespaceBefore(text, pos, left, at))
            left = at;
        if (match->rstrip)
          while (right < f.end && whitespaceAt(text, right, at) && at <= f.end)
            right = at;
        if (left > pos)
          next.push_back({-1, pos, left});
        next.push_back({match->id, 0, 0});
        pos = i = right;
      }
      if (pos < f.end)
        next.push_back({-1, pos, f.end});
    }
    frags = std::move(next);
  }
  return frags;
}

void Tokenizer::Impl::encodeHF(StringRef text, size_t begin, size_t end,
                               std::vector<int32_t> &out) const {
  std::string s = text.slice(begin, end).str();
  for (const HFStep &n : normalizer) {
    if (n.kind == HFStep::Prepend) {
      if (!s.empty())
        s = n.a + s;
    } else {
      s = replaceAll(s, n.a, n.b);
    }
  }
  if (s.empty())
    return;

  std::vector<std::string> pieces{std::move(s)};
  CodepointText cpt;
  std::vector<size_t> offsets;
  for (const HFStep &p : preTokenizer) {
    std::vector<std::string> next;
    for (size_t k = 0; k < pieces.size(); ++k) {
      std::string piece = std::move(pieces[k]);
      auto splitBy = [&](const std::string &in, auto fn) {
        toCodepoints(in, cpt, offsets);
        Ranges r;
        if (!cpt.cps.empty())
          r.emplace_back(0, cpt.cps.size());
        r = fn(r);
        std::vector<std::string> parts;
        for (auto [b, e] : r)
          parts.push_back(in.substr(offsets[b], offsets[e] - offsets[b]));
        return parts;
      };
      auto regexSplit = [&](Split split) {
        return [&, split](const Ranges &r) {
          return refine(r, [&](size_t b, size_t e, Ranges &o) {
            if (split == Split::GPT2)
              splitGPT2(cpt, b, e, o);
            else
              splitLlama3(cpt, b, e, split == Split::Llama3 ? 3 : 1, o);
          });
        };
      };
      switch (p.kind) {
      case HFStep::Regex:
        for (std::string &x : splitBy(piece, regexSplit(p.split)))
          next.push_back(std::move(x));
        break;
      case HFStep::Digits:
        for (std::string &x : splitBy(piece, [&](const Ranges &r) {
               return splitAround(r, /*runs=*/!p.flag, [&](size_t i) {
                 return cpt.info[i].isNumber();
               });
             }))
          next.push_back(std::move(x));
        break;
      case HFStep::ByteLevel: {
        if (p.flag && !StringRef(piece).starts_with(" "))
          piece = " " + piece;
        std::vector<std::string> parts;
        if (p.useRegex)
          parts = splitBy(piece, regexSplit(Split::GPT2));
        else
          parts.push_back(piece);
        for (const std::string &x : parts) {
          std::string mapped;
          for (char c : x)
            appendUTF8(mapped, byteToCodepoint(static_cast<uint8_t>(c)));
          next.push_back(std::move(mapped));
        }
        break;
      }
      case HFStep::Metaspace: {
        piece = replaceAll(piece, " ", p.a);
        bool first = begin == 0 && k == 0;
        if ((p.scheme == 0 || (p.scheme == 1 && first)) &&
            !StringRef(piece).starts_with(p.a))
          piece = p.a + piece;
        if (!p.flag) {
          next.push_back(std::move(piece));
          break;
        }
        // Cut before every replacement character.
        StringRef rest = piece;
        while (!rest.empty()) {
          size_t at = rest.find(p.a, 1);
          if (at == StringRef::npos)
            at = rest.size();
          next.push_back(rest.take_front(at).str());
          rest = rest.drop_front(at);
        }
        break;
      }
      default:
        next.push_back(std::move(piece));
      }
    }
    pieces = std::move(next);
  }

  for (const std::string &piece : pieces) {
    if (piece.empty())
      continue;
    std::vector<Symbol> syms = mergedSymbols(piece);
    bool lastUnk = false;
    for (int32_t i = syms.empty() ? -1 : 0; i >= 0; i = syms[i].next) {
      StringRef sym = StringRef(piece).substr(syms[i].begin, syms[i].len);
      if (int32_t id = find(sym); id >= 0) {
        out.push_back(id);
        lastUnk = false;
        continue;
      }
      if (byteFallback) {
        std::vector<int32_t> bytes;
        for (char c : sym) {
          int32_t b =
              find("<0x" + hex2(static_cast<uint8_t>(c), /*upper=*/true) + ">");
          if (b < 0)
            break;
          bytes.push_back(b);
        }
        if (bytes.size() == sym.size()) {
          out.insert(out.end(), bytes.begin(), bytes.end());
          lastUnk = false;
          continue;
        }
      }
      if (hfUnk >= 0 && !(fuseUnk && lastUnk)) {
        out.push_back(hfUnk);
        lastUnk = true;
      }
    }
  }
}

std::string Tokenizer::Impl::decodeHF(ArrayRef<int32_t> ids,
                                      ArrayRef<StringRef> texts,
                                      bool renderSpecial) const {
  auto runDecoder = [&](std::vector<std::string> tokens) {
    if (!hasDecoder) {
      std::string joined;
      for (size_t i = 0; i < tokens.size(); ++i)
        joined += (i ? " " : "") + tokens[i];
      return joined;
    }
    for (const HFStep &d : decoder) {
      switch (d.kind) {
      case HFStep::ByteLevel: {
        // Each token's characters as GPT-2's bytes; a token with a
        // character outside that map (an added token's text) as it is.
        std::string bytes;
        for (const std::string &t : tokens) {
          std::string mapped;
          bool all = true;
          for (uint32_t cp : decodeLenient(t)) {
            int b = codepointToByte(cp);
            if (b < 0) {
              all = false;
              break;
            }
            mapped.push_back(static_cast<char>(b));
          }
          bytes += all ? mapped : t;
        }
        tokens.assign(1, std::move(bytes));
        break;
      }
      case HFStep::Metaspace:
        for (size_t i = 0; i < tokens.size(); ++i) {
          tokens[i] = replaceAll(tokens[i], d.a, " ");
          if (i == 0 && d.scheme != 2 && StringRef(tokens[i]).starts_with(" "))
            tokens[i].erase(0, 1);
        }
        break;
      case HFStep::Replace:
        for (std::string &t : tokens)
          t = replaceAll(t, d.a, d.b);
        break;
      case HFStep::ByteFallback: {
        std::vector<std::string> next;
        std::string pending;
        bool inBytes = false;
        for (std::string &t : tokens) {
          if (isByteToken(t)) {
            pending.push_back(static_cast<char>(byteOfByteToken(t)));
            inBytes = true;
            continue;
          }
          if (inBytes)
            next.push_back(std::move(pending));
          pending.clear();
          inBytes = false;
          next.push_back(std::move(t));
        }
        if (inBytes)
          next.push_back(std::move(pending));
        tokens = std::move(next);
        break;
      }
      case HFStep::Fuse: {
        std::string joined;
        for (const std::string &t : tokens)
          joined += t;
        tokens.assign(1, std::move(joined));
        break;
      }
      case HFStep::Strip:
        for (std::string &t : tokens) {
          StringRef r = t;
          for (int k = 0; k < d.start && r.starts_with(d.a); ++k)
            r = r.drop_front(d.a.size());
          for (int k = 0; k < d.stop && r.ends_with(d.a); ++k)
            r = r.drop_back(d.a.size());
          t = r.str();
        }
        break;
      default:
        break;
      }
    }
    std::string joined;
    for (const std::string &t : tokens)
      joined += t;
    return joined;
  };

  // All tokens go through the decoders, added ones too (special ones
  // only when rendered).
  std::vector<std::string> tokens;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= texts.size())
      continue;
    if (int32_t a = addedIndex[id]; a >= 0 && added[a].special && !renderSpecial)
      continue;
    if (attrs[id] & (kAttrNormal | kAttrControl | kAttrUserDefined))
      tokens.push_back(texts[id].str());
  }
  return runDecoder(std::move(tokens));
}

namespace {

/// Builds a tokenizer from tokenizer.json and the files beside it.
class HFLoader {
public:
  HFLoader(Tokenizer::Impl &impl, JSONFile &json) : impl(impl), json(json) {}

  llvm::Error model(const Object &m, std::vector<StringRef> &texts);
  llvm::Error addedTokens(const JValue *v, std::vector<StringRef> &texts);
  llvm::Error normalizer(const JValue &v, const std::string &at);
  llvm::Error preTokenizer(const JValue &v, const std::string &at);
  llvm::Error postProcessor(const JValue &v, const std::string &at);
  llvm::Error decoder(const JValue &v, const std::string &at);

  using Step = Tokenizer::Impl::HFStep;
  Tokenizer::Impl &impl;
  JSONFile &json;

private:
  /// Runs `one(object, type, at)` on the component `v` at `at` (nothing
  /// when it is null), or on each element of a "Sequence" of them listed
  /// under `listKey`, recursively: the shape normalizers, pre-tokenizers,
  /// post-processors and decoders share.
  llvm::Error components(
      const JValue &v, const std::string &at, llvm::StringRef listKey,
      llvm::function_ref<llvm::Error(const Object &, const std::string &,
                                     const std::string &)>
          one);
  llvm::Error pattern(const Object &o, const std::string &at,
                      std::string &out, bool &isRegex);
  llvm::Error metaspace(const Object &o, const std::string &at, Step &step);
};

llvm::Error HFLoader::model(const Object &m, std::vector<StringRef> &texts) {
  const std::string at = "model";
  std::string type;
  if (llvm::Error e = json.str(m, at, "type", type, StringRef("BPE")))
    return e;
  if (type != "BPE")
    return json.fail(at + ".type", "unsupported model '" + type +
                                       "' (supported: BPE)");
  const JValue *vocabV = m.get("vocab");
  if (!vocabV)
    return json.fail(at + ".vocab", "missing");
  const Object *vocab;
  if (llvm::Error e = json.object(*vocabV, at + ".vocab", vocab))
    return e;
  if (vocab->empty())
    return json.fail(at + ".vocab", "empty vocabulary");
  std::vector<std::pair<StringRef, int64_t>> entries;
  entries.reserve(vocab->size());
  int64_t maxId = -1;
  for (const auto &[key, value] : *vocab) {
    int64_t id;
    if (llvm::Error e = json.integer(value, at + ".vocab[\"" +
                                                llvm::StringRef(key).str() +
                                                "\"]",
                                     0, INT32_MAX - 1, id))
      return e;
    entries.emplace_back(impl.saver.save(StringRef(key)), id);
    maxId = std::max(maxId, id);
  }
  texts.assign(maxId + 1, StringRef());
  impl.attrs.assign(maxId + 1, 0);
  for (auto [text, id] : entries) {
    if (!texts[id].empty() || (text.empty() && impl.attrs[id]))
      return json.fail(at + ".vocab", llvm::formatv("id {0} is given twice",
                                                    id));
    texts[id] = text;
    impl.attrs[id] = kAttrNormal;
    impl.ids.try_emplace(text, static_cast<int32_t>(id));
  }

  // Options.
  if (llvm::Error e =
          json.boolean(m, at, "byte_fallback", impl.byteFallback, false))
    return e;
  if (llvm::Error e =
          json.boolean(m, at, "ignore_merges", impl.ignoreMerges, false))
    return e;
  if (llvm::Error e = json.boolean(m, at, "fuse_unk", impl.fuseUnk, false))
    return e;
  std::string unk;
  if (llvm::Error e = json.str(m, at, "unk_token", unk, StringRef("")))
    return e;
  if (!unk.empty()) {
    impl.hfUnk = impl.find(unk);
    if (impl.hfUnk < 0)
      return json.fail(at + ".unk_token",
                       "'" + unk + "' is not in the vocabulary");
  }
  for (StringRef key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    std::string v;
    if (llvm::Error e = json.str(m, at, key, v, StringRef("")))
      return e;
    if (!v.empty())
      return json.fail(at + "." + key.str(), "'" + v + "' is not supported");
  }
  if (const JValue *d = m.get("dropout"); d && d->kind() != JValue::Null) {
    std::optional<double> p = d->getAsNumber();
    if (!p)
      return json.wrong(at + ".dropout", *d, "a number or null");
    if (*p != 0.0)
      return json.fail(at + ".dropout",
                       "BPE dropout is not supported (it makes encoding "
                       "random)");
  }

  // Merges: "left right" or ["left", "right"].
  const JValue *mergesV = m.get("merges");
  if (!mergesV)
    return json.fail(at + ".merges", "missing");
  const Array *merges;
  if (llvm::Error e = json.array(*mergesV, at + ".merges", merges))
    return e;
  impl.ranks.reserve(merges->size());
  for (size_t r = 0; r < merges->size(); ++r) {
    const JValue &v = (*merges)[r];
    std::string where = JSONFile::index(at + ".merges", r);
    StringRef left, right;
    if (std::optional<StringRef> s = v.getAsString()) {
      size_t sp = s->find(' ');
      if (sp == StringRef::npos || s->find(' ', sp + 1) != StringRef::npos)
        return json.fail(where, "expected \"left right\", got \"" + *s + "\"");
      left = s->take_front(sp);
      right = s->drop_front(sp + 1);
    } else if (const Array *pair = v.getAsArray();
               pair && pair->size() == 2 && (*pair)[0].getAsString() &&
               (*pair)[1].getAsString()) {
      left = *(*pair)[0].getAsString();
      right = *(*pair)[1].getAsString();
    } else {
      return json.wrong(where, v, "\"left right\" or [\"left\", \"right\"]");
    }
    for (StringRef part : {left, right})
      if (impl.find(part) < 0)
        return json.fail(where, "'" + part + "' is not in the vocabulary");
    if (impl.find((left + right).str()) < 0)
      return json.fail(where, "'" + left + right +
                                  "' (the merge) is not in the vocabulary");
    // Keys point into the saved vocabulary texts.
    StringRef l = texts[impl.find(left)], rt = texts[impl.find(right)];
    impl.ranks.try_emplace({l, rt}, static_cast<int32_t>(r));
  }
  return llvm::Error::success();
}

llvm::Error HFLoader::addedTokens(const JValue *v,
                                  std::vector<StringRef> &texts) {
  const std::string at = "added_tokens";
  if (!v || v->kind() == JValue::Null)
    return llvm::Error::success();
  const Array *list;
  if (llvm::Error e = json.array(*v, at, list))
    return e;
  for (size_t i = 0; i < list->size(); ++i) {
    std::string where = JSONFile::index(at, i);
    const Object *o;
    if (llvm::Error e = json.object((*list)[i], where, o))
      return e;
    const JValue *idV = o->get("id");
    if (!idV)
      return json.fail(where + ".id", "missing");
    int64_t id;
    if (llvm::Error e = json.integer(*idV, where + ".id", 0, INT32_MAX - 1, id))
      return e;
    std::string content;
    bool special, lstrip, rstrip, normalized, singleWord;
    if (llvm::Error e = json.str(*o, where, "content", content))
      return e;
    if (content.empty())
      return json.fail(where + ".content", "empty");
    if (llvm::Error e = json.boolean(*o, where, "special", special, false))
      return e;
    if (llvm::Error e = json.boolean(*o, where, "lstrip", lstrip, false))
      return e;
    if (llvm::Error e = json.boolean(*o, where, "rstrip", rstrip, false))
      return e;
    if (llvm::Error e =
            json.boolean(*o, where, "normalized", normalized, !special))
      return e;
    if (llvm::Error e =
            json.boolean(*o, where, "single_word", singleWord, false))
      return e;
    if (singleWord)
      return json.fail(where + ".single_word", "true is not supported");
    if (static_cast<size_t>(id) >= texts.size()) {
      texts.resize(id + 1);
      impl.attrs.resize(id + 1, 0);
    }
    if (!texts[id].empty() && texts[id] != content &&
        !(impl.attrs[id] & kAttrNormal))
      return json.fail(where + ".id",
                       llvm::formatv("id {0} is given twice", id));
    if (impl.attrs[id] & kAttrNormal && texts[id] != content)
      return json.fail(where + ".id",
                       llvm::formatv("id {0} is '{1}' in the vocabulary", id,
                                     texts[id]));
    StringRef saved = impl.saver.save(content);
    texts[id] = saved;
    impl.attrs[id] = special ? kAttrControl : kAttrUserDefined;
    impl.added.push_back({static_cast<int32_t>(id), saved, special, lstrip,
                          rstrip});
    impl.addedNormalized.push_back(normalized);
  }
  return llvm::Error::success();
}

llvm::Error HFLoader::components(
    const JValue &v, const std::string &at, llvm::StringRef listKey,
    llvm::function_ref<llvm::Error(const Object &, const std::string &,
                                   const std::string &)>
        one) {
  if (v.kind() == JValue::Null)
    return llvm::Error::success();
  const Object *o;
  if (llvm::Error e = json.object(v, at, o))
    return e;
  std::string type;
  if (llvm::Error e = json.type(*o, at, type))
    return e;
  if (type != "Sequence")
    return one(*o, type, at);
  std::string where = at + "." + listKey.str();
  const JValue *list = o->get(listKey);
  const Array *a;
  if (!list)
    return json.fail(where, "missing");
  if (llvm::Error e = json.array(*list, where, a))
    return e;
  for (size_t i = 0; i < a->size(); ++i)
    if (llvm::Error e =
            components((*a)[i], JSONFile::index(where, i), listKey, one))
      return e;
  return llvm::Error::success();
}

llvm::Error HFLoader::pattern(const Object &o, const std::string &at,
                              std::string &out, bool &isRegex) {
  const JValue *p = o.get("pattern");
  if (!p)
    return json.fail(at + ".pattern", "missing");
  const Object *po;
  if (llvm::Error e = json.object(*p, at + ".pattern", po))
    return e;
  if (po->get("String"))
    return isRegex = false, json.str(*po, at + ".pattern", "String", out);
  if (po->get("Regex"))
    return isRegex = true, json.str(*po, at + ".pattern", "Regex", out);
  return json.fail(at + ".pattern", "expected {\"String\": ...} or "
                                    "{\"Regex\": ...}");
}

llvm::Error HFLoader::metaspace(const Object &o, const std::string &at,
                                Step &step) {
  step.kind = Step::Metaspace;
  if (llvm::Error e = json.str(o, at, "replacement", step.a,
                               StringRef(kSpaceMarker)))
    return e;
  if (step.a.empty())
    return json.fail(at + ".replacement", "empty");
  std::string scheme;
  if (llvm::Error e = json.str(o, at, "prepend_scheme", scheme, StringRef("")))
    return e;
  if (scheme.empty()) { // older files: add_prefix_space
    bool add;
    if (llvm::Error e = json.boolean(o, at, "add_prefix_space", add, true))
      return e;
    scheme = add ? "always" : "never";
  }
  if (scheme == "always")
    step.scheme = 0;
  else if (scheme == "first")
    step.scheme = 1;
  else if (scheme == "never")
    step.scheme = 2;
  else
    return json.fail(at + ".prepend_scheme",
                     "unknown value '" + scheme + "'");
  return json.boolean(o, at, "split", step.flag, true);
}

llvm::Error HFLoader::normalizer(const JValue &v, const std::string &at) {
  return components(v, at, "normalizers",
                    [&](const Object &o, const std::string &type,
                        const std::string &at) -> llvm::Error {
                      Step step{};
                      if (type == "Prepend") {
                        step.kind = Step::Prepend;
                        if (llvm::Error e = json.str(o, at, "prepend", step.a))
                          return e;
                      } else if (type == "Replace") {
                        step.kind = Step::Replace;
                        bool isRegex;
                        if (llvm::Error e = pattern(o, at, step.a, isRegex))
                          return e;
                        if (isRegex || step.a.empty())
                          return json.fail(at + ".pattern",
                                           "only a non-empty String pattern is "
                                           "supported");
                        if (llvm::Error e = json.str(o, at, "content", step.b))
                          return e;
                      } else {
                        return json.fail(at + ".type",
                                         "unsupported normalizer '" + type +
                                             "' (supported: Prepend, Replace, "
                                             "Sequence)");
                      }
                      impl.normalizer.push_back(std::move(step));
                      return llvm::Error::success();
                    });
}

llvm::Error HFLoader::preTokenizer(const JValue &v, const std::string &at) {
  return components(
      v, at, "pretokenizers",
      [&](const Object &o, const std::string &type,
          const std::string &at) -> llvm::Error {
        if (!impl.preTokenizer.empty() &&
            (impl.preTokenizer.back().kind == Step::ByteLevel ||
             impl.preTokenizer.back().kind == Step::Metaspace))
          return json.fail(at,
                           "a pre-tokenizer after ByteLevel or Metaspace is "
                           "not supported");
        Step step{};
        if (type == "Split") {
          step.kind = Step::Regex;
          std::string regex, behavior;
          bool isRegex, invert;
          if (llvm::Error e = pattern(o, at, regex, isRegex))
            return e;
          const Split *found = nullptr;
          for (const auto &known : kHFRegexes)
            if (isRegex && regex == known.regex)
              found = &known.split;
          if (!found)
            return json.fail(at + ".pattern",
                             "unsupported expression '" + regex +
                                 "' (supported: GPT-2's, Llama 3's, Qwen 2's)");
          step.split = *found;
          if (llvm::Error e = json.str(o, at, "behavior", behavior))
            return e;
          if (behavior != "Isolated")
            return json.fail(at + ".behavior", "unsupported behavior '" +
                                                   behavior +
                                                   "' (supported: Isolated)");
          if (llvm::Error e = json.boolean(o, at, "invert", invert, false))
            return e;
          if (invert)
            return json.fail(at + ".invert", "true is not supported");
        } else if (type == "Digits") {
          step.kind = Step::Digits;
          if (llvm::Error e =
                  json.boolean(o, at, "individual_digits", step.flag, false))
            return e;
        } else if (type == "ByteLevel") {
          step.kind = Step::ByteLevel;
          if (llvm::Error e =
                  json.boolean(o, at, "add_prefix_space", step.flag, true))
            return e;
          if (llvm::Error e =
                  json.boolean(o, at, "use_regex", step.useRegex, true))
            return e;
        } else if (type == "Metaspace") {
          if (llvm::Error e = metaspace(o, at, step))
            return e;
        } else {
          return json.fail(
              at + ".type",
              "unsupported pre-tokenizer '" + type +
                  "' (supported: ByteLevel, Split, Digits, Metaspace, "
                  "Sequence)");
        }
        impl.preTokenizer.push_back(std::move(step));
        return llvm::Error::success();
      });
}

llvm::Error HFLoader::postProcessor(const JValue &v, const std::string &at) {
  return components(
      v, at, "processors",
      [&](const Object &o, const std::string &type,
          const std::string &at) -> llvm::Error {
        if (type == "ByteLevel")
          return llvm::Error::success(); // offsets only
        if (type != "TemplateProcessing")
          return json.fail(at + ".type",
                           "unsupported post-processor '" + type +
                               "' (supported: TemplateProcessing, ByteLevel, "
                               "Sequence)");
        if (!impl.prefix.empty() || !impl.suffix.empty())
          return json.fail(at, "a second TemplateProcessing is not supported");
        const Object *specials = nullptr;
        if (const JValue *s = o.get("special_tokens"))
          if (llvm::Error e = json.object(*s, at + ".special_tokens", specials))
            return e;
        const JValue *singleV = o.get("single");
        if (!singleV)
          return json.fail(at + ".single", "missing");
        const Array *single;
        if (llvm::Error e = json.array(*singleV, at + ".single", single))
          return e;
        bool seenText = false;
        for (size_t i = 0; i < single->size(); ++i) {
          std::string where = JSONFile::index(at + ".single", i);
          const Object *item;
          if (llvm::Error e = json.object((*single)[i], where, item))
            return e;
          if (const JValue *seq = item->get("Sequence")) {
            const Object *so;
            std::string id;
            if (llvm::Error e = json.object(*seq, where + ".Sequence", so))
              return e;
            if (llvm::Error e = json.str(*so, where + ".Sequence", "id", id))
              return e;
            if (id != "A" || seenText)
              return json.fail(where + ".Sequence.id",
                               "expected the text ('A') once, got '" + id +
                                   "'");
            seenText = true;
            continue;
          }
          const JValue *tokV = item->get("SpecialToken");
          if (!tokV)
            return json.fail(where, "expected Sequence or SpecialToken");
          const Object *to;
          std::string name;
          if (llvm::Error e = json.object(*tokV, where + ".SpecialToken", to))
            return e;
          if (llvm::Error e =
                  json.str(*to, where + ".SpecialToken", "id", name))
            return e;
          const JValue *entry = specials ? specials->get(name) : nullptr;
          std::string entryAt = at + ".special_tokens[\"" + name + "\"]";
          if (!entry)
            return json.fail(entryAt, "missing");
          const Object *eo;
          const Array *idsA;
          if (llvm::Error e = json.object(*entry, entryAt, eo))
            return e;
          const JValue *idsV = eo->get("ids");
          if (!idsV)
            return json.fail(entryAt + ".ids", "missing");
          if (llvm::Error e = json.array(*idsV, entryAt + ".ids", idsA))
            return e;
          for (size_t k = 0; k < idsA->size(); ++k) {
            int64_t id = 0;
            if (llvm::Error e = json.integer(
                    (*idsA)[k], JSONFile::index(entryAt + ".ids", k), 0,
                    int64_t(impl.attrs.size()) - 1, id))
              return e;
            (seenText ? impl.suffix : impl.prefix).push_back(id);
          }
        }
        if (!seenText)
          return json.fail(at + ".single", "no Sequence 'A' (the text)");
        return llvm::Error::success();
      });
}

llvm::Error HFLoader::decoder(const JValue &v, const std::string &at) {
  return components(
      v, at, "decoders",
      [&](const Object &o, const std::string &type,
          const std::string &at) -> llvm::Error {
        Step step{};
        if (type == "ByteLevel") {
          step.kind = Step::ByteLevel;
        } else if (type == "Metaspace") {
          if (llvm::Error e = metaspace(o, at, step))
            return e;
        } else if (type == "Replace") {
          step.kind = Step::Replace;
          bool isRegex;
          if (llvm::Error e = pattern(o, at, step.a, isRegex))
            return e;
          if (isRegex || step.a.empty())
            return json.fail(at + ".pattern",
                             "only a non-empty String pattern is "
                             "supported");
          if (llvm::Error e = json.str(o, at, "content", step.b))
            return e;
        } else if (type == "ByteFallback") {
          step.kind = Step::ByteFallback;
        } else if (type == "Fuse") {
          step.kind = Step::Fuse;
        } else if (type == "Strip") {
          step.kind = Step::Strip;
          if (llvm::Error e = json.str(o, at, "content", step.a))
            return e;
          std::vector<uint32_t> cps;
          size_t bad = 0;
          if (!decodeUTF8(step.a, cps, bad) || cps.size() != 1)
            return json.fail(at + ".content", "expected one character");
          for (auto [key, out] :
               {std::pair<StringRef, int *>{"start", &step.start},
                {"stop", &step.stop}}) {
            const JValue *n = o.get(key);
            int64_t x = 0;
            if (n)
              if (llvm::Error e =
                      json.integer(*n, at + "." + key.str(), 0, 1 << 20, x))
                return e;
            *out = static_cast<int>(x);
          }
        } else {
          return json.fail(at + ".type",
                           "unsupported decoder '" + type +
                               "' (supported: ByteLevel, Metaspace, Replace, "
                               "ByteFallback, Fuse, Strip, Sequence)");
        }
        impl.decoder.push_back(std::move(step));
        impl.hasDecoder = true;
        return llvm::Error::success();
      });
}

/// A token named by tokenizer_config.json: a string, or an object with
/// "content" (an AddedToken); null or missing: none.
llvm::Error configToken(const JSONFile &cfg, StringRef key,
                        std::optional<std::string> &out) {
  const Object &o = *cfg.root.getAsObject();
  const JValue *v = o.get(key);
  if (!v || v->kind() == JValue::Null)
    return llvm::Error::success();
  if (std::optional<StringRef> s = v->getAsString()) {
    out = s->str();
    return llvm::Error::success();
  }
  if (const Object *t = v->getAsObject()) {
    std::string content;
    if (llvm::Error e = cfg.str(*t, key.str(), "content", content))
      return e;
    out = content;
    return llvm::Error::success();
  }
  return cfg.wrong(key.str(), *v, "a string or an object with \"content\"");
}

/// eos_token_id of generation_config.json / config.json: one id or a list.
llvm::Error eosIds(const JSONFile &cfg, int64_t vocab,
                   std::vector<int32_t> &out) {
  const JValue *v = cfg.root.getAsObject()->get("eos_token_id");
  if (!v || v->kind() == JValue::Null)
    return llvm::Error::success();
  if (const Array *a = v->getAsArray()) {
    for (size_t i = 0; i < a->size(); ++i) {
      int64_t id = 0;
      if (llvm::Error e = cfg.integer((*a)[i],
                                      JSONFile::index("eos_token_id", i), 0,
                                      vocab - 1, id))
        return e;
      out.push_back(static_cast<int32_t>(id));
    }
    return llvm::Error::success();
  }
  int64_t id = 0;
  if (llvm::Error e = cfg.integer(*v, "eos_token_id", 0, vocab - 1, id))
    return e;
  out.push_back(static_cast<int32_t>(id));
  return llvm::Error::success();
}

} // namespace

Expected<std::unique_ptr<Tokenizer>> Tokenizer::fromHF(StringRef path) {
  llvm::SmallString<256> file(path), dir(path);
  if (llvm::sys::fs::is_directory(path)) {
    llvm::sys::path::append(file, "tokenizer.json");
    if (!llvm::sys::fs::exists(file))
      return makeError(path + ": no tokenizer.json in this folder");
  } else {
    dir = llvm::sys::path::parent_path(path);
    if (dir.empty())
      dir = ".";
  }
  auto beside = [&](StringRef name) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p);
  };

  std::unique_ptr<Tokenizer> tok(new Tokenizer());
  Impl &impl = *tok->impl_;
  impl.hf = true;
  tok->kind_ = Kind::BPE;
  JSONFile json;
  if (llvm::Error e = readJSON(file, json, /*required=*/true))
    return std::move(e);
  const Object &root = *json.root.getAsObject();
  HFLoader loader(impl, json);

  const JValue *modelV = root.get("model");
  if (!modelV)
    return json.fail("model", "missing");
  const Object *model;
  if (llvm::Error e = json.object(*modelV, "model", model))
    return std::move(e);
  if (llvm::Error e = loader.model(*model, tok->texts_))
    return std::move(e);
  if (llvm::Error e = loader.addedTokens(root.get("added_tokens"), tok->texts_))
    return std::move(e);
  if (tok->texts_.size() > static_cast<size_t>(INT32_MAX))
    return json.fail("model.vocab", "too many tokens");
  impl.addedIndex.assign(tok->texts_.size(), -1);
  for (size_t i = 0; i < impl.added.size(); ++i)
    impl.addedIndex[impl.added[i].id] = static_cast<int32_t>(i);

  static const JValue null = nullptr;
  auto member = [&](StringRef key) -> const JValue & {
    const JValue *v = root.get(key);
    return v ? *v : null;
  };
  if (llvm::Error e = loader.normalizer(member("normalizer"), "normalizer"))
    return std::move(e);
  if (!impl.normalizer.empty())
    for (size_t i = 0; i < impl.added.size(); ++i)
      if (impl.addedNormalized[i])
        return json.fail("added_tokens", "'" + impl.added[i].content +
                                             "' is \"normalized\" and there "
                                             "is a normalizer: not supported");
  if (llvm::Error e =
          loader.preTokenizer(member("pre_tokenizer"), "pre_tokenizer"))
    return std::move(e);
  if (llvm::Error e =
          loader.postProcessor(member("post_processor"), "post_processor"))
    return std::move(e);
  bool hasPostProcessor = member("post_processor").kind() != JValue::Null;
  if (llvm::Error e = loader.decoder(member("decoder"), "decoder"))
    return std::move(e);
  tok->unk_ = impl.hfUnk;

  // tokenizer_config.json: special tokens, chat template.
  JSONFile cfg;
  if (llvm::Error e = readJSON(beside("tokenizer_config.json"), cfg, false))
    return std::move(e);
  auto idOf = [&](StringRef text) -> int32_t {
    for (const Impl::Added &a : impl.added)
      if (a.content == text)
        return a.id;
    return impl.find(text);
  };
  bool addBos = false, addEos = false;
  if (const Object *c = cfg.root.getAsObject()) {
    for (auto [key, id] : {std::pair<StringRef, int32_t *>{"bos_token",
                                                           &tok->bos_},
                           {"eos_token", &tok->eos_}}) {
      std::optional<std::string> text;
      if (llvm::Error e = configToken(cfg, key, text))
        return std::move(e);
      if (!text)
        continue;
      *id = idOf(*text);
      if (*id < 0)
        return cfg.fail(key.str(),
                        "'" + *text + "' is not a token of the tokenizer");
    }
    if (llvm::Error e = cfg.boolean(*c, "", "add_bos_token", addBos, false))
      return std::move(e);
    if (llvm::Error e = cfg.boolean(*c, "", "add_eos_token", addEos, false))
      return std::move(e);
    if (const JValue *t = c->get("chat_template")) {
      if (std::optional<StringRef> s = t->getAsString()) {
        tok->chatTemplate_ = s->str();
      } else if (const Array *list = t->getAsArray()) {
        // [{"name": ..., "template": ...}]: "default", else the first.
        for (size_t i = 0; i < list->size(); ++i) {
          std::string where = JSONFile::index("chat_template", i);
          const Object *o;
          std::string name, text;
          if (llvm::Error e = cfg.object((*list)[i], where, o))
            return std::move(e);
          if (llvm::Error e = cfg.str(*o, where, "name", name))
            return std::move(e);
          if (llvm::Error e = cfg.str(*o, where, "template", text))
            return std::move(e);
          if (i == 0 || name == "default")
            tok->chatTemplate_ = text;
        }
      } else if (t->kind() != JValue::Null) {
        return cfg.wrong("chat_template", *t, "a string or a list");
      }
    }
  }
  if (tok->chatTemplate_.empty()) {
    auto buf = llvm::MemoryBuffer::getFile(beside("chat_template.jinja"),
                                           /*IsText=*/false);
    if (buf)
      tok->chatTemplate_ = (*buf)->getBuffer().str();
  }
  // Without a post-processor, tokenizer_config.json's add_bos_token /
  // add_eos_token say what to put around the text.
  if (!hasPostProcessor) {
    if (addBos) {
      if (tok->bos_ < 0)
        return cfg.fail("add_bos_token", "true, but there is no bos_token");
      impl.prefix.push_back(tok->bos_);
    }
    if (addEos) {
      if (tok->eos_ < 0)
        return cfg.fail("add_eos_token", "true, but there is no eos_token");
      impl.suffix.push_back(tok->eos_);
    }
  }
  tok->addBos_ = !impl.prefix.empty();
  tok->addEos_ = !impl.suffix.empty();
  if (tok->bos_ < 0 && impl.prefix.size() == 1)
    tok->bos_ = impl.prefix[0];

  // End of generation: generation_config.json's eos_token_id (else
  // config.json's), and the EOS token.
  int64_t vocab = tok->vocabSize();
  for (StringRef name : {"generation_config.json", "config.json"}) {
    JSONFile gen;
    if (llvm::Error e = readJSON(beside(name), gen, false))
      return std::move(e);
    if (!gen.root.getAsObject())
      continue;
    if (llvm::Error e = eosIds(gen, vocab, tok->eog_))
      return std::move(e);
    if (tok->eos_ < 0 && !tok->eog_.empty())
      tok->eos_ = tok->eog_[0];
    break;
  }
  if (tok->eos_ >= 0)
    tok->eog_.push_back(tok->eos_);
  llvm::sort(tok->eog_);
  tok->eog_.erase(std::unique(tok->eog_.begin(), tok->eog_.end()),
                  tok->eog_.end());
  return std::move(tok);
}

} // namespace qtc::generate
