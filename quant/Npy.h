//===- Npy.h - numpy .npy / .npz files --------------------------*- C++ -*-===//
//
// Arrays as the calibration harness and qtc run / eval read and write them:
// C-order .npy (format 1.0-3.0) and uncompressed .npz (numpy.savez).
//
//===----------------------------------------------------------------------===//

#ifndef QTC_QUANT_NPY_H
#define QTC_QUANT_NPY_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <utility>
#include <vector>

namespace qtc {

/// A dense C-order array; dtype is a numpy name (float32, int64, bool, ...).
struct Array {
  std::string dtype;
  llvm::SmallVector<int64_t> shape;
  std::vector<char> data;

  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  const float *f32() const { return reinterpret_cast<const float *>(data.data()); }
  float *f32() { return reinterpret_cast<float *>(data.data()); }
};

/// Bytes per element of a dtype.
size_t itemSize(llvm::StringRef dtype);

/// One input or output of a compiled model: its name, numpy dtype name
/// and static shape.
struct Port {
  std::string name, dtype;
  llvm::SmallVector<int64_t> shape;
};

/// "[1, 8, 384]".
std::string shapeString(llvm::ArrayRef<int64_t> shape);

/// The arrays of `given` in the order of `ports`, each checked for its
/// name, dtype and shape (one-line errors naming the input and what it
/// must be); `source` says where inputs come from, for the missing-input
/// error.
llvm::Expected<std::vector<Array>>
bindInputs(const std::vector<Port> &ports, llvm::StringMap<Array> given,
           llvm::StringRef source = "give --input NAME=FILE.npy");

/// Zero-filled arrays of the ports' dtypes and shapes.
std::vector<Array> allocateArrays(const std::vector<Port> &ports);

/// Parses .npy bytes; `path` names them in errors.
llvm::Expected<Array> parseNpy(llvm::StringRef bytes, llvm::StringRef path);
llvm::Expected<Array> readNpy(llvm::StringRef path);
llvm::Error writeNpy(llvm::StringRef path, const Array &a);

/// The arrays of an uncompressed .npz, in file order, keyed without ".npy".
llvm::Expected<std::vector<std::pair<std::string, Array>>>
readNpz(llvm::StringRef path);

} // namespace qtc

#endif // QTC_QUANT_NPY_H
