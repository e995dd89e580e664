//===- BitAllocation.cpp - Per-layer bit widths under a size budget -------===//

#include "quant/BitAllocation.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

using namespace qtc;

int64_t qtc::allocationBits(const AllocationProblem &p,
                            const std::vector<unsigned> &choice) {
  int64_t bits = 0;
  for (size_t l = 0; l < choice.size(); ++l)
    bits += p.params[l] * p.widths[choice[l]];
  return bits;
}

Allocation qtc::solveAllocation(const AllocationProblem &p) {
  Allocation result;
  size_t layers = p.params.size();
  if (layers == 0 || p.widths.empty() || p.budgetBits < 0)
    return result;
  // Costs in units of the gcd of the layer sizes, exact as long as the
  // table stays small; beyond that, units are coarsened and costs rounded
  // up, so the result still fits the real budget.
  int64_t unit = 0;
  for (int64_t n : p.params)
    unit = std::gcd(unit, n);
  if (unit <= 0)
    return result;
  constexpr int64_t kMaxCells = 4'000'000;
  int64_t budget = p.budgetBits / unit;
  if (budget * int64_t(layers) > kMaxCells) {
    int64_t factor = (budget * int64_t(layers) + kMaxCells - 1) / kMaxCells;
    unit *= factor;
    budget = p.budgetBits / unit;
    result.exact = false;
  }
  auto cost = [&](size_t l, unsigned w) {
    return (p.params[l] * p.widths[w] + unit - 1) / unit;
  };
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // best[b]: least error of the layers so far using exactly b units.
  std::vector<double> best(budget + 1, kInf), next(budget + 1);
  best[0] = 0;
  std::vector<std::vector<int8_t>> pick(layers,
                                        std::vector<int8_t>(budget + 1, -1));
  for (size_t l = 0; l < layers; ++l) {
    std::fill(next.begin(), next.end(), kInf);
    for (int64_t b = 0; b <= budget; ++b) {
      if (best[b] == kInf)
        continue;
      for (unsigned w = 0; w < p.widths.size(); ++w) {
        int64_t nb = b + cost(l, w);
        if (nb > budget)
          continue;
        double e = best[b] + p.error[l][w];
        if (e < next[nb]) {
          next[nb] = e;
          pick[l][nb] = static_cast<int8_t>(w);
        }
      }
    }
    best.swap(next);
  }
  int64_t at = std::min_element(best.begin(), best.end()) - best.begin();
  if (best[at] == kInf)
    return result;
  result.predictedError = best[at];
  result.choice.assign(layers, 0);
  for (size_t l = layers; l-- > 0;) {
    unsigned w = pick[l][at];
    result.choice[l] = w;
    at -= cost(l, w);
  }
  return result;
}

std::vector<unsigned> qtc::evolveAllocation(
    const AllocationProblem &p, std::vector<std::vector<unsigned>> starts,
    llvm::function_ref<double(const std::vector<unsigned> &)> measure,
    const EvolutionOptions &options, double &bestError, unsigned *evaluations) {
  unsigned evals = 0;
  std::vector<unsigned> best;
  bestError = std::numeric_limits<double>::infinity();
  for (const std::vector<unsigned> &s : starts) {
    if (s.empty() || allocationBits(p, s) > p.budgetBits)
      continue;
    double e = measure(s);
    ++evals;
    if (e < bestError) {
      bestError = e;
      best = s;
    }
  }
  std::mt19937 rng(options.seed);
  size_t layers = p.params.size();
  unsigned top = p.widths.size() - 1;
  for (unsigned g = 0; g < options.generations && !best.empty(); ++g) {
    std::vector<unsigned> parent = best;
    for (unsigned o = 0; o < options.offspring; ++o) {
      // Level switch: one layer up a width, then layers down until the
      // budget holds again (or give up on this child).
      std::vector<unsigned> child = parent;
      std::uniform_int_distribution<size_t> pickLayer(0, layers - 1);
      size_t up = pickLayer(rng);
      if (child[up] == top)
        continue;
      ++child[up];
      bool fits = allocationBits(p, child) <= p.budgetBits;
      for (unsigned tries = 0; !fits && tries < 4 * layers; ++tries) {
        size_t down = pickLayer(rng);
        if (down == up || child[down] == 0)
          continue;
        --child[down];
        fits = allocationBits(p, child) <= p.budgetBits;
      }
      if (!fits || child == parent)
        continue;
      double e = measure(child);
      ++evals;
      if (e < bestError) {
        bestError = e;
        best = child;
      }
    }
  }
  if (evaluations)
    *evaluations = evals;
  return best;
}
