//===- QuantizeTest.cpp - Tests of group-wise weight quantization ---------===//

#include "dialects/QT/Utils/Quantize.h"

#include <gtest/gtest.h>

#include <cmath>
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

} // namespace
