//===- Fusion.h - raising exporter decompositions into qt ops ---*- C++ -*-===//

#ifndef QTC_FRONTENDS_ONNX_FUSION_H
#define QTC_FRONTENDS_ONNX_FUSION_H

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>
#include <vector>

namespace onnx {
class GraphProto;
} // namespace onnx

namespace qtc::onnx {

/// One matched decomposition: the nodes it covers (sorted, `root` produces
/// the result) and the values and constants the qt op needs.
struct Fusion {
  enum Kind { RmsNorm, Gelu, GeluTanh, Silu, Attention } kind;
  size_t root = 0;
  std::vector<size_t> nodes;
  /// RmsNorm: x, weight. Gelu/Silu: x. Attention: q, k^T, v, mask ("" if
  /// none).
  std::vector<std::string> inputs;
  double epsilon = 0.0;
  double scale = 1.0;
};

/// Finds the decompositions in `graph`. `scalar` returns the value of a
/// one-element constant (initializer or Constant node), if it is one.
std::vector<Fusion>
findFusions(const ::onnx::GraphProto &graph,
            llvm::function_ref<std::optional<double>(llvm::StringRef)> scalar);

} // namespace qtc::onnx

#endif // QTC_FRONTENDS_ONNX_FUSION_H
