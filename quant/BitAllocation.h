//===- BitAllocation.h - Per-layer bit widths under a size budget -*- C++ -*-===//
//
// Chooses one code width per layer so that the total weight bits stay
// within a budget and the summed per-layer error is least: a multiple-choice
// knapsack, solved exactly by dynamic programming over the budget in units
// of the greatest common divisor of the layer sizes. Then, because layer
// errors do not add up exactly, an optional seeded evolutionary refinement
// (as EvoPress does) on a measured end-to-end error: each offspring moves
// one layer up a width and others down while the budget holds, and the best
// of parent and offspring survives.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_QUANT_BITALLOCATION_H
#define QTC_QUANT_BITALLOCATION_H

#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>
#include <vector>

namespace qtc {

struct AllocationProblem {
  /// Weights per layer.
  std::vector<int64_t> params;
  /// Candidate widths, ascending.
  std::vector<unsigned> widths;
  /// error[layer][w]: the error of the layer at widths[w].
  std::vector<std::vector<double>> error;
  /// Largest allowed sum of params[l] * widths[choice[l]].
  int64_t budgetBits = 0;
};

/// Width index per layer; `choice.empty()` when nothing fits.
struct Allocation {
  std::vector<unsigned> choice;
  double predictedError = 0;
  /// False when the budget had to be coarsened to keep the table small, so
  /// the optimum is only guaranteed for the coarsened costs.
  bool exact = true;
};

/// Sum of params[l] * widths[choice[l]].
int64_t allocationBits(const AllocationProblem &p,
                       const std::vector<unsigned> &choice);

/// The allocation of least summed error within the budget.
Allocation solveAllocation(const AllocationProblem &p);

struct EvolutionOptions {
  unsigned generations = 20;
  unsigned offspring = 4;
  unsigned seed = 1;
};

/// Refines `start` (which must fit the budget) on `measure`, an end-to-end
/// error of a whole allocation; returns the best allocation seen and its
/// measured error in `bestError`. `starts` adds other feasible seeds (the
/// best measured one is the first parent).
std::vector<unsigned>
evolveAllocation(const AllocationProblem &p,
                 std::vector<std::vector<unsigned>> starts,
                 llvm::function_ref<double(const std::vector<unsigned> &)> measure,
                 const EvolutionOptions &options, double &bestError,
                 unsigned *evaluations = nullptr);

} // namespace qtc

#endif // QTC_QUANT_BITALLOCATION_H
