//===- Quantization.cpp - qtc compile's weight quantization ---------------===//

#include "quant/Calibration.h"

#include "quant/BitAllocation.h"
#include "quant/Quantize.h"
#include "quant/QuantizeWeights.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/GlobPattern.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

using namespace qtc;
using mlir::qt::WeightMatmul;

namespace {

/// A layer the search works on.
struct Layer {
  WeightMatmul matmul;
  std::vector<float> weight; ///< N x K
  float maxAbs = 0;
  int64_t groupSize = 0;
  /// Fixed width from --tensor-type (0: chosen by the search; >= 16: kept).
  unsigned fixedBits = 0;
  std::string keptWhy; ///< Set when the layer cannot be quantized.
  unsigned bits = 0;   ///< Final width (>= 16: kept real-valued).
  /// Per candidate width: relative squared weight error, end-to-end
  /// sensitivity (when calibrated).
  std::vector<double> weightError, sensitivity;
  /// Activation-aware per-input-channel scales (empty: none) and the
  /// calibration activations feeding the layer (rows x K).
  std::vector<float> inputScale;
  /// Up to kSampledRows rows of calibration activations (rows x K), and
  /// per-channel sums of |x| and x^2 over all rows seen.
  std::vector<float> activations;
  int64_t activationRows = 0;
  std::vector<double> absSum, sqSum;
  int64_t rowsSeen = 0;
  /// Input columns kept real-valued (f16), ascending, and their weights
  /// (N x salient.size()).
  std::vector<int64_t> salient;
  std::vector<float> salientWeight;
  /// With --gptq: X^T X over every calibration row (K x K, upper triangle)
  /// and, once the input scales are known, GPTQ's factor of it.
  std::vector<double> hessian;
  qtc::GPTQFactor gptq;
  /// With --rotate: the randomized Hadamard matrix (rotationBlock^2) the
  /// weights are quantized under, per block of rotationBlock columns (one
  /// matrix per block size, owned by quantizeModule).
  llvm::ArrayRef<float> rotation;
  int64_t rotationBlock = 0;
  int64_t params() const { return matmul.n * matmul.k; }
};

qtc::QuantSpec specFor(const Layer &l, unsigned bits, const QuantOptions &o) {
  qtc::QuantSpec s;
  s.bits = bits;
  s.groupSize = l.groupSize;
  s.asymmetric = o.asymmetric;
  // The grid exists for one width (4 bits); other widths stay uniform.
  if (!namedGrid(o.grid, bits, s.levels))
    s.levels.clear();
  s.floatMin = o.floatMin && s.levels.empty();
  // f16 scales overflow past 65504; such (rare) layers keep f32 scales.
  s.f16Scales = l.maxAbs < 32768.0f;
  return s;
}

double relSquaredError(llvm::ArrayRef<float> a, llvm::ArrayRef<float> b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = double(a[i]) - b[i];
    num += d * d;
    den += double(a[i]) * a[i];
  }
  return den > 0 ? num / den : num;
}

constexpr int64_t kSampledRows = 256;

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

/// ||X (W - E)^T||^2 over up to 128 evenly spaced calibration rows of X:
/// the layer's output error when it computes with E instead of W.
double outputError(const Layer &l, llvm::ArrayRef<float> effective) {
  int64_t n = l.matmul.n, k = l.matmul.k, rows = l.activationRows;
  int64_t step = std::max<int64_t>(1, rows / 128);
  std::vector<float> d(n * k);
  for (int64_t i = 0; i < n * k; ++i)
    d[i] = l.weight[i] - effective[i];
  double err = 0;
  for (int64_t r = 0; r < rows; r += step) {
    const float *x = &l.activations[r * k];
    for (int64_t j = 0; j < n; ++j) {
      const float *row = &d[j * k];
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t c = 0;
      for (; c + 8 <= k; c += 8)
        for (int u = 0; u < 8; ++u)
          acc[u] += x[c + u] * row[c + u];
      float y = 0;
      for (; c < k; ++c)
        y += x[c] * row[c];
      for (float a : acc)
        y += a;
      err += double(y) * y;
    }
  }
  return err;
}

/// The weight the layer effectively computes with at `bits`: the
/// dequantized codes, divided back by the activation-aware scales.
std::vector<float> effectiveWeight(const Layer &l, const QuantSpec &spec,
                                   QuantizedMatrix *codes = nullptr) {
  int64_t n = l.matmul.n, k = l.matmul.k;
  std::vector<float> w = l.weight;
  // Salient columns leave the quantized part (as zeros, which widen no
  // group's range) and come back at f16.
  for (int64_t c : l.salient)
    for (int64_t r = 0; r < n; ++r)
      w[r * k + c] = 0;
  if (!l.inputScale.empty())
    for (int64_t i = 0; i < n * k; ++i)
      w[i] *= l.inputScale[i % k];
  if (!l.rotation.empty())
    rotateColumnBlocks(w, n, k, l.rotation, l.rotationBlock, /*transpose=*/false);
  QuantizedMatrix q = l.gptq.cols ? quantizeMatrixGPTQ(w, n, k, spec, l.gptq)
                                  : quantizeMatrix(w, n, k, spec);
  std::vector<float> e = dequantizeMatrix(q, spec);
  if (!l.rotation.empty())
    rotateColumnBlocks(e, n, k, l.rotation, l.rotationBlock, /*transpose=*/true);
  if (!l.inputScale.empty())
    for (int64_t i = 0; i < n * k; ++i)
      e[i] /= l.inputScale[i % k];
  // The kept columns' f16 weights add to what their codes decode to: 0 for
  // evenly spaced codes alone, but not after GPTQ moved error into them, nor
  // on a grid without an exact 0 (IQ4_NL), and the compiled model computes
  // both terms.
  for (auto [j, c] : llvm::enumerate(l.salient))
    for (int64_t r = 0; r < n; ++r)
      e[r * k + c] += l.salientWeight[r * l.salient.size() + j];
  if (codes)
    *codes = std::move(q);
  return e;
}

/// Activation-aware scaling (AWQ): s = mean|x|^alpha per input channel,
/// alpha searched on the calibration activations for the least output
/// error at `bits`; leaves l.inputScale empty when no scaling is best.
void searchInputScale(Layer &l, unsigned bits, const QuantOptions &o) {
  int64_t k = l.matmul.k;
  if (!l.activationRows || !l.rowsSeen)
    return;
  const std::vector<double> &mean = l.absSum; // divided by rowsSeen below
  QuantSpec spec = specFor(l, bits, o);
  // Scalings are compared with the same rounding (clipping search
  // included) that the final codes get, so no scaling is chosen that only
  // helps plain rounding.
  l.inputScale.clear();
  double best = outputError(l, effectiveWeight(l, spec));
  std::vector<float> bestScale;
  for (int step = 1; step <= 10; ++step) {
    double alpha = 0.1 * step;
    std::vector<float> sc(k);
    double lo = INFINITY, hi = 0;
    for (int64_t c = 0; c < k; ++c) {
      sc[c] = static_cast<float>(
          std::pow(std::max(mean[c] / double(l.rowsSeen), 1e-5), alpha));
      lo = std::min(lo, double(sc[c]));
      hi = std::max(hi, double(sc[c]));
    }
    float norm = static_cast<float>(std::sqrt(lo * hi));
    for (float &v : sc)
      v /= norm;
    l.inputScale = sc;
    double e = outputError(l, effectiveWeight(l, spec));
    if (e < best) {
      best = e;
      bestScale = sc;
    }
  }
  l.inputScale = std::move(bestScale);
}

/// Keeps the `fraction` most salient input columns real-valued: by
/// E[x_k^2] * |W[:, k]|^2 on the calibration activations (the output energy
/// a column carries), or by |W[:, k]|^2 without them.
void chooseSalientColumns(Layer &l, double fraction) {
  int64_t n = l.matmul.n, k = l.matmul.k;
  int64_t count = static_cast<int64_t>(std::ceil(fraction * k));
  l.salient.clear();
  l.salientWeight.clear();
  if (count <= 0)
    return;
  std::vector<double> score(k, 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c)
      score[c] += double(l.weight[r * k + c]) * l.weight[r * k + c];
  if (l.rowsSeen)
    for (int64_t c = 0; c < k; ++c)
      score[c] *= l.sqSum[c];
  std::vector<int64_t> order(k);
  for (int64_t c = 0; c < k; ++c)
    order[c] = c;
  std::partial_sort(order.begin(), order.begin() + std::min(count, k), order.end(),
                    [&](int64_t a, int64_t b) { return score[a] > score[b]; });
  l.salient.assign(order.begin(), order.begin() + std::min(count, k));
  llvm::sort(l.salient);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c : l.salient)
      l.salientWeight.push_back(roundToHalf(l.weight[r * k + c]));
}

/// Encodes N x K floats in the weight constant's own layout and type.
/// The type the calibration copy takes a layer's weight in: the matmul's
/// accumulation type, which a quantized matmul decodes its codes to (so a
/// bf16 weight in an f32 model is fed as f32, not re-rounded to bf16).
mlir::RankedTensorType hoistedType(const Layer &l) {
  auto wt = mlir::cast<mlir::RankedTensorType>(l.matmul.weight.getType());
  mlir::Type acc = mlir::cast<mlir::RankedTensorType>(
                       l.matmul.op->getResult(0).getType())
                       .getElementType();
  return mlir::RankedTensorType::get(wt.getShape(), acc);
}

std::vector<char> encodeWeight(const Layer &l, llvm::ArrayRef<float> nk) {
  const WeightMatmul &m = l.matmul;
  std::vector<float> flat(nk.begin(), nk.end());
  if (!m.transposedB)
    for (int64_t n = 0; n < m.n; ++n)
      for (int64_t k = 0; k < m.k; ++k)
        flat[k * m.n + n] = nk[n * m.k + k];
  mlir::Type et = hoistedType(l).getElementType();
  std::vector<char> bytes;
  if (et.isF32()) {
    bytes.resize(flat.size() * 4);
    std::memcpy(bytes.data(), flat.data(), bytes.size());
    return bytes;
  }
  const llvm::fltSemantics &sem =
      et.isF16() ? llvm::APFloat::IEEEhalf() : llvm::APFloat::BFloat();
  bytes.resize(flat.size() * 2);
  for (size_t i = 0; i < flat.size(); ++i) {
    llvm::APFloat f(flat[i]);
    bool lost;
    f.convert(sem, llvm::APFloat::rmNearestTiesToEven, &lost);
    uint16_t h = static_cast<uint16_t>(f.bitcastToAPInt().getZExtValue());
    std::memcpy(&bytes[2 * i], &h, 2);
  }
  return bytes;
}

std::string dtypeName(mlir::Type t) {
  return t.isF32() ? "float32" : t.isF16() ? "float16" : "bfloat16";
}

/// Runs calibration inputs through a compiled copy of the model whose
/// weights are inputs, to measure end-to-end errors of weight choices.
class Harness {
public:
  static llvm::Expected<std::unique_ptr<Harness>>
  create(mlir::ModuleOp module, std::vector<Layer> &layers,
         const std::vector<size_t> &hoisted, const QuantOptions &o);

  /// Relative squared error of the outputs against the fp32 model when
  /// layer hoisted[i] uses `weights[i]` (null: the original weight).
  double measure(const std::vector<const std::vector<char> *> &weights);
  unsigned runs = 0;
  double seconds = 0;

private:
  void selectBatch(int64_t b);
  std::unique_ptr<CalibrationModel> model;
  std::vector<Array> inputs, outputs;
  /// Reference outputs per calibration batch.
  std::vector<std::vector<Array>> reference;
  int64_t batches = 1;
  /// Inputs that vary by batch: their bytes per batch, and their slots.
  std::map<std::string, std::vector<std::vector<char>>> batchInputs;
  std::vector<std::pair<size_t, std::string>> batchSlot;
  std::vector<size_t> slot;              ///< Input index per hoisted layer.
  std::vector<const std::vector<char> *> current; ///< What each slot holds.
  std::vector<std::vector<char>> original;
  std::vector<size_t> floatOutputs;
};

llvm::Expected<std::unique_ptr<Harness>>
Harness::create(mlir::ModuleOp module, std::vector<Layer> &layers,
                const std::vector<size_t> &hoisted, const QuantOptions &o) {
  auto h = std::make_unique<Harness>();
  // A copy of the module whose hoisted weights are trailing arguments.
  mlir::OwningOpRef<mlir::ModuleOp> copy(module.clone());
  std::vector<WeightMatmul> copies = mlir::qt::findWeightMatmuls(*copy);
  std::vector<WeightMatmul> originals = mlir::qt::findWeightMatmuls(module);
  if (copies.size() != originals.size())
    return llvm::createStringError("internal: the model copy differs");
  auto main = copy->lookupSymbol<mlir::func::FuncOp>("main");
  if (!main)
    return llvm::createStringError("the model has no @main");
  std::vector<std::string> names;
  for (size_t i : hoisted) {
    const Layer &l = layers[i];
    // Find the copy of this layer by position among all weight matmuls.
    size_t at = 0;
    while (at < originals.size() && originals[at].op != l.matmul.op)
      ++at;
    if (at == originals.size())
      return llvm::createStringError("internal: layer not found in the copy");
    WeightMatmul &c = copies[at];
    unsigned index = main.getNumArguments();
    std::string name = "qtc.weight." + std::to_string(i);
    mlir::Builder b(main.getContext());
    (void)main.insertArgument(index, hoistedType(l),
                        b.getDictionaryAttr(b.getNamedAttr(
                            "qtc.name", b.getStringAttr(name))),
                        main.getLoc());
    c.op->setOperand(1, main.getArgument(index));
    names.push_back(name);
  }
  // The activations feeding each hoisted layer become extra results, for
  // activation-aware scaling.
  auto ret = llvm::cast<mlir::func::ReturnOp>(main.getBody().back().getTerminator());
  unsigned firstActivation = ret.getNumOperands();
  {
    llvm::SmallVector<mlir::Value> results(ret.getOperands());
    mlir::Builder b(main.getContext());
    for (size_t i : hoisted) {
      size_t at = 0;
      while (originals[at].op != layers[i].matmul.op)
        ++at;
      mlir::Value x = copies[at].op.getDpsInputs()[0];
      results.push_back(x);
      if (mlir::failed(main.insertResult(
              main.getNumResults(), x.getType(),
              b.getDictionaryAttr(b.getNamedAttr(
                  "qtc.name",
                  b.getStringAttr("qtc.activation." + std::to_string(i)))))))
        return llvm::createStringError("internal: cannot add a result");
    }
    ret->setOperands(results);
  }
  // Compiled in-process (the compiler's JIT): no file is written.
  llvm::Expected<std::unique_ptr<CalibrationModel>> compiled = o.compile(*copy);
  if (!compiled)
    return compiled.takeError();
  h->model = std::move(*compiled);
  // Model inputs from the calibration file, weights from the module. An
  // array either has the input's shape, or one more leading dimension that
  // counts batches (all such arrays agree on it).
  llvm::Expected<std::vector<std::pair<std::string, Array>>> npz =
      readNpz(o.calibration);
  if (!npz)
    return npz.takeError();
  auto bad = [&](const llvm::Twine &why) {
    return llvm::createStringError("calibration " + o.calibration + ": " + why);
  };
  int64_t batches = 1;
  llvm::StringMap<Array> given;
  llvm::StringMap<bool> stacked;
  for (auto &[name, a] : *npz) {
    const Port *port = nullptr;
    for (const Port &p : h->model->inputs())
      if (p.name == name)
        port = &p;
    if (port && a.dtype == port->dtype && a.shape.size() == port->shape.size() + 1 &&
        llvm::ArrayRef<int64_t>(a.shape).drop_front() == llvm::ArrayRef<int64_t>(port->shape)) {
      if (stacked.size() && batches != a.shape[0])
        return bad("arrays hold different numbers of batches (" +
                   std::to_string(batches) + " and " +
                   std::to_string(a.shape[0]) + ")");
      batches = a.shape[0];
      stacked[name] = true;
    }
    given[name] = std::move(a);
  }
  if (batches < 1)
    return bad("holds no batches");
  for (auto &entry : given) {
    if (!stacked.count(entry.first()))
      continue;
    Array &a = entry.second;
    size_t bytes = a.data.size() / batches;
    a.shape.erase(a.shape.begin());
    std::vector<char> all = std::move(a.data);
    a.data.assign(all.begin(), all.begin() + bytes);
    for (int64_t b = 0; b < batches; ++b)
      h->batchInputs[entry.first().str()].push_back(
          std::vector<char>(all.begin() + b * bytes, all.begin() + (b + 1) * bytes));
  }
  for (auto [k, i] : llvm::enumerate(hoisted)) {
    const Layer &l = layers[i];
    Array a;
    mlir::RankedTensorType type = hoistedType(l);
    a.dtype = dtypeName(type.getElementType());
    a.shape.assign(type.getShape().begin(), type.getShape().end());
    a.data = encodeWeight(l, l.weight);
    h->original.push_back(a.data);
    given[names[k]] = std::move(a);
  }
  llvm::Expected<std::vector<Array>> bound = bindInputs(
      h->model->inputs(), std::move(given),
      "add an array of that name to the .npz");
  if (!bound)
    return bad(llvm::toString(bound.takeError()));
  h->inputs = std::move(*bound);
  for (const std::string &n : names)
    for (auto [j, p] : llvm::enumerate(h->model->inputs()))
      if (p.name == n)
        h->slot.push_back(j);
  for (auto [j, p] : llvm::enumerate(h->model->inputs()))
    if (h->batchInputs.count(p.name))
      h->batchSlot.emplace_back(j, p.name);
  for (auto [j, p] : llvm::enumerate(h->model->outputs()))
    if (p.dtype == "float32" && j < firstActivation)
      h->floatOutputs.push_back(j);
  if (h->floatOutputs.empty())
    return llvm::createStringError(
        "the model has no float32 output to measure errors on");
  h->batches = batches;
  // The token mask: rows of layer inputs at tokens it marks 0 (padding) are
  // left out of the statistics.
  std::optional<size_t> maskSlot;
  if (!o.calibrationMask.empty()) {
    for (auto [j, p] : llvm::enumerate(h->model->inputs()))
      if (p.name == o.calibrationMask && (p.dtype == "int64" || p.dtype == "int32"))
        maskSlot = j;
    if (!maskSlot && o.calibrationMaskGiven)
      return bad("the model has no int64/int32 input '" + o.calibrationMask +
                 "' to mask the statistics with (--calibration-mask)");
  }
  int64_t maskedRows = 0, maskedOf = 0;
  std::vector<char> tokenMask; // this batch's mask, one entry per token
  int64_t tokensKept = 0;
  h->outputs = allocateArrays(h->model->outputs());
  h->current.assign(h->slot.size(), nullptr);
  for (int64_t b = 0; b < batches; ++b) {
    h->selectBatch(b);
    if (llvm::Error e = h->model->run(h->inputs, h->outputs))
      return std::move(e);
    if (maskSlot) {
      const Array &m = h->inputs[*maskSlot];
      tokenMask.resize(m.numElements());
      for (size_t t = 0; t < tokenMask.size(); ++t)
        tokenMask[t] = m.dtype == "int64"
                           ? reinterpret_cast<const int64_t *>(m.data.data())[t] != 0
                           : reinterpret_cast<const int32_t *>(m.data.data())[t] != 0;
      tokensKept = llvm::count(tokenMask, 1);
    }
    for (auto [k, i] : llvm::enumerate(hoisted)) {
      Array &a = h->outputs[firstActivation + k];
      Layer &l = layers[i];
      int64_t K = l.matmul.k;
      if (a.dtype != "float32" || a.shape.empty() || a.shape.back() != K)
        continue;
      // Channel statistics over every row; a bounded, evenly spread sample
      // of rows for the output-error searches.
      int64_t rows = a.numElements() / K;
      int64_t keep = std::max<int64_t>(1, kSampledRows / batches);
      int64_t stride = std::max<int64_t>(1, rows / keep);
      l.absSum.resize(K, 0);
      l.sqSum.resize(K, 0);
      const float *x = a.f32();
      // One row per token: the mask applies (null: every row counts).
      const char *use = maskSlot && rows == int64_t(tokenMask.size()) ? tokenMask.data()
                                                                     : nullptr;
      int64_t used = use ? tokensKept : rows;
      if (used == 0)
        continue;
      if (use)
        maskedRows += used, maskedOf += rows;
      for (int64_t r = 0; r < rows; ++r) {
        if (use && !use[r])
          continue;
        for (int64_t c = 0; c < K; ++c) {
          l.absSum[c] += std::fabs(x[r * K + c]);
          l.sqSum[c] += double(x[r * K + c]) * x[r * K + c];
        }
        if (r % stride == 0 && l.activationRows < kSampledRows) {
          l.activations.insert(l.activations.end(), x + r * K, x + (r + 1) * K);
          ++l.activationRows;
        }
      }
      l.rowsSeen += used;
      if (o.gptq) {
        l.hessian.resize(K * K, 0.0);
        for (int64_t r = 0; r < rows; ++r) {
          if (use && !use[r])
            continue;
          const float *xr = x + r * K;
          for (int64_t i = 0; i < K; ++i) {
            double xi = xr[i];
            if (xi == 0.0)
              continue;
            double *hi = &l.hessian[i * K];
            for (int64_t j = i; j < K; ++j)
              hi[j] += xi * xr[j];
          }
        }
      }
    }
    h->reference.emplace_back(h->outputs.begin(), h->outputs.begin() + firstActivation);
  }
  if (maskedOf && !o.quiet)
    llvm::errs() << llvm::format(
        "qtc: calibration statistics over the tokens '%s' marks: %.1f%% of "
        "the rows\n",
        o.calibrationMask.c_str(), 100.0 * maskedRows / maskedOf);
  return h;
}

void Harness::selectBatch(int64_t b) {
  for (auto &[j, name] : batchSlot) {
    const std::vector<char> &d = batchInputs[name][b];
    std::memcpy(inputs[j].data.data(), d.data(), d.size());
  }
}

double Harness::measure(const std::vector<const std::vector<char> *> &weights) {
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < slot.size(); ++i) {
    const std::vector<char> *want = weights[i] ? weights[i] : &original[i];
    if (current[i] != want) {
      std::memcpy(inputs[slot[i]].data.data(), want->data(), want->size());
      current[i] = want;
    }
  }
  double num = 0, den = 0;
  for (int64_t b = 0; b < batches; ++b) {
    if (batches > 1)
      selectBatch(b);
    // Calibration copies embed their weights: running cannot fail.
    llvm::cantFail(model->run(inputs, outputs));
    for (size_t j : floatOutputs) {
      const float *y = outputs[j].f32(), *r = reference[b][j].f32();
      for (int64_t e = 0, n = outputs[j].numElements(); e < n; ++e) {
        double d = double(y[e]) - r[e];
        num += d * d;
        den += double(r[e]) * r[e];
      }
    }
  }
  ++runs;
  seconds += secondsSince(t0);
  return den > 0 ? num / den : num;
}

std::string shortName(const std::string &name, size_t width) {
  if (name.size() <= width)
    return name;
  return "..." + name.substr(name.size() - (width - 3));
}

std::string fmtErr(double e) { return llvm::formatv("{0:e2}", e).str(); }

} // namespace

llvm::Error qtc::quantizeModule(mlir::ModuleOp module, const QuantOptions &o) {
  auto t0 = std::chrono::steady_clock::now();
  llvm::raw_ostream &log = llvm::errs();
  bool mixed = o.averageBits > 0;
  if (mixed && o.uniformBits)
    return llvm::createStringError(
        "give either --quantize or --weight-bits, not both");
  std::vector<std::pair<llvm::GlobPattern, unsigned>> overrides;
  for (auto &[pattern, bits] : o.overrides)
    overrides.emplace_back(cantFail(llvm::GlobPattern::create(pattern)), bits);
  std::vector<unsigned> overrideHits(overrides.size(), 0);

  // The layers and their weights; rows the group size does not divide get
  // the largest that does (counted by row length, for one note each).
  std::vector<Layer> layers;
  std::map<std::pair<int64_t, int64_t>, std::pair<unsigned, std::string>>
      regrouped;
  bool streaming = !mixed && o.calibration.empty() && o.salientFraction == 0;
  for (WeightMatmul &m : mlir::qt::findWeightMatmuls(module)) {
    Layer l;
    l.matmul = m;
    l.groupSize = o.groupSize ? fittingGroupSize(o.groupSize, m.k) : m.k;
    if (o.groupSize && l.groupSize != o.groupSize &&
        m.k % l.groupSize == 0) {
      auto &entry = regrouped[{m.k, l.groupSize}];
      if (!entry.first++)
        entry.second = m.name;
    }
    for (auto [i, ov] : llvm::enumerate(overrides))
      if (ov.first.match(m.name)) {
        l.fixedBits = ov.second;
        ++overrideHits[i];
        break;
      }
    if (l.fixedBits < 16) {
      if (std::string why = quantSpecError(specFor(l, 4, o), m.k); !why.empty())
        l.keptWhy = why;
      else if (!mlir::qt::readWeight(m, l.weight))
        l.keptWhy = "its data cannot be read";
      else if (!llvm::all_of(l.weight, [](float v) { return std::isfinite(v); }))
        l.keptWhy = "it holds NaN or infinite values";
      for (float v : l.weight)
        l.maxAbs = std::max(l.maxAbs, std::fabs(v));
    }
    // Without calibration or a search, a layer's weights are needed again
    // only when it is quantized: read them then, one layer at a time, so
    // that the compile never holds a second fp32 copy of every weight.
    if (streaming)
      l.weight = {};
    layers.push_back(std::move(l));
  }
  llvm::raw_ostream &warn = o.warnings ? *o.warnings : llvm::nulls();
  for (auto [i, hits] : llvm::enumerate(overrideHits))
    if (!hits)
      warn << "qtc: warning: --tensor-type " << o.overrides[i].first
           << " matches no matmul weight\n";
  for (auto &[shape, entry] : regrouped)
    warn << "qtc: note: group size " << o.groupSize
         << " does not divide the row length " << shape.first << " of "
         << entry.first << (entry.first == 1 ? " weight" : " weights")
         << " (the first '" << entry.second << "'): groups of "
         << shape.second << " there\n";
  if (layers.empty()) {
    warn << "qtc: warning: the model has no real-valued matmul weights to "
            "quantize\n";
    return llvm::Error::success();
  }
  // One line per reason, with a count and the first weight, not one per
  // weight (a 30-layer model has 200 of them).
  llvm::MapVector<std::string, std::pair<unsigned, const Layer *>,
                  llvm::StringMap<unsigned>>
      kept;
  for (const Layer &l : layers)
    if (!l.keptWhy.empty()) {
      auto &entry = kept[l.keptWhy];
      if (!entry.first++)
        entry.second = &l;
    }
  for (auto &[why, entry] : kept) {
    const WeightMatmul &m = entry.second->matmul;
    if (entry.first == 1)
      warn << "qtc: warning: weight '" << m.name << "' (" << m.n << "x" << m.k
           << ") kept real-valued: " << why << "\n";
    else
      warn << "qtc: warning: " << entry.first
           << " weights kept real-valued (the first '" << m.name << "', "
           << m.n << "x" << m.k << "): " << why << "\n";
  }

  // Layers whose width is searched, and those fixed by --tensor-type.
  std::vector<size_t> free, fixed;
  for (auto [i, l] : llvm::enumerate(layers)) {
    if (!l.keptWhy.empty() || l.fixedBits >= 16)
      l.bits = 32;
    else if (l.fixedBits)
      fixed.push_back(i), l.bits = l.fixedBits;
    else
      free.push_back(i);
  }
  // Every layer that gets quantized: the calibration copy takes these
  // weights as inputs.
  std::vector<size_t> hoisted(free);
  hoisted.insert(hoisted.end(), fixed.begin(), fixed.end());
  std::map<int64_t, std::vector<float>> rotations; // by block size

  if (o.rotate) {
    if (o.salientFraction > 0)
      return llvm::createStringError(
          "--rotate and --salient-columns cannot be combined (a rotation "
          "mixes the kept columns into the quantized ones)");
    // Blocks of the largest power of two (up to 128) that divides the group
    // size, so that each block lies within one group; one rotation per
    // block size, the same for every layer.
    for (size_t i : hoisted) {
      Layer &l = layers[i];
      l.rotationBlock = std::min<int64_t>(l.groupSize & -l.groupSize, 128);
      std::vector<float> &r = rotations[l.rotationBlock];
      if (r.empty())
        r = randomizedHadamard(l.rotationBlock, /*seed=*/0x9e3779b97f4a7c15ull);
      l.rotation = r;
    }
  }

  llvm::json::Object report;
  llvm::json::Array alternatives;
  std::string method;
  double predicted = NAN, measured = NAN;
  std::unique_ptr<Harness> harness;
  std::vector<unsigned> widths = o.candidates;
  // Fake-quantized weights per free layer and candidate (calibrated only).
  std::vector<std::vector<std::vector<char>>> fake;
  std::vector<std::vector<char>> fixedFake;
  auto measureChoice = [&](const std::vector<unsigned> &choice) {
    std::vector<const std::vector<char> *> w;
    for (size_t f = 0; f < free.size(); ++f)
      w.push_back(&fake[f][choice[f]]);
    for (size_t f = 0; f < fixed.size(); ++f)
      w.push_back(&fixedFake[f]);
    return harness->measure(w);
  };

  // With calibration inputs: a compiled copy of the model that takes the
  // weights as inputs and returns each layer's input activations.
  if (!o.calibration.empty() && !hoisted.empty()) {
    if (!o.quiet)
      log << "qtc: compiling a calibration copy of the model (weights as "
             "inputs)\n";
    llvm::Expected<std::unique_ptr<Harness>> h =
        Harness::create(module, layers, hoisted, o);
    if (!h)
      return h.takeError();
    harness = std::move(*h);
  }
  if (o.salientFraction > 0)
    for (size_t i : hoisted)
      chooseSalientColumns(layers[i], o.salientFraction);
  if (harness && o.awq) {
    if (!o.quiet)
      log << "qtc: activation-aware scaling search ... ";
    auto ts = std::chrono::steady_clock::now();
    unsigned scaled = 0;
    for (size_t i : hoisted) {
      Layer &l = layers[i];
      unsigned bits = l.fixedBits   ? l.fixedBits
                      : !mixed      ? o.uniformBits
                                    : static_cast<unsigned>(std::floor(o.averageBits));
      bits = std::clamp(bits, 2u, 8u);
      searchInputScale(l, bits, o);
      scaled += !l.inputScale.empty();
    }
    if (!o.quiet)
      log << llvm::format("%.2f s, %u of %zu layers scaled\n",
                          secondsSince(ts),
                          scaled, hoisted.size());
  }
  if (harness && o.gptq) {
    // GPTQ's factor of each layer's X^T X, for the inputs the quantized
    // weights see: divided by the activation-aware scales (x / s feeds
    // W * diag(s)).
    if (!o.quiet)
      log << "qtc: GPTQ factors of the layers' input statistics ... ";
    auto ts = std::chrono::steady_clock::now();
    unsigned factored = 0;
    for (size_t i : hoisted) {
      Layer &l = layers[i];
      int64_t k = l.matmul.k;
      if (l.hessian.size() != size_t(k * k))
        continue;
      if (!l.inputScale.empty())
        for (int64_t a = 0; a < k; ++a)
          for (int64_t b = a; b < k; ++b)
            l.hessian[a * k + b] /= double(l.inputScale[a]) * l.inputScale[b];
      if (!l.rotation.empty())
        rotateStatistics(l.hessian, k, l.rotation, l.rotationBlock);
      l.gptq = gptqFactor(l.hessian, k, o.gptqDamp);
      factored += l.gptq.cols != 0;
      l.hessian = {};
    }
    if (!o.quiet)
      log << llvm::format("%.2f s, %u of %zu layers\n",
                          secondsSince(ts),
                          factored, hoisted.size());
  }
  for (size_t i : fixed)
    if (harness)
      fixedFake.push_back(
          encodeWeight(layers[i], effectiveWeight(layers[i],
                                                  specFor(layers[i], layers[i].bits, o))));

  if (!mixed) {
    // Without --quantize, only --tensor-type widths apply.
    for (size_t i : free)
      layers[i].bits = o.uniformBits ? o.uniformBits : 32;
    method = o.uniformBits ? "uniform" : "--tensor-type only";
    if (harness && o.uniformBits) {
      std::vector<const std::vector<char> *> w;
      std::vector<std::vector<char>> fq;
      fq.reserve(free.size());
      for (size_t i : free) {
        fq.push_back(encodeWeight(layers[i],
                                  effectiveWeight(layers[i], specFor(layers[i], o.uniformBits, o))));
        w.push_back(&fq.back());
      }
      for (auto &f : fixedFake)
        w.push_back(&f);
      measured = harness->measure(w);
    }
  } else {
    if (free.empty())
      return llvm::createStringError(
          "--weight-bits: every matmul weight is fixed by --tensor-type or "
          "cannot be quantized; nothing to allocate");
    // Per-layer weight errors at every candidate width.
    {
      if (!o.quiet)
        log << "qtc: quantizing " << free.size() << " layers at "
            << widths.size() << " widths ... ";
      auto ts = std::chrono::steady_clock::now();
      if (harness)
        fake.resize(free.size());
      for (auto [f, i] : llvm::enumerate(free)) {
        Layer &l = layers[i];
        for (unsigned w : widths) {
          std::vector<float> deq = effectiveWeight(l, specFor(l, w, o));
          l.weightError.push_back(relSquaredError(l.weight, deq));
          if (harness)
            fake[f].push_back(encodeWeight(l, deq));
        }
      }
      if (!o.quiet)
        log << llvm::format(
            "%.2f s\n",
            secondsSince(ts));
    }
    AllocationProblem problem;
    problem.widths = widths;
    int64_t totalParams = 0, fixedBits = 0;
    for (size_t i : free)
      totalParams += layers[i].params();
    for (size_t i : fixed) {
      totalParams += layers[i].params();
      fixedBits += layers[i].params() * layers[i].bits;
    }
    problem.budgetBits =
        static_cast<int64_t>(std::floor(o.averageBits * totalParams)) -
        fixedBits;
    if (problem.budgetBits < 0)
      return llvm::createStringError(llvm::formatv(
          "--weight-bits avg:{0}: the layers fixed by --tensor-type alone "
          "exceed the budget ({1:f2} bits on average)",
          o.averageBits, double(fixedBits) / double(totalParams)).str());
    for (size_t i : free)
      problem.params.push_back(layers[i].params());

    if (harness) {
      if (!o.quiet)
        log << "qtc: measuring sensitivities (" << free.size() << " layers x "
            << widths.size() << " widths) ... ";
      auto ts = std::chrono::steady_clock::now();
      for (auto [f, i] : llvm::enumerate(free)) {
        for (size_t w = 0; w < widths.size(); ++w) {
          std::vector<const std::vector<char> *> ws(free.size() + fixed.size(),
                                                    nullptr);
          ws[f] = &fake[f][w];
          layers[i].sensitivity.push_back(harness->measure(ws));
        }
      }
      if (!o.quiet)
        log << llvm::format(
            "%.2f s\n",
            secondsSince(ts));
      for (size_t i : free)
        problem.error.push_back(layers[i].sensitivity);
    } else {
      if (!o.quiet)
        log << "qtc: no --calibration: allocating on relative weight errors "
               "(data-free)\n";
      for (size_t i : free)
        problem.error.push_back(layers[i].weightError);
    }
    Allocation a = solveAllocation(problem);
    if (a.choice.empty()) {
      int64_t least = 0;
      for (size_t i : free)
        least += layers[i].params() * widths.front();
      char avg[32];
      std::snprintf(avg, sizeof avg, "%g", o.averageBits);
      if (least + fixedBits <= int64_t(std::floor(o.averageBits * totalParams)))
        return llvm::createStringError(llvm::formatv(
            "--weight-bits avg:{0}: no allocation fits once layer sizes are "
            "rounded to the solver's units; raise the budget slightly",
            avg).str());
      return llvm::createStringError(llvm::formatv(
          "--weight-bits avg:{0}: the budget is below every layer at {1} bits "
          "(the least possible average is {2:f2} bits)",
          avg, widths.front(),
          double(least + fixedBits) / double(totalParams)).str());
    }
    predicted = a.predictedError;
    method = a.exact ? "knapsack (exact)" : "knapsack (coarsened budget)";
    std::vector<unsigned> choice = a.choice;
    if (harness) {
      measured = measureChoice(choice);
      report["knapsack_measured_error"] = measured;
      // Simple allocations at the same budget, measured the same way: the
      // search must beat them, and they seed the refinement.
      std::vector<std::pair<std::string, std::vector<unsigned>>> simple;
      for (size_t w = 0; w < widths.size(); ++w)
        simple.push_back({"uniform " + std::to_string(widths[w]),
                          std::vector<unsigned>(free.size(), w)});
      for (size_t w = 0; w + 1 < widths.size(); ++w)
        for (unsigned phase = 0; phase < 2; ++phase) {
          std::vector<unsigned> alt(free.size());
          for (size_t f = 0; f < free.size(); ++f)
            alt[f] = (f % 2 == phase) ? w + 1 : w;
          simple.push_back({"alternating " + std::to_string(widths[w]) + "/" +
                                std::to_string(widths[w + 1]) +
                                (phase ? " (odd layers wider)" : ""),
                            alt});
        }
      int64_t freeParams = 0;
      for (int64_t n : problem.params)
        freeParams += n;
      std::vector<std::vector<unsigned>> starts = {choice};
      for (auto &[name, c] : simple) {
        if (allocationBits(problem, c) > problem.budgetBits)
          continue;
        double e = measureChoice(c);
        double avg = 0;
        for (size_t f = 0; f < free.size(); ++f)
          avg += double(problem.params[f]) * widths[c[f]];
        alternatives.push_back(llvm::json::Object{
            {"allocation", name},
            {"average_bits", avg / double(freeParams)},
            {"measured_error", e}});
        starts.push_back(c);
      }
      if (o.generations) {
        if (!o.quiet)
          log << "qtc: refining by evolutionary search (" << o.generations
              << " generations x " << o.offspring << ", seed " << o.seed
              << ") ... ";
        auto ts = std::chrono::steady_clock::now();
        double best;
        unsigned evals = 0;
        choice = evolveAllocation(problem, starts, measureChoice,
                                  {o.generations, o.offspring, o.seed}, best,
                                  &evals);
        if (!o.quiet)
          log << llvm::format("%.2f s\n", secondsSince(ts));
        if (best < measured) {
          method += " + evolution";
          measured = best;
        }
        report["evolution"] = llvm::json::Object{{"generations", o.generations},
                                                 {"offspring", o.offspring},
                                                 {"seed", o.seed},
                                                 {"evaluations", evals}};
      }
    }
    for (auto [f, i] : llvm::enumerate(free))
      layers[i].bits = widths[choice[f]];
  }

  // Quantize for real and report.
  int64_t fpBytes = 0, qBytes = 0, qParams = 0, codeBits = 0;
  llvm::json::Array layerReport;
  std::string table;
  llvm::raw_string_ostream t(table);
  size_t nameWidth = 44;
  t << llvm::format("  %-44s %-11s %4s  ", "layer", "shape", "bits");
  if (mixed)
    for (unsigned w : widths)
      t << llvm::format("%9s ", ((harness ? "sens@" : "werr@") +
                                 std::to_string(w)).c_str());
  t << "\n";
  for (Layer &l : layers) {
    const WeightMatmul &m = l.matmul;
    int64_t elemBytes =
        mlir::cast<mlir::RankedTensorType>(m.weight.getType())
                .getElementTypeBitWidth() / 8;
    fpBytes += l.params() * elemBytes;
    llvm::json::Object entry{{"name", m.name},
                             {"shape", llvm::json::Array{m.n, m.k}},
                             {"bits", l.bits < 16 ? l.bits : 0}};
    std::string bar;
    if (l.bits < 16) {
      if (streaming && !mlir::qt::readWeight(m, l.weight))
        return llvm::createStringError("the data of weight '" + m.name +
                                       "' cannot be read");
      QuantSpec spec = specFor(l, l.bits, o);
      QuantizedMatrix q;
      double werr = relSquaredError(l.weight, effectiveWeight(l, spec, &q));
      if (!l.inputScale.empty())
        entry["activation_scaled"] = true;
      entry["weight_error"] = werr;
      if (l.groupSize != o.groupSize)
        entry["group_size"] = l.groupSize;
      int64_t bytes = mlir::qt::quantizedBytes(m.n, m.k, spec) +
                      int64_t(l.salientWeight.size()) * 2 + // f16 weights
                      int64_t(l.salient.size()) * 8;        // their columns
      entry["bytes"] = bytes;
      if (!l.salient.empty())
        entry["salient_columns"] = int64_t(l.salient.size());
      qBytes += bytes;
      qParams += l.params();
      codeBits += l.params() * l.bits;
      mlir::qt::replaceWithQuantizedMatmul(m, q, spec, l.inputScale, l.salient,
                                           l.salientWeight, l.rotation);
      if (streaming)
        l.weight = std::vector<float>();
      if (!l.rotation.empty()) {
        entry["rotated"] = true;
        entry["rotation_block"] = l.rotationBlock;
      }
      bar = std::string(l.bits, '#');
    } else {
      qBytes += l.params() * elemBytes;
      entry["kept"] = l.keptWhy.empty() ? "--tensor-type" : l.keptWhy;
      bar = "(kept)";
    }
    if (mixed && !l.weightError.empty()) {
      llvm::json::Object werr, sens;
      for (size_t w = 0; w < widths.size(); ++w) {
        werr[std::to_string(widths[w])] = l.weightError[w];
        if (!l.sensitivity.empty())
          sens[std::to_string(widths[w])] = l.sensitivity[w];
      }
      entry["weight_error_by_bits"] = std::move(werr);
      if (!l.sensitivity.empty())
        entry["sensitivity_by_bits"] = std::move(sens);
    }
    layerReport.push_back(std::move(entry));
    t << llvm::format("  %-44s %-11s %4s  ",
                      shortName(m.name, nameWidth).c_str(),
                      (std::to_string(m.n) + "x" + std::to_string(m.k)).c_str(),
                      l.bits < 16 ? std::to_string(l.bits).c_str() : "-");
    if (mixed)
      for (size_t w = 0; w < widths.size(); ++w) {
        const std::vector<double> &e =
            harness ? l.sensitivity : l.weightError;
        t << llvm::format("%9s ", w < e.size() ? fmtErr(e[w]).c_str() : "-");
      }
    t << bar << "\n";
  }
  double avgBits = qParams ? double(codeBits) / double(qParams) : 0;
  int64_t keptBytes = 0;
  for (Layer &l : layers)
    if (l.bits >= 16)
      keptBytes += l.params() *
                   (mlir::cast<mlir::RankedTensorType>(l.matmul.weight.getType())
                        .getElementTypeBitWidth() / 8);
  double storedBits =
      qParams ? 8.0 * double(qBytes - keptBytes) / double(qParams) : 0;
  std::string groupText = std::to_string(o.groupSize);
  if (!regrouped.empty()) {
    std::set<int64_t> others;
    for (auto &[shape, entry] : regrouped)
      others.insert(shape.second);
    groupText += " (" + llvm::join(llvm::map_range(others, [](int64_t g) {
                                     return std::to_string(g);
                                   }),
                                   ", ") +
                 " where it does not divide)";
  }
  std::string summary = llvm::formatv(
      "qtc: {0} of {1} matmul weights quantized ({2}, group {3}, {4}): "
      "average {5:f2} code bits, {6:f2} bits with scales; weights {7:f1} MB "
      "-> {8:f1} MB",
      llvm::count_if(layers, [](const Layer &l) { return l.bits < 16; }),
      layers.size(), method, groupText,
      o.asymmetric                ? "asymmetric"
      : o.floatMin          ? "with a min per group"
      : o.grid != "uniform" ? "symmetric, 4-bit grid " + o.grid
                            : std::string("symmetric"),
      avgBits, storedBits,
      fpBytes / 1e6, qBytes / 1e6);
  if (!o.quiet) {
    log << table;
    log << summary << "\n";
    if (!std::isnan(predicted))
      log << "qtc: predicted error (sum of "
          << (harness ? "sensitivities" : "weight errors") << ") "
          << fmtErr(predicted) << "\n";
    if (!std::isnan(measured))
      log << "qtc: measured end-to-end error on the calibration inputs "
             "(relative squared) "
          << fmtErr(measured) << "\n";
    for (const llvm::json::Value &v : alternatives) {
      const llvm::json::Object *a = v.getAsObject();
      log << "qtc:   compared: " << *a->getString("allocation") << ": "
          << fmtErr(*a->getNumber("measured_error")) << "\n";
    }
  }
  if (!o.reportPath.empty()) {
    report["method"] = method;
    report["group_size"] = o.groupSize;
    report["asymmetric"] = o.asymmetric;
    report["min"] = o.floatMin;
    report["grid"] = o.grid;
    if (mixed) {
      report["budget_average_bits"] = o.averageBits;
      report["candidate_bits"] = llvm::json::Array(widths);
      report["sensitivity"] = harness ? "end-to-end relative squared error "
                                        "on the calibration inputs"
                                      : "relative squared weight error "
                                        "(data-free)";
      if (!std::isnan(predicted))
        report["predicted_error"] = predicted;
      report["compared"] = std::move(alternatives);
    }
    if (!std::isnan(measured))
      report["measured_error"] = measured;
    report["activation_aware"] = harness && o.awq;
    report["gptq"] = harness && o.gptq;
    report["rotated"] = o.rotate;
    if (harness && o.gptq)
      report["gptq_damp"] = o.gptqDamp;
    report["average_code_bits"] = avgBits;
    report["average_stored_bits"] = storedBits;
    report["weight_bytes_before"] = fpBytes;
    report["weight_bytes_after"] = qBytes;
    report["layers"] = std::move(layerReport);
    report["seconds"] =
        secondsSince(t0);
    std::error_code ec;
    llvm::raw_fd_ostream os(o.reportPath, ec);
    if (ec)
      return llvm::createStringError("cannot write '" + o.reportPath +
                                     "': " + ec.message());
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(report))) << "\n";
  }
  return llvm::Error::success();
}
