//===- Sampler.h - Choosing the next token from logits ----------*- C++ -*-===//
//
// Greedy decoding and sampling with temperature, top-k, top-p (nucleus),
// min-p and a repetition penalty, seeded for reproducible runs. The order
// of the steps is llama.cpp's default chain: penalties, top-k, top-p,
// min-p, temperature, then a draw.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_COMPILER_GENERATE_SAMPLER_H
#define QTC_COMPILER_GENERATE_SAMPLER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <random>
#include <vector>

namespace qtc::generate {

struct SamplingOptions {
  /// 0: greedy (the largest logit; other settings ignored).
  double temperature = 0.0;
  /// Keep the k most likely tokens (0: all).
  int64_t topK = 0;
  /// Keep the smallest set whose probability reaches p (1: all).
  double topP = 1.0;
  /// Drop tokens less likely than min-p times the most likely (0: none).
  double minP = 0.0;
  /// Divide positive logits (multiply negative ones) of tokens seen in the
  /// last `repeatWindow` tokens by this (1: off).
  double repeatPenalty = 1.0;
  int64_t repeatWindow = 64;
  uint64_t seed = 0;

  /// One-line error for values out of range (naming the option).
  llvm::Error validate() const;
};

class Sampler {
public:
  explicit Sampler(SamplingOptions options);

  /// The next token for `logits` (one per vocabulary entry), given the
  /// tokens so far (for the repetition penalty).
  int32_t sample(llvm::ArrayRef<float> logits,
                 llvm::ArrayRef<int32_t> history);

private:
  SamplingOptions opts;
  std::mt19937_64 rng;
  std::vector<std::pair<float, int32_t>> candidates;
};

} // namespace qtc::generate

#endif // QTC_COMPILER_GENERATE_SAMPLER_H
