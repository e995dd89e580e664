//===- Importer.h - ONNX importer internals ---------------------*- C++ -*-===//
//
// Shared by the importer core and the op tables (StandardOps.cpp,
// QuantOps.cpp, ContribOps.cpp). Nothing here is public API.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_FRONTENDS_ONNX_IMPORTER_H
#define QTC_FRONTENDS_ONNX_IMPORTER_H

#include "dialects/QT/Utils/TensorBuilders.h"
#include "frontends/onnx/OnnxImporter.h"

#include "dialects/QT/IR/QTDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <functional>
#include <memory>
#include <optional>

namespace onnx {
class AttributeProto;
class ModelProto;
class NodeProto;
class TensorProto;
} // namespace onnx

namespace qtc::onnx {

using namespace qtc::ir;

/// ONNX TensorProto element types (onnx.proto; newer than libonnx 1.12's
/// enum for the 4- and 2-bit ones).
enum DType : int32_t {
  kFloat = 1, kUInt8 = 2, kInt8 = 3, kUInt16 = 4, kInt16 = 5, kInt32 = 6,
  kInt64 = 7, kString = 8, kBool = 9, kFloat16 = 10, kDouble = 11,
  kUInt32 = 12, kUInt64 = 13, kBFloat16 = 16, kUInt4 = 21, kInt4 = 22,
  kUInt2 = 25, kInt2 = 26,
};

/// Name of an ONNX element type ("FLOAT16", "INT4", ...).
std::string dtypeName(int32_t dtype);
/// Bits per element (0 for types qtc does not know).
unsigned dtypeBits(int32_t dtype);
bool dtypeIsFloat(int32_t dtype);
bool dtypeIsSigned(int32_t dtype);

/// Tensor contents known at import time (initializers, Constant nodes and
/// what folds from them), in ONNX's raw little-endian layout. Sub-byte types
/// are packed as ONNX packs them (low bits first, across the whole tensor).
struct ConstData {
  std::shared_ptr<void> owner; // keeps `bytes` alive (a buffer or a mapping)
  llvm::ArrayRef<char> bytes;
  llvm::SmallVector<int64_t> dims;
  int32_t dtype = 0;
  std::string name;

  int64_t numElements() const;
  /// Element i as int64 / double (integer and float types of >= 8 bits).
  int64_t intAt(int64_t i) const;
  double floatAt(int64_t i) const;
  /// All elements as int64 (integer types).
  llvm::SmallVector<int64_t> ints() const;
};

/// One entry of a small int64 vector known at import time, used to follow
/// shape computations (Shape -> Gather -> Concat -> Reshape): a constant,
/// the runtime size of dimension `dim` of `source`, or an index value
/// computed from such sizes (`runtime`; `nonNegative` when it is a size).
struct ShapeEntry {
  int64_t constant = mlir::ShapedType::kDynamic;
  mlir::Value source;
  int64_t dim = -1;
  mlir::Value runtime;
  bool nonNegative = false;
  bool isConstant() const { return !mlir::ShapedType::isDynamic(constant); }
  bool isSymbol() const { return static_cast<bool>(source); }
  bool isKnown() const {
    return isConstant() || isSymbol() || static_cast<bool>(runtime);
  }
  /// True when the entry is a size, so never negative.
  bool isSize() const {
    return isSymbol() || (runtime && nonNegative) ||
           (isConstant() && constant >= 0);
  }
};

/// Packed weights known to dequantize to a [K, N] matrix (a
/// DequantizeLinear of constant codes): MatMul reads them through
/// qt.quantized_matmul, anything else through qt.dequantize.
struct PackedWeight {
  mlir::Value weights, scales, zeroPoints; // [N, bytes], [N, G], [N, G]
  mlir::qt::PackedAttr format;
  int64_t n = 0, k = 0;
  mlir::Type resultElement;
};

/// An ONNX value during import.
struct Tensor {
  std::shared_ptr<PackedWeight> packed;  // see PackedWeight
  mlir::Value value;                    // null until materialized (constants)
  int32_t dtype = 0;                    // ONNX element type
  std::shared_ptr<ConstData> constant;  // contents, when known
  std::optional<llvm::SmallVector<ShapeEntry>> known; // 0-D/1-D int64 content
  /// For rank-0 known values (a scalar from Gather or Squeeze).
  bool knownIsScalar = false;
};

class GraphImporter;

/// The outputs an op handler produces.
using Results = llvm::SmallVectorImpl<Tensor>;

/// An imported value of the given ONNX element type.
inline Tensor tensorOf(mlir::Value value, int32_t dtype) {
  Tensor t;
  t.value = value;
  t.dtype = dtype;
  return t;
}

/// What an op handler sees of one node.
class NodeContext {
public:
  NodeContext(GraphImporter &importer, const ::onnx::NodeProto &node,
              llvm::StringRef domain, int64_t opset, mlir::Location loc);

  GraphImporter &importer;
  const ::onnx::NodeProto &node;
  std::string domain;
  int64_t opset;
  mlir::Location loc;
  llvm::SmallVector<Tensor *> inputs; // null entries: omitted optional inputs

  mlir::OpBuilder &builder();
  mlir::MLIRContext *context();

  /// A one-line error naming file, node, op, domain and opset.
  llvm::Error error(const llvm::Twine &message) const;

  size_t numInputs() const { return inputs.size(); }
  bool hasInput(size_t i) const { return i < inputs.size() && inputs[i]; }
  /// Input i as an MLIR value (materializing constants); errors if absent.
  llvm::Expected<mlir::Value> input(size_t i);
  llvm::Expected<mlir::RankedTensorType> inputType(size_t i);
  /// Constant contents of input i, or an error naming the input.
  llvm::Expected<const ConstData *> constantInput(size_t i,
                                                  llvm::StringRef what);

  const ::onnx::AttributeProto *attr(llvm::StringRef name) const;
  int64_t intAttr(llvm::StringRef name, int64_t defaultValue) const;
  float floatAttr(llvm::StringRef name, float defaultValue) const;
  std::string stringAttr(llvm::StringRef name,
                         llvm::StringRef defaultValue) const;
  std::optional<llvm::SmallVector<int64_t>> intsAttr(llvm::StringRef name) const;
  /// Rejects attributes the handler does not understand.
  llvm::Error checkAttributes(llvm::ArrayRef<llvm::StringRef> known) const;
  /// Normalizes a possibly negative axis against `rank`.
  llvm::Expected<int64_t> normalizeAxis(int64_t axis, int64_t rank,
                                        llvm::StringRef what = "axis") const;
};

using OpHandler =
    std::function<llvm::Error(NodeContext &, llvm::SmallVectorImpl<Tensor> &)>;

/// Handlers by (domain, op type); `sinceVersion` is the lowest opset the
/// handler understands.
class OpTable {
public:
  void add(llvm::StringRef domain, llvm::StringRef opType, int64_t sinceVersion,
           OpHandler handler);
  const OpHandler *lookup(llvm::StringRef domain, llvm::StringRef opType,
                          int64_t opset, int64_t *sinceVersion) const;
  bool knowsOp(llvm::StringRef domain, llvm::StringRef opType) const;

private:
  struct Entry {
    int64_t sinceVersion;
    OpHandler handler;
  };
  llvm::StringMap<llvm::SmallVector<Entry>> entries; // "domain::op"
};

void addStandardOps(OpTable &table);
void addQuantOps(OpTable &table);
void addContribOps(OpTable &table);
void addTensorOps(OpTable &table);

class GraphImporter {
public:
  GraphImporter(mlir::MLIRContext &context, std::string fileName,
                ::onnx::ModelProto &model, const ImportOptions &options);
  llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>> run();

  mlir::MLIRContext &context;
  mlir::OpBuilder builder;
  std::string fileName;

  /// MLIR element type of an ONNX element type (signless integers), or null.
  mlir::Type elementType(int32_t dtype);
  /// Creates the constant for `tensor` (at the function entry) if needed.
  mlir::Value materialize(Tensor &tensor);
  /// A constant holding `data` as a tensor of the given MLIR element type
  /// (bytes must already be in that type's layout).
  mlir::Value constantFromBytes(llvm::ArrayRef<char> bytes,
                                llvm::ArrayRef<int64_t> shape,
                                mlir::Type elementType, llvm::StringRef name,
                                std::shared_ptr<void> owner);
  /// Reads a TensorProto (raw, typed or external data).
  llvm::Expected<std::shared_ptr<ConstData>>
  readTensor(const ::onnx::TensorProto &proto);

private:
  llvm::Error importGraph();
  llvm::Error importNode(const ::onnx::NodeProto &node, size_t index);
  /// Imports a matched decomposition as one qt op; false when the operand
  /// types do not fit it (then its nodes are imported one by one).
  llvm::Expected<bool> importFusion(const struct Fusion &fusion);
  std::optional<double> scalarConstant(llvm::StringRef name);
  llvm::Expected<mlir::Type> inputType(const void *valueInfo,
                                       llvm::StringRef name);
  llvm::Expected<llvm::ArrayRef<char>>
  externalData(const ::onnx::TensorProto &proto, std::shared_ptr<void> &owner);

  ::onnx::ModelProto &model;
  const ImportOptions &options;
  OpTable table;
  llvm::StringMap<int64_t> opsets;
  llvm::StringMap<Tensor> values;
  llvm::StringMap<std::shared_ptr<void>> mappedFiles;
  llvm::StringMap<const ::onnx::NodeProto *> constantNodes;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  mlir::func::FuncOp func;
  mlir::Block *constantBlock = nullptr;
  mlir::Operation *lastConstant = nullptr;
  friend class NodeContext;
};

//===----------------------------------------------------------------------===//
// IR building helpers shared by the op tables (Builders.cpp)
//===----------------------------------------------------------------------===//

/// numpy broadcasting of `values` to one shape; errors on mismatches.
llvm::Expected<llvm::SmallVector<mlir::Value>>
broadcastValues(NodeContext &ctx, llvm::ArrayRef<mlir::Value> values);
/// Matrix product with numpy semantics (ranks >= 1, broadcast batch dims).
llvm::Expected<mlir::Value> matmul(NodeContext &ctx, mlir::Value a,
                                   mlir::Value b);

} // namespace qtc::onnx

#endif // QTC_FRONTENDS_ONNX_IMPORTER_H
