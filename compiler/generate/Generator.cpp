//===- Generator.cpp - A decoder compiled for text generation -------------===//

#include "compiler/generate/Generator.h"

#include "compiler/Compiler.h"

#include "llvm/ADT/StringExtras.h"

#include <cstring>

using namespace qtc;
using namespace qtc::generate;

namespace {
llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}
} // namespace

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
  auto build = [&](int64_t seq) -> llvm::Expected<std::unique_ptr<Model>> {
    CompilerOptions o = base;
    o.batch = 1;
    o.seq = seq;
    o.past = -1;
    o.maxContext = g->opts.maxContext;
    Compiler c(o, log, warnings);
    return c.compile(path);
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
