//===- QuantizedLinear.cpp - GPTQ and AWQ layers in qt's form -------------===//
//
// GPTQ (AutoGPTQ / GPTQModel QuantLinear):
//   qweight int32 [ceil(K * bits / 32), N]: column n, read as consecutive
//   little-endian words, is one lsb_first bit stream of the K codes of output
//   n (3-bit codes straddle words: 32 codes fill exactly 3 words). So each
//   output row of qt's form is the column's words' bytes, truncated to
//   ceil(K * bits / 8).
//   qzeros int32 [G, ceil(N * bits / 32)]: row g is the same kind of stream
//   along N. v1 (checkpoint_format gptq) stores zero - 1 per field; AutoGPTQ
//   reads each field back and adds one, and so does this reader.
//   scales f16 [G, N], g_idx int32 [K] (group of each input row).
//
// AWQ (AutoAWQ WQLinear_GEMM):
//   qweight int32 [K, N / 8]: word (k, c) holds the codes of outputs
//   c * 8 + [0, 2, 4, 6, 1, 3, 5, 7] in nibbles 0..7.
//   qzeros int32 [K / g, N / 8] with the same interleave, scales f16 [K/g, N].
//
//===----------------------------------------------------------------------===//

#include "frontends/hf/QuantizedLinear.h"

#include "dialects/QT/Utils/BitPacking.h"

#include "llvm/Support/Endian.h"

using namespace llvm;

namespace qtc::safetensors {

namespace {

using support::endian::read16le;
using support::endian::read32le;

/// Nibble i of an AWQ GEMM word holds output column kAWQOrder[i] of its
/// group of eight.
constexpr unsigned kAWQOrder[8] = {0, 2, 4, 6, 1, 3, 5, 7};

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// An error about the layer as a whole (config against data).
Error layerError(const Checkpoint &checkpoint, const QuantConfig &config,
                 StringRef prefix, const Twine &message) {
  StringRef where = config.source.empty() ? checkpoint.path()
                                          : StringRef(config.source);
  return fileError(where, "layer " + quoteName(prefix) + ": " + message);
}

Error refuse(const TensorRef &tensor, const Twine &message) {
  return tensorError(tensor.file->name(), tensor.name(), message);
}

/// Checks dtype and shape exactly; `why` explains where the shape comes from.
Error expectType(const TensorRef &tensor, DType dtype,
                 ArrayRef<int64_t> shape, const Twine &why) {
  if (tensor.info->dtype == dtype && ArrayRef<int64_t>(tensor.info->shape) == shape)
    return Error::success();
  return refuse(tensor, "expected " + formatType(dtype, shape) + " (" + why +
                            "), got " +
                            formatType(tensor.info->dtype, tensor.info->shape));
}

/// Checks dtype and rank before the sizes are known.
Error expectRank(const TensorRef &tensor, DType dtype, size_t rank,
                 const Twine &layout) {
  if (tensor.info->dtype == dtype && tensor.info->shape.size() == rank &&
      llvm::all_of(tensor.info->shape, [](int64_t d) { return d > 0; }))
    return Error::success();
  return refuse(tensor, "expected " + dtypeName(dtype) + " " + layout +
                            ", got " +
                            formatType(tensor.info->dtype, tensor.info->shape));
}

std::string joinName(StringRef prefix, StringRef suffix) {
  return (prefix + "." + suffix).str();
}

/// Copies an f16 [G, N] scale tensor into qt's N x G order.
std::vector<uint16_t> transposeScales(ArrayRef<uint8_t> bytes, int64_t groups,
                                      int64_t outFeatures) {
  std::vector<uint16_t> scales(static_cast<size_t>(outFeatures * groups));
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t n = 0; n < outFeatures; ++n)
      scales[n * groups + g] = read16le(bytes.data() + 2 * (g * outFeatures + n));
  return scales;
}

Expected<std::optional<std::vector<uint16_t>>>
readBias(const Checkpoint &checkpoint, StringRef prefix, int64_t outFeatures) {
  std::optional<TensorRef> bias = checkpoint.find(joinName(prefix, "bias"));
  if (!bias)
    return std::nullopt;
  if (Error err = expectType(*bias, DType::F16, {outFeatures},
                             "one per output feature"))
    return std::move(err);
  std::vector<uint16_t> values(static_cast<size_t>(outFeatures));
  for (int64_t n = 0; n < outFeatures; ++n)
    values[n] = read16le(bias->bytes().data() + 2 * n);
  return std::optional<std::vector<uint16_t>>(std::move(values));
}

Error checkCommonConfig(const Checkpoint &checkpoint, const QuantConfig &config,
                        StringRef prefix) {
  if (config.packDtype != "int32")
    return layerError(checkpoint, config, prefix,
                      "pack_dtype '" + config.packDtype +
                          "' is not supported (expected int32)");
  if (config.groupSize != -1 && config.groupSize <= 0)
    return layerError(checkpoint, config, prefix,
                      "group_size " + Twine(config.groupSize) +
                          " must be positive or -1");
  return Error::success();
}

Expected<int64_t> resolveGroupSize(const Checkpoint &checkpoint,
                                   const QuantConfig &config, StringRef prefix,
                                   int64_t inFeatures) {
  int64_t groupSize = config.groupSize == -1 ? inFeatures : config.groupSize;
  if (inFeatures % groupSize != 0)
    return layerError(checkpoint, config, prefix,
                      "group_size " + Twine(groupSize) +
                          " does not divide in_features " + Twine(inFeatures) +
                          "; uneven groups are not supported");
  return groupSize;
}

} // namespace

Expected<PackedLinear> readGPTQLinear(const Checkpoint &checkpoint,
                                      StringRef prefix,
                                      const QuantConfig &config) {
  if (config.method != QuantConfig::Method::GPTQ)
    return layerError(checkpoint, config, prefix,
                      "the GPTQ reader needs quant_method gptq");
  unsigned bits = config.bits;
  if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
    return layerError(checkpoint, config, prefix,
                      "GPTQ bits " + Twine(bits) +
                          " is not supported (expected 2, 3, 4 or 8)");
  if (Error err = checkCommonConfig(checkpoint, config, prefix))
    return std::move(err);
  bool v1 = config.checkpointFormat == QuantConfig::GPTQFormat::V1;

  Expected<TensorRef> qweight =
      checkpoint.lookup(joinName(prefix, "qweight"));
  if (!qweight)
    return qweight.takeError();
  if (Error err = expectRank(*qweight, DType::I32, 2,
                             "[ceil(in_features * bits / 32), out_features] "
                             "(GPTQ qweight)"))
    return std::move(err);
  int64_t wordRows = qweight->info->shape[0];
  int64_t outFeatures = qweight->info->shape[1];

  // K comes from g_idx when there is one (it also covers K * bits not being
  // a multiple of 32), else from the rows of qweight.
  std::optional<TensorRef> gIdx = checkpoint.find(joinName(prefix, "g_idx"));
  int64_t inFeatures;
  if (gIdx) {
    if (Error err = expectRank(*gIdx, DType::I32, 1,
                               "[in_features] (GPTQ g_idx)"))
      return std::move(err);
    inFeatures = gIdx->info->shape[0];
    int64_t expectedRows = ceilDiv(inFeatures * bits, 32);
    if (wordRows != expectedRows)
      return refuse(*qweight,
                    "has " + Twine(wordRows) + " rows, in_features " +
                        Twine(inFeatures) + " (the length of g_idx) at " +
                        Twine(bits) + " bits needs ceil(" + Twine(inFeatures) +
                        " * " + Twine(bits) + " / 32) = " +
                        Twine(expectedRows));
  } else {
    if ((wordRows * 32) % bits != 0)
      return refuse(*qweight, "has " + Twine(wordRows) +
                                  " rows, which do not hold a whole number "
                                  "of " +
                                  Twine(bits) +
                                  "-bit codes; without g_idx in_features "
                                  "cannot be inferred");
    inFeatures = wordRows * 32 / bits;
  }
  Expected<int64_t> groupSize =
      resolveGroupSize(checkpoint, config, prefix, inFeatures);
  if (!groupSize)
    return groupSize.takeError();
  int64_t groups = inFeatures / *groupSize;
  std::string groupsWhy = "in_features " + std::to_string(inFeatures) +
                          " / group_size " + std::to_string(*groupSize) +
                          " = " + std::to_string(groups) +
                          " groups, out_features " +
                          std::to_string(outFeatures);

  Expected<TensorRef> scales = checkpoint.lookup(joinName(prefix, "scales"));
  if (!scales)
    return scales.takeError();
  if (Error err =
          expectType(*scales, DType::F16, {groups, outFeatures}, groupsWhy))
    return std::move(err);

  std::optional<TensorRef> qzeros = checkpoint.find(joinName(prefix, "qzeros"));
  int64_t zeroWords = ceilDiv(outFeatures * bits, 32);
  if (!qzeros && !config.sym) {
    // Asymmetric GPTQ cannot do without its zero points.
    Expected<TensorRef> missing =
        checkpoint.lookup(joinName(prefix, "qzeros"));
    return missing.takeError();
  }
  if (qzeros) {
    if (Error err = expectType(
            *qzeros, DType::I32, {groups, zeroWords},
            groupsWhy + ", ceil(" + std::to_string(outFeatures) + " * " +
                std::to_string(bits) + " / 32) words per group"))
      return std::move(err);
  }

  Expected<std::optional<std::vector<uint16_t>>> bias =
      readBias(checkpoint, prefix, outFeatures);
  if (!bias)
    return bias.takeError();

  PackedLinear result;
  result.outFeatures = outFeatures;
  result.inFeatures = inFeatures;
  result.bits = bits;
  result.groupSize = *groupSize;

  // Act-order: sort K by g_idx (stably) so that groups become contiguous;
  // every group must then hold exactly group_size input rows.
  if (gIdx) {
    ArrayRef<uint8_t> bytes = gIdx->bytes();
    std::vector<int64_t> counts(static_cast<size_t>(groups), 0);
    for (int64_t k = 0; k < inFeatures; ++k) {
      int32_t group = static_cast<int32_t>(read32le(bytes.data() + 4 * k));
      if (group < 0 || group >= groups)
        return refuse(*gIdx, "g_idx[" + Twine(k) + "] is " + Twine(group) +
                                 ", outside the " + Twine(groups) +
                                 " groups [0, " + Twine(groups) + ")");
      ++counts[group];
    }
    for (int64_t g = 0; g < groups; ++g)
      if (counts[g] != *groupSize)
        return refuse(*gIdx, "group " + Twine(g) + " has " +
                                 Twine(counts[g]) +
                                 " input rows, group_size " +
                                 Twine(*groupSize) + " needs exactly " +
                                 Twine(*groupSize) +
                                 " (uneven groups are not supported)");
    std::vector<int64_t> next(static_cast<size_t>(groups));
    for (int64_t g = 0; g < groups; ++g)
      next[g] = g * *groupSize;
    std::vector<int64_t> permutation(static_cast<size_t>(inFeatures));
    bool identity = true;
    for (int64_t k = 0; k < inFeatures; ++k) {
      int32_t group = static_cast<int32_t>(read32le(bytes.data() + 4 * k));
      int64_t position = next[group]++;
      permutation[position] = k;
      identity &= position == k;
    }
    if (!identity)
      result.inputPermutation = std::move(permutation);
  }

  // Weights: each qweight column is already the lsb_first stream of its
  // output row; copy the words' bytes across and clear bits past K codes.
  int64_t rowBytes = packedBytes(inFeatures, bits);
  result.weights.assign(static_cast<size_t>(outFeatures * rowBytes), 0);
  const uint8_t *words = qweight->bytes().data();
  for (int64_t r = 0; r < wordRows; ++r) {
    for (int64_t n = 0; n < outFeatures; ++n) {
      uint32_t word = read32le(words + 4 * (r * outFeatures + n));
      uint8_t *row = result.weights.data() + n * rowBytes;
      for (int64_t j = 0; j < 4 && r * 4 + j < rowBytes; ++j)
        row[r * 4 + j] = static_cast<uint8_t>(word >> (8 * j));
    }
  }
  if (unsigned tail = static_cast<unsigned>((inFeatures * bits) % 8)) {
    for (int64_t n = 0; n < outFeatures; ++n)
      result.weights[n * rowBytes + rowBytes - 1] &=
          static_cast<uint8_t>((1u << tail) - 1);
  }
  if (result.inputPermutation) {
    const std::vector<int64_t> &permutation = *result.inputPermutation;
    std::vector<uint8_t> codes(static_cast<size_t>(inFeatures));
    std::vector<uint8_t> permuted(static_cast<size_t>(inFeatures));
    for (int64_t n = 0; n < outFeatures; ++n) {
      MutableArrayRef<uint8_t> row(result.weights.data() + n * rowBytes,
                                   static_cast<size_t>(rowBytes));
      unpackBits(row, bits, BitOrder::LsbFirst, codes);
      for (int64_t k = 0; k < inFeatures; ++k)
        permuted[k] = codes[permutation[k]];
      packBits(permuted, bits, BitOrder::LsbFirst, row);
    }
  }

  result.scales = transposeScales(scales->bytes(), groups, outFeatures);

  // Zero points: row g of qzeros is the lsb_first stream of N fields.
  if (qzeros) {
    const unsigned implicitZero = 1u << (bits - 1);
    std::vector<uint8_t> zeroPoints(static_cast<size_t>(outFeatures * groups));
    std::vector<uint8_t> fields(static_cast<size_t>(outFeatures));
    bool allImplicit = true;
    ArrayRef<uint8_t> bytes = qzeros->bytes();
    for (int64_t g = 0; g < groups; ++g) {
      unpackBits(bytes.slice(g * zeroWords * 4, zeroWords * 4), bits,
                 BitOrder::LsbFirst, fields);
      for (int64_t n = 0; n < outFeatures; ++n) {
        unsigned zero = fields[n] + (v1 ? 1u : 0u);
        if (zero > 255)
          return refuse(*qzeros,
                        "group " + Twine(g) + ", output " + Twine(n) +
                            " stores 255, which checkpoint_format gptq (v1) "
                            "reads as zero point 256; it does not fit 8-bit "
                            "codes");
        zeroPoints[n * groups + g] = static_cast<uint8_t>(zero);
        allImplicit &= zero == implicitZero;
      }
    }
    if (!allImplicit)
      result.zeroPoints = std::move(zeroPoints);
  }
  result.bias = std::move(*bias);
  return result;
}

Expected<PackedLinear> readAWQLinear(const Checkpoint &checkpoint,
                                     StringRef prefix,
                                     const QuantConfig &config) {
  if (config.method != QuantConfig::Method::AWQ)
    return layerError(checkpoint, config, prefix,
                      "the AWQ reader needs quant_method awq");
  if (config.bits != 4)
    return layerError(checkpoint, config, prefix,
                      "AWQ GEMM checkpoints are 4-bit, the config says " +
                          Twine(config.bits));
  if (config.version != "gemm")
    return layerError(checkpoint, config, prefix,
                      "AWQ version '" + config.version +
                          "' is not supported (expected gemm)");
  if (Error err = checkCommonConfig(checkpoint, config, prefix))
    return std::move(err);
  const unsigned bits = 4;

  Expected<TensorRef> qweight =
      checkpoint.lookup(joinName(prefix, "qweight"));
  if (!qweight)
    return qweight.takeError();
  if (Error err = expectRank(*qweight, DType::I32, 2,
                             "[in_features, out_features / 8] (AWQ GEMM "
                             "qweight)"))
    return std::move(err);
  int64_t inFeatures = qweight->info->shape[0];
  int64_t wordCols = qweight->info->shape[1];
  int64_t outFeatures = wordCols * 8;

  Expected<int64_t> groupSize =
      resolveGroupSize(checkpoint, config, prefix, inFeatures);
  if (!groupSize)
    return groupSize.takeError();
  int64_t groups = inFeatures / *groupSize;
  std::string groupsWhy = "in_features " + std::to_string(inFeatures) +
                          " / group_size " + std::to_string(*groupSize) +
                          " = " + std::to_string(groups) + " groups";

  Expected<TensorRef> scales = checkpoint.lookup(joinName(prefix, "scales"));
  if (!scales)
    return scales.takeError();
  if (Error err = expectType(*scales, DType::F16, {groups, outFeatures},
                             groupsWhy + ", out_features " +
                                 std::to_string(outFeatures)))
    return std::move(err);

  std::optional<TensorRef> qzeros = checkpoint.find(joinName(prefix, "qzeros"));
  if (!qzeros && config.zeroPoint) {
    Expected<TensorRef> missing =
        checkpoint.lookup(joinName(prefix, "qzeros"));
    return missing.takeError();
  }
  if (qzeros) {
    if (Error err = expectType(*qzeros, DType::I32, {groups, wordCols},
                               groupsWhy + ", out_features " +
                                   std::to_string(outFeatures) +
                                   " / 8 words per group"))
      return std::move(err);
  }

  Expected<std::optional<std::vector<uint16_t>>> bias =
      readBias(checkpoint, prefix, outFeatures);
  if (!bias)
    return bias.takeError();

  PackedLinear result;
  result.outFeatures = outFeatures;
  result.inFeatures = inFeatures;
  result.bits = bits;
  result.groupSize = *groupSize;

  // Weights: word (k, c), nibble i -> row c * 8 + kAWQOrder[i], code k.
  int64_t rowBytes = packedBytes(inFeatures, bits);
  result.weights.assign(static_cast<size_t>(outFeatures * rowBytes), 0);
  const uint8_t *words = qweight->bytes().data();
  for (int64_t k = 0; k < inFeatures; ++k) {
    unsigned shift = static_cast<unsigned>(k & 1) * 4;
    for (int64_t c = 0; c < wordCols; ++c) {
      uint32_t word = read32le(words + 4 * (k * wordCols + c));
      for (unsigned i = 0; i < 8; ++i) {
        int64_t n = c * 8 + kAWQOrder[i];
        uint8_t code = static_cast<uint8_t>((word >> (4 * i)) & 0xF);
        result.weights[n * rowBytes + k / 2] |=
            static_cast<uint8_t>(code << shift);
      }
    }
  }

  result.scales = transposeScales(scales->bytes(), groups, outFeatures);

  if (qzeros) {
    const unsigned implicitZero = 1u << (bits - 1);
    std::vector<uint8_t> zeroPoints(static_cast<size_t>(outFeatures * groups));
    bool allImplicit = true;
    const uint8_t *zeroWords = qzeros->bytes().data();
    for (int64_t g = 0; g < groups; ++g) {
      for (int64_t c = 0; c < wordCols; ++c) {
        uint32_t word = read32le(zeroWords + 4 * (g * wordCols + c));
        for (unsigned i = 0; i < 8; ++i) {
          int64_t n = c * 8 + kAWQOrder[i];
          uint8_t zero = static_cast<uint8_t>((word >> (4 * i)) & 0xF);
          zeroPoints[n * groups + g] = zero;
          allImplicit &= zero == implicitZero;
        }
      }
    }
    if (!allImplicit)
      result.zeroPoints = std::move(zeroPoints);
  }
  result.bias = std::move(*bias);
  return result;
}

Expected<PackedLinear> readQuantizedLinear(const Checkpoint &checkpoint,
                                           StringRef prefix,
                                           const QuantConfig &config) {
  switch (config.method) {
  case QuantConfig::Method::GPTQ:
    return readGPTQLinear(checkpoint, prefix, config);
  case QuantConfig::Method::AWQ:
    return readAWQLinear(checkpoint, prefix, config);
  }
  llvm_unreachable("unknown quantization method");
}

} // namespace qtc::safetensors
