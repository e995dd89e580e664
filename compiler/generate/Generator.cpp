//===- Generator.cpp - A decoder compiled for text generation -------------===//

#include "compiler/generate/Generator.h"

#include "compiler/Compiler.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SHA1.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>
#include <dlfcn.h>

using namespace qtc;
using namespace qtc::generate;

namespace {
llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// "name size mtime" of a file, for a cache key ("" when it cannot be
/// read).
std::string fileIdentity(const llvm::Twine &path) {
  llvm::sys::fs::file_status st;
  if (llvm::sys::fs::status(path, st) || !llvm::sys::fs::is_regular_file(st))
    return "";
  return (llvm::sys::path::filename(path.str()) + " " +
          llvm::Twine(st.getSize()) + " " +
          llvm::Twine(st.getLastModificationTime().time_since_epoch().count()))
      .str();
}

/// The model's identity: its absolute path and the files it is made of (a
/// file, or every file directly in a checkpoint folder, sorted).
std::string modelIdentity(llvm::StringRef path) {
  llvm::SmallString<256> abs(path);
  llvm::sys::fs::make_absolute(abs);
  std::string id = abs.str().str() + "\n";
  if (!llvm::sys::fs::is_directory(abs))
    return id + fileIdentity(abs) + "\n";
  std::vector<std::string> files;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(abs, ec), end; it != end && !ec;
       it.increment(ec))
    files.push_back(fileIdentity(it->path()));
  std::sort(files.begin(), files.end());
  for (const std::string &f : files)
    id += f + "\n";
  return id;
}

/// This build of qtc: the identity of the binary or library holding this
/// code.
std::string buildIdentity() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&modelIdentity), &info) &&
      info.dli_fname)
    return info.dli_fname + std::string(" ") + fileIdentity(info.dli_fname);
  return "unknown";
}

/// The artifact's file name for `seq`-token entries of `path` built with
/// `o`.
std::string artifactKey(llvm::StringRef path, const CompilerOptions &o,
                        int64_t seq, int64_t maxContext) {
  llvm::SHA1 h;
  auto add = [&](llvm::StringRef text) {
    h.update(text);
    h.update(llvm::StringRef("\0", 1));
  };
  add("qtc-generate-artifact-v1");
  add(buildIdentity());
  add(modelIdentity(path));
  for (const auto &[key, value] : o.settings)
    add(key + "=" + value);
  // What the generator and tools set without set().
  add(o.target + "|" + o.targetTriple + "|" + o.targetCPU + "|" +
      o.targetFeatures + "|" + (o.strictFP ? "strict" : "") + "|" +
      std::to_string(o.quantizeBits) + "|" + std::to_string(o.groupSize) +
      "|" + o.quantizePreset + "|" + o.grid);
  add("seq=" + std::to_string(seq) + " context=" + std::to_string(maxContext));
  return llvm::toHex(h.final(), /*LowerCase=*/true).substr(0, 24) + "-s" +
         std::to_string(seq) + "-c" + std::to_string(maxContext);
}

} // namespace

std::string qtc::generate::defaultCacheDir() {
  if (std::optional<std::string> d = llvm::sys::Process::GetEnv("QTC_CACHE_DIR"))
    return *d;
  if (std::optional<std::string> x =
          llvm::sys::Process::GetEnv("XDG_CACHE_HOME"))
    if (!x->empty())
      return *x + "/qtc";
  if (std::optional<std::string> home = llvm::sys::Process::GetEnv("HOME"))
    if (!home->empty())
      return *home + "/.cache/qtc";
  return "";
}

llvm::Expected<std::unique_ptr<Generator>>
Generator::create(llvm::StringRef path, const CompilerOptions &base,
                  const GeneratorOptions &options, llvm::raw_ostream *log,
                  llvm::raw_ostream *warnings) {
  if (options.maxContext < 1)
    return fail("--max-context must be at least 1");
  if (options.prefillChunk < 1)
    return fail("the prefill chunk must be at least 1 token");
  std::unique_ptr<Generator> g(new Generator());
  g->opts = options;
  g->opts.prefillChunk = std::min(options.prefillChunk, options.maxContext);
  // Cached artifacts are shared libraries linked with `cc`: without one,
  // every run would compile twice (the link fails after code generation).
  if (!g->opts.cacheDir.empty() && !llvm::sys::findProgramByName("cc")) {
    if (warnings)
      *warnings << "qtc: note: no C compiler ('cc') on PATH to link cached "
                   "artifacts; compiling in process\n";
    g->opts.cacheDir.clear();
  }
  auto build = [&](int64_t seq) -> llvm::Expected<std::unique_ptr<Model>> {
    CompilerOptions o = base;
    o.batch = 1;
    o.seq = seq;
    o.past = -1;
    o.maxContext = g->opts.maxContext;
    o.externalWeights = false;
    if (g->opts.cacheDir.empty()) {
      Compiler c(o, log, warnings);
      return c.compile(path);
    }
    // The artifact cache: load the library when it is there, else compile
    // one into it (written under a temporary name, then renamed, so that a
    // concurrent or interrupted run never leaves half a library) and load
    // that. Anything that fails on the way falls back to the JIT.
    llvm::raw_ostream &note = warnings ? *warnings : llvm::nulls();
    llvm::SmallString<256> file(g->opts.cacheDir);
    std::string key = artifactKey(path, o, seq, o.maxContext);
    llvm::sys::path::append(file, key + ".so");
    if (llvm::sys::fs::exists(file)) {
      auto m = Model::load(file);
      if (m) {
        ++g->fromCache;
        if (log)
          *log << "qtc: loaded " << file << "\n";
        return m;
      }
      note << "qtc: note: cached artifact " << file
           << " cannot be loaded (" << llvm::toString(m.takeError())
           << "); compiling again\n";
    }
    Compiler c(o, log, warnings);
    auto module = c.import(path);
    if (!module)
      return module.takeError();
    std::string why;
    if (std::error_code ec =
            llvm::sys::fs::create_directories(g->opts.cacheDir)) {
      why = "cannot create " + g->opts.cacheDir + ": " + ec.message();
    } else {
      llvm::SmallString<256> tmp(g->opts.cacheDir);
      llvm::sys::path::append(tmp, key + ".tmp%%%%%%.so");
      llvm::SmallString<256> unique;
      llvm::sys::fs::createUniquePath(tmp, unique, /*MakeAbsolute=*/false);
      auto cleanup = [&] {
        llvm::sys::fs::remove(unique);
        llvm::SmallString<256> side(unique);
        llvm::sys::path::replace_extension(side, "h");
        llvm::sys::fs::remove(side);
        llvm::sys::path::replace_extension(side, "json");
        llvm::sys::fs::remove(side);
      };
      if (llvm::Error e = c.emitFile(**module, EmitKind::Shared, unique)) {
        why = llvm::toString(std::move(e));
      } else if (std::error_code ec = llvm::sys::fs::rename(unique, file)) {
        why = "cannot write " + file.str().str() + ": " + ec.message();
      } else {
        cleanup();
        auto m = Model::load(file);
        if (m)
          return m;
        why = llvm::toString(m.takeError());
        llvm::sys::fs::remove(file);
      }
      cleanup();
    }
    note << "qtc: note: no cached artifact (" << why
         << "); compiling in process\n";
    Compiler jc(o, log, warnings);
    return jc.compile(path);
  };
  auto decode = build(1);
  if (!decode)
    return decode.takeError();
  g->decodeModel = std::move(*decode);
  if (g->opts.prefillChunk > 1) {
    auto prefill = build(g->opts.prefillChunk);
    if (!prefill)
      return prefill.takeError();
    g->prefillModel = std::move(*prefill);
  }
  // The ports the generation signature has: ids, positions, then the
  // caches; logits, then the new keys and values.
  const Model &m = *g->decodeModel;
  const auto &in = m.inputs();
  const auto &out = m.outputs();
  if (in.size() < 2 || in[0].name != "input_ids" ||
      in[1].name != "position_ids" || out.empty() || out[0].name != "logits" ||
      out[0].shape.size() != 3 || out.size() != in.size() - 1)
    return fail(path + ": not a decoder with the generation signature "
                       "(input_ids, position_ids, cache.*; logits, new.*)");
  g->vocab = out[0].shape[2];
  // Every entry's outputs must have the sizes run() writes into: logits
  // [1, seq, vocab] and, per cache input, the new rows [1, heads, seq, dim].
  auto checkOutputs = [&](const Model &model, int64_t seq) -> llvm::Error {
    const auto &mi = model.inputs();
    const auto &mo = model.outputs();
    if (mo.size() != mi.size() - 1 || mo[0].dtype != "float32" ||
        mo[0].shape != llvm::SmallVector<int64_t>{1, seq, g->vocab})
      return fail(path + ": the logits have shape " +
                  shapeString(mo[0].shape) + ", expected [1, " +
                  llvm::Twine(seq) + ", " + llvm::Twine(g->vocab) +
                  "] of float32");
    for (size_t i = 2; i < mi.size(); ++i) {
      const Port &c = mi[i], &n = mo[i - 1];
      llvm::SmallVector<int64_t> want = {1, c.shape.size() == 4 ? c.shape[1] : -1,
                                   seq, c.shape.size() == 4 ? c.shape[3] : -1};
      if (n.dtype != "float32" || n.shape != want)
        return fail(path + ": output '" + n.name + "' has shape " +
                    shapeString(n.shape) + ", expected the new rows " +
                    shapeString(want) + " of '" + c.name + "'");
    }
    return llvm::Error::success();
  };
  if (llvm::Error e = checkOutputs(*g->decodeModel, 1))
    return std::move(e);
  if (g->prefillModel)
    if (llvm::Error e = checkOutputs(*g->prefillModel, g->opts.prefillChunk))
      return std::move(e);
  for (size_t i = 2; i < in.size(); ++i) {
    const Port &p = in[i];
    if (p.dtype != "float32" || p.shape.size() != 4 || p.shape[0] != 1 ||
        p.shape[2] != g->opts.maxContext)
      return fail(path + ": cache input '" + p.name + "' has shape " +
                  shapeString(p.shape) + ", expected [1, heads, " +
                  llvm::Twine(g->opts.maxContext) + ", dim] of float32");
    Cache c;
    c.heads = p.shape[1];
    c.dim = p.shape[3];
    c.data.assign(c.heads * g->opts.maxContext * c.dim, 0.0f);
    g->caches.push_back(std::move(c));
  }
  if (options.threads > 0) {
    g->decodeModel->setThreads(options.threads);
    if (g->prefillModel)
      g->prefillModel->setThreads(options.threads);
  }
  return std::move(g);
}

llvm::Error Generator::append(llvm::ArrayRef<int32_t> tokens) {
  if (tokens.empty())
    return fail("nothing to run: no tokens");
  if (pos + int64_t(tokens.size()) > opts.maxContext)
    return fail("the context is full: " + llvm::Twine(pos) + " + " +
                llvm::Twine(tokens.size()) + " tokens exceed --max-context " +
                llvm::Twine(opts.maxContext));
  for (int32_t t : tokens)
    if (t < 0 || t >= vocab)
      return fail("token id " + llvm::Twine(t) +
                  " is outside the vocabulary (" + llvm::Twine(vocab) +
                  " tokens)");
  all.clear();
  size_t done = 0;
  while (done < tokens.size()) {
    size_t left = tokens.size() - done;
    // A single token takes the decoding step; longer runs the prefill
    // chunk (the last one padded).
    // Short remainders: steps cost less than a mostly padded chunk.
    bool step = left == 1 || !prefillModel ||
                int64_t(left) * 3 <= opts.prefillChunk;
    int64_t seq = step ? 1 : opts.prefillChunk;
    size_t n = std::min<size_t>(left, seq);
    if (llvm::Error e = run(step ? *decodeModel : *prefillModel, seq,
                            tokens.slice(done, n)))
      return e;
    done += n;
  }
  last.assign(all.end() - vocab, all.end());
  return llvm::Error::success();
}

llvm::Error Generator::run(const Model &m, int64_t seq,
                           llvm::ArrayRef<int32_t> tokens) {
  int64_t n = tokens.size();
  if (pos + seq > opts.maxContext && pos + n <= opts.maxContext) {
    // A padded chunk must not run past the cache: finish with steps.
    for (int32_t t : tokens)
      if (llvm::Error e = run(*decodeModel, 1, t))
        return e;
    return llvm::Error::success();
  }
  std::vector<int64_t> ids(seq, 0), positions(seq);
  for (int64_t i = 0; i < seq; ++i) {
    if (i < n)
      ids[i] = tokens[i];
    positions[i] = pos + i;
  }
  std::vector<float> logits(seq * vocab);
  std::vector<std::vector<float>> fresh(caches.size());
  std::vector<void *> in = {ids.data(), positions.data()}, out = {logits.data()};
  for (size_t c = 0; c < caches.size(); ++c) {
    in.push_back(caches[c].data.data());
    fresh[c].resize(caches[c].heads * seq * caches[c].dim);
    out.push_back(fresh[c].data());
  }
  if (llvm::Error e = m.run(in, out))
    return e;
  // Write the real tokens' keys and values into the cache.
  for (size_t c = 0; c < caches.size(); ++c) {
    Cache &cache = caches[c];
    for (int64_t h = 0; h < cache.heads; ++h)
      std::memcpy(cache.data.data() +
                      (h * opts.maxContext + pos) * cache.dim,
                  fresh[c].data() + h * seq * cache.dim,
                  n * cache.dim * sizeof(float));
  }
  all.insert(all.end(), logits.begin(), logits.begin() + n * vocab);
  pos += n;
  return llvm::Error::success();
}
