//===- TileQuantizedMatmul.cpp - Cache tiling of quantized GEMMs ----------===//
//
// A quantized matmul decodes every weight once per row when the codes are
// unpacked inside the contraction, in a loop body LLVM vectorizes poorly.
// This pass splits the matmul into tiles of the weight matrix sized to the
// target's L1 cache: each tile is decoded once, by a dense loop, into a
// small real-valued panel and multiplied with all rows, so decoding is
// amortized over the rows while the full real-valued matrix never exists.
// Real-valued matmuls get column tiles. The contractions are emitted as
// register-blocked vector code (accumulators held in vectors across the
// k loop). Tile sizes are chosen here, from the target's cache and vector
// sizes, so that later performance work changes them in one place.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "codegen/CPU/Target.h"
#include "codegen/Conversion/QTToLinalg.h"
#include "dialects/QT/IR/QTOps.h"
#include "dialects/QT/Utils/TensorBuilders.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Builders.h"

#include <cstring>

namespace mlir::qt {
#define GEN_PASS_DEF_QTTILEQUANTIZEDMATMUL
#include "codegen/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;
using namespace mlir::qt;
using namespace qtc::ir;

namespace {

/// The largest divisor of `n` that is at most `limit` and a multiple of
/// `step`, or 0.
int64_t largestDivisor(int64_t n, int64_t limit, int64_t step) {
  for (int64_t t = (std::min(limit, n) / step) * step; t >= step; t -= step)
    if (n % t == 0)
      return t;
  return 0;
}

/// The operands of a pure-tensor `linalg.matmul` with static shapes and
/// one element type for A, B and C, f32 (or also i32 with `allowI32`: the
/// widened operands of MatMulInteger), that reads A as (m, k), writes C
/// as (m, n) and reads B as (k, n), or with `bTransposed` as (n, k).
struct StaticMatmul {
  Value a, b, c;
  int64_t m, n, k;
};
/// Whether `op` reads A as (m, k), writes C as (m, n) and reads B as
/// (k, n), or with `bTransposed` as (n, k).
bool hasMatmulMaps(linalg::MatmulOp op, bool bTransposed) {
  MLIRContext *ctx = op.getContext();
  AffineExpr dm, dn, dk;
  bindDims(ctx, dm, dn, dk);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap bMap = bTransposed ? AffineMap::get(3, 0, {dn, dk}, ctx)
                               : AffineMap::get(3, 0, {dk, dn}, ctx);
  return maps.size() == 3 && maps[0] == AffineMap::get(3, 0, {dm, dk}, ctx) &&
         maps[1] == bMap && maps[2] == AffineMap::get(3, 0, {dm, dn}, ctx);
}

std::optional<StaticMatmul> staticMatmul(linalg::MatmulOp op,
                                               bool bTransposed,
                                               bool allowI32 = false) {
  if (!op.hasPureTensorSemantics() || !hasMatmulMaps(op, bTransposed))
    return std::nullopt;
  StaticMatmul mm{op.getDpsInputs()[0], op.getDpsInputs()[1],
                     op.getDpsInits()[0], 0, 0, 0};
  Type elem = getElementTypeOrSelf(mm.c.getType());
  if (!elem.isF32() && !(allowI32 && elem.isSignlessInteger(32)))
    return std::nullopt;
  for (Value v : {mm.a, mm.b, mm.c}) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t || !t.hasStaticShape() || t.getRank() != 2 ||
        t.getElementType() != elem)
      return std::nullopt;
  }
  auto at = cast<RankedTensorType>(mm.a.getType());
  mm.m = at.getDimSize(0);
  mm.k = at.getDimSize(1);
  mm.n = cast<RankedTensorType>(mm.c.getType()).getDimSize(1);
  return mm;
}

/// An i32 tensor that is an i8 tensor sign- or zero-extended minus a rank-0
/// i8 zero point, as the ONNX importer widens MatMulInteger's operands.
/// Returns the i8 source (sliced like `v` when `v` is a slice of the
/// widened tensor; new slices are built before `before`), the zero point
/// and the extension.
struct Widened {
  Value source, zeroPoint;
  bool isSigned;
};
std::optional<Widened> widenedOf(Value v);
std::optional<Widened> matchWidened(Value v, Operation *before) {
  if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>()) {
    std::optional<Widened> inner = matchWidened(slice.getSource(), before);
    if (!inner)
      return std::nullopt;
    OpBuilder b(before);
    inner->source = tensor::ExtractSliceOp::create(
        b, slice.getLoc(), inner->source, slice.getMixedOffsets(),
        slice.getMixedSizes(), slice.getMixedStrides());
    return inner;
  }
  return widenedOf(v);
}

/// `matchWidened` without slices: `v` is the widening generic's result.
std::optional<Widened> widenedOf(Value v) {
  auto g = v.getDefiningOp<linalg::GenericOp>();
  if (!g || g.getNumDpsInputs() != 2 || g.getNumDpsInits() != 1 ||
      g.getNumReductionLoops() != 0)
    return std::nullopt;
  Value src = g.getDpsInputs()[0], zp = g.getDpsInputs()[1];
  auto st = dyn_cast<RankedTensorType>(src.getType());
  auto zt = dyn_cast<RankedTensorType>(zp.getType());
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  if (!st || !zt || st.getShape() != typeOf(v).getShape() || zt.getRank() != 0 ||
      !st.getElementType().isSignlessInteger(8) ||
      !zt.getElementType().isSignlessInteger(8) || !maps[0].isIdentity() ||
      !maps[2].isIdentity() || maps[1].getNumResults() != 0)
    return std::nullopt;
  Block &body = g.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto sub = yield.getValues()[0].getDefiningOp<arith::SubIOp>();
  if (!sub)
    return std::nullopt;
  auto extOf = [&](Value e, unsigned arg, bool &isSigned) {
    Operation *d = e.getDefiningOp();
    if (!d || d->getNumOperands() != 1 || d->getOperand(0) != body.getArgument(arg))
      return false;
    if (isa<arith::ExtSIOp>(d))
      isSigned = true;
    else if (isa<arith::ExtUIOp>(d))
      isSigned = false;
    else
      return false;
    return true;
  };
  bool srcSigned = false, zpSigned = false;
  if (!extOf(sub.getLhs(), 0, srcSigned) || !extOf(sub.getRhs(), 1, zpSigned) ||
      srcSigned != zpSigned)
    return std::nullopt;
  return Widened{src, zp, srcSigned};
}

/// The elements of an i8 constant tensor (dense or dense_resource), or
/// none when `v` is not one.
std::optional<std::vector<int8_t>> constantBytes(Value v) {
  auto cst = v.getDefiningOp<arith::ConstantOp>();
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!cst || !type || !type.getElementType().isSignlessInteger(8))
    return std::nullopt;
  size_t count = type.getNumElements();
  std::vector<int8_t> out(count);
  ArrayRef<char> raw;
  if (auto dense = dyn_cast<DenseIntElementsAttr>(cst.getValue())) {
    if (dense.isSplat()) {
      std::fill(out.begin(), out.end(),
                static_cast<int8_t>(dense.getSplatValue<APInt>().getSExtValue()));
      return out;
    }
    raw = dense.getRawData();
  } else if (auto resource = dyn_cast<DenseResourceElementsAttr>(cst.getValue())) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    raw = blob->getData();
  } else {
    return std::nullopt;
  }
  if (raw.size() != count)
    return std::nullopt;
  std::memcpy(out.data(), raw.data(), count);
  return out;
}

/// The value of a rank-0 integer constant tensor, extended as `isSigned`
/// says, or none.
std::optional<int64_t> constantScalar(Value v, bool isSigned) {
  DenseIntElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  APInt x = attr.getSplatValue<APInt>();
  return isSigned ? x.getSExtValue() : static_cast<int64_t>(x.getZExtValue());
}

/// i32 lanes of the int8 dot product instruction `name` (0: none).
int64_t int8DotLanes(StringRef name) {
  return name == "avx512vnni" ? 16 : name == "avxvnni" ? 8 : 0;
}

struct TileQuantizedMatmulPass
    : qt::impl::QTTileQuantizedMatmulBase<TileQuantizedMatmulPass> {
  using QTTileQuantizedMatmulBase::QTTileQuantizedMatmulBase;

  void runOnOperation() override {
    // "auto" and 0 are the host's values, as qt-cpu-pipeline resolves them
    // (codegen/CPU/Target.h); the pipeline passes explicit ones.
    CPUTargetRequest request;
    request.l1Bytes = l1Bytes;
    request.vectorBits = vectorBits;
    request.int8Dot = int8Dot;
    request.gridLookup = gridLookup;
    llvm::Expected<CPUTarget> target = resolveCPUTarget(request);
    if (!target) {
      getOperation()->emitError(llvm::toString(target.takeError()));
      return signalPassFailure();
    }
    int64_t l1 = target->l1Bytes, vbits = target->vectorBits;
    int64_t dotLanes = int8DotLanes(target->int8Dot);
    permuteLookup = target->gridLookup == "permute";
    SmallVector<QuantizedMatmulOp> ops;
    getOperation()->walk([&](QuantizedMatmulOp op) { ops.push_back(op); });
    for (QuantizedMatmulOp op : ops)
      tile(op, l1, vbits);
    // Real-valued matmuls (fp32 models, kept layers) have nothing to decode;
    // their column tiles go to the thread pool when large enough, and the
    // (tiled) matmul reads B row by row.
    SmallVector<linalg::MatmulOp> matmuls;
    getOperation()->walk([&](linalg::MatmulOp op) { matmuls.push_back(op); });
    int64_t lanes = reassociate ? std::max<int64_t>(1, vbits / 32) : 0;
    for (linalg::MatmulOp op : matmuls) {
      unshareFill(op);
      linalg::MatmulOp rest = tileRealMatmul(op, l1, dotLanes);
      if (rest && !vectorizeInt8Dot(rest, dotLanes) && !vectorizeKN(rest, vbits) &&
          !vectorizeNK(rest, lanes))
        reorderKN(rest);
    }
    packedWeights.clear();
    unsignedRows.clear();
  }

  /// Constant B codes in the int8 dot layout, made once per constant.
  struct PackedWeights {
    Value packed; ///< [K/4, 4 N] i8: packed[k4, 4 n + j] = b[4 k4 + j, n]
    Value colSums; ///< [N] i32: sums over k of the (signed) codes
  };
  llvm::DenseMap<std::pair<Value, unsigned>, PackedWeights> packedWeights;
  /// A's codes as unsigned bytes and, where needed, their row sums.
  struct UnsignedRows {
    Value codes, rowSums;
  };
  llvm::DenseMap<std::pair<Value, unsigned>, UnsignedRows> unsignedRows;

  /// B's codes repacked so that one vector of 4 W bytes holds k = 4 k4 ..
  /// 4 k4 + 3 of W consecutive columns, shifted into signed bytes (xor
  /// 0x80) when unsigned; null when `codes` is not a constant.
  PackedWeights packWeights(Value codes, bool isSigned) {
    auto key = std::make_pair(codes, unsigned(isSigned));
    auto it = packedWeights.find(key);
    if (it != packedWeights.end())
      return it->second;
    std::optional<std::vector<int8_t>> bytes = constantBytes(codes);
    auto type = cast<RankedTensorType>(codes.getType());
    int64_t k = type.getDimSize(0), n = type.getDimSize(1);
    if (!bytes || k % 4)
      return {};
    std::vector<int8_t> packed(bytes->size());
    std::vector<int32_t> sums(n, 0);
    int8_t flip = isSigned ? 0 : static_cast<int8_t>(0x80);
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t j = 0; j < n; ++j) {
        int8_t v = static_cast<int8_t>((*bytes)[kk * n + j] ^ flip);
        packed[(kk / 4) * 4 * n + 4 * j + kk % 4] = v;
        sums[j] += v;
      }
    OpBuilder b(codes.getContext());
    b.setInsertionPointAfterValue(codes);
    Location l = codes.getLoc();
    auto packedType = RankedTensorType::get({k / 4, 4 * n}, b.getI8Type());
    auto sumsType = RankedTensorType::get({n}, b.getI32Type());
    PackedWeights w;
    w.packed = arith::ConstantOp::create(
        b, l, DenseElementsAttr::getFromRawBuffer(
                  packedType, ArrayRef<char>(reinterpret_cast<const char *>(
                                                 packed.data()),
                                             packed.size())));
    w.colSums = arith::ConstantOp::create(
        b, l, DenseElementsAttr::get(sumsType, ArrayRef<int32_t>(sums)));
    packedWeights[key] = w;
    return w;
  }

  /// The source of a slice that takes all of it (the column tiling's slice
  /// of A), else `v`.
  static Value wholeSliceSource(Value v) {
    auto slice = v.getDefiningOp<tensor::ExtractSliceOp>();
    if (!slice || !slice.hasZeroOffset() || !slice.hasUnitStride() ||
        !slice.getSourceType().hasStaticShape() ||
        slice.getResultType().getShape() != slice.getSourceType().getShape())
      return v;
    return slice.getSource();
  }

  /// A (widened codes, or their rows collapsed to 2-D) as the 8-bit codes
  /// and zero point it widens, or none.
  static std::optional<Widened> widenedRows(Value a) {
    if (auto collapse = a.getDefiningOp<tensor::CollapseShapeOp>()) {
      std::optional<Widened> inner = widenedOf(collapse.getSrc());
      if (!inner)
        return std::nullopt;
      OpBuilder b(collapse);
      b.setInsertionPointAfter(collapse);
      inner->source = tensor::CollapseShapeOp::create(
          b, collapse.getLoc(), inner->source,
          collapse.getReassociationIndices());
      return inner;
    }
    return widenedOf(a);
  }

  /// A's codes as unsigned bytes (xor 0x80 when signed), made once next to
  /// the widening of A (`widened`), and with `withSums` their sums along
  /// each row.
  UnsignedRows unsignedCodes(Value widened, const Widened &a, bool withSums) {
    auto key = std::make_pair(widened, unsigned(a.isSigned));
    UnsignedRows &rows = unsignedRows[key];
    OpBuilder b(widened.getContext());
    b.setInsertionPointAfterValue(a.source);
    Location l = widened.getLoc();
    auto type = cast<RankedTensorType>(a.source.getType());
    MLIRContext *ctx = widened.getContext();
    AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
    if (!rows.codes) {
      rows.codes = a.source;
      if (a.isSigned) {
        Value init = tensor::EmptyOp::create(b, l, type.getShape(), b.getI8Type());
        rows.codes =
            linalg::GenericOp::create(
                b, l, TypeRange{type}, ValueRange{a.source}, ValueRange{init},
                SmallVector<AffineMap>{id, id},
                SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
                [&](OpBuilder &gb, Location gl, ValueRange args) {
                  Value flip = arith::ConstantOp::create(
                      gb, gl, gb.getIntegerAttr(gb.getI8Type(), -128));
                  linalg::YieldOp::create(
                      gb, gl, arith::XOrIOp::create(gb, gl, args[0], flip).getResult());
                })
                ->getResult(0);
      }
    }
    if (withSums && !rows.rowSums) {
      Value init = zeros(b, l, {b.getIndexAttr(type.getDimSize(0))}, b.getI32Type());
      AffineExpr dm, dk;
      bindDims(ctx, dm, dk);
      rows.rowSums =
          linalg::GenericOp::create(
              b, l, TypeRange{init.getType()}, ValueRange{rows.codes},
              ValueRange{init},
              SmallVector<AffineMap>{id, AffineMap::get(2, 0, {dm}, ctx)},
              SmallVector<utils::IteratorType>{utils::IteratorType::parallel,
                                               utils::IteratorType::reduction},
              [&](OpBuilder &gb, Location gl, ValueRange args) {
                Value v = arith::ExtUIOp::create(gb, gl, gb.getI32Type(), args[0]);
                linalg::YieldOp::create(
                    gb, gl, arith::AddIOp::create(gb, gl, args[1], v).getResult());
              })
              ->getResult(0);
    }
    return rows;
  }

  /// MatMulInteger with constant B on a target with an int8 dot product
  /// (`lanes` i32 lanes, 0: none): C[m, n] += sum_k (a - za)(b - zb) as
  ///   sum_k u s - ZA colsum(s)[n] - ZB rowsum(u)[m] + K ZA ZB,
  /// with u = a's unsigned bytes, s = b's signed bytes and ZA, ZB the
  /// zero points shifted likewise; sum_k u s runs on vpdpbusd, 4 rows x
  /// up to 2 column vectors of accumulators over K / 4 steps. i32 sums
  /// wrap the same way in any order, so the result is exact.
  bool vectorizeInt8Dot(linalg::MatmulOp op, int64_t w) {
    if (!w)
      return false;
    std::optional<StaticMatmul> mm =
        staticMatmul(op, /*bTransposed=*/false, /*allowI32=*/true);
    if (!mm || !getElementTypeOrSelf(mm->c.getType()).isSignlessInteger(32))
      return false;
    int64_t m = mm->m, k = mm->k, n = mm->n;
    if (k % 4 || n % w || m == 0)
      return false;
    OpBuilder b(op);
    Location l = op.getLoc();
    // B: the widened constant codes, or a column slice of them.
    Value bValue = mm->b;
    OpFoldResult nOffset = b.getIndexAttr(0);
    if (auto slice = bValue.getDefiningOp<tensor::ExtractSliceOp>()) {
      std::optional<int64_t> k0 = getConstantIntValue(slice.getMixedOffsets()[0]);
      if (!k0 || *k0 != 0 || !slice.hasUnitStride() ||
          slice.getSourceType().getRank() != 2 ||
          slice.getSourceType().getDimSize(0) != k)
        return false;
      nOffset = slice.getMixedOffsets()[1];
      bValue = slice.getSource();
    }
    std::optional<Widened> wb = widenedOf(bValue);
    if (!wb)
      return false;
    Value aRows = wholeSliceSource(mm->a);
    std::optional<Widened> wa = widenedRows(aRows);
    if (!wa)
      return false;
    PackedWeights weights = packWeights(wb->source, wb->isSigned);
    if (!weights.packed)
      return false;
    // ZB is 0 for signed weights with a constant zero point of 0 (ONNX
    // Runtime's quantize_dynamic): no row sums then.
    std::optional<int64_t> zbConst = constantScalar(wb->zeroPoint, wb->isSigned);
    bool needRowSums = !(wb->isSigned && zbConst && *zbConst == 0);
    UnsignedRows rows = unsignedCodes(aRows, *wa, needRowSums);

    Type i32 = b.getI32Type(), i8 = b.getI8Type();
    auto idx = [&](OpBuilder &ib, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(ib, l, v);
    };
    auto i32c = [&](OpBuilder &ib, int64_t v) -> Value {
      return arith::ConstantOp::create(ib, l, ib.getIntegerAttr(i32, v));
    };
    auto zeroPoint = [&](const Widened &x, int64_t shift) -> Value {
      Value z = tensor::ExtractOp::create(b, l, x.zeroPoint, ValueRange{});
      z = x.isSigned ? (Value)arith::ExtSIOp::create(b, l, i32, z)
                     : (Value)arith::ExtUIOp::create(b, l, i32, z);
      return shift ? arith::AddIOp::create(b, l, z, i32c(b, shift)).getResult() : z;
    };
    Value za = zeroPoint(*wa, wa->isSigned ? 128 : 0);
    Value zb = zeroPoint(*wb, wb->isSigned ? 0 : -128);
    auto vt = VectorType::get({w}, i32);
    auto bytes = VectorType::get({4 * w}, i8);
    Value negZa = vector::BroadcastOp::create(
        b, l, vt, arith::SubIOp::create(b, l, i32c(b, 0), za));
    Value kzz = vector::BroadcastOp::create(
        b, l, vt,
        arith::MulIOp::create(b, l, i32c(b, k),
                              arith::MulIOp::create(b, l, za, zb)));
    Value zero = arith::ConstantOp::create(b, l, DenseElementsAttr::get(vt, b.getI32IntegerAttr(0)));
    Value offset = getValueOrCreateConstantIndexOp(b, l, nOffset);
    Value pad32 = i32c(b, 0);
    Value pad8 = arith::ConstantOp::create(b, l, b.getIntegerAttr(i8, 0));
    SmallVector<bool, 1> inBounds = {true};
    int64_t r = m % 4 == 0 ? 4 : m % 2 == 0 ? 2 : 1;
    int64_t cc = n % (2 * w) == 0 ? 2 : 1;
    auto columns = scf::ForOp::create(
        b, l, idx(b, 0), idx(b, n), idx(b, cc * w), ValueRange{mm->c},
        [&](OpBuilder &b, Location l, Value n0, ValueRange colArgs) {
          SmallVector<Value> cols, packedCols, corr;
          for (int64_t j = 0; j < cc; ++j) {
            Value col = j ? arith::AddIOp::create(b, l, n0, idx(b, j * w)).getResult() : n0;
            Value global = arith::AddIOp::create(b, l, offset, col);
            cols.push_back(col);
            packedCols.push_back(arith::MulIOp::create(b, l, global, idx(b, 4)));
            Value sums = vector::TransferReadOp::create(
                b, l, vt, weights.colSums, ValueRange{global}, pad32,
                ArrayRef<bool>(inBounds));
            corr.push_back(arith::AddIOp::create(
                b, l, arith::MulIOp::create(b, l, sums, negZa), kzz));
          }
          auto rowLoop = scf::ForOp::create(
              b, l, idx(b, 0), idx(b, m), idx(b, r), colArgs,
              [&](OpBuilder &b, Location l, Value m0, ValueRange rowArgs) {
                SmallVector<Value> ms;
                for (int64_t i = 0; i < r; ++i)
                  ms.push_back(i ? arith::AddIOp::create(b, l, m0, idx(b, i)).getResult() : m0);
                SmallVector<Value> init(r * cc, zero);
                auto kLoop = scf::ForOp::create(
                    b, l, idx(b, 0), idx(b, k / 4), idx(b, 1), init,
                    [&](OpBuilder &b, Location l, Value k4, ValueRange accs) {
                      Value kk = arith::MulIOp::create(b, l, k4, idx(b, 4));
                      SmallVector<Value> bv, next(accs.begin(), accs.end());
                      for (int64_t j = 0; j < cc; ++j)
                        bv.push_back(vector::TransferReadOp::create(
                            b, l, bytes, weights.packed,
                            ValueRange{k4, packedCols[j]}, pad8,
                            ArrayRef<bool>(inBounds)));
                      for (int64_t i = 0; i < r; ++i) {
                        Value a4 = vector::TransferReadOp::create(
                            b, l, VectorType::get({4}, i8), rows.codes,
                            ValueRange{ms[i], kk}, pad8, ArrayRef<bool>(inBounds));
                        Value word = vector::ExtractOp::create(
                            b, l,
                            vector::BitCastOp::create(b, l, VectorType::get({1}, i32), a4),
                            ArrayRef<int64_t>{0});
                        Value av = vector::BitCastOp::create(
                            b, l, bytes, vector::BroadcastOp::create(b, l, vt, word));
                        for (int64_t j = 0; j < cc; ++j)
                          next[i * cc + j] =
                              Int8DotOp::create(b, l, next[i * cc + j], av, bv[j]);
                      }
                      scf::YieldOp::create(b, l, next);
                    });
                // Every old value is read before the first write: one-shot
                // bufferization takes a vector write at constant zero
                // offsets into a larger tensor for a full overwrite (it
                // compares the vector's dims with the tensor's leading
                // ones), so a read after it could see an uncopied buffer.
                Value cur = rowArgs[0];
                SmallVector<Value> olds;
                for (int64_t i = 0; i < r; ++i)
                  for (int64_t j = 0; j < cc; ++j)
                    olds.push_back(vector::TransferReadOp::create(
                        b, l, vt, cur, ValueRange{ms[i], cols[j]}, pad32,
                        ArrayRef<bool>(inBounds)));
                for (int64_t i = 0; i < r; ++i) {
                  Value rowCorr;
                  if (rows.rowSums) {
                    Value s = tensor::ExtractOp::create(b, l, rows.rowSums, ValueRange{ms[i]});
                    rowCorr = vector::BroadcastOp::create(
                        b, l, vt, arith::MulIOp::create(b, l, s, zb));
                  }
                  for (int64_t j = 0; j < cc; ++j) {
                    Value v = arith::AddIOp::create(b, l, olds[i * cc + j],
                                                    kLoop.getResult(i * cc + j));
                    v = arith::AddIOp::create(b, l, v, corr[j]);
                    if (rowCorr)
                      v = arith::SubIOp::create(b, l, v, rowCorr);
                    cur = vector::TransferWriteOp::create(
                              b, l, v, cur, ValueRange{ms[i], cols[j]},
                              ArrayRef<bool>(inBounds))
                              .getResult();
                  }
                }
                scf::YieldOp::create(b, l, cur);
              });
          scf::YieldOp::create(b, l, rowLoop.getResults());
        });
    op->replaceAllUsesWith(columns.getResults());
    op->erase();
    return true;
  }

  /// B read as (n, k) (a Hugging Face Linear's [N, K] weights): the same
  /// register-blocked dot products as the quantized tiles, with B itself
  /// as the panel. Only where sums may be reassociated (`lanes` > 0).
  static bool vectorizeNK(linalg::MatmulOp op, int64_t lanes) {
    std::optional<StaticMatmul> mm = staticMatmul(op, /*bTransposed=*/true);
    if (!mm || lanes < 4)
      return false;
    OpBuilder b(op);
    Value result = blockedContraction(b, op.getLoc(), mm->a, mm->b, mm->c,
                                      mm->m, mm->n, mm->k, lanes);
    if (!result)
      return false;
    op->replaceAllUsesWith(ValueRange{result});
    op->erase();
    return true;
  }

  /// The (m, k, n) kernel for f32 (and i32) matmuls that read B as (k, n), in vector
  /// form: for each chunk of W <= 16 columns and each block of R <= 4
  /// rows, R accumulator vectors stay in registers over the whole k loop;
  /// each step loads one W-wide row piece of B and adds a broadcast
  /// A[m, k] times it to every accumulator. The sum runs over k in order,
  /// as linalg.matmul's does, so results do not change. Written as vector
  /// ops because LLVM, seeing C and A as possibly aliased, reloads A after
  /// every store to C in the scalar loop nest and vectorizes nothing.
  /// Returns false (leaving `op` alone) when shapes are dynamic, the
  /// element type is not f32 or i32, or no chunk of 4..16 columns divides N.
  static bool vectorizeKN(linalg::MatmulOp op, int64_t vbits) {
    std::optional<StaticMatmul> mm =
        staticMatmul(op, /*bTransposed=*/false, /*allowI32=*/true);
    if (!mm)
      return false;
    Value a = mm->a, bMat = mm->b, c = mm->c;
    int64_t m = mm->m, k = mm->k, n = mm->n;
    int64_t w = largestDivisor(n, 16, 1);
    if (w < 4 || k == 0)
      return false;
    int64_t r = m % 4 == 0 ? 4 : m % 2 == 0 ? 2 : 1;
    // Two 16-lane vectors of columns per chunk where registers allow
    // (AVX-512: 32 of them): 2 R accumulators hide the multiply-add
    // latency that R alone leaves exposed.
    int64_t cv = vbits >= 512 && w == 16 && n % 32 == 0 ? 2 : 1;

    OpBuilder b(op);
    Location loc = op.getLoc();
    Type elem = getElementTypeOrSelf(c.getType());
    bool isInt = elem.isInteger();
    auto vt = VectorType::get({w}, elem);
    // MatMulInteger's widened weights: read the i8 codes and widen them in
    // registers, instead of writing and reading a 4x larger copy per call.
    std::optional<Widened> narrow = isInt ? matchWidened(bMat, op) : std::nullopt;
    Value zpVector;
    if (narrow) {
      Value z = tensor::ExtractOp::create(b, loc, narrow->zeroPoint, ValueRange{});
      z = narrow->isSigned ? (Value)arith::ExtSIOp::create(b, loc, elem, z)
                           : (Value)arith::ExtUIOp::create(b, loc, elem, z);
      zpVector = vector::BroadcastOp::create(b, loc, vt, z);
    }
    auto index = [&](OpBuilder &b, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value pad = arith::ConstantOp::create(b, loc, b.getZeroAttr(elem));
    SmallVector<bool, 1> inBounds = {true};
    auto columns = scf::ForOp::create(
        b, loc, index(b, 0), index(b, n), index(b, cv * w), ValueRange{c},
        [&](OpBuilder &b, Location loc, Value n0, ValueRange cols) {
          SmallVector<Value> cs = {n0};
          for (int64_t j = 1; j < cv; ++j)
            cs.push_back(arith::AddIOp::create(b, loc, n0, index(b, j * w)));
          auto rowsLoop = scf::ForOp::create(
              b, loc, index(b, 0), index(b, m), index(b, r), cols,
              [&](OpBuilder &b, Location loc, Value m0, ValueRange acc0) {
                Value cur = acc0[0];
                SmallVector<Value> rows, init;
                for (int64_t i = 0; i < r; ++i) {
                  rows.push_back(i ? arith::AddIOp::create(b, loc, m0, index(b, i))
                                         .getResult()
                                   : m0);
                  for (int64_t j = 0; j < cv; ++j)
                    init.push_back(vector::TransferReadOp::create(
                        b, loc, vt, cur, ValueRange{rows.back(), cs[j]}, pad,
                        ArrayRef<bool>(inBounds)));
                }
                auto kLoop = scf::ForOp::create(
                    b, loc, index(b, 0), index(b, k), index(b, 1), init,
                    [&](OpBuilder &b, Location loc, Value kk, ValueRange accs) {
                      SmallVector<Value> pieces;
                      for (int64_t j = 0; j < cv; ++j) {
                        Value row;
                        if (narrow) {
                          Type i8 = b.getI8Type();
                          Value codes = vector::TransferReadOp::create(
                              b, loc, VectorType::get({w}, i8), narrow->source,
                              ValueRange{kk, cs[j]},
                              arith::ConstantOp::create(b, loc, b.getZeroAttr(i8)),
                              ArrayRef<bool>(inBounds));
                          row = narrow->isSigned
                                    ? (Value)arith::ExtSIOp::create(b, loc, vt, codes)
                                    : (Value)arith::ExtUIOp::create(b, loc, vt, codes);
                          row = arith::SubIOp::create(b, loc, row, zpVector);
                        } else {
                          row = vector::TransferReadOp::create(
                              b, loc, vt, bMat, ValueRange{kk, cs[j]}, pad,
                              ArrayRef<bool>(inBounds));
                        }
                        pieces.push_back(row);
                      }
                      SmallVector<Value> next;
                      for (int64_t i = 0; i < r; ++i) {
                        Value x = tensor::ExtractOp::create(
                            b, loc, a, ValueRange{rows[i], kk});
                        Value xs = vector::BroadcastOp::create(b, loc, vt, x);
                        for (int64_t j = 0; j < cv; ++j) {
                          Value acc = accs[i * cv + j];
                          if (isInt) {
                            Value prod = arith::MulIOp::create(b, loc, xs, pieces[j]);
                            next.push_back(arith::AddIOp::create(b, loc, acc, prod));
                          } else {
                            Value prod = arith::MulFOp::create(b, loc, xs, pieces[j]);
                            next.push_back(arith::AddFOp::create(b, loc, acc, prod));
                          }
                        }
                      }
                      scf::YieldOp::create(b, loc, next);
                    });
                for (int64_t i = 0; i < r; ++i)
                  for (int64_t j = 0; j < cv; ++j)
                    cur = vector::TransferWriteOp::create(
                              b, loc, kLoop.getResult(i * cv + j), cur,
                              ValueRange{rows[i], cs[j]}, ArrayRef<bool>(inBounds))
                              .getResult();
                scf::YieldOp::create(b, loc, cur);
              });
          scf::YieldOp::create(b, loc, rowsLoop.getResults());
        });
    op->replaceAllUsesWith(columns.getResults());
    op->erase();
    return true;
  }

  /// Gives `op` a fill of its own when its init is a linalg.fill other ops
  /// read too. CSE leaves one zero fill for all matmuls of a shape, and
  /// bufferization, which cannot write every matmul into that one buffer,
  /// then copies it for each (int8 MiniLM: 34 copies of up to 768 KiB per
  /// call); a fill per matmul is filled in place instead.
  static void unshareFill(linalg::MatmulOp op) {
    OpOperand &init = op.getDpsInitsMutable()[0];
    auto fill = init.get().getDefiningOp<linalg::FillOp>();
    if (!fill || fill->hasOneUse())
      return;
    OpBuilder b(op);
    init.set(b.clone(*fill)->getResult(0));
  }

  /// B read as (k, n) (ONNX MatMul's [K, N] weights): loop over (m, k, n)
  /// so the innermost loop runs along contiguous rows of B and C, a form
  /// LLVM vectorizes; (m, n, k) would stride down B's columns.
  static void reorderKN(linalg::MatmulOp op) {
    if (!op || !op.hasPureTensorSemantics() ||
        !hasMatmulMaps(op, /*bTransposed=*/false))
      return;
    IRRewriter rewriter(op);
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::GenericOp> generic = linalg::generalizeNamedOp(rewriter, op);
    if (failed(generic))
      return;
    (void)linalg::interchangeGenericOp(rewriter, *generic, {0, 2, 1});
  }

  /// Column tiles of `op` on the pool; returns the matmul left to compute
  /// (the tile's, or `op` itself when it is not tiled).
  /// Whether `op` is MatMulInteger with constant 8-bit B and widened A:
  /// what `vectorizeInt8Dot` takes (given suitable sizes).
  static bool int8DotCandidate(linalg::MatmulOp op) {
    std::optional<StaticMatmul> mm =
        staticMatmul(op, /*bTransposed=*/false, /*allowI32=*/true);
    if (!mm || !getElementTypeOrSelf(mm->c.getType()).isSignlessInteger(32))
      return false;
    std::optional<Widened> wb = widenedOf(mm->b);
    if (!wb || !wb->source.getDefiningOp<arith::ConstantOp>())
      return false;
    Value a = mm->a;
    if (auto collapse = a.getDefiningOp<tensor::CollapseShapeOp>())
      a = collapse.getSrc();
    return widenedOf(a).has_value();
  }

  linalg::MatmulOp tileRealMatmul(linalg::MatmulOp op, int64_t l1,
                                  int64_t dotLanes) {
    if (!op.hasPureTensorSemantics())
      return op;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges(); // m, n, k
    if (ranges.size() != 3 || llvm::any_of(ranges, ShapedType::isDynamic))
      return op;
    int64_t m = ranges[0], n = ranges[1], k = ranges[2];
    if (m * n * k < static_cast<int64_t>(parallelMinMacs))
      return op;
    auto elem = cast<ShapedType>(op.getResultTypes()[0]).getElementType();
    int64_t elemBytes = elem.getIntOrFloatBitWidth() / 8;
    // Columns whose weights (K of them each) fill half of L1.
    int64_t tn = largestDivisor(n, std::max<int64_t>(1, l1 / 2 / (k * elemBytes)), 1);
    // f32 weights read as (k, n): tiles of whole 2-vector chunks of the
    // (m, k, n) kernel (32 columns; K x 32 floats stream from L2 when
    // they exceed half of L1, one row of B per k step).
    if (elem.isF32() && hasMatmulMaps(op, /*bTransposed=*/false)) {
      int64_t cols = std::max<int64_t>(32, l1 / 2 / (k * elemBytes));
      if (int64_t wide = largestDivisor(n, cols, 32))
        tn = wide;
    }
    // Weights the int8 dot kernel will read as packed bytes: 1 byte per
    // weight, and whole vectors of columns per tile.
    if (dotLanes && int8DotCandidate(op)) {
      int64_t cols = std::max<int64_t>(2 * dotLanes, l1 / 2 / k);
      tn = largestDivisor(n, cols, 2 * dotLanes);
      if (!tn)
        tn = largestDivisor(n, cols, dotLanes);
    }
    if (tn == 0 || tn == n)
      return op;
    IRRewriter rewriter(op);
    rewriter.setInsertionPoint(op);
    scf::SCFTilingOptions options;
    options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
    options.setTileSizes({rewriter.getIndexAttr(0), rewriter.getIndexAttr(tn),
                          rewriter.getIndexAttr(0)});
    FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
        rewriter, cast<TilingInterface>(op.getOperation()), options);
    if (failed(tiled))
      return op;
    rewriter.replaceOp(op, tiled->replacements);
    return tiled->tiledOps.empty()
               ? linalg::MatmulOp()
               : dyn_cast<linalg::MatmulOp>(tiled->tiledOps.front());
  }

  void tile(QuantizedMatmulOp op, int64_t l1, int64_t vbits) {
    auto xt = cast<RankedTensorType>(op.getInput().getType());
    int64_t k = xt.getDimSize(xt.getRank() - 1);
    int64_t rows = 1;
    for (int64_t d : xt.getShape().drop_back())
      rows = ShapedType::isDynamic(d) || ShapedType::isDynamic(rows)
                 ? ShapedType::kDynamic
                 : rows * d;
    // Below the row threshold (min-rows) and with dynamic shapes the fused
    // lowering stays.
    if (ShapedType::isDynamic(rows) || ShapedType::isDynamic(k) ||
        rows < static_cast<int64_t>(minRows))
      return;
    PackedAttr format = op.getFormat();
    int64_t group = format.getGroupSize();
    int64_t n = op.getPackedRowCount();
    // K tile: a few vectors' worth of a row's contraction, whole groups and
    // whole bytes; N tile: as many panel rows as fill half of L1.
    int64_t lanes = std::max<int64_t>(1, vbits / 32);
    int64_t step = std::lcm(group, int64_t(8));
    int64_t tk = largestDivisor(k, std::max(16 * lanes, step), step);
    if (tk == 0)
      return;
    int64_t elemBytes = xt.getElementType().getIntOrFloatBitWidth() / 8;
    int64_t tn = largestDivisor(n, std::max<int64_t>(1, l1 / 2 / (tk * elemBytes)), 1);
    if (tn == 0 || (tn == n && tk == k))
      return; // one tile would be the whole matrix
    // Forking the thread pool costs tens of microseconds; small matmuls
    // keep their tiles on the calling thread.
    bool parallel = rows * n * k >= static_cast<int64_t>(parallelMinMacs);
    // The register-blocked contraction splits each dot product into
    // vector lanes, which reorders the sum: only when reassociation is
    // allowed (not under qtc compile --strict-fp).
    rewrite(op, rows, k, n, tk, tn, parallel, reassociate ? lanes : 0,
            permuteLookup);
  }
  /// Grid codes decoded in registers are looked up by one x86 permute
  /// (vpermps) per vector instead of a tree of selects.
  bool permuteLookup = false;

  /// The tile contraction out[m, n] += sum_k x[m, k] * panel[n, k] with
  /// registers blocked: for R <= 4 rows and C <= 4 panel rows at a time,
  /// R x C accumulator vectors of `w` lanes run over k, each step loading
  /// R pieces of x and C of the panel (R + C loads for R * C multiply-adds,
  /// where a plain dot product needs two loads per multiply-add); each
  /// accumulator is reduced once per tile. Null when the shapes do not
  /// split into whole vectors or the elements are not f32.
  static Value blockedContraction(OpBuilder &b, Location l, Value xTile,
                                  Value panel, Value out, int64_t rows,
                                  int64_t tn, int64_t tk, int64_t w) {
    if (w < 4 || tk % w || !typeOf(xTile).getElementType().isF32())
      return Value();
    int64_t r = rows % 4 == 0 ? 4 : rows % 2 == 0 ? 2 : 1;
    int64_t c = tn % 4 == 0 ? 4 : tn % 2 == 0 ? 2 : 1;
    auto vt = VectorType::get({w}, b.getF32Type());
    auto idx = [&](OpBuilder &ib, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(ib, l, v);
    };
    Value c0 = idx(b, 0), cR = idx(b, r), cC = idx(b, c), cW = idx(b, w);
    Value cRows = idx(b, rows), cTn = idx(b, tn), cTk = idx(b, tk);
    SmallVector<Value> offsets;
    for (int64_t i = 0; i < std::max(r, c); ++i)
      offsets.push_back(idx(b, i));
    Value pad = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0f));
    Value zero = arith::ConstantOp::create(
        b, l, DenseElementsAttr::get(vt, b.getF32FloatAttr(0.0f)));
    SmallVector<bool, 1> inBounds = {true};
    auto rowLoop = scf::ForOp::create(
        b, l, c0, cRows, cR, ValueRange{out},
        [&](OpBuilder &rb, Location, Value m0, ValueRange rowArgs) {
          auto colLoop = scf::ForOp::create(
              rb, l, c0, cTn, cC, rowArgs,
              [&](OpBuilder &cb, Location, Value n0, ValueRange colArgs) {
                SmallVector<Value> ms, ns;
                for (int64_t i = 0; i < r; ++i)
                  ms.push_back(i ? arith::AddIOp::create(cb, l, m0, offsets[i]).getResult() : m0);
                for (int64_t j = 0; j < c; ++j)
                  ns.push_back(j ? arith::AddIOp::create(cb, l, n0, offsets[j]).getResult() : n0);
                SmallVector<Value> init(r * c, zero);
                auto kLoop = scf::ForOp::create(
                    cb, l, c0, cTk, cW, init,
                    [&](OpBuilder &kb, Location, Value k0, ValueRange acc) {
                      SmallVector<Value> xs, ps, next;
                      for (int64_t i = 0; i < r; ++i)
                        xs.push_back(vector::TransferReadOp::create(
                            kb, l, vt, xTile, ValueRange{ms[i], k0}, pad,
                            ArrayRef<bool>(inBounds)));
                      for (int64_t j = 0; j < c; ++j)
                        ps.push_back(vector::TransferReadOp::create(
                            kb, l, vt, panel, ValueRange{ns[j], k0}, pad,
                            ArrayRef<bool>(inBounds)));
                      for (int64_t i = 0; i < r; ++i)
                        for (int64_t j = 0; j < c; ++j)
                          next.push_back(arith::AddFOp::create(
                              kb, l, acc[i * c + j],
                              arith::MulFOp::create(kb, l, xs[i], ps[j])));
                      scf::YieldOp::create(kb, l, next);
                    });
                Value cur = colArgs[0];
                for (int64_t i = 0; i < r; ++i)
                  for (int64_t j = 0; j < c; ++j) {
                    Value sum = vector::ReductionOp::create(
                        cb, l, vector::CombiningKind::ADD,
                        kLoop.getResult(i * c + j));
                    Value old = tensor::ExtractOp::create(cb, l, cur, ValueRange{ms[i], ns[j]});
                    Value add = arith::AddFOp::create(cb, l, old, sum);
                    cur = tensor::InsertOp::create(cb, l, add, cur, ValueRange{ms[i], ns[j]});
                  }
                scf::YieldOp::create(cb, l, cur);
              });
          scf::YieldOp::create(rb, l, colLoop.getResults());
        });
    return rowLoop.getResult(0);
  }

  /// For few rows (a decoding step), out[m, n] += sum_k x[m, k] * w[n, k]
  /// straight from the packed bytes of one tile: each step loads `w` codes
  /// of C <= 4 columns (w * bits / 8 bytes each), unpacks them in registers
  /// (masks, shifts and byte interleaves), turns them into reals as
  /// code * s - zp * s with the group's scale and zero point, and
  /// multiply-adds them with the R <= 4 rows of x. Nothing is written to
  /// memory between the weight bytes and the accumulators: with one row,
  /// a decoded panel is written and read back once per use. For 2, 4 and
  /// 8-bit codes whose groups hold whole vectors (canFuse). Codes on a
  /// non-uniform grid (2 and 4 bits) become levels[code] * s, the level
  /// picked by qt.lookup (vpermps) or by a tree of selects on the code's
  /// bits (grid-lookup).
  static bool canFuse(PackedAttr format, Type elem, int64_t rows, int64_t tk,
                      int64_t w) {
    int64_t bits = format.getBits(), group = format.getGroupSize();
    // Grid codes are looked up by a tree of 2^bits - 1 selects: 2 and 4 bits.
    if (format.hasLevels() && bits > 4)
      return false;
    return w >= 4 && rows <= 4 && (bits == 2 || bits == 4 || bits == 8) &&
           group % w == 0 && tk % group == 0 && (w * bits) % 8 == 0 &&
           elem.isF32();
  }
  static Value fusedContraction(OpBuilder &b, Location l, Value xTile,
                                Value bytes, Value scales, Value zps,
                                PackedAttr format, Value out, int64_t rows,
                                int64_t tn, int64_t tk, int64_t w,
                                bool permute) {
    int64_t bits = format.getBits(), group = format.getGroupSize();
    int64_t perVector = w * bits / 8; // bytes of one vector of codes
    int64_t c = tn % 4 == 0 ? 4 : tn % 2 == 0 ? 2 : 1;
    Type f32 = b.getF32Type(), i8 = b.getI8Type();
    auto vt = VectorType::get({w}, f32);
    auto idx = [&](OpBuilder &ib, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(ib, l, v);
    };
    auto splatI8 = [&](OpBuilder &ib, int64_t n, int64_t v) -> Value {
      auto t = VectorType::get({n}, i8);
      return arith::ConstantOp::create(
          ib, l, DenseElementsAttr::get(t, ib.getI8IntegerAttr(v)));
    };
    Value c0 = idx(b, 0), cC = idx(b, c), cTn = idx(b, tn), cW = idx(b, w);
    Value cGroups = idx(b, tk / group), cGroup = idx(b, group);
    Value cVecBytes = idx(b, perVector), cGroupBytes = idx(b, group * bits / 8);
    SmallVector<Value> offsets;
    for (int64_t i = 0; i < std::max(rows, c); ++i)
      offsets.push_back(idx(b, i));
    Value padF = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0f));
    Value padI = arith::ConstantIntOp::create(b, l, 0, 8);
    Value zero = arith::ConstantOp::create(
        b, l, DenseElementsAttr::get(vt, b.getF32FloatAttr(0.0f)));
    SmallVector<bool, 1> inBounds = {true};
    // Codes on a grid become levels. On x86, vpermps picks lane i of a
    // register of 8 (AVX2) or 16 (AVX-512) floats by index: the grid in one
    // or two registers, the code as the index. Elsewhere each level is a
    // vector and the code's bits pick one by a tree of selects (bit 0
    // chooses within pairs, bit 1 between pairs...), free of gathers.
    int64_t levelCount = format.hasLevels() ? int64_t(1) << bits : 0;
    permute = permute && format.hasLevels() && (w == 8 || w == 16) &&
              levelCount <= 16;
    SmallVector<Value> tables, levelVectors;
    Value zeroI8;
    if (format.hasLevels()) {
      ArrayRef<float> lv = format.getLevels().asArrayRef();
      zeroI8 = splatI8(b, w, 0);
      if (permute) {
        for (int64_t t = 0; t < levelCount; t += w) {
          SmallVector<float> table;
          for (int64_t i = 0; i < w; ++i)
            table.push_back(lv[std::min(t + i, levelCount - 1)]);
          tables.push_back(arith::ConstantOp::create(
              b, l, DenseElementsAttr::get(vt, ArrayRef<float>(table))));
        }
      } else {
        for (float v : lv)
          levelVectors.push_back(arith::ConstantOp::create(
              b, l, DenseElementsAttr::get(vt, b.getF32FloatAttr(v))));
      }
    }
    auto lookUp = [&](OpBuilder &lb, Value codes) -> Value {
      if (permute) {
        Value index = arith::ExtUIOp::create(
            lb, l, VectorType::get({w}, lb.getI32Type()), codes);
        SmallVector<Value> picked;
        for (Value table : tables)
          picked.push_back(LookupOp::create(lb, l, table, index));
        if (picked.size() == 1)
          return picked.front();
        // 16 levels in 8-lane registers: bit 3 picks the register.
        Value high = arith::CmpIOp::create(
            lb, l, arith::CmpIPredicate::ne,
            arith::AndIOp::create(lb, l, codes, splatI8(lb, w, 8)), zeroI8);
        return arith::SelectOp::create(lb, l, high, picked[1], picked[0]);
      }
      SmallVector<Value> cur(levelVectors);
      for (int64_t bit = 0; bit < bits; ++bit) {
        Value set = arith::CmpIOp::create(
            lb, l, arith::CmpIPredicate::ne,
            arith::AndIOp::create(lb, l, codes, splatI8(lb, w, int64_t(1) << bit)),
            zeroI8);
        SmallVector<Value> next;
        for (size_t j = 0; j + 1 < cur.size(); j += 2)
          next.push_back(arith::SelectOp::create(lb, l, set, cur[j + 1], cur[j]));
        cur = std::move(next);
      }
      return cur.front();
    };
    // lsb_first codes of one vector from its bytes, as i8 lanes in order.
    auto unpack = [&](OpBuilder &ub, Value v) -> Value {
      if (bits == 8)
        return v;
      int64_t mask = (1 << bits) - 1;
      SmallVector<Value> fields;
      for (int64_t f = 0; f < 8 / bits; ++f) {
        Value shifted = f ? arith::ShRUIOp::create(ub, l, v, splatI8(ub, perVector, f * bits)).getResult() : v;
        fields.push_back(f * bits + bits == 8
                             ? shifted
                             : arith::AndIOp::create(ub, l, shifted, splatI8(ub, perVector, mask)).getResult());
      }
      // interleave(a, b) = a0 b0 a1 b1 ...: field f of byte i lands at
      // lane i * (8 / bits) + f.
      if (fields.size() == 2)
        return vector::InterleaveOp::create(ub, l, fields[0], fields[1]);
      Value even = vector::InterleaveOp::create(ub, l, fields[0], fields[2]);
      Value odd = vector::InterleaveOp::create(ub, l, fields[1], fields[3]);
      return vector::InterleaveOp::create(ub, l, even, odd);
    };
    auto colLoop = scf::ForOp::create(
        b, l, c0, cTn, cC, ValueRange{out},
        [&](OpBuilder &cb, Location, Value n0, ValueRange colArgs) {
          SmallVector<Value> ns;
          for (int64_t j = 0; j < c; ++j)
            ns.push_back(j ? arith::AddIOp::create(cb, l, n0, offsets[j]).getResult() : n0);
          SmallVector<Value> init(rows * c, zero);
          auto gLoop = scf::ForOp::create(
              cb, l, c0, cGroups, idx(cb, 1), init,
              [&](OpBuilder &gb, Location, Value g, ValueRange gAcc) {
                // The group's scale s and -zp * s per column, as vectors.
                SmallVector<Value> sv, zsv;
                for (int64_t j = 0; j < c; ++j) {
                  Value sc = tensor::ExtractOp::create(gb, l, scales, ValueRange{ns[j], g});
                  if (sc.getType() != f32)
                    sc = arith::ExtFOp::create(gb, l, f32, sc);
                  Value zp;
                  if (zps) {
                    zp = tensor::ExtractOp::create(gb, l, zps, ValueRange{ns[j], g});
                    if (isa<FloatType>(zp.getType()))
                      zp = zp.getType() == f32 ? zp : (Value)arith::ExtFOp::create(gb, l, f32, zp);
                    else
                      zp = format.isSignedCodes()
                               ? (Value)arith::SIToFPOp::create(gb, l, f32, zp)
                               : (Value)arith::UIToFPOp::create(gb, l, f32, zp);
                  } else {
                    zp = arith::ConstantOp::create(
                        gb, l, gb.getF32FloatAttr(static_cast<float>(format.getImplicitZeroPoint())));
                  }
                  // With a min, the offset added after scaling is the min.
                  Value zs = format.getHasMin()
                                 ? zp
                                 : (Value)arith::NegFOp::create(
                                       gb, l, arith::MulFOp::create(gb, l, zp, sc));
                  sv.push_back(vector::BroadcastOp::create(gb, l, vt, sc));
                  zsv.push_back(vector::BroadcastOp::create(gb, l, vt, zs));
                }
                Value k0 = arith::MulIOp::create(gb, l, g, cGroup);
                Value b0 = arith::MulIOp::create(gb, l, g, cGroupBytes);
                auto kLoop = scf::ForOp::create(
                    gb, l, c0, cGroup, cW, gAcc,
                    [&](OpBuilder &kb, Location, Value kk, ValueRange acc) {
                      Value k = arith::AddIOp::create(kb, l, k0, kk);
                      Value byte = arith::AddIOp::create(
                          kb, l, b0,
                          arith::DivUIOp::create(kb, l,
                                                 arith::MulIOp::create(kb, l, kk, cVecBytes), cW));
                      SmallVector<Value> xs, ws, next;
                      for (int64_t i = 0; i < rows; ++i)
                        xs.push_back(vector::TransferReadOp::create(
                            kb, l, vt, xTile, ValueRange{offsets[i], k}, padF,
                            ArrayRef<bool>(inBounds)));
                      for (int64_t j = 0; j < c; ++j) {
                        Value raw = vector::TransferReadOp::create(
                            kb, l, VectorType::get({perVector}, i8), bytes,
                            ValueRange{ns[j], byte}, padI, ArrayRef<bool>(inBounds));
                        Value codes = unpack(kb, raw);
                        if (format.hasLevels()) {
                          ws.push_back(arith::MulFOp::create(kb, l, lookUp(kb, codes), sv[j]));
                          continue;
                        }
                        if (format.isSignedCodes() && bits < 8) {
                          Value up = splatI8(kb, w, 8 - bits);
                          codes = arith::ShRSIOp::create(
                              kb, l, arith::ShLIOp::create(kb, l, codes, up), up);
                        }
                        Value real = format.isSignedCodes()
                                         ? (Value)arith::SIToFPOp::create(kb, l, vt, codes)
                                         : (Value)arith::UIToFPOp::create(kb, l, vt, codes);
                        ws.push_back(math::FmaOp::create(kb, l, real, sv[j], zsv[j]));
                      }
                      for (int64_t i = 0; i < rows; ++i)
                        for (int64_t j = 0; j < c; ++j)
                          next.push_back(arith::AddFOp::create(
                              kb, l, acc[i * c + j],
                              arith::MulFOp::create(kb, l, xs[i], ws[j])));
                      scf::YieldOp::create(kb, l, next);
                    });
                scf::YieldOp::create(gb, l, kLoop.getResults());
              });
          Value cur = colArgs[0];
          for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < c; ++j) {
              Value sum = vector::ReductionOp::create(
                  cb, l, vector::CombiningKind::ADD, gLoop.getResult(i * c + j));
              Value old = tensor::ExtractOp::create(cb, l, cur, ValueRange{offsets[i], ns[j]});
              Value add = arith::AddFOp::create(cb, l, old, sum);
              cur = tensor::InsertOp::create(cb, l, add, cur, ValueRange{offsets[i], ns[j]});
            }
          scf::YieldOp::create(cb, l, cur);
        });
    return colLoop.getResult(0);
  }

  static void rewrite(QuantizedMatmulOp op, int64_t rows, int64_t k, int64_t n,
                      int64_t tk, int64_t tn, bool parallel, int64_t lanes,
                      bool permute) {
    OpBuilder b(op);
    Location l = op.getLoc();
    MLIRContext *ctx = op.getContext();
    PackedAttr format = op.getFormat();
    int64_t group = format.getGroupSize(), bits = format.getBits();
    Value x = collapseLeading(b, l, op.getInput(), 1);
    Type elem = typeOf(x).getElementType();
    auto idx = [&](int64_t v) { return arith::ConstantIndexOp::create(b, l, v); };
    Value init = zeros(b, l, {b.getIndexAttr(rows), b.getIndexAttr(n)}, elem);
    Value weights = op.getWeights(), scales = op.getScales(),
          zps = op.getZeroPoints();
    // Loop bounds and index arithmetic constants, made once before the loops.
    Value c0 = idx(0), cK = idx(k), cTk = idx(tk), cTn = idx(tn),
          cBits = idx(bits), c8 = idx(8), cGroup = idx(group);
    // One tile of columns [n0, n0 + tn): the k loop over panels, accumulated
    // into the tile of `out`. Returns (n0, the tile's result).
    auto computeTile = [&](OpBuilder &nb, Location nl, Value t,
                           Value out) -> std::pair<Value, Value> {
      auto attr = [&](int64_t v) { return nb.getIndexAttr(v); };
      auto slice = [&](OpBuilder &sb, Value src, ArrayRef<OpFoldResult> off,
                       ArrayRef<int64_t> sizes) -> Value {
        SmallVector<OpFoldResult> sz, st(sizes.size(), attr(1));
        for (int64_t v : sizes)
          sz.push_back(attr(v));
        return tensor::ExtractSliceOp::create(sb, nl, src, off, sz, st);
      };
      Value n0 = arith::MulIOp::create(nb, nl, t, cTn);
      Value yTile = slice(nb, out, {attr(0), n0}, {rows, tn});
      auto kLoop = scf::ForOp::create(
          nb, nl, c0, cK, cTk, ValueRange{yTile},
          [&](OpBuilder &kb, Location kl, Value k0, ValueRange kArgs) {
            Value byte0 = arith::DivUIOp::create(
                kb, kl, arith::MulIOp::create(kb, kl, k0, cBits), c8);
            Value g0 = arith::DivUIOp::create(kb, kl, k0, cGroup);
            Value w = slice(kb, weights, {n0, byte0}, {tn, tk * bits / 8});
            Value s = slice(kb, scales, {n0, g0}, {tn, tk / group});
            Value z = zps ? slice(kb, zps, {n0, g0}, {tn, tk / group}) : Value();
            if (lanes && canFuse(format, elem, rows, tk, lanes)) {
              Value xTile = slice(kb, x, {attr(0), k0}, {rows, tk});
              scf::YieldOp::create(
                  kb, kl,
                  fusedContraction(kb, kl, xTile, w, s, z, format, kArgs[0],
                                   rows, tn, tk, lanes, permute));
              return;
            }
            auto panelType = RankedTensorType::get({tn, tk}, elem);
            Value panel = DequantizeOp::create(kb, kl, panelType, w, s, z, format);
            Value xTile = slice(kb, x, {attr(0), k0}, {rows, tk});
            if (Value acc = blockedContraction(kb, kl, xTile, panel, kArgs[0],
                                               rows, tn, tk, lanes)) {
              scf::YieldOp::create(kb, kl, acc);
              return;
            }
            AffineExpr m, nn, kk;
            bindDims(ctx, m, nn, kk);
            Value acc =
                linalg::GenericOp::create(
                    kb, kl, TypeRange{kArgs[0].getType()},
                    ValueRange{xTile, panel}, ValueRange{kArgs[0]},
                    SmallVector<AffineMap>{AffineMap::get(3, 0, {m, kk}, ctx),
                                           AffineMap::get(3, 0, {nn, kk}, ctx),
                                           AffineMap::get(3, 0, {m, nn}, ctx)},
                    SmallVector<utils::IteratorType>{
                        utils::IteratorType::parallel,
                        utils::IteratorType::parallel,
                        utils::IteratorType::reduction},
                    [&](OpBuilder &gb, Location gl, ValueRange a) {
                      Value p = arith::MulFOp::create(gb, gl, a[0], a[1]);
                      linalg::YieldOp::create(
                          gb, gl, arith::AddFOp::create(gb, gl, a[2], p).getResult());
                    })
                    ->getResult(0);
            scf::YieldOp::create(kb, kl, acc);
          });
      return {n0, kLoop.getResult(0)};
    };
    SmallVector<OpFoldResult> tileSizes = {b.getIndexAttr(rows), b.getIndexAttr(tn)},
                              unitStrides = {b.getIndexAttr(1), b.getIndexAttr(1)};
    Value y;
    if (parallel) {
      // The n tiles write disjoint columns: an scf.forall, run by the
      // runtime's thread pool after lowering.
      auto nLoop = scf::ForallOp::create(
          b, l, ArrayRef<OpFoldResult>{b.getIndexAttr(n / tn)}, ValueRange{init},
          std::nullopt, [&](OpBuilder &nb, Location nl, ValueRange args) {
            auto [n0, tile] = computeTile(nb, nl, args[0], args[1]);
            auto inParallel = scf::InParallelOp::create(nb, nl);
            OpBuilder::InsertionGuard guard(nb);
            nb.setInsertionPointToStart(inParallel.getBody());
            SmallVector<OpFoldResult> off = {nb.getIndexAttr(0), n0};
            tensor::ParallelInsertSliceOp::create(nb, nl, tile, args[1], off,
                                                  tileSizes, unitStrides);
          });
      y = nLoop.getResult(0);
    } else {
      auto nLoop = scf::ForOp::create(
          b, l, c0, idx(n / tn), idx(1), ValueRange{init},
          [&](OpBuilder &nb, Location nl, Value t, ValueRange args) {
            auto [n0, tile] = computeTile(nb, nl, t, args[0]);
            SmallVector<OpFoldResult> off = {nb.getIndexAttr(0), n0};
            Value updated = tensor::InsertSliceOp::create(
                nb, nl, tile, args[0], off, tileSizes, unitStrides);
            scf::YieldOp::create(nb, nl, updated);
          });
      y = nLoop.getResult(0);
    }
    y = finishQuantizedMatmul(b, op, y);
    op.replaceAllUsesWith(y);
    op.erase();
  }
};

} // namespace
