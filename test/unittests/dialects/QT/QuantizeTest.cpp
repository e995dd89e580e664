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
