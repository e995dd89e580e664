//===- NormalizePacking.cpp - Repack weights into lsb_first order ---------===//

#include "passes/Passes.h"

#include "dialects/QT/IR/QTOps.h"
#include "dialects/QT/Utils/BitPacking.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::qt {
#define GEN_PASS_DEF_QTNORMALIZEPACKING
#include "passes/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;
using namespace mlir::qt;

namespace {

/// The bytes of a constant i8 tensor, whether a dense literal or a
/// dense_resource blob; nullopt when they cannot be read.
std::optional<std::vector<uint8_t>> readBytes(ElementsAttr attr) {
  if (auto dense = dyn_cast<DenseIntElementsAttr>(attr)) {
    std::vector<uint8_t> bytes;
    bytes.reserve(dense.getNumElements());
    for (const APInt &v : dense.getValues<APInt>())
      bytes.push_back(static_cast<uint8_t>(v.getZExtValue()));
    return bytes;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    ArrayRef<char> data = blob->getData();
    return std::vector<uint8_t>(data.begin(), data.end());
  }
  return std::nullopt;
}

/// A new constant attribute of `type` holding `bytes`, in the same form as
/// `original` (a resource stays a resource, so large weights stay out of
/// the printed IR).
ElementsAttr makeBytes(ElementsAttr original, RankedTensorType type,
                       ArrayRef<uint8_t> bytes) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(original)) {
    std::string name = (resource.getRawHandle().getKey() + "_lsb").str();
    AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(
        ArrayRef<char>(reinterpret_cast<const char *>(bytes.data()),
                       bytes.size()));
    return DenseResourceElementsAttr::get(type, name, std::move(blob));
  }
  return DenseElementsAttr::getFromRawBuffer(
      type, ArrayRef<char>(reinterpret_cast<const char *>(bytes.data()),
                           bytes.size()));
}

struct NormalizePackingPass
    : qt::impl::QTNormalizePackingBase<NormalizePackingPass> {
  void runOnOperation() override {
    SmallVector<PackedWeightsOpInterface> ops;
    getOperation()->walk([&](PackedWeightsOpInterface op) {
      PackedAttr format = op.getFormatAttr();
      if (format && format.getOrder() != BitOrder::LsbFirst)
        ops.push_back(op);
    });
    for (PackedWeightsOpInterface op : ops) {
      PackedAttr format = op.getFormatAttr();
      OpOperand &weights = op.getPackedWeightsMutable();
      ElementsAttr attr;
      if (!matchPattern(weights.get(), m_Constant(&attr))) {
        op->emitWarning() << "packed weights are not a constant; left in "
                          << stringifyBitOrder(format.getOrder()) << " order";
        continue;
      }
      auto type = cast<RankedTensorType>(weights.get().getType());
      int64_t rows = op.getPackedRowCount();
      int64_t cols = op.getPackedRowLength();
      std::optional<std::vector<uint8_t>> bytes = readBytes(attr);
      if (!bytes || static_cast<int64_t>(bytes->size()) !=
                        rows * format.getPackedRowBytes(cols)) {
        op->emitWarning() << "packed weight constant could not be read; left "
                             "in "
                          << stringifyBitOrder(format.getOrder()) << " order";
        continue;
      }
      std::vector<uint8_t> repacked =
          qtc::repackRows(*bytes, rows, cols, format.getBits(),
                          qtc::BitOrder::MsbFirst, qtc::BitOrder::LsbFirst);
      OpBuilder builder(op);
      auto constant = arith::ConstantOp::create(
          builder, weights.get().getLoc(), type,
          makeBytes(attr, type, repacked));
      Operation *original = weights.get().getDefiningOp();
      weights.set(constant);
      op.setFormatAttr(format.withOrder(BitOrder::LsbFirst));
      if (original && isOpTriviallyDead(original))
        original->erase();
    }
  }
};

} // namespace
