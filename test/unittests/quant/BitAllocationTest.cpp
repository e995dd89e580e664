//===- BitAllocationTest.cpp - Tests of per-layer bit allocation ----------===//

#include "quant/BitAllocation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

using namespace qtc;

namespace {

AllocationProblem randomProblem(std::mt19937 &rng, size_t layers) {
  AllocationProblem p;
  p.widths = {2, 3, 4, 8};
  std::uniform_int_distribution<int> size(1, 6);
  std::uniform_real_distribution<double> base(0.5, 2.0);
  int64_t total = 0;
  for (size_t l = 0; l < layers; ++l) {
    p.params.push_back(4096 * size(rng));
    total += p.params.back();
    // Error falls about 4x per extra bit, scaled per layer.
    double b = base(rng);
    std::vector<double> e;
    for (unsigned w : p.widths)
      e.push_back(b * std::pow(0.25, w) * (1 + 0.3 * base(rng)));
    p.error.push_back(e);
  }
  std::uniform_real_distribution<double> avg(2.0, 5.0);
  p.budgetBits = static_cast<int64_t>(avg(rng) * total);
  return p;
}

/// Least error over every assignment.
double bruteForce(const AllocationProblem &p) {
  size_t layers = p.params.size(), k = p.widths.size();
  double best = std::numeric_limits<double>::infinity();
  std::vector<unsigned> c(layers, 0);
  while (true) {
    if (allocationBits(p, c) <= p.budgetBits) {
      double e = 0;
      for (size_t l = 0; l < layers; ++l)
        e += p.error[l][c[l]];
      best = std::min(best, e);
    }
    size_t i = 0;
    while (i < layers && ++c[i] == k)
      c[i++] = 0;
    if (i == layers)
      break;
  }
  return best;
}

TEST(BitAllocation, MatchesBruteForce) {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 40; ++trial) {
    AllocationProblem p = randomProblem(rng, 6);
    Allocation a = solveAllocation(p);
    ASSERT_FALSE(a.choice.empty());
    EXPECT_TRUE(a.exact);
    EXPECT_LE(allocationBits(p, a.choice), p.budgetBits);
    double e = 0;
    for (size_t l = 0; l < p.params.size(); ++l)
      e += p.error[l][a.choice[l]];
    EXPECT_DOUBLE_EQ(e, a.predictedError);
    EXPECT_NEAR(e, bruteForce(p), 1e-12 * e) << "trial " << trial;
  }
}

TEST(BitAllocation, InfeasibleBudget) {
  AllocationProblem p;
  p.params = {100, 200};
  p.widths = {2, 4};
  p.error = {{1, 0.1}, {1, 0.1}};
  p.budgetBits = 2 * 300 - 1; // below all-2-bit
  EXPECT_TRUE(solveAllocation(p).choice.empty());
  p.budgetBits = 2 * 300;
  Allocation a = solveAllocation(p);
  EXPECT_EQ(a.choice, (std::vector<unsigned>{0, 0}));
}

TEST(BitAllocation, PrefersSensitiveLayers) {
  // Same sizes; layer 1 loses ten times more at 2 bits. Room for one layer
  // at 4 bits: it must be layer 1.
  AllocationProblem p;
  p.params = {64, 64, 64};
  p.widths = {2, 4};
  p.error = {{1.0, 0.1}, {10.0, 0.5}, {2.0, 0.2}};
  p.budgetBits = 64 * (2 + 4 + 2);
  EXPECT_EQ(solveAllocation(p).choice, (std::vector<unsigned>{0, 1, 0}));
}

TEST(BitAllocation, CoarsenedBudgetStillFits) {
  // Coprime sizes make the gcd 1 and the exact table too large.
  AllocationProblem p;
  p.widths = {2, 3, 4};
  for (int l = 0; l < 50; ++l) {
    p.params.push_back(1000003 + 2 * l);
    p.error.push_back({4.0 + l % 3, 1.0 + l % 5, 0.25});
  }
  int64_t total = 0;
  for (int64_t n : p.params)
    total += n;
  p.budgetBits = 3 * total;
  Allocation a = solveAllocation(p);
  ASSERT_FALSE(a.choice.empty());
  EXPECT_FALSE(a.exact);
  EXPECT_LE(allocationBits(p, a.choice), p.budgetBits);
}

TEST(BitAllocation, EvolutionKeepsBudgetAndNeverLoses) {
  std::mt19937 rng(2);
  AllocationProblem p = randomProblem(rng, 8);
  Allocation start = solveAllocation(p);
  ASSERT_FALSE(start.choice.empty());
  // A measured error that is not additive: pairs of neighbours interact.
  auto measure = [&](const std::vector<unsigned> &c) {
    double e = 0;
    for (size_t l = 0; l < c.size(); ++l) {
      double here = p.error[l][c[l]];
      double next = l + 1 < c.size() ? p.error[l + 1][c[l + 1]] : 0;
      e += here + 3 * here * next / (here + next + 1e-12) * (l % 2);
    }
    return e;
  };
  unsigned budgetViolations = 0;
  auto checked = [&](const std::vector<unsigned> &c) {
    budgetViolations += allocationBits(p, c) > p.budgetBits;
    return measure(c);
  };
  double bestError, again;
  unsigned evals = 0;
  std::vector<unsigned> best =
      evolveAllocation(p, {start.choice}, checked, {30, 4, 7}, bestError, &evals);
  EXPECT_EQ(budgetViolations, 0u);
  EXPECT_LE(bestError, measure(start.choice));
  EXPECT_DOUBLE_EQ(bestError, measure(best));
  EXPECT_GT(evals, 1u);
  // Seeded: the same run gives the same answer.
  EXPECT_EQ(evolveAllocation(p, {start.choice}, measure, {30, 4, 7}, again), best);
}

} // namespace
