//===- QuantizeWeights.cpp - Real-valued matmul weights -> packed codes ---===//

#include "quant/QuantizeWeights.h"
#include "passes/MatmulMatchers.h"
#include "quant/Passes.h"

#include "dialects/QT/IR/QTOps.h"
#include "dialects/QT/Utils/BitPacking.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/APFloat.h"

#include <cmath>
#include <cstring>

namespace mlir::qt {
#define GEN_PASS_DEF_QTQUANTIZEWEIGHTS
#include "quant/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;
using namespace mlir::qt;

namespace {

std::string locationName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location l : fused.getLocations())
      if (std::string s = locationName(l); !s.empty())
        return s;
  return "";
}

/// Decodes one element of a real-valued type stored in `bytes`.
float decode(Type t, const char *p) {
  if (t.isF32()) {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  uint16_t bits;
  std::memcpy(&bits, p, 2);
  const llvm::fltSemantics &sem =
      t.isF16() ? llvm::APFloat::IEEEhalf() : llvm::APFloat::BFloat();
  llvm::APFloat f(sem, llvm::APInt(16, bits));
  bool lost;
  f.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return f.convertToFloat();
}

ElementsAttr bytesAttr(RankedTensorType type, StringRef name,
                       ArrayRef<char> bytes) {
  AsmResourceBlob blob =
      HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignof(uint64_t));
  return DenseResourceElementsAttr::get(type, name, std::move(blob));
}

/// The k values of an f32 constant of shape [k] (dense or a resource blob).
bool readF32Vector(Value v, int64_t k, std::vector<float> &out) {
  auto c = v.getDefiningOp<arith::ConstantOp>();
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!c || !t || t.getRank() != 1 || t.getDimSize(0) != k ||
      !t.getElementType().isF32())
    return false;
  out.assign(k, 0.0f);
  if (auto r = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
    AsmResourceBlob *blob = r.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != size_t(k) * 4)
      return false;
    std::memcpy(out.data(), blob->getData().data(), size_t(k) * 4);
    return true;
  }
  if (auto d = dyn_cast<DenseFPElementsAttr>(c.getValue())) {
    int64_t i = 0;
    for (APFloat f : d.getValues<APFloat>())
      out[i++] = f.convertToFloat();
    return true;
  }
  return false;
}

/// Folds x * inv[k] (k the last dimension) into the op that produces x
/// when that is a layer or RMS norm with constant f32 weight (and bias)
/// whose result reaches only this matmul, through reshapes that keep the
/// last dimension: norm(x) * g * inv + b * inv. The activation-aware
/// scales then cost nothing at run time (AWQ folds them the same way).
bool foldInputScale(OpBuilder &b, Value input, ArrayRef<float> inv) {
  int64_t k = inv.size();
  Value v = input;
  while (true) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t || t.getRank() == 0 || t.getDimSize(t.getRank() - 1) != k ||
        !v.hasOneUse())
      return false;
    Operation *def = v.getDefiningOp();
    if (!def)
      return false;
    if (isa<tensor::ReshapeOp, tensor::CollapseShapeOp, tensor::ExpandShapeOp>(def)) {
      v = def->getOperand(0);
      continue;
    }
    auto fold = [&](Value weight, Value bias, auto setWeight, auto setBias) {
      std::vector<float> w, bv;
      if (!readF32Vector(weight, k, w) || (bias && !readF32Vector(bias, k, bv)))
        return false;
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(def);
      auto type = RankedTensorType::get({k}, b.getF32Type());
      for (int64_t i = 0; i < k; ++i)
        w[i] *= inv[i];
      setWeight(arith::ConstantOp::create(b, def->getLoc(),
                                          DenseElementsAttr::get(type, ArrayRef<float>(w))));
      if (bias) {
        for (int64_t i = 0; i < k; ++i)
          bv[i] *= inv[i];
        setBias(arith::ConstantOp::create(b, def->getLoc(),
                                          DenseElementsAttr::get(type, ArrayRef<float>(bv))));
      }
      return true;
    };
    if (auto ln = dyn_cast<LayerNormOp>(def))
      return fold(
          ln.getWeight(), ln.getBias(),
          [&](Value nw) { ln.getWeightMutable().assign(nw); },
          [&](Value nb) { ln.getBiasMutable().assign(nb); });
    if (auto rms = dyn_cast<RmsNormOp>(def))
      return fold(
          rms.getWeight(), Value(),
          [&](Value nw) { rms.getWeightMutable().assign(nw); }, [](Value) {});
    return false;
  }
}

} // namespace

std::vector<WeightMatmul> mlir::qt::findWeightMatmuls(Operation *root) {
  std::vector<WeightMatmul> found;
  root->walk([&](linalg::MatmulOp op) {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
        !isZeroFilled(op.getDpsInits()[0]))
      return;
    WeightMatmul m;
    m.op = op;
    if (hasMatmulMaps(op, /*transposedB=*/true))
      m.transposedB = true;
    else if (!hasMatmulMaps(op, /*transposedB=*/false))
      return;
    m.weight = op.getDpsInputs()[1].getDefiningOp<arith::ConstantOp>();
    if (!m.weight)
      return;
    auto wt = dyn_cast<RankedTensorType>(m.weight.getType());
    auto at = dyn_cast<RankedTensorType>(op.getDpsInputs()[0].getType());
    auto rt = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!wt || !at || !rt || wt.getRank() != 2 || !wt.hasStaticShape() ||
        !isa<Float32Type, Float16Type, BFloat16Type>(wt.getElementType()) ||
        at.getElementType() != rt.getElementType() ||
        !isa<Float32Type, Float16Type, BFloat16Type>(at.getElementType()) ||
        !isa<ElementsAttr>(m.weight.getValue()))
      return;
    m.n = wt.getDimSize(m.transposedB ? 0 : 1);
    m.k = wt.getDimSize(m.transposedB ? 1 : 0);
    if (auto r = dyn_cast<DenseResourceElementsAttr>(m.weight.getValue()))
      m.name = r.getRawHandle().getKey().str();
    if (m.name.empty())
      m.name = locationName(op.getLoc());
    if (m.name.empty())
      m.name = "matmul_" + std::to_string(found.size());
    found.push_back(m);
  });
  return found;
}

bool mlir::qt::readWeight(const WeightMatmul &m, std::vector<float> &nk) {
  auto attr = cast<ElementsAttr>(m.weight.getValue());
  Type et = attr.getElementType();
  size_t width = et.isF32() ? 4 : 2;
  std::vector<float> flat(m.n * m.k);
  if (auto r = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = r.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != flat.size() * width)
      return false;
    const char *p = blob->getData().data();
    for (size_t i = 0; i < flat.size(); ++i)
      flat[i] = decode(et, p + i * width);
  } else if (auto d = dyn_cast<DenseFPElementsAttr>(attr)) {
    size_t i = 0;
    for (APFloat v : d.getValues<APFloat>()) {
      bool lost;
      v.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
                &lost);
      flat[i++] = v.convertToFloat();
    }
  } else {
    return false;
  }
  if (m.transposedB) {
    nk = std::move(flat);
    return true;
  }
  nk.resize(flat.size());
  for (int64_t k = 0; k < m.k; ++k)
    for (int64_t n = 0; n < m.n; ++n)
      nk[n * m.k + k] = flat[k * m.n + n];
  return true;
}

int64_t mlir::qt::quantizedBytes(int64_t n, int64_t k,
                                 const qtc::QuantSpec &spec) {
  int64_t groups = n * (k / spec.groupSize);
  return n * qtc::packedBytes(k, spec.bits) +
         groups * (spec.f16Scales ? 2 : 4) * (spec.floatMin ? 2 : 1) +
         (spec.asymmetric ? groups : 0);
}

void mlir::qt::replaceWithQuantizedMatmul(const WeightMatmul &m,
                                          const qtc::QuantizedMatrix &q,
                                          const qtc::QuantSpec &spec,
                                          ArrayRef<float> inputScale,
                                          ArrayRef<int64_t> salientColumns,
                                          ArrayRef<float> salientWeight,
                                          ArrayRef<float> rotation) {
  MLIRContext *ctx = m.op.getContext();
  OpBuilder b(m.op);
  Location loc = m.op.getLoc();
  int64_t groups = m.k / spec.groupSize;
  std::string tag = m.name + ".q" + std::to_string(spec.bits) + "g" +
                    std::to_string(spec.groupSize);
  std::vector<uint8_t> packed =
      qtc::packRows(q.codes, m.n, m.k, spec.bits, qtc::BitOrder::LsbFirst);
  auto i8 = IntegerType::get(ctx, 8);
  auto packedType =
      RankedTensorType::get({m.n, qtc::packedBytes(m.k, spec.bits)}, i8);
  Value weights = arith::ConstantOp::create(b, loc, bytesAttr(packedType, tag,
                     ArrayRef<char>(reinterpret_cast<const char *>(packed.data()),
                                    packed.size())));
  Type scaleType = spec.f16Scales ? Type(Float16Type::get(ctx))
                                  : Type(Float32Type::get(ctx));
  std::vector<char> scaleBytes;
  for (float s : q.scales) {
    if (spec.f16Scales) {
      llvm::APFloat f(s);
      bool lost;
      f.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven,
                &lost);
      uint16_t h = static_cast<uint16_t>(f.bitcastToAPInt().getZExtValue());
      scaleBytes.push_back(static_cast<char>(h & 0xff));
      scaleBytes.push_back(static_cast<char>(h >> 8));
    } else {
      const char *p = reinterpret_cast<const char *>(&s);
      scaleBytes.insert(scaleBytes.end(), p, p + 4);
    }
  }
  Value scales = arith::ConstantOp::create(b, loc, bytesAttr(RankedTensorType::get({m.n, groups}, scaleType),
                     tag + ".scales", scaleBytes));
  auto storeAll = [&](llvm::ArrayRef<float> values) {
    std::vector<char> bytes;
    for (float s : values) {
      if (spec.f16Scales) {
        llvm::APFloat f(s);
        bool lost;
        f.convert(llvm::APFloat::IEEEhalf(),
                  llvm::APFloat::rmNearestTiesToEven, &lost);
        uint16_t h = static_cast<uint16_t>(f.bitcastToAPInt().getZExtValue());
        bytes.push_back(static_cast<char>(h & 0xff));
        bytes.push_back(static_cast<char>(h >> 8));
      } else {
        const char *p = reinterpret_cast<const char *>(&s);
        bytes.insert(bytes.end(), p, p + 4);
      }
    }
    return bytes;
  };
  Value zeroPoints;
  if (spec.floatMin)
    zeroPoints = arith::ConstantOp::create(
        b, loc,
        bytesAttr(RankedTensorType::get({m.n, groups}, scaleType),
                  tag + ".mins", storeAll(q.mins)));
  if (spec.asymmetric)
    zeroPoints = arith::ConstantOp::create(b, loc, bytesAttr(RankedTensorType::get({m.n, groups}, i8),
                       tag + ".zero_points",
                       ArrayRef<char>(reinterpret_cast<const char *>(
                                          q.zeroPoints.data()),
                                      q.zeroPoints.size())));
  auto codeType = IntegerType::get(ctx, spec.bits,
                                   spec.asymmetric || spec.floatMin ||
                                           !spec.levels.empty()
                                       ? IntegerType::Unsigned
                                       : IntegerType::Signed);
  auto format = PackedAttr::get(ctx, codeType, spec.groupSize, scaleType,
                                spec.asymmetric, BitOrder::LsbFirst,
                                spec.levels, spec.floatMin);
  Value input = m.op.getDpsInputs()[0];
  Value original = input;
  std::vector<float> inv;
  for (float v : inputScale)
    inv.push_back(1.0f / v);
  // The salient columns read the unscaled input: no fold then.
  if (!inputScale.empty() &&
      !(salientColumns.empty() && foldInputScale(b, input, inv))) {
    // input[i, k] * (1 / s[k]), one elementwise pass before the matmul.
    auto inType = cast<RankedTensorType>(input.getType());
    Type et = inType.getElementType();
    auto invType = RankedTensorType::get({m.k}, b.getF32Type());
    Value invScale = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(invType, ArrayRef<float>(inv)));
    SmallVector<Value> dynSizes;
    for (int64_t d = 0; d < inType.getRank(); ++d)
      if (inType.isDynamicDim(d))
        dynSizes.push_back(tensor::DimOp::create(b, loc, input, d));
    Value init = tensor::EmptyOp::create(b, loc, inType, dynSizes);
    AffineMap id = b.getMultiDimIdentityMap(inType.getRank());
    AffineMap last = AffineMap::get(inType.getRank(), 0,
                                    b.getAffineDimExpr(inType.getRank() - 1));
    SmallVector<utils::IteratorType> iters(inType.getRank(),
                                           utils::IteratorType::parallel);
    input = linalg::GenericOp::create(b, loc, inType, ValueRange{input, invScale}, ValueRange{init},
                 ArrayRef<AffineMap>{id, last, id}, iters,
                 [&](OpBuilder &nb, Location nl, ValueRange args) {
                   Value sc = args[1];
                   if (et != nb.getF32Type())
                     sc = arith::TruncFOp::create(nb, nl, et, sc);
                   linalg::YieldOp::create(nb, nl, ValueRange{arith::MulFOp::create(nb, nl, args[0], sc)});
                 })
                .getResult(0);
  }
  if (!rotation.empty()) {
    // x'[.., k] = sum_j x[.., (k floordiv G) * G + j] * R[j, k mod G]: the
    // rotation the codes were quantized under (W' = W R per group of G), so
    // x' W'^T = x W^T.
    auto inType = cast<RankedTensorType>(input.getType());
    Type et = inType.getElementType();
    int64_t rank = inType.getRank();
    int64_t block = static_cast<int64_t>(std::lround(std::sqrt(double(rotation.size()))));
    SmallVector<APFloat> rv;
    for (float v : rotation) {
      APFloat f(v);
      bool lost;
      f.convert(cast<FloatType>(et).getFloatSemantics(),
                APFloat::rmNearestTiesToEven, &lost);
      rv.push_back(f);
    }
    Value r = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(
                  RankedTensorType::get({block, block}, et), ArrayRef<APFloat>(rv)));
    Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(et));
    if (inType.hasStaticShape()) {
      // Static shapes (every compiled artifact): one plain matmul of the
      // activations viewed as [rows * K / G, G] with R, which the backend's
      // f32 matmul kernels run at vector speed.
      int64_t total = inType.getNumElements();
      auto flat = RankedTensorType::get({total}, et);
      auto blocks = RankedTensorType::get({total / block, block}, et);
      SmallVector<ReassociationIndices> all(1);
      for (int64_t d = 0; d < rank; ++d)
        all[0].push_back(d);
      Value v = tensor::CollapseShapeOp::create(b, loc, flat, input, all);
      v = tensor::ExpandShapeOp::create(b, loc, blocks, v,
                                        SmallVector<ReassociationIndices>{{0, 1}});
      Value init = linalg::FillOp::create(b, loc, zero,
                                          tensor::EmptyOp::create(b, loc, blocks.getShape(), et).getResult())
                       .getResult(0);
      v = linalg::MatmulOp::create(b, loc, blocks, ValueRange{v, r}, ValueRange{init}).getResult(0);
      v = tensor::CollapseShapeOp::create(b, loc, flat, v,
                                          SmallVector<ReassociationIndices>{{0, 1}});
      input = tensor::ExpandShapeOp::create(b, loc, inType, v, all);
    } else {
      SmallVector<Value> dynSizes;
      for (int64_t d = 0; d < rank; ++d)
        if (inType.isDynamicDim(d))
          dynSizes.push_back(tensor::DimOp::create(b, loc, input, d));
      Value init = linalg::FillOp::create(b, loc, zero,
                                          tensor::EmptyOp::create(b, loc, inType, dynSizes).getResult())
                       .getResult(0);
      // Loops (.., k, j).
      int64_t loops = rank + 1;
      AffineExpr k = b.getAffineDimExpr(rank - 1), jx = b.getAffineDimExpr(rank);
      SmallVector<AffineExpr> xe, oe;
      for (int64_t d = 0; d + 1 < rank; ++d) {
        xe.push_back(b.getAffineDimExpr(d));
        oe.push_back(b.getAffineDimExpr(d));
      }
      xe.push_back(k.floorDiv(block) * block + jx);
      oe.push_back(k);
      AffineMap xMap = AffineMap::get(loops, 0, xe, b.getContext());
      AffineMap rMap = AffineMap::get(loops, 0, {jx, k % block}, b.getContext());
      AffineMap oMap = AffineMap::get(loops, 0, oe, b.getContext());
      SmallVector<utils::IteratorType> iters(loops, utils::IteratorType::parallel);
      iters.back() = utils::IteratorType::reduction;
      input = linalg::GenericOp::create(b, loc, inType, ValueRange{input, r}, ValueRange{init},
                                        ArrayRef<AffineMap>{xMap, rMap, oMap}, iters,
                                        [&](OpBuilder &nb, Location nl, ValueRange args) {
                                          Value p = arith::MulFOp::create(nb, nl, args[0], args[1]);
                                          linalg::YieldOp::create(nb, nl, ValueRange{arith::AddFOp::create(nb, nl, args[2], p)});
                                        })
                  .getResult(0);
    }
  }
  Value result = QuantizedMatmulOp::create(b, loc, m.op->getResult(0).getType(), input, weights,
      scales, zeroPoints, Value(), format);
  if (!salientColumns.empty()) {
    // xs[i, j] = x[i, cols[j]]; y += xs * Ws^T, Ws the N x S kept weights.
    auto inType = cast<RankedTensorType>(original.getType());
    auto resType = cast<RankedTensorType>(result.getType());
    Type et = inType.getElementType();
    int64_t s = salientColumns.size();
    Value cols = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(
                 RankedTensorType::get({s}, b.getIndexType()),
                 llvm::to_vector(llvm::map_range(salientColumns, [&](int64_t c) {
                   return APInt(64, c);
                 }))));
    SmallVector<int64_t> gShape(inType.getShape());
    gShape.back() = s;
    auto gType = RankedTensorType::get(gShape, et);
    SmallVector<Value> dynSizes;
    for (int64_t d = 0; d < inType.getRank(); ++d)
      if (inType.isDynamicDim(d))
        dynSizes.push_back(tensor::DimOp::create(b, loc, original, d));
    Value gInit = tensor::EmptyOp::create(b, loc, gType, dynSizes);
    int64_t rank = inType.getRank();
    AffineMap id = b.getMultiDimIdentityMap(rank);
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    Value gathered =
        linalg::GenericOp::create(b, loc, gType, ValueRange{}, ValueRange{gInit}, ArrayRef<AffineMap>{id},
             iters,
             [&](OpBuilder &nb, Location nl, ValueRange) {
               SmallVector<Value> idx;
               for (int64_t d = 0; d < rank; ++d)
                 idx.push_back(linalg::IndexOp::create(nb, nl, d));
               Value col = tensor::ExtractOp::create(nb, nl, cols, idx.back());
               idx.back() = col;
               linalg::YieldOp::create(nb, nl, ValueRange{tensor::ExtractOp::create(nb, nl, original, idx)});
             })
            .getResult(0);
    // The kept weights as S x N (B of a plain matmul), at f16 precision.
    std::vector<float> sn(s * m.n);
    for (int64_t r = 0; r < m.n; ++r)
      for (int64_t j = 0; j < s; ++j)
        sn[j * m.n + r] = salientWeight[r * s + j];
    // Stored at f16 (the values are f16-exact), widened to the activation
    // type for the product.
    SmallVector<APFloat> halves;
    for (float v : sn) {
      APFloat h(v);
      bool lost;
      h.convert(APFloat::IEEEhalf(), APFloat::rmNearestTiesToEven, &lost);
      halves.push_back(h);
    }
    auto wsType = RankedTensorType::get({s, m.n}, b.getF16Type());
    Value ws = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(wsType, ArrayRef<APFloat>(halves)));
    if (!et.isF16()) {
      ws = arith::ExtFOp::create(b, loc, RankedTensorType::get({s, m.n}, b.getF32Type()), ws);
      if (!et.isF32())
        ws = arith::TruncFOp::create(b, loc, RankedTensorType::get({s, m.n}, et), ws);
    }
    SmallVector<Value> resDyn;
    for (int64_t d = 0; d < resType.getRank(); ++d)
      if (resType.isDynamicDim(d))
        resDyn.push_back(tensor::DimOp::create(b, loc, result, d));
    Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(et));
    Value init = linalg::FillOp::create(b, loc, zero, tensor::EmptyOp::create(b, loc, resType, resDyn).getResult())
                     .getResult(0);
    Value partial =
        linalg::MatmulOp::create(b, loc, resType, ValueRange{gathered, ws}, ValueRange{init})
            .getResult(0);
    Value sumInit = tensor::EmptyOp::create(b, loc, resType, resDyn);
    result = linalg::AddOp::create(b, loc, resType, ValueRange{result, partial},
                                     ValueRange{sumInit})
                 .getResult(0);
  }
  // A table tied to this matmul (the token embeddings a tied LM head
  // reuses) is looked up from the same packed weights: no real-valued copy
  // stays beside them. Only when the codes are the weights as they are (no
  // input scaling, rotation or columns kept apart).
  if (m.transposedB && inputScale.empty() && salientColumns.empty() &&
      rotation.empty()) {
    SmallVector<EmbeddingOp> tied;
    for (Operation *user : m.weight->getResult(0).getUsers())
      if (auto e = dyn_cast<EmbeddingOp>(user))
        if (!e.getFormat() && e.getTable() == m.weight.getResult())
          tied.push_back(e);
    for (EmbeddingOp e : tied) {
      OpBuilder eb(e);
      auto lookup = EmbeddingOp::create(eb, e.getLoc(), e.getType(), weights,
                                        e.getIndices(), scales, zeroPoints,
                                        format);
      e.getResult().replaceAllUsesWith(lookup.getResult());
      e.erase();
    }
  }
  m.op->getResult(0).replaceAllUsesWith(result);
  m.op->erase();
}

namespace {

struct QuantizeWeightsPass
    : qt::impl::QTQuantizeWeightsBase<QuantizeWeightsPass> {
  using QTQuantizeWeightsBase::QTQuantizeWeightsBase;
  void runOnOperation() override {
    std::vector<float> levels;
    if (!qtc::namedGrid(grid, bits, levels)) {
      getOperation()->emitError()
          << "grid '" << grid << "' is not a grid for "
          << static_cast<unsigned>(bits)
          << "-bit codes; expected " << qtc::gridNames()
          << " (nf4 and iq4nl are 4-bit grids)";
      return signalPassFailure();
    }
    if (!levels.empty() && asym) {
      getOperation()->emitError()
          << "grid '" << grid << "' has no zero point; drop asym";
      return signalPassFailure();
    }
    std::vector<WeightMatmul> matmuls = findWeightMatmuls(getOperation());
    for (const WeightMatmul &m : matmuls) {
      qtc::QuantSpec spec;
      spec.bits = bits;
      spec.groupSize = groupSize;
      spec.asymmetric = asym;
      spec.floatMin = min;
      spec.searchClip = clipSearch;
      if (auto attr = m.op->getAttrOfType<IntegerAttr>(kWeightBitsAttr))
        spec.bits = attr.getInt();
      // The grid is for `bits`-wide codes; layers given another width
      // keep evenly spaced codes.
      if (!qtc::namedGrid(grid, spec.bits, spec.levels))
        spec.levels.clear();
      if (spec.bits >= 16) {
        if (report)
          m.op.emitRemark() << "weight '" << m.name << "' (" << m.n << "x"
                            << m.k << ") kept real-valued";
        continue;
      }
      if (spec.groupSize == 0)
        spec.groupSize = m.k; // per channel
      else
        spec.groupSize = qtc::fittingGroupSize(spec.groupSize, m.k);
      if (std::string why = qtc::quantSpecError(spec, m.k); !why.empty()) {
        m.op.emitWarning() << "weight '" << m.name << "' (" << m.n << "x"
                           << m.k << ") not quantized: " << why;
        continue;
      }
      std::vector<float> w;
      if (!readWeight(m, w)) {
        m.op.emitWarning() << "weight '" << m.name
                           << "' not quantized: its data cannot be read";
        continue;
      }
      float maxAbs = 0;
      bool finite = true;
      for (float v : w) {
        finite &= std::isfinite(v);
        maxAbs = std::max(maxAbs, std::fabs(v));
      }
      if (!finite) {
        m.op.emitWarning() << "weight '" << m.name
                           << "' not quantized: it holds NaN or infinite values";
        continue;
      }
      spec.f16Scales = maxAbs < 32768.0f; // f16 scales would overflow
      qtc::QuantizedMatrix q = qtc::quantizeMatrix(w, m.n, m.k, spec);
      if (report)
        m.op.emitRemark() << "weight '" << m.name << "' (" << m.n << "x"
                          << m.k << ") quantized to " << spec.bits
                          << " bits, group " << spec.groupSize
                          << (spec.asymmetric ? ", asymmetric" : "")
                          << (spec.levels.empty() ? "" : ", grid " + grid);
      replaceWithQuantizedMatmul(m, q, spec);
    }
    // Constants and fills left without users go with canonicalization.
  }
};

} // namespace
