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
  int32_t id = impl_->find(text);
  if (id < 0)
    return std::nullopt;
  return id;
}

bool Tokenizer::isEOG(int32_t id) const {
  return std::binary_search(eog_.begin(), eog_.end(), id);
}

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
    if (ignoreMerges) {
      if (int32_t id = find(word); id >= 0) {
        out.push_back(id);
        continue;
      }
    }
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

} // namespace qtc::generate
