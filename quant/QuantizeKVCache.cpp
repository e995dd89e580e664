//===- QuantizeKVCache.cpp - Quantized KV cache at the function boundary --===//
//
// The cache is state the caller keeps between calls, so quantizing it means
// changing what crosses the boundary: each real-valued cache argument and
// present result is split into codes, scales and mins (see
// qt.kv_quantize), and the attention reads a decoded copy.
//
//===----------------------------------------------------------------------===//

#include "quant/Passes.h"

#include "dialects/QT/IR/QTOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

namespace mlir::qt {
#define GEN_PASS_DEF_QTQUANTIZEKVCACHE
#include "quant/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;
using namespace mlir::qt;

namespace {

constexpr const char *kNameKeys[] = {"onnx.name", "hf.name", "qtc.name"};
constexpr const char *kParts[] = {"codes", "scales", "mins"};

/// How one cache tensor (keys or values) is stored.
struct KVLayout {
  int64_t bits, group;
  bool perChannel;

  /// Codes, scales and mins types for the real-valued cache `t`.
  SmallVector<Type, 3> types(RankedTensorType t) const {
    MLIRContext *ctx = t.getContext();
    SmallVector<int64_t> codes(t.getShape()), groups(t.getShape());
    codes[3] = t.getDimSize(3) * bits / 8;
    if (perChannel) {
      int64_t n = t.getDimSize(2);
      groups[2] = ShapedType::isDynamic(n) ? n : (n + group - 1) / group;
    } else {
      groups[3] = t.getDimSize(3) / group;
    }
    Type f16 = Float16Type::get(ctx);
    return {RankedTensorType::get(codes, IntegerType::get(ctx, 8)),
            RankedTensorType::get(groups, f16), RankedTensorType::get(groups, f16)};
  }
};

/// `attrs` with every port name attribute suffixed by ".part".
DictionaryAttr renamed(DictionaryAttr attrs, StringRef part) {
  if (!attrs)
    return attrs;
  NamedAttrList list(attrs);
  for (const char *key : kNameKeys)
    if (auto name = attrs.getAs<StringAttr>(key))
      list.set(key, StringAttr::get(attrs.getContext(),
                                    name.getValue() + "." + part));
  return list.getDictionary(attrs.getContext());
}

/// Why the cache operands and results of `op` cannot cross the boundary
/// quantized, or "" when they can.
std::string mismatch(func::FuncOp f, AttentionOp op) {
  if (op.getPastKey() == op.getPastValue())
    return "the past key and value are the same tensor";
  for (Value past : {op.getPastKey(), op.getPastValue()}) {
    auto arg = dyn_cast<BlockArgument>(past);
    if (!arg || arg.getOwner() != &f.getBody().front())
      return "the past key/value is not a function argument";
    for (Operation *user : arg.getUsers())
      if (user != op.getOperation() && !isa<tensor::DimOp>(user))
        return "the past key/value has uses other than the attention";
  }
  for (Value present : {op.getPresentKey(), op.getPresentValue()}) {
    if (!present.hasOneUse() ||
        !isa<func::ReturnOp>(*present.getUsers().begin()))
      return "the present key/value is not returned as it is";
  }
  return "";
}

struct QuantizeKVCachePass
    : qt::impl::QTQuantizeKVCacheBase<QuantizeKVCachePass> {
  using QTQuantizeKVCacheBase::QTQuantizeKVCacheBase;

  void runOnOperation() override {
    if (bits != 2 && bits != 4 && bits != 8) {
      getOperation().emitError() << "qt-quantize-kv-cache: bits must be 8, 4 "
                                    "or 2, got "
                                 << static_cast<unsigned>(bits);
      return signalPassFailure();
    }
    if (groupSize <= 0) {
      getOperation().emitError()
          << "qt-quantize-kv-cache: group-size must be positive";
      return signalPassFailure();
    }
    for (auto f : getOperation().getOps<func::FuncOp>()) {
      if (f.isDeclaration())
        continue;
      SmallVector<AttentionOp> ops;
      f.walk([&](AttentionOp op) {
        if (op.getPastKey())
          ops.push_back(op);
      });
      for (AttentionOp op : ops)
        rewrite(f, op);
    }
  }

  /// Quantizes the cache of `op`, or warns why it stays real-valued.
  void rewrite(func::FuncOp f, AttentionOp op) {
    if (std::string why = mismatch(f, op); !why.empty()) {
      op.emitWarning() << "KV cache kept real-valued: " << why;
      return;
    }
    // The past's head dimension may be unbound where the present's is not.
    auto withHeadDim = [](Value past, Value present) {
      auto t = cast<RankedTensorType>(past.getType());
      SmallVector<int64_t> shape(t.getShape());
      if (ShapedType::isDynamic(shape[3]))
        shape[3] = cast<RankedTensorType>(present.getType()).getDimSize(3);
      return RankedTensorType::get(shape, t.getElementType());
    };
    RankedTensorType kt = withHeadDim(op.getPastKey(), op.getPresentKey());
    RankedTensorType vt = withHeadDim(op.getPastValue(), op.getPresentValue());
    int64_t dk = kt.getDimSize(3), dv = vt.getDimSize(3);
    int64_t perByte = 8 / bits;
    if (ShapedType::isDynamic(dk) || ShapedType::isDynamic(dv)) {
      op.emitWarning() << "KV cache kept real-valued: the head dimension is "
                          "dynamic";
      return;
    }
    KVLayout keys{bits, groupSize, /*perChannel=*/true};
    KVLayout values{bits, std::min<int64_t>(groupSize, dv), false};
    if (dk % perByte || dv % perByte || dv % values.group) {
      op.emitWarning() << "KV cache kept real-valued: head dimensions " << dk
                       << " and " << dv << " do not split into " << perByte
                       << " codes per byte and groups of " << values.group;
      return;
    }
    Value pastK = op.getPastKey(), pastV = op.getPastValue();
    SmallVector<Value> kParts = splitArgument(f, cast<BlockArgument>(pastK), kt, keys);
    SmallVector<Value> vParts = splitArgument(f, cast<BlockArgument>(pastV), vt, values);
    // Decode right before the op, quantize right after it.
    OpBuilder b(op);
    // Shape queries of the past read the codes (same B, H, T) instead.
    auto redirectDims = [&](Value past, Value codes, int64_t d) {
      for (Operation *user : llvm::make_early_inc_range(past.getUsers())) {
        auto dim = dyn_cast<tensor::DimOp>(user);
        if (!dim)
          continue;
        OpBuilder db(dim);
        std::optional<int64_t> index = dim.getConstantIndex();
        Value v;
        if (index && *index == 3)
          v = arith::ConstantIndexOp::create(db, dim.getLoc(), d);
        else
          v = tensor::DimOp::create(db, dim.getLoc(), codes, dim.getIndex());
        dim.replaceAllUsesWith(v);
        dim.erase();
      }
    };
    redirectDims(pastK, kParts[0], dk);
    redirectDims(pastV, vParts[0], dv);
    auto decode = [&](ArrayRef<Value> parts, Value past, RankedTensorType t,
                      const KVLayout &layout) -> Value {
      Value v = KVDequantizeOp::create(b, op.getLoc(), t, parts[0], parts[1],
                                       parts[2], layout.bits, layout.group,
                                       layout.perChannel);
      if (v.getType() != past.getType())
        v = tensor::CastOp::create(b, op.getLoc(), past.getType(), v);
      return v;
    };
    op.getPastKeyMutable().assign(decode(kParts, pastK, kt, keys));
    op.getPastValueMutable().assign(decode(vParts, pastV, vt, values));
    (void)f.eraseArgument(cast<BlockArgument>(pastK).getArgNumber());
    (void)f.eraseArgument(cast<BlockArgument>(pastV).getArgNumber());
    b.setInsertionPointAfter(op);
    auto encode = [&](Value present, ArrayRef<Value> parts,
                      const KVLayout &layout) {
      OpOperand &use = *present.getUses().begin(); // the return (one use)
      auto pt = cast<RankedTensorType>(present.getType());
      SmallVector<Type, 3> types = layout.types(pt);
      auto q = KVQuantizeOp::create(b, op.getLoc(), types[0], types[1], types[2],
                                    present, parts[0],
                                    parts[1], parts[2], layout.bits,
                                    layout.group, layout.perChannel);
      splitResult(f, cast<func::ReturnOp>(use.getOwner()),
                  use.getOperandNumber(), q.getResults());
    };
    encode(op.getPresentKey(), kParts, keys);
    encode(op.getPresentValue(), vParts, values);
  }

  /// Adds codes, scales and mins arguments right after `arg` (which the
  /// caller erases once it has no uses).
  static SmallVector<Value> splitArgument(func::FuncOp f, BlockArgument arg,
                                          RankedTensorType type,
                                          const KVLayout &layout) {
    unsigned i = arg.getArgNumber();
    SmallVector<Type, 3> types = layout.types(type);
    DictionaryAttr attrs = f.getArgAttrDict(i);
    SmallVector<unsigned> at(3, i + 1);
    SmallVector<DictionaryAttr> dicts;
    SmallVector<Location> locs(3, arg.getLoc());
    for (const char *part : kParts)
      dicts.push_back(renamed(attrs, part));
    (void)f.insertArguments(at, types, dicts, locs);
    SmallVector<Value> parts;
    for (unsigned j = 0; j < 3; ++j)
      parts.push_back(f.getArgument(i + 1 + j));
    return parts;
  }

  /// Replaces result `i` of `f` (operand `i` of `ret`) by `parts`.
  static void splitResult(func::FuncOp f, func::ReturnOp ret, unsigned i,
                          ValueRange parts) {
    DictionaryAttr attrs = f.getResultAttrDict(i);
    SmallVector<unsigned> at(3, i + 1);
    SmallVector<DictionaryAttr> dicts;
    for (const char *part : kParts)
      dicts.push_back(renamed(attrs, part));
    (void)f.insertResults(at, TypeRange(parts), dicts);
    (void)f.eraseResult(i);
    SmallVector<Value> operands(ret.getOperands());
    operands.erase(operands.begin() + i);
    operands.insert(operands.begin() + i, parts.begin(), parts.end());
    ret->setOperands(operands);
  }
};

} // namespace
