//===- Sampler.cpp - Choosing the next token from logits -------------------===//

#include "compiler/generate/Sampler.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace qtc::generate;

llvm::Error SamplingOptions::validate() const {
  auto bad = [](const llvm::Twine &what) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), what);
  };
  if (!(temperature >= 0) || !std::isfinite(temperature))
    return bad("--temperature must be a finite number >= 0 (0: greedy)");
  if (topK < 0)
    return bad("--top-k must be >= 0 (0: no limit)");
  if (!(topP > 0 && topP <= 1))
    return bad("--top-p must be in (0, 1]");
  if (!(minP >= 0 && minP < 1))
    return bad("--min-p must be in [0, 1)");
  if (!(repeatPenalty > 0) || !std::isfinite(repeatPenalty))
    return bad("--repeat-penalty must be a finite number > 0 (1: off)");
  if (repeatWindow < 0)
    return bad("--repeat-last-n must be >= 0");
  return llvm::Error::success();
}

Sampler::Sampler(SamplingOptions options)
    : opts(options), rng(options.seed) {}

int32_t Sampler::sample(llvm::ArrayRef<float> logits,
                        llvm::ArrayRef<int32_t> history) {
  int32_t n = static_cast<int32_t>(logits.size());
  candidates.resize(n);
  for (int32_t i = 0; i < n; ++i)
    candidates[i] = {logits[i], i};
  // Repetition penalty over the recent tokens (CTRL's rule, as llama.cpp).
  if (opts.repeatPenalty != 1.0 && opts.repeatWindow > 0) {
    llvm::DenseSet<int32_t> seen;
    size_t from = history.size() > size_t(opts.repeatWindow)
                      ? history.size() - opts.repeatWindow
                      : 0;
    for (size_t i = from; i < history.size(); ++i)
      if (history[i] >= 0 && history[i] < n && seen.insert(history[i]).second) {
        float &l = candidates[history[i]].first;
        l = l > 0 ? float(l / opts.repeatPenalty)
                  : float(l * opts.repeatPenalty);
      }
  }
  auto byLogit = [](const std::pair<float, int32_t> &a,
                    const std::pair<float, int32_t> &b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  if (opts.temperature <= 0) {
    auto best = std::min_element(candidates.begin(), candidates.end(), byLogit);
    return best->second;
  }
  size_t keep = candidates.size();
  if (opts.topK > 0 && size_t(opts.topK) < keep) {
    keep = opts.topK;
    std::partial_sort(candidates.begin(), candidates.begin() + keep,
                      candidates.end(), byLogit);
  } else {
    std::sort(candidates.begin(), candidates.end(), byLogit);
  }
  candidates.resize(keep);
  // Probabilities at temperature 1 for top-p and min-p (as llama.cpp's
  // default chain, which applies the temperature last).
  auto softmax = [&](double t) {
    std::vector<double> p(candidates.size());
    double mx = candidates.front().first, sum = 0;
    for (size_t i = 0; i < p.size(); ++i)
      sum += p[i] = std::exp((candidates[i].first - mx) / t);
    for (double &v : p)
      v /= sum;
    return p;
  };
  std::vector<double> p = softmax(1.0);
  if (opts.topP < 1.0) {
    double cum = 0;
    size_t i = 0;
    for (; i < p.size(); ++i) {
      cum += p[i];
      if (cum >= opts.topP) {
        ++i;
        break;
      }
    }
    candidates.resize(std::max<size_t>(1, std::min(i, p.size())));
    p.resize(candidates.size());
  }
  if (opts.minP > 0) {
    double floor = opts.minP * p.front();
    size_t i = 1;
    while (i < p.size() && p[i] >= floor)
      ++i;
    candidates.resize(i);
  }
  p = softmax(opts.temperature);
  std::discrete_distribution<size_t> draw(p.begin(), p.end());
  return candidates[draw(rng)].second;
}
