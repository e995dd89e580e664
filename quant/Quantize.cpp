//===- Quantize.cpp - Round-to-nearest weight quantization ----------------===//

#include "quant/Quantize.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Parallel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>

using namespace qtc;

float qtc::roundToHalf(float x) {
  // Bit arithmetic on the f32 encoding, as IEEE's conversion to f16 and back
  // with ties to even (checked against llvm::APFloat in QuantizeTest): the
  // quantizer calls this for every candidate scale, and APFloat took a
  // quarter of a 4-bit compile.
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  uint32_t sign = bits & 0x80000000u, mag = bits & 0x7fffffffu;
  float out;
  if (mag >= 0x7f800000u) // inf, NaN
    return x;
  if (mag >= 0x477ff000u) { // >= 65520: past f16's largest, to infinity
    uint32_t inf = sign | 0x7f800000u;
    std::memcpy(&out, &inf, 4);
    return out;
  }
  if (mag < 0x38800000u) { // below 2^-14: f16's subnormals, steps of 2^-24
    float y = std::fabs(x) * 16777216.0f; // exact: a power of two
    y = (y + 12582912.0f) - 12582912.0f;  // to even, y < 2^10
    y *= 5.9604644775390625e-8f;          // 2^-24, exact
    return sign ? -y : y;
  }
  // Normal: keep 10 of 23 fraction bits, ties to even (a carry into the
  // exponent is the right result too).
  uint32_t rounded = (mag + 0xfffu + ((mag >> 13) & 1u)) & ~0x1fffu;
  uint32_t result = sign | rounded;
  std::memcpy(&out, &result, 4);
  return out;
}

std::string qtc::quantSpecError(const QuantSpec &spec, int64_t cols) {
  if (spec.bits < 2 || spec.bits > 8)
    return "bits must be 2 to 8, got " + std::to_string(spec.bits);
  if (!spec.levels.empty()) {
    if (spec.levels.size() != (size_t(1) << spec.bits))
      return "a grid for " + std::to_string(spec.bits) + "-bit codes needs " +
             std::to_string(1 << spec.bits) + " levels, got " +
             std::to_string(spec.levels.size());
    if (spec.asymmetric || spec.floatMin)
      return "a non-uniform grid has no zero point or min";
    for (size_t i = 0; i < spec.levels.size(); ++i)
      if (!std::isfinite(spec.levels[i]) ||
          (i && !(spec.levels[i] > spec.levels[i - 1])))
        return "grid levels must be finite and increase strictly";
  }
  if (spec.floatMin && spec.asymmetric)
    return "a group has either an integer zero point or a min, not both";
  if (spec.groupSize <= 0)
    return "group size must be positive";
  if (cols % spec.groupSize != 0)
    return "group size " + std::to_string(spec.groupSize) +
           " does not divide the reduction dimension " + std::to_string(cols);
  return "";
}

int64_t qtc::fittingGroupSize(int64_t requested, int64_t cols) {
  if (requested <= 0 || cols <= 0 || cols % requested == 0)
    return requested;
  for (int64_t multiple : {32, 16, 8})
    for (int64_t g = std::min(requested, cols) / multiple * multiple; g > 0;
         g -= multiple)
      if (cols % g == 0)
        return g;
  return requested;
}

namespace {

/// Candidate clipping ratios of a group's range, largest first.
std::vector<float> clipRatios(bool search) {
  std::vector<float> r;
  if (!search)
    return {1.0f};
  for (int i = 0; i <= 35; ++i)
    r.push_back(1.0f - 0.02f * i);
  return r;
}

struct GroupResult {
  float scale = 0;
  int zeroPoint = 0;
  double error = 0;
  float min = 0; // floatMin only
};

/// Codes of `v` as code * scale + min (codes in [0, qmax]); the squared
/// error, and the codes written to `codes` when not null.
double codeGroupWithMin(llvm::ArrayRef<float> v, const float *wt, float scale,
                        float min, int qmax, int *codes) {
  double err = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    int q = 0;
    if (scale != 0.0f) {
      float y = (v[i] - min) / scale;
      y = std::min(std::max(y, -1.0f), float(qmax) + 1.0f);
      q = std::clamp(static_cast<int>(std::nearbyint(y)), 0, qmax);
    }
    float w = static_cast<float>(q) * scale + min;
    double d = double(v[i]) - double(w);
    err += (wt ? wt[i] : 1.0) * d * d;
    if (codes)
      codes[i] = q;
  }
  return err;
}

/// llama.cpp's Q4_1 form with a search: candidate ranges [lo, hi] inside
/// the group's [min, max] (the top or bottom clipped by the ratios), each
/// refit once by least squares of (scale, min) for its codes; scales and
/// mins rounded to their storage type before the error is measured.
GroupResult quantizeGroupWithMin(llvm::ArrayRef<float> v, const float *wt,
                                 int qmax,
                                 const std::vector<float> &ratios,
                                 llvm::function_ref<float(double)> store) {
  float mn = v[0], mx = v[0];
  for (float x : v) {
    mn = std::min(mn, x);
    mx = std::max(mx, x);
  }
  GroupResult best;
  best.min = store(mn);
  best.scale = 0;
  best.error = codeGroupWithMin(v, wt, 0.0f, best.min, qmax, nullptr);
  if (mn == mx)
    return best;
  std::vector<int> q(v.size());
  auto consider = [&](float s, float m) {
    if (!std::isfinite(s) || !std::isfinite(m) || s <= 0.0f)
      return;
    double e = codeGroupWithMin(v, wt, s, m, qmax, q.data());
    if (e < best.error) {
      best.scale = s;
      best.min = m;
      best.error = e;
    }
    // Least-squares (scale, min) for these codes: v ~ q * s + m, weighted
    // like the error.
    double n = 0, sq = 0, sqq = 0, sv = 0, sqv = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      double c = wt ? wt[i] : 1.0;
      n += c;
      sq += c * q[i];
      sqq += c * double(q[i]) * q[i];
      sv += c * v[i];
      sqv += c * double(q[i]) * v[i];
    }
    double det = n * sqq - sq * sq;
    if (det <= 0)
      return;
    float s2 = store((n * sqv - sq * sv) / det);
    float m2 = store((sqq * sv - sq * sqv) / det);
    if (!std::isfinite(s2) || !std::isfinite(m2) || s2 <= 0.0f)
      return;
    double e2 = codeGroupWithMin(v, wt, s2, m2, qmax, nullptr);
    if (e2 < best.error) {
      best.scale = s2;
      best.min = m2;
      best.error = e2;
    }
  };
  double range = double(mx) - double(mn);
  for (float a : ratios) {
    double cut = (1.0 - a) * range;
    // Clip the top, the bottom, or both halves of the cut.
    for (double bottom : {0.0, cut / 2, cut}) {
      double lo = mn + bottom, hi = mx - (cut - bottom);
      consider(store((hi - lo) / qmax), store(lo));
    }
  }
  return best;
}

/// Index of the level of `levels` (increasing) nearest to `x`.
int nearestLevel(llvm::ArrayRef<float> levels, float x) {
  auto it = std::lower_bound(levels.begin(), levels.end(), x);
  if (it == levels.begin())
    return 0;
  if (it == levels.end())
    return static_cast<int>(levels.size()) - 1;
  int i = static_cast<int>(it - levels.begin());
  return (x - levels[i - 1] <= levels[i] - x) ? i - 1 : i;
}

/// Squared error of `v` coded on the grid `levels` with `scale`; writes the
/// level indices to `codes` when not null.
double codeGroupOnGrid(llvm::ArrayRef<float> v, const float *wt, float scale,
                       llvm::ArrayRef<float> levels, int *codes) {
  double err = 0;
  int zero = nearestLevel(levels, 0.0f);
  for (size_t i = 0; i < v.size(); ++i) {
    int q = scale == 0.0f ? zero : nearestLevel(levels, v[i] / scale);
    double d = double(v[i]) - double(levels[q]) * double(scale);
    err += (wt ? wt[i] : 1.0) * d * d;
    if (codes)
      codes[i] = q;
  }
  return err;
}

/// std::nearbyint(x) in the default rounding mode (to nearest, ties to
/// even), without a library call: adding and subtracting 1.5 * 2^23 rounds
/// any |x| < 2^22 exactly so.
inline float roundEven(float x) {
  // Not folded without -ffast-math: (x + c) - c is not x in IEEE math.
  if (std::fabs(x) < 4194304.0f)
    return (x + 12582912.0f) - 12582912.0f;
  return std::nearbyint(x);
}

/// The code of `x` for `scale` (non-zero) and `zp`, clamped to [lo, hi].
inline int codeOf(float x, float scale, int zp, int lo, int hi) {
  return std::clamp(static_cast<int>(roundEven(x / scale)) + zp, lo, hi);
}

/// Squared error of `v` coded with `scale` and `zp`, codes in [lo, hi].
/// Writes the codes to `codes` when not null.
double codeGroup(llvm::ArrayRef<float> v, const float *wt, float scale, int zp,
                 int lo, int hi, int *codes) {
  double err = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    int q = scale == 0.0f ? zp : codeOf(v[i], scale, zp, lo, hi);
    double d = double(v[i]) - double(q - zp) * double(scale);
    err += (wt ? wt[i] : 1.0) * d * d;
    if (codes)
      codes[i] = q;
  }
  return err;
}

/// The squared error of `v` for each candidate (scales[c], zps[c]) (each
/// non-zero scale), as codeGroup computes it: each candidate's terms are
/// summed in the same order, so the errors are the same bits. The
/// candidates are independent, so the inner loop has no branch and
/// vectorizes: the quotient is clamped into [lo - zp - 1, hi - zp + 1]
/// before rounding, which rounds and clamps to the same code, and then is
/// small enough for the add-and-subtract rounding. Cloned for AVX2 where
/// GCC can (no FMA: the same roundings as the baseline code).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void codeGroupErrors(llvm::ArrayRef<float> v, const float *wt,
                     const float *scales, const int *zps, int n, int lo, int hi,
                     double *errs) {
  for (int c = 0; c < n; ++c)
    errs[c] = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    float x = v[i];
    double xw = wt ? wt[i] : 1.0;
    for (int c = 0; c < n; ++c) {
      float y = x / scales[c];
      y = std::min(std::max(y, float(lo - zps[c] - 1)), float(hi - zps[c] + 1));
      int q = static_cast<int>((y + 12582912.0f) - 12582912.0f) + zps[c];
      q = std::min(std::max(q, lo), hi);
      double d = double(x) - double(q - zps[c]) * double(scales[c]);
      errs[c] += xw * d * d;
    }
  }
}

/// codeGroupErrors for a grid: each candidate's error as codeGroupOnGrid
/// computes it.
void codeGroupOnGridErrors(llvm::ArrayRef<float> v, const float *wt,
                           const float *scales, int n,
                           llvm::ArrayRef<float> levels, double *errs) {
  for (int c = 0; c < n; ++c)
    errs[c] = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    float x = v[i];
    double xw = wt ? wt[i] : 1.0;
    for (int c = 0; c < n; ++c) {
      int q = nearestLevel(levels, x / scales[c]);
      double d = double(x) - double(levels[q]) * double(scales[c]);
      errs[c] += xw * d * d;
    }
  }
}

/// The best of `n` candidates by their error (the first of equal ones),
/// starting from `best`, as a sequential search in candidate order picks.
void pickBest(const float *scales, const int *zps, const double *errs, int n,
              GroupResult &best) {
  for (int c = 0; c < n; ++c)
    if (errs[c] < best.error)
      best = {scales[c], zps[c], errs[c]};
}

/// Per-element weights of a group's squared error, or null for plain
/// squared error (spec.weightedError off). Weighted as llama.cpp weights
/// its K-quant searches without an importance matrix: the group's RMS plus
/// the element's magnitude, so that large weights, which move a layer's
/// output most, are rounded more carefully than the clipping search alone
/// would. On SmolLM2-135M (weights spread off their Q4_1 grid) it took the
/// KL divergence of w4 g32 from 0.525 to 0.461 (llama.cpp's Q4_0: 0.512),
/// and that of --min from 0.278 to 0.290 (Q4_1: 0.316) at a lower
/// perplexity (37.8 from 39.9); see docs/quantization.md.
const float *errorWeights(llvm::ArrayRef<float> v, const QuantSpec &spec,
                          llvm::SmallVectorImpl<float> &out) {
  if (!spec.weightedError)
    return nullptr;
  double ss = 0;
  for (float x : v)
    ss += double(x) * x;
  float rms = static_cast<float>(std::sqrt(ss / double(v.size())));
  out.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    out[i] = rms + std::fabs(v[i]) + 1e-30f;
  return out.data();
}

GroupResult quantizeGroup(llvm::ArrayRef<float> v, const QuantSpec &spec,
                          const std::vector<float> &ratios) {
  auto store = [&](double s) {
    return spec.f16Scales ? roundToHalf(static_cast<float>(s))
                          : static_cast<float>(s);
  };
  llvm::SmallVector<float, 256> weights;
  const float *wt = errorWeights(v, spec, weights);
  if (spec.floatMin)
    return quantizeGroupWithMin(v, wt, (1 << spec.bits) - 1, ratios, store);
  GroupResult best;
  best.error = codeGroup(v, wt, 0.0f, 0, 0, 0, nullptr);
  if (!spec.levels.empty()) {
    // As the symmetric scheme: the element of largest magnitude lands on
    // either end of the grid (the scale may be negative), then one
    // least-squares refit for the chosen codes.
    llvm::ArrayRef<float> levels = spec.levels;
    best.error = codeGroupOnGrid(v, wt, 0.0f, levels, nullptr);
    float m = 0;
    for (float x : v)
      if (std::fabs(x) > std::fabs(m))
        m = x;
    if (m == 0.0f)
      return best;
    llvm::SmallVector<float, 80> scales;
    for (float a : ratios)
      for (float level : {levels.front(), levels.back()}) {
        if (level == 0.0f)
          continue;
        float s = store(double(a) * m / level);
        if (s != 0.0f && std::isfinite(s))
          scales.push_back(s);
      }
    llvm::SmallVector<int, 80> zps(scales.size(), 0);
    llvm::SmallVector<double, 80> errs(scales.size());
    codeGroupOnGridErrors(v, wt, scales.data(), scales.size(), levels,
                          errs.data());
    pickBest(scales.data(), zps.data(), errs.data(), scales.size(), best);
    if (best.scale != 0.0f) {
      std::vector<int> q(v.size());
      codeGroupOnGrid(v, nullptr, best.scale, levels, q.data());
      double num = 0, den = 0;
      for (size_t i = 0; i < v.size(); ++i) {
        double c = wt ? wt[i] : 1.0;
        num += c * double(v[i]) * levels[q[i]];
        den += c * double(levels[q[i]]) * levels[q[i]];
      }
      if (den > 0) {
        float s = store(num / den);
        if (s != 0.0f && std::isfinite(s)) {
          double e = codeGroupOnGrid(v, wt, s, levels, nullptr);
          if (e < best.error)
            best = {s, 0, e};
        }
      }
    }
    return best;
  }
  if (!spec.asymmetric) {
    const int qmin = -(1 << (spec.bits - 1)), qmax = (1 << (spec.bits - 1)) - 1;
    float m = 0;
    for (float x : v)
      if (std::fabs(x) > std::fabs(m))
        m = x;
    if (m == 0.0f)
      return best;
    llvm::SmallVector<float, 80> scales;
    for (float a : ratios)
      for (int level : {qmin, qmax}) {
        float s = store(double(a) * m / level);
        if (s != 0.0f && std::isfinite(s))
          scales.push_back(s);
      }
    llvm::SmallVector<int, 80> zps(scales.size(), 0);
    llvm::SmallVector<double, 80> errs(scales.size());
    codeGroupErrors(v, wt, scales.data(), zps.data(), scales.size(), qmin, qmax,
                    errs.data());
    pickBest(scales.data(), zps.data(), errs.data(), scales.size(), best);
    // One least-squares refit of the scale for the chosen codes.
    if (best.scale != 0.0f) {
      std::vector<int> q(v.size());
      codeGroup(v, nullptr, best.scale, 0, qmin, qmax, q.data());
      double num = 0, den = 0;
      for (size_t i = 0; i < v.size(); ++i) {
        double c = wt ? wt[i] : 1.0;
        num += c * double(v[i]) * q[i];
        den += c * double(q[i]) * q[i];
      }
      if (den > 0) {
        float s = store(num / den);
        if (s != 0.0f && std::isfinite(s)) {
          double e = codeGroup(v, wt, s, 0, qmin, qmax, nullptr);
          if (e < best.error)
            best = {s, 0, e};
        }
      }
    }
    return best;
  }
  const int qmax = (1 << spec.bits) - 1;
  float mn = 0, mx = 0; // the range always holds 0, so 0 is exact
  for (float x : v) {
    mn = std::min(mn, x);
    mx = std::max(mx, x);
  }
  if (mn == mx)
    return best;
  llvm::SmallVector<float, 40> scales;
  llvm::SmallVector<int, 40> zps;
  for (float a : ratios) {
    double lo = double(a) * mn, hi = double(a) * mx;
    float s = store((hi - lo) / qmax);
    if (s == 0.0f || !std::isfinite(s))
      continue;
    scales.push_back(s);
    zps.push_back(std::clamp(static_cast<int>(std::nearbyint(-lo / s)), 0, qmax));
  }
  llvm::SmallVector<double, 40> errs(scales.size());
  codeGroupErrors(v, wt, scales.data(), zps.data(), scales.size(), 0, qmax,
                  errs.data());
  pickBest(scales.data(), zps.data(), errs.data(), scales.size(), best);
  return best;
}

/// The code range of `spec`'s codes.
int codeMin(const QuantSpec &spec) {
  return spec.asymmetric || spec.floatMin ? 0 : -(1 << (spec.bits - 1));
}
int codeMax(const QuantSpec &spec) {
  return spec.asymmetric || spec.floatMin ? (1 << spec.bits) - 1
                                          : (1 << (spec.bits - 1)) - 1;
}

/// Calls fn(r0, r1) on blocks of rows [0, rows), on every processor. The
/// blocks are disjoint and each row is processed as a whole, so the result
/// does not depend on the number of threads.
void forEachRowBlock(int64_t rows,
                     llvm::function_ref<void(int64_t, int64_t)> fn) {
  constexpr int64_t kRows = 16;
  int64_t blocks = (rows + kRows - 1) / kRows;
  llvm::parallelFor(0, blocks, [&](size_t b) {
    int64_t r0 = int64_t(b) * kRows;
    fn(r0, std::min(rows, r0 + kRows));
  });
}

/// A result of the right sizes for a rows x cols matrix under `spec`.
QuantizedMatrix emptyResult(int64_t rows, int64_t cols, const QuantSpec &spec) {
  QuantizedMatrix q;
  q.rows = rows;
  q.cols = cols;
  int64_t groups = cols / spec.groupSize;
  q.codes.resize(rows * cols);
  q.scales.resize(rows * groups);
  if (spec.asymmetric)
    q.zeroPoints.resize(rows * groups);
  if (spec.floatMin)
    q.mins.resize(rows * groups);
  return q;
}

} // namespace

QuantizedMatrix qtc::quantizeMatrix(llvm::ArrayRef<float> w, int64_t rows,
                                    int64_t cols, const QuantSpec &spec) {
  QuantizedMatrix q = emptyResult(rows, cols, spec);
  int64_t groups = cols / spec.groupSize;
  std::vector<float> ratios = clipRatios(spec.searchClip);
  const int lo = codeMin(spec), hi = codeMax(spec);
  // Rows are independent: blocks of them on every thread.
  forEachRowBlock(rows, [&](int64_t r0, int64_t r1) {
  std::vector<int> codes(spec.groupSize);
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      llvm::ArrayRef<float> v =
          w.slice(r * cols + g * spec.groupSize, spec.groupSize);
      GroupResult best = quantizeGroup(v, spec, ratios);
      if (spec.floatMin)
        codeGroupWithMin(v, nullptr, best.scale, best.min, hi, codes.data());
      else if (spec.levels.empty())
        codeGroup(v, nullptr, best.scale, best.zeroPoint, lo, hi, codes.data());
      else
        codeGroupOnGrid(v, nullptr, best.scale, spec.levels, codes.data());
      if (spec.floatMin)
        q.mins[r * groups + g] = best.min;
      for (int64_t i = 0; i < spec.groupSize; ++i)
        q.codes[r * cols + g * spec.groupSize + i] =
            static_cast<uint8_t>(codes[i] & ((1 << spec.bits) - 1));
      q.scales[r * groups + g] = best.scale;
      if (spec.asymmetric)
        q.zeroPoints[r * groups + g] = static_cast<uint8_t>(best.zeroPoint);
    }
  });
  return q;
}

std::vector<float> qtc::dequantizeMatrix(const QuantizedMatrix &q,
                                         const QuantSpec &spec) {
  std::vector<float> w(q.rows * q.cols);
  int64_t groups = q.cols / spec.groupSize;
  for (int64_t r = 0; r < q.rows; ++r)
    for (int64_t c = 0; c < q.cols; ++c) {
      int64_t g = r * groups + c / spec.groupSize;
      int code = q.codes[r * q.cols + c];
      if (!spec.levels.empty()) {
        w[r * q.cols + c] = spec.levels[code] * q.scales[g];
        continue;
      }
      if (spec.floatMin) {
        w[r * q.cols + c] = static_cast<float>(code) * q.scales[g] + q.mins[g];
        continue;
      }
      if (!spec.asymmetric && (code & (1 << (spec.bits - 1))))
        code -= 1 << spec.bits; // sign-extend
      int zp = spec.asymmetric ? q.zeroPoints[g] : 0;
      w[r * q.cols + c] = static_cast<float>(code - zp) * q.scales[g];
    }
  return w;
}

namespace {

/// Calls fn(i0, i1) on blocks of [begin, end), on every processor when
/// (end - begin) * work (the cost of one item, in multiply-adds) is large
/// enough to pay for the threads, else on this one.
void forEachBlock(int64_t begin, int64_t end, int64_t work,
                  llvm::function_ref<void(int64_t, int64_t)> fn) {
  int64_t count = end - begin;
  if (count <= 0)
    return;
  if (count * std::max<int64_t>(work, 1) < (int64_t(1) << 18)) {
    fn(begin, end);
    return;
  }
  int64_t per = std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(work, 1));
  int64_t blocks = (count + per - 1) / per;
  llvm::parallelFor(0, blocks, [&](size_t b) {
    int64_t i0 = begin + int64_t(b) * per;
    fn(i0, std::min(end, i0 + per));
  });
}

/// In-place Cholesky factor of a row-major n x n symmetric matrix: its lower
/// triangle becomes L with A = L L^T (the upper triangle is left as is).
/// False when A is not positive definite.
bool cholesky(std::vector<double> &a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (int64_t k = 0; k < j; ++k)
      d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0))
      return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    // The rows below are independent: on every processor when there is
    // enough of them (each row's sum in the same order either way).
    auto rows = [&](int64_t i0, int64_t i1) {
      const double *rj = &a[j * n];
      for (int64_t i = i0; i < i1; ++i) {
        double v = a[i * n + j];
        const double *ri = &a[i * n];
        for (int64_t k = 0; k < j; ++k)
          v -= ri[k] * rj[k];
        a[i * n + j] = v / d;
      }
    };
    forEachBlock(j + 1, n, j, rows);
  }
  return true;
}

} // namespace

GPTQFactor qtc::gptqFactor(llvm::ArrayRef<double> hessian, int64_t n,
                           double damp) {
  GPTQFactor f;
  if (n <= 0 || static_cast<int64_t>(hessian.size()) != n * n)
    return f;
  double mean = 0;
  for (int64_t i = 0; i < n; ++i)
    mean += hessian[i * n + i];
  mean /= double(n);
  if (!(mean > 0) || !std::isfinite(mean))
    return f;
  // H + damp * mean * I, symmetric from the upper triangle.
  std::vector<double> a(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j)
      a[i * n + j] = a[j * n + i] = hessian[i * n + j];
  for (int64_t i = 0; i < n; ++i)
    a[i * n + i] += damp * mean + (a[i * n + i] > 0 ? 0.0 : mean);
  if (!cholesky(a, n))
    return f;
  // L^-1 (lower), column by column (L x = e_j), each column stored as a
  // row of invT so that every sum below reads memory in order; columns on
  // every processor.
  std::vector<double> invT(n * n, 0.0);
  forEachBlock(0, n, n, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      double *col = &invT[j * n];
      col[j] = 1.0 / a[j * n + j];
      for (int64_t i = j + 1; i < n; ++i) {
        double v = 0;
        const double *ai = &a[i * n];
        for (int64_t k = j; k < i; ++k)
          v -= ai[k] * col[k];
        col[i] = v / a[i * n + i];
      }
    }
  });
  // H^-1 = L^-T L^-1, then its Cholesky factor; U is that factor's
  // transpose. (L^-1)[k][i] is 0 for k < i.
  std::vector<double> hinv(n * n, 0.0);
  forEachBlock(0, n, n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t j = 0; j <= i; ++j) {
        double v = 0;
        const double *ci = &invT[i * n], *cj = &invT[j * n];
        for (int64_t k = i; k < n; ++k)
          v += ci[k] * cj[k];
        hinv[i * n + j] = v;
      }
  });
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < i; ++j)
      hinv[j * n + i] = hinv[i * n + j];
  if (!cholesky(hinv, n))
    return f;
  f.cols = n;
  f.u.assign(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j)
      f.u[i * n + j] = hinv[j * n + i];
  return f;
}

QuantizedMatrix qtc::quantizeMatrixGPTQ(llvm::ArrayRef<float> w, int64_t rows,
                                        int64_t cols, const QuantSpec &spec,
                                        const GPTQFactor &factor) {
  if (factor.cols != cols)
    return quantizeMatrix(w, rows, cols, spec);
  QuantizedMatrix q = emptyResult(rows, cols, spec);
  const int64_t g = spec.groupSize, groups = cols / g;
  std::vector<float> ratios = clipRatios(spec.searchClip);
  const int lo = codeMin(spec), hi = codeMax(spec);
  const std::vector<double> &u = factor.u;
  // GPTQ treats each row alone (one H for all): blocks of rows run on every
  // processor, each row with the same arithmetic in the same order.
  forEachRowBlock(rows, [&](int64_t r0, int64_t r1) {
    const int64_t n = r1 - r0;
    // The rows as GPTQ updates them, and per block of columns each row's
    // scaled errors, applied to the later columns once per block.
    std::vector<double> cur(w.begin() + r0 * cols, w.begin() + r1 * cols);
    constexpr int64_t kBlock = 128;
    std::vector<double> err(n * kBlock);
    std::vector<float> group(g);
    std::vector<GroupResult> params(n);
    for (int64_t b0 = 0; b0 < cols; b0 += kBlock) {
      int64_t b1 = std::min(cols, b0 + kBlock);
      for (int64_t i = b0; i < b1; ++i) {
        if (i % g == 0)
          for (int64_t r = 0; r < n; ++r) {
            for (int64_t t = 0; t < g; ++t)
              group[t] = static_cast<float>(cur[r * cols + i + t]);
            params[r] = quantizeGroup(group, spec, ratios);
            q.scales[(r0 + r) * groups + i / g] = params[r].scale;
            if (spec.asymmetric)
              q.zeroPoints[(r0 + r) * groups + i / g] =
                  static_cast<uint8_t>(params[r].zeroPoint);
            if (spec.floatMin)
              q.mins[(r0 + r) * groups + i / g] = params[r].min;
          }
        double d = u[i * cols + i];
        for (int64_t r = 0; r < n; ++r) {
          double *row = &cur[r * cols];
          float v = static_cast<float>(row[i]);
          int code;
          double value;
          if (spec.floatMin) {
            codeGroupWithMin(llvm::ArrayRef<float>(&v, 1), nullptr, params[r].scale,
                             params[r].min, hi, &code);
            value = double(static_cast<float>(code) * params[r].scale +
                           params[r].min);
          } else if (spec.levels.empty()) {
            codeGroup(llvm::ArrayRef<float>(&v, 1), nullptr, params[r].scale,
                      params[r].zeroPoint, lo, hi, &code);
            value = double(code - params[r].zeroPoint) * double(params[r].scale);
          } else {
            codeGroupOnGrid(llvm::ArrayRef<float>(&v, 1), nullptr, params[r].scale,
                            spec.levels, &code);
            value = double(spec.levels[code]) * double(params[r].scale);
          }
          q.codes[(r0 + r) * cols + i] =
              static_cast<uint8_t>(code & ((1 << spec.bits) - 1));
          double e = (row[i] - value) / d;
          err[r * kBlock + (i - b0)] = e;
          // Within the block right away; beyond it once per block.
          const double *ui = &u[i * cols];
          for (int64_t j = i + 1; j < b1; ++j)
            row[j] -= e * ui[j];
        }
      }
      if (b1 == cols)
        break;
      for (int64_t r = 0; r < n; ++r) {
        double *row = &cur[r * cols];
        for (int64_t t = 0; t < b1 - b0; ++t) {
          double e = err[r * kBlock + t];
          const double *ut = &u[(b0 + t) * cols];
          for (int64_t j = b1; j < cols; ++j)
            row[j] -= e * ut[j];
        }
      }
    }
  });
  return q;
}

std::vector<float> qtc::randomizedHadamard(int64_t size, uint64_t seed) {
  if (size <= 0 || (size & (size - 1)))
    return {};
  // A fixed generator, so a seed gives the same rotation everywhere.
  std::mt19937_64 rng(seed);
  std::vector<float> r(size * size);
  float norm = 1.0f / std::sqrt(static_cast<float>(size));
  for (int64_t i = 0; i < size; ++i) {
    float sign = (rng() >> 63) ? -norm : norm;
    for (int64_t j = 0; j < size; ++j)
      // Sylvester: H[i, j] = (-1)^popcount(i & j).
      r[i * size + j] = (__builtin_popcountll(uint64_t(i & j)) & 1) ? -sign : sign;
  }
  return r;
}

void qtc::rotateColumnBlocks(std::vector<float> &m, int64_t rows, int64_t cols,
                             llvm::ArrayRef<float> r, int64_t block,
                             bool transpose) {
  std::vector<double> out(block);
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t b = 0; b < cols; b += block) {
      float *v = &m[row * cols + b];
      std::fill(out.begin(), out.end(), 0.0);
      for (int64_t j = 0; j < block; ++j) {
        double x = v[j];
        for (int64_t c = 0; c < block; ++c)
          out[c] += x * (transpose ? r[c * block + j] : r[j * block + c]);
      }
      for (int64_t c = 0; c < block; ++c)
        v[c] = static_cast<float>(out[c]);
    }
}

void qtc::rotateStatistics(std::vector<double> &h, int64_t cols,
                           llvm::ArrayRef<float> r, int64_t block) {
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j < i; ++j)
      h[i * cols + j] = h[j * cols + i];
  // H <- H R (each row's column blocks), then R^T H (each column's row
  // blocks), in double.
  std::vector<double> tmp(block);
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t b = 0; b < cols; b += block) {
      double *v = &h[i * cols + b];
      std::fill(tmp.begin(), tmp.end(), 0.0);
      for (int64_t j = 0; j < block; ++j)
        for (int64_t c = 0; c < block; ++c)
          tmp[c] += v[j] * r[j * block + c];
      std::copy(tmp.begin(), tmp.end(), v);
    }
  for (int64_t col = 0; col < cols; ++col)
    for (int64_t b = 0; b < cols; b += block) {
      std::fill(tmp.begin(), tmp.end(), 0.0);
      for (int64_t j = 0; j < block; ++j) {
        double x = h[(b + j) * cols + col];
        for (int64_t c = 0; c < block; ++c)
          tmp[c] += x * r[j * block + c];
      }
      for (int64_t c = 0; c < block; ++c)
        h[(b + c) * cols + col] = tmp[c];
    }
}
