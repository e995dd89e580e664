//===- Quantize.h - Round-to-nearest weight quantization ---------*- C++ -*-===//
//
// Group-wise quantization of a real-valued weight matrix into the codes,
// scales and zero points of `#qt.packed` (see dialects/QT/IR/QTAttrs.td):
//
//   w[n, k] ~ (code[n, k] - zp[n, k / G]) * scale[n, k / G]
//
// Rows are output channels; groups of G consecutive columns (along the
// reduction dimension K) share one scale. Two schemes:
//
//  * symmetric: signed codes in [-2^(b-1), 2^(b-1) - 1], zero point 0. The
//    scale may be negative, so that the element of largest magnitude can use
//    the extra negative level whatever its sign (as llama.cpp's Q4_0 does).
//  * asymmetric: unsigned codes in [0, 2^b - 1] and an integer zero point
//    per group.
//  * a non-uniform grid (`levels`, 2^b increasing reals): unsigned codes
//    index the grid, w ~ levels[code] * scale, no zero point. The scale's
//    sign is searched as in the symmetric scheme.
//
// Each group's range is searched for the clipping that minimizes the group's
// weighted squared reconstruction error (round-to-nearest codes for each
// candidate range; data-free; each element weighted by the group's RMS plus
// its magnitude), then the scale gets one weighted least-squares refit.
// Scales are rounded to their storage type (f16 by default) before the
// codes are chosen, so the stored weights reproduce the searched error.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_QUANT_QUANTIZE_H
#define QTC_QUANT_QUANTIZE_H

#include "dialects/QT/Utils/Grids.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qtc {

struct QuantSpec {
  unsigned bits = 4;       ///< Code width, 2 to 8.
  int64_t groupSize = 128; ///< Columns per scale; must divide the row length.
  bool asymmetric = false; ///< Unsigned codes with a zero point per group.
  bool searchClip = true;  ///< MSE-optimal clipping search per group.
  bool f16Scales = true;   ///< Round scales to f16 (else f32).
  /// Non-uniform grid of 2^bits increasing values (empty: evenly spaced
  /// integer codes). Not with `asymmetric`.
  std::vector<float> levels;
  /// Unsigned codes with a real-valued minimum per group, stored like the
  /// scales: w = code * scale + min (llama.cpp's Q4_1 / Q5_1 form). Not
  /// with `asymmetric` or a grid.
  bool floatMin = false;
  /// The clipping search and the refits minimize a weighted squared error,
  /// each element weighted by the group's RMS plus its own magnitude (as
  /// llama.cpp's K-quant searches do without an importance matrix); off:
  /// plain squared error.
  bool weightedError = true;
};

/// Quantized form of a rows x cols matrix.
struct QuantizedMatrix {
  int64_t rows = 0, cols = 0;
  /// rows x cols codes, row-major; symmetric codes are two's complement in
  /// the low `bits` bits; with a grid, indices into it.
  std::vector<uint8_t> codes;
  /// rows x (cols / groupSize) scales, already rounded to the storage type.
  std::vector<float> scales;
  /// rows x (cols / groupSize) zero-point codes (asymmetric only).
  std::vector<uint8_t> zeroPoints;
  /// rows x (cols / groupSize) minimums, rounded like the scales (floatMin
  /// only).
  std::vector<float> mins;
};

/// Rounds `x` to the nearest f16 value (returned as float).
float roundToHalf(float x);

/// Quantizes `w` (rows x cols, row-major). The spec must be valid for the
/// shape (see quantSpecError).
QuantizedMatrix quantizeMatrix(llvm::ArrayRef<float> w, int64_t rows,
                               int64_t cols, const QuantSpec &spec);

/// The real values the codes stand for (rows x cols).
std::vector<float> dequantizeMatrix(const QuantizedMatrix &q,
                                    const QuantSpec &spec);

/// What GPTQ needs of a layer's input statistics H = X^T X (cols x cols,
/// X the calibration inputs): the upper triangular U with
/// U^T U = (H + damp * mean(diag H) * I)^-1, row-major. Independent of the
/// code width, so one factor serves every candidate width.
struct GPTQFactor {
  int64_t cols = 0;
  std::vector<double> u;
};

/// The factor of `hessian` (cols x cols, row-major, symmetric; only the
/// upper triangle is read), or an empty factor (cols == 0) when H has no
/// positive diagonal or is not positive definite after damping.
GPTQFactor gptqFactor(llvm::ArrayRef<double> hessian, int64_t cols,
                      double damp);

/// GPTQ (Frantar et al., 2022): the columns of `w` are quantized in order,
/// and each column's rounding error is compensated on the columns not yet
/// quantized through the inverse of H, so that the rounding minimizes the
/// layer's output error ||X (W - Q)^T||^2 instead of ||W - Q||^2. A
/// group's scale (and zero point), clipping search included, is chosen
/// from the group's weights as updated when its first column is reached.
/// With a diagonal H nothing is compensated and the result equals
/// quantizeMatrix's.
QuantizedMatrix quantizeMatrixGPTQ(llvm::ArrayRef<float> w, int64_t rows,
                                   int64_t cols, const QuantSpec &spec,
                                   const GPTQFactor &factor);

/// The randomized Hadamard rotation of `size` (a power of two) channels:
/// R = diag(signs) * H / sqrt(size), H the Sylvester Hadamard matrix and
/// the signs drawn from `seed`; R is orthogonal (R R^T = I). Row-major,
/// size x size. Spreading an outlier channel over the whole block makes
/// groups of weights (and activations) much easier to round (QuaRot,
/// QuIP#). Empty when `size` is not a power of two.
std::vector<float> randomizedHadamard(int64_t size, uint64_t seed);

/// Multiplies every block of `block` consecutive columns of the rows x cols
/// matrix `m` (in place) by R (block x block), or by R^T when `transpose`:
/// row[b*block + c] <- sum_j row[b*block + j] * R[j, c]. With W' = W R and
/// x' = x R per block, x' W'^T = x W^T.
void rotateColumnBlocks(std::vector<float> &m, int64_t rows, int64_t cols,
                        llvm::ArrayRef<float> r, int64_t block, bool transpose);

/// R^T H R on every block x block tile of the symmetric cols x cols matrix
/// `h` (row-major; only the upper triangle is read, the full matrix is
/// written): the statistics X^T X of the rotated inputs x R.
void rotateStatistics(std::vector<double> &h, int64_t cols,
                      llvm::ArrayRef<float> r, int64_t block);

/// Empty if `spec` can quantize a rows x cols matrix, else the reason.
std::string quantSpecError(const QuantSpec &spec, int64_t cols);

/// The group size to use for rows of `cols` when `requested` was asked for:
/// `requested` when it divides `cols` (or is 0, per channel); else the
/// largest divisor of `cols` below it that is a multiple of 32, else of 16,
/// else of 8 (so that a 576-wide row gets 96 for 128, not fp32); else
/// `requested`, which quantSpecError then rejects.
int64_t fittingGroupSize(int64_t requested, int64_t cols);

} // namespace qtc

#endif // QTC_QUANT_QUANTIZE_H
