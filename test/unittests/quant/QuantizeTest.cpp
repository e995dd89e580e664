//===- QuantizeTest.cpp - Tests of group-wise weight quantization ---------===//

#include "quant/Quantize.h"

#include "llvm/ADT/APFloat.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace qtc;

namespace {

std::vector<float> gaussian(size_t n, uint32_t seed, float sigma = 0.05f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

double sqError(const std::vector<float> &a, const std::vector<float> &b) {
  double e = 0;
  for (size_t i = 0; i < a.size(); ++i)
    e += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return e;
}

double roundTripError(const std::vector<float> &w, int64_t rows, int64_t cols,
                      const QuantSpec &spec) {
  return sqError(w, dequantizeMatrix(quantizeMatrix(w, rows, cols, spec), spec));
}

TEST(Quantize, CodesStayInRange) {
  std::vector<float> w = gaussian(16 * 64, 1);
  for (bool asym : {false, true})
    for (unsigned bits : {2u, 3u, 4u, 8u}) {
      QuantSpec spec{bits, 32, asym};
      QuantizedMatrix q = quantizeMatrix(w, 16, 64, spec);
      ASSERT_EQ(q.codes.size(), w.size());
      ASSERT_EQ(q.scales.size(), 16u * 2);
      ASSERT_EQ(q.zeroPoints.size(), asym ? 32u : 0u);
      for (uint8_t c : q.codes)
        EXPECT_LT(c, 1u << bits);
      for (uint8_t z : q.zeroPoints)
        EXPECT_LT(z, 1u << bits);
    }
}

TEST(Quantize, RoundsToNearestLevel) {
  // Every weight inside its group's representable range decodes to within
  // half a step of itself: the codes are the nearest levels.
  std::vector<float> w = gaussian(8 * 64, 6);
  for (bool asym : {false, true})
    for (unsigned bits : {2u, 3u, 4u, 8u}) {
      QuantSpec spec{bits, 32, asym};
      QuantizedMatrix q = quantizeMatrix(w, 8, 64, spec);
      std::vector<float> deq = dequantizeMatrix(q, spec);
      unsigned inside = 0;
      for (int64_t r = 0; r < 8; ++r)
        for (int64_t g = 0; g < 2; ++g) {
          float s = q.scales[r * 2 + g];
          int zp = asym ? q.zeroPoints[r * 2 + g] : 0;
          int lo = asym ? 0 : -(1 << (bits - 1));
          int hi = asym ? (1 << bits) - 1 : (1 << (bits - 1)) - 1;
          float a = (lo - zp) * s, b = (hi - zp) * s;
          for (int64_t c = g * 32; c < (g + 1) * 32; ++c) {
            float v = w[r * 64 + c];
            if (v < std::min(a, b) || v > std::max(a, b))
              continue;
            ++inside;
            EXPECT_LE(std::fabs(v - deq[r * 64 + c]), std::fabs(s) * 0.5f + 1e-7f)
                << "bits " << bits << " asym " << asym << " at " << r << "," << c;
          }
        }
      EXPECT_GT(inside, 8u * 64 / 2) << "most weights lie inside the range";
    }
}

TEST(Quantize, NonFiniteScalesNeverAppear) {
  // Weights beyond f16's range would overflow f16 scales; with f32 scales
  // they quantize normally.
  std::vector<float> w = gaussian(2 * 32, 7, 1e5f);
  QuantSpec spec{4, 32};
  spec.f16Scales = false;
  QuantizedMatrix q = quantizeMatrix(w, 2, 32, spec);
  for (float s : q.scales)
    EXPECT_TRUE(std::isfinite(s) && s != 0.0f);
}

TEST(Quantize, ErrorFallsWithBits) {
  std::vector<float> w = gaussian(32 * 128, 2);
  for (bool asym : {false, true}) {
    double prev = INFINITY;
    for (unsigned bits : {2u, 3u, 4u, 8u}) {
      double e = roundTripError(w, 32, 128, QuantSpec{bits, 32, asym});
      EXPECT_LT(e, prev) << "bits " << bits;
      prev = e;
    }
    // 8-bit codes of Gaussian weights: relative error well under 1e-4.
    double energy = sqError(w, std::vector<float>(w.size(), 0.0f));
    EXPECT_LT(prev / energy, 1e-4);
  }
}

TEST(Quantize, ClipSearchNeverWorse) {
  // Gaussian groups: at 2 and 3 bits the best range is well inside the
  // largest magnitude, so scaling to the maximum wastes levels.
  std::vector<float> w = gaussian(8 * 128, 3);
  for (bool asym : {false, true})
    for (unsigned bits : {2u, 3u, 4u}) {
      QuantSpec plain{bits, 64, asym, /*searchClip=*/false};
      QuantSpec searched{bits, 64, asym, /*searchClip=*/true};
      double ep = roundTripError(w, 8, 128, plain);
      double es = roundTripError(w, 8, 128, searched);
      EXPECT_LE(es, ep) << "bits " << bits << " asym " << asym;
      if (bits <= 3) {
        EXPECT_LT(es, ep) << "clipping should pay off at " << bits << " bits";
      }
    }
}

TEST(Quantize, ValuesOnTheGridAreExact) {
  // w = code * 0.25 with codes in the signed 4-bit range and both extremes
  // -8 and 7 present in every group: 4-bit quantization is lossless.
  std::vector<float> w(4 * 32);
  std::mt19937 rng(4);
  std::uniform_int_distribution<int> code(-8, 7);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = (i % 16 == 0 ? -8 : i % 16 == 1 ? 7 : code(rng)) * 0.25f;
  EXPECT_EQ(roundTripError(w, 4, 32, QuantSpec{4, 16, false}), 0.0);
  // Asymmetric with the range [-2, 1.75]: 16 levels of 0.25 hold it.
  EXPECT_EQ(roundTripError(w, 4, 32, QuantSpec{4, 16, true}), 0.0);
}

TEST(Quantize, ScalesAreHalfPrecision) {
  std::vector<float> w = gaussian(4 * 64, 5);
  QuantizedMatrix q = quantizeMatrix(w, 4, 64, QuantSpec{4, 32});
  for (float s : q.scales)
    EXPECT_EQ(s, roundToHalf(s));
}

// roundToHalf is bit arithmetic for speed; it must equal IEEE's conversion
// to f16 and back with ties to even, as llvm::APFloat does it: every f32
// whose magnitude is near f16's range edges (subnormals, the largest
// finite, the overflow threshold) and a million random encodings.
TEST(Quantize, RoundToHalfIsIEEE) {
  auto reference = [](float x) {
    llvm::APFloat f(x);
    bool lost;
    f.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven,
              &lost);
    f.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
              &lost);
    return f.convertToFloat();
  };
  auto check = [&](uint32_t bits) {
    float x;
    std::memcpy(&x, &bits, 4);
    if (std::isnan(x))
      return;
    float got = roundToHalf(x), want = reference(x);
    uint32_t g, w;
    std::memcpy(&g, &got, 4);
    std::memcpy(&w, &want, 4);
    ASSERT_EQ(g, w) << "x = " << x << " (0x" << std::hex << bits << ")";
  };
  // Around each boundary of f16: 2^-25 (rounds to 0 or the smallest
  // subnormal), 2^-14 (subnormal/normal), 65504 / 65520 (largest / overflow).
  for (uint32_t center : {0x33000000u, 0x33800000u, 0x38800000u, 0x477fe000u,
                          0x477ff000u, 0x47800000u, 0x00000000u, 0x7f7fffffu})
    for (int64_t d = -70000; d <= 70000; ++d) {
      int64_t b = int64_t(center) + d;
      if (b < 0 || b > 0x7f800000)
        continue;
      check(uint32_t(b));
      check(uint32_t(b) | 0x80000000u);
    }
  std::mt19937 rng(17);
  for (int i = 0; i < 1000000; ++i)
    check(rng());
}

TEST(Quantize, ZeroGroupsStayZero) {
  std::vector<float> w(2 * 32, 0.0f);
  for (bool asym : {false, true}) {
    QuantSpec spec{3, 32, asym};
    EXPECT_EQ(roundTripError(w, 2, 32, spec), 0.0);
  }
}

TEST(Quantize, SpecErrors) {
  EXPECT_EQ(quantSpecError(QuantSpec{4, 32}, 64), "");
  EXPECT_NE(quantSpecError(QuantSpec{4, 48}, 64), "");
  EXPECT_NE(quantSpecError(QuantSpec{1, 32}, 64), "");
  EXPECT_NE(quantSpecError(QuantSpec{9, 32}, 64), "");
}

/// X^T X (cols x cols) of rows of inputs whose channels are correlated
/// (mixed through a random matrix) and of uneven scale, as layer inputs
/// are; x is written too (rows x cols).
std::vector<double> correlatedInputs(int64_t rows, int64_t cols, uint32_t seed,
                                     std::vector<float> &x) {
  std::vector<float> z = gaussian(rows * cols, seed, 1.0f);
  std::vector<float> mix = gaussian(cols * cols, seed + 1, 1.0f);
  x.assign(rows * cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      double v = 0;
      for (int64_t t = 0; t < cols; ++t)
        v += z[r * cols + t] * mix[t * cols + c] * (t < 4 ? 5.0 : 0.3);
      x[r * cols + c] = static_cast<float>(v * (1.0 + (c % 7)));
    }
  std::vector<double> h(cols * cols, 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t j = 0; j < cols; ++j)
        h[i * cols + j] += double(x[r * cols + i]) * x[r * cols + j];
  return h;
}

/// ||X (W - E)^T||^2.
double outputError(const std::vector<float> &x, const std::vector<float> &w,
                   const std::vector<float> &e, int64_t rows, int64_t n,
                   int64_t k) {
  double err = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double y = 0;
      for (int64_t c = 0; c < k; ++c)
        y += double(x[r * k + c]) * (double(w[j * k + c]) - e[j * k + c]);
      err += y * y;
    }
  return err;
}

TEST(GPTQ, DiagonalStatisticsGiveRoundToNearest) {
  // Uncorrelated inputs: nothing to compensate, the codes are RTN's.
  const int64_t n = 8, k = 64;
  std::vector<float> w = gaussian(n * k, 11);
  std::vector<double> h(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    h[i * k + i] = 1.0 + i;
  GPTQFactor f = gptqFactor(h, k, 0.01);
  ASSERT_EQ(f.cols, k);
  for (bool asym : {false, true}) {
    QuantSpec spec{3, 32, asym};
    QuantizedMatrix a = quantizeMatrixGPTQ(w, n, k, spec, f);
    QuantizedMatrix b = quantizeMatrix(w, n, k, spec);
    EXPECT_EQ(a.codes, b.codes);
    EXPECT_EQ(a.scales, b.scales);
    EXPECT_EQ(a.zeroPoints, b.zeroPoints);
  }
}

TEST(GPTQ, LowersTheOutputErrorOnCorrelatedInputs) {
  const int64_t rows = 256, n = 16, k = 64;
  std::vector<float> x;
  std::vector<double> h = correlatedInputs(rows, k, 21, x);
  std::vector<float> w = gaussian(n * k, 23);
  GPTQFactor f = gptqFactor(h, k, 0.01);
  ASSERT_EQ(f.cols, k);
  for (bool asym : {false, true})
    for (unsigned bits : {2u, 3u, 4u}) {
      QuantSpec spec{bits, 32, asym};
      double rtn = outputError(
          x, w, dequantizeMatrix(quantizeMatrix(w, n, k, spec), spec), rows, n, k);
      double gptq = outputError(
          x, w, dequantizeMatrix(quantizeMatrixGPTQ(w, n, k, spec, f), spec), rows, n, k);
      EXPECT_LT(gptq, 0.8 * rtn) << bits << " bits, asym " << asym;
      // The codes are valid ones.
      QuantizedMatrix q = quantizeMatrixGPTQ(w, n, k, spec, f);
      for (uint8_t c : q.codes)
        EXPECT_LT(c, 1u << bits);
    }
}

TEST(GPTQ, UnusableStatisticsGiveNoFactor) {
  const int64_t k = 8;
  // All zero: no scale to damp by.
  EXPECT_EQ(gptqFactor(std::vector<double>(k * k, 0.0), k, 0.01).cols, 0);
  // Wrong size.
  EXPECT_EQ(gptqFactor(std::vector<double>(k * k - 1, 1.0), k, 0.01).cols, 0);
  // Not positive definite and not damped: [[1, 2], [2, 1]].
  EXPECT_EQ(gptqFactor({1.0, 2.0, 2.0, 1.0}, 2, 0.0).cols, 0);
  // Without a factor the quantizer falls back to round-to-nearest.
  std::vector<float> w = gaussian(4 * 32, 5);
  QuantSpec spec{4, 32};
  EXPECT_EQ(quantizeMatrixGPTQ(w, 4, 32, spec, GPTQFactor{}).codes,
            quantizeMatrix(w, 4, 32, spec).codes);
}

TEST(GPTQ, FactorInvertsTheStatistics) {
  // U^T U (H + damp) = I.
  const int64_t k = 24;
  std::vector<float> x;
  std::vector<double> h = correlatedInputs(64, k, 31, x);
  const double damp = 0.05;
  GPTQFactor f = gptqFactor(h, k, damp);
  ASSERT_EQ(f.cols, k);
  double mean = 0;
  for (int64_t i = 0; i < k; ++i)
    mean += h[i * k + i] / k;
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) {
      double v = 0;
      for (int64_t a = 0; a < k; ++a) {
        double hinv = 0; // (U^T U)[i][a]
        for (int64_t t = 0; t < k; ++t)
          hinv += f.u[t * k + i] * f.u[t * k + a];
        v += hinv * (h[a * k + j] + (a == j ? damp * mean : 0.0));
      }
      EXPECT_NEAR(v, i == j ? 1.0 : 0.0, 1e-6) << i << ", " << j;
    }
}

} // namespace

TEST(Rotation, HadamardIsOrthogonalAndSeeded) {
  for (int64_t g : {1, 2, 32, 128}) {
    std::vector<float> r = randomizedHadamard(g, 7);
    ASSERT_EQ(r.size(), size_t(g * g));
    for (int64_t i = 0; i < g; ++i)
      for (int64_t j = 0; j < g; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < g; ++c)
          dot += double(r[i * g + c]) * r[j * g + c];
        EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-6) << g << ": " << i << ", " << j;
      }
  }
  EXPECT_EQ(randomizedHadamard(128, 7), randomizedHadamard(128, 7));
  EXPECT_NE(randomizedHadamard(128, 7), randomizedHadamard(128, 8));
  EXPECT_TRUE(randomizedHadamard(96, 7).empty());
  EXPECT_TRUE(randomizedHadamard(0, 7).empty());
}

TEST(Rotation, RotatedProductsAreUnchanged) {
  // x' W'^T = x W^T with x' = x R and W' = W R per block, and R^T undoes R.
  const int64_t rows = 5, n = 6, k = 96, block = 32;
  std::vector<float> r = randomizedHadamard(block, 3);
  std::vector<float> x = gaussian(rows * k, 1, 1.0f), w = gaussian(n * k, 2);
  std::vector<float> xr = x, wr = w;
  rotateColumnBlocks(xr, rows, k, r, block, false);
  rotateColumnBlocks(wr, n, k, r, block, false);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double a = 0, b = 0;
      for (int64_t c = 0; c < k; ++c) {
        a += double(x[i * k + c]) * w[j * k + c];
        b += double(xr[i * k + c]) * wr[j * k + c];
      }
      EXPECT_NEAR(a, b, 1e-5);
    }
  std::vector<float> back = wr;
  rotateColumnBlocks(back, n, k, r, block, true);
  EXPECT_LT(sqError(back, w), 1e-10);
  EXPECT_GT(sqError(wr, w), 1e-3); // it did rotate
}

TEST(Rotation, StatisticsOfRotatedInputs) {
  // rotateStatistics(X^T X) = (X R)^T (X R), from the upper triangle only.
  const int64_t rows = 40, k = 64, block = 16;
  std::vector<float> x;
  std::vector<double> h = correlatedInputs(rows, k, 9, x);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < i; ++j)
      h[i * k + j] = -123.0; // never read
  std::vector<float> r = randomizedHadamard(block, 4);
  rotateStatistics(h, k, r, block);
  std::vector<float> xr = x;
  rotateColumnBlocks(xr, rows, k, r, block, false);
  // x R is rounded to float, so compare at float precision of the scale.
  double scale = 0;
  for (int64_t i = 0; i < k; ++i)
    scale = std::max(scale, std::fabs(h[i * k + i]));
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) {
      double want = 0;
      for (int64_t t = 0; t < rows; ++t)
        want += double(xr[t * k + i]) * xr[t * k + j];
      EXPECT_NEAR(h[i * k + j], want, 1e-6 * scale) << i << ", " << j;
    }
}

TEST(Rotation, SpreadsAnOutlierColumn) {
  // One input channel 30x larger than the rest ruins its groups' scales;
  // after a rotation the outlier's energy is shared by the whole group, and
  // the round-trip error (measured back in the original basis) drops.
  const int64_t n = 32, k = 128, block = 128;
  std::vector<float> w = gaussian(n * k, 12);
  for (int64_t row = 0; row < n; ++row)
    w[row * k + 5] *= 30.0f;
  std::vector<float> r = randomizedHadamard(block, 1);
  for (unsigned bits : {3u, 4u}) {
    QuantSpec spec{bits, 128};
    double plain = sqError(dequantizeMatrix(quantizeMatrix(w, n, k, spec), spec), w);
    std::vector<float> wr = w;
    rotateColumnBlocks(wr, n, k, r, block, false);
    std::vector<float> e = dequantizeMatrix(quantizeMatrix(wr, n, k, spec), spec);
    rotateColumnBlocks(e, n, k, r, block, true);
    EXPECT_LT(sqError(e, w), 0.5 * plain) << bits << " bits";
  }
}

namespace {

TEST(Grid, NamedGrids) {
  std::vector<float> levels;
  EXPECT_TRUE(namedGrid("uniform", 3, levels));
  EXPECT_TRUE(levels.empty());
  for (const char *name : {"nf4", "iq4nl"}) {
    ASSERT_TRUE(namedGrid(name, 4, levels)) << name;
    ASSERT_EQ(levels.size(), 16u) << name;
    for (size_t i = 1; i < levels.size(); ++i)
      EXPECT_GT(levels[i], levels[i - 1]) << name << " level " << i;
    EXPECT_FLOAT_EQ(levels.front(), -1.0f) << name;
    EXPECT_FALSE(namedGrid(name, 3, levels)) << name << " is a 4-bit grid";
  }
  ASSERT_TRUE(namedGrid("iq4nl", 4, levels));
  EXPECT_FLOAT_EQ(levels.back(), 113.0f / 127.0f); // IQ4_NL's last entry
  EXPECT_FALSE(namedGrid("nf5", 4, levels));
  QuantSpec spec{4, 32};
  ASSERT_TRUE(namedGrid("nf4", 4, spec.levels));
  EXPECT_EQ(quantSpecError(spec, 64), "");
  spec.asymmetric = true;
  EXPECT_NE(quantSpecError(spec, 64), "");
  spec.asymmetric = false;
  spec.bits = 3;
  EXPECT_NE(quantSpecError(spec, 64), "");
  spec.bits = 4;
  std::swap(spec.levels[3], spec.levels[4]);
  EXPECT_NE(quantSpecError(spec, 64), "");
}

TEST(Grid, CodesPickTheNearestLevel) {
  const int64_t n = 8, k = 256;
  std::vector<float> w = gaussian(n * k, 41);
  for (const char *name : {"nf4", "iq4nl"}) {
    QuantSpec spec{4, 128};
    ASSERT_TRUE(namedGrid(name, 4, spec.levels));
    QuantizedMatrix q = quantizeMatrix(w, n, k, spec);
    std::vector<float> d = dequantizeMatrix(q, spec);
    for (int64_t i = 0; i < n * k; ++i) {
      float s = q.scales[(i / k) * (k / 128) + (i % k) / 128];
      ASSERT_LT(q.codes[i], 16u);
      EXPECT_FLOAT_EQ(d[i], spec.levels[q.codes[i]] * s);
      double mine =
          std::fabs(double(w[i]) - double(spec.levels[q.codes[i]]) * s);
      for (float l : spec.levels)
        EXPECT_LE(mine, std::fabs(double(w[i]) - double(l) * s) + 1e-9)
            << name << " element " << i;
    }
  }
}

TEST(Grid, NormalWeightsLoseLessThanEvenlySpacedCodes) {
  // What the grids are for: on normally distributed groups, 16 levels
  // placed by the distribution beat 16 evenly spaced ones.
  const int64_t n = 64, k = 512;
  std::vector<float> w = gaussian(n * k, 43);
  double uniform = roundTripError(w, n, k, QuantSpec{4, 128});
  for (const char *name : {"nf4", "iq4nl"}) {
    QuantSpec spec{4, 128};
    ASSERT_TRUE(namedGrid(name, 4, spec.levels));
    double grid = roundTripError(w, n, k, spec);
    EXPECT_LT(grid, 0.9 * uniform) << name;
  }
}

TEST(Grid, GPTQOnAGrid) {
  const int64_t rows = 256, n = 16, k = 128;
  std::vector<float> x;
  std::vector<double> h = correlatedInputs(rows, k, 45, x);
  std::vector<float> w = gaussian(n * k, 47);
  QuantSpec spec{4, 64};
  ASSERT_TRUE(namedGrid("iq4nl", 4, spec.levels));
  GPTQFactor f = gptqFactor(h, k, 0.01);
  ASSERT_EQ(f.cols, k);
  double rtn = outputError(
      x, w, dequantizeMatrix(quantizeMatrix(w, n, k, spec), spec), rows, n, k);
  QuantizedMatrix q = quantizeMatrixGPTQ(w, n, k, spec, f);
  double gptq = outputError(x, w, dequantizeMatrix(q, spec), rows, n, k);
  EXPECT_LT(gptq, 0.8 * rtn);
  for (uint8_t c : q.codes)
    EXPECT_LT(c, 16u);
  // Uncorrelated inputs: GPTQ on the grid is plain rounding to it.
  std::vector<double> diag(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    diag[i * k + i] = 1.0 + i;
  GPTQFactor fd = gptqFactor(diag, k, 0.01);
  QuantizedMatrix a = quantizeMatrixGPTQ(w, n, k, spec, fd);
  QuantizedMatrix b = quantizeMatrix(w, n, k, spec);
  EXPECT_EQ(a.codes, b.codes);
  EXPECT_EQ(a.scales, b.scales);
}

} // namespace

namespace {
QuantSpec minSpec(unsigned bits, int64_t group) {
  QuantSpec s{bits, group};
  s.floatMin = true;
  return s;
}
} // namespace

TEST(QuantizeMin, ReproducesLlamaCppQ4_1Groups) {
  // Weights that are exactly Q4_1 blocks (f16 d and m, codes 0..15, both
  // ends used): the min form finds d and m again, with no error at all,
  // where an integer zero point has to round -m / d.
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> code(0, 15);
  const int64_t rows = 6, cols = 128;
  std::vector<float> w(rows * cols);
  for (int64_t g = 0; g < rows * cols / 32; ++g) {
    float d = roundToHalf(0.001f + 0.01f * float(code(rng)) / 15.0f);
    float m = roundToHalf(-0.05f - 0.003f * float(code(rng)));
    for (int64_t i = 0; i < 32; ++i) {
      int q = i == 0 ? 0 : i == 1 ? 15 : code(rng);
      w[g * 32 + i] = static_cast<float>(q) * d + m;
    }
  }
  EXPECT_EQ(roundTripError(w, rows, cols, minSpec(4, 32)), 0.0);
  QuantSpec asym{4, 32, true};
  EXPECT_GT(roundTripError(w, rows, cols, asym), 0.0);
}

TEST(QuantizeMin, NoWorseThanAnIntegerZeroPoint) {
  // Gaussian and shifted (all-positive) groups at 2-8 bits: a real-valued
  // min can place the range anywhere, an integer zero point only on the
  // scale's grid, so the min's squared error is never larger (1% slack
  // for the different clipping candidates).
  for (float shift : {0.0f, 0.2f}) {
    std::vector<float> w = gaussian(16 * 256, 11);
    for (float &x : w)
      x += shift;
    for (unsigned bits : {2u, 3u, 4u, 5u, 8u}) {
      double em = roundTripError(w, 16, 256, minSpec(bits, 32));
      double ea = roundTripError(w, 16, 256, QuantSpec{bits, 32, true});
      EXPECT_LE(em, ea * 1.01) << "bits " << bits << " shift " << shift;
    }
  }
}

TEST(QuantizeMin, CodesAndMinsAreStoredLikeTheScales) {
  std::vector<float> w = gaussian(4 * 64, 12);
  QuantizedMatrix q = quantizeMatrix(w, 4, 64, minSpec(3, 32));
  ASSERT_EQ(q.mins.size(), 8u);
  ASSERT_TRUE(q.zeroPoints.empty());
  for (float m : q.mins)
    EXPECT_EQ(m, roundToHalf(m));
  for (float s : q.scales)
    EXPECT_EQ(s, roundToHalf(s));
  for (uint8_t c : q.codes)
    EXPECT_LT(c, 8);
  QuantSpec both = minSpec(4, 32);
  both.asymmetric = true;
  EXPECT_NE(quantSpecError(both, 64), "");
}
