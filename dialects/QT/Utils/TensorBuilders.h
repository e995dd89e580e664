//===- TensorBuilders.h - Tensor IR building helpers ------------*- C++ -*-===//
//
// Used by the ONNX importer, the Hugging Face model builders and the
// backend's lowerings to build tensor computations from upstream dialects
// (tensor, linalg, arith).
//
//===----------------------------------------------------------------------===//

#ifndef QTC_DIALECTS_QT_UTILS_TENSORBUILDERS_H
#define QTC_DIALECTS_QT_UTILS_TENSORBUILDERS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace qtc::ir {

/// The ranked tensor type of `value`.
inline mlir::RankedTensorType typeOf(mlir::Value value) {
  return llvm::cast<mlir::RankedTensorType>(value.getType());
}
/// Static sizes of `sizes` (dynamic where not constant).
llvm::SmallVector<int64_t> staticShape(llvm::ArrayRef<mlir::OpFoldResult> sizes);
/// A resource-blob key for a weight name (letters, digits, '_' and '.').
std::string resourceKey(llvm::StringRef name);

/// Sizes of `value`'s dims (static as attributes, dynamic as tensor.dim).
llvm::SmallVector<mlir::OpFoldResult> mixedSizes(mlir::OpBuilder &b,
                                                 mlir::Location loc,
                                                 mlir::Value value);
/// Broadcasts `value` to `sizes` (whose rank is >= value's), numpy style.
mlir::Value broadcastTo(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::Value value,
                        llvm::ArrayRef<mlir::OpFoldResult> sizes);
/// A `linalg.map` over same-shaped `inputs` producing `resultElement`; the
/// body sees the input elements.
mlir::Value mapElements(
    mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange inputs,
    mlir::Type resultElement,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                   mlir::ValueRange)>
        body);
/// A scalar constant of a float or integer type.
mlir::Value scalarConstant(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Type type, double value);
/// Empty tensor with `value`'s sizes and another element type.
mlir::Value emptyLike(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                      mlir::Type elementType);
/// A tensor filled with zero.
mlir::Value zeros(mlir::OpBuilder &b, mlir::Location loc,
                  llvm::ArrayRef<mlir::OpFoldResult> sizes, mlir::Type type);
/// Reshapes `value` to `sizes` (tensor.reshape with a computed shape).
mlir::Value reshapeTo(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                      llvm::ArrayRef<mlir::OpFoldResult> sizes);
/// Collapses all leading dims except the last `keep` into one.
mlir::Value collapseLeading(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value value, int64_t keep);
/// Inserts unit dims at `axes` (sorted, in the result's numbering).
mlir::Value insertUnitDims(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value value, llvm::ArrayRef<int64_t> axes);
/// Drops the unit dims at `axes`.
mlir::Value dropUnitDims(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Value value, llvm::ArrayRef<int64_t> axes);
/// Permutes dims.
mlir::Value transpose(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                      llvm::ArrayRef<int64_t> permutation);
/// Reduces `axes` with `combine` starting from `init`; keeps unit dims if
/// `keepDims`.
mlir::Value reduce(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                   llvm::ArrayRef<int64_t> axes, bool keepDims, double init,
                   llvm::function_ref<mlir::Value(mlir::OpBuilder &,
                                                  mlir::Location, mlir::Value,
                                                  mlir::Value)>
                       combine);

} // namespace qtc::ir

#endif // QTC_DIALECTS_QT_UTILS_TENSORBUILDERS_H
