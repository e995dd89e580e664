//===- QuantizedLinearTest.cpp - Tests of the GPTQ and AWQ readers --------===//
//
// Every quantized layer of the fixtures (manifest.json "quantized") is read
// into qt's canonical packed form, decoded here independently (unpackRows,
// permutation, f16 scale times integer in f32) and compared bit for bit with
// the reference the generator computed the way AutoGPTQ / AutoAWQ
// dequantize. Bad shapes, dtypes and configs must give one-line errors.
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"

#include "frontends/hf/QuantizedLinear.h"

#include "dialects/QT/Utils/BitPacking.h"

#include "llvm/Support/Endian.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

using namespace qtc::safetensors;
using namespace qtc::safetensors::test;

namespace {

const llvm::json::Object *caseRecord(llvm::StringRef name) {
  const llvm::json::Object *m = manifest();
  if (!m)
    return nullptr;
  if (const llvm::json::Array *cases = m->getArray("quantized"))
    for (const llvm::json::Value &value : *cases)
      if (const llvm::json::Object *record = value.getAsObject())
        if (record->getString("name") == name)
          return record;
  return nullptr;
}

std::vector<std::string> caseNames() {
  std::vector<std::string> names;
  if (const llvm::json::Object *m = manifest())
    if (const llvm::json::Array *cases = m->getArray("quantized"))
      for (const llvm::json::Value &value : *cases)
        if (const llvm::json::Object *record = value.getAsObject())
          names.push_back(record->getString("name").value_or("").str());
  return names;
}

/// Checkpoints opened once per directory.
const Checkpoint *openFixture(const std::string &dir) {
  static std::map<std::string, std::unique_ptr<Checkpoint>> opened;
  auto it = opened.find(dir);
  if (it != opened.end())
    return it->second.get();
  auto checkpoint = Checkpoint::open(fixturePath(dir));
  if (!checkpoint) {
    ADD_FAILURE() << llvm::toString(checkpoint.takeError());
    return nullptr;
  }
  return (opened[dir] = std::move(*checkpoint)).get();
}

class QuantizedFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(QuantizedFixture, DecodesBitExactlyToTheLibraryReference) {
  const llvm::json::Object *record = caseRecord(GetParam());
  ASSERT_NE(record, nullptr) << GetParam();
  std::string dir = record->getString("dir")->str();
  std::string prefix = record->getString("prefix")->str();
  const Checkpoint *checkpoint = openFixture(dir);
  ASSERT_NE(checkpoint, nullptr);

  auto config = parseQuantConfig(*record->getObject("config"), "manifest");
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  auto layer = readQuantizedLinear(*checkpoint, prefix, *config);
  ASSERT_TRUE(bool(layer)) << llvm::toString(layer.takeError());

  const int64_t N = *record->getInteger("out_features");
  const int64_t K = *record->getInteger("in_features");
  const unsigned bits = static_cast<unsigned>(*record->getInteger("bits"));
  const int64_t g = *record->getInteger("group_size");
  const int64_t G = K / g;
  EXPECT_EQ(layer->outFeatures, N);
  EXPECT_EQ(layer->inFeatures, K);
  EXPECT_EQ(layer->bits, bits);
  EXPECT_EQ(layer->groupSize, g);
  ASSERT_EQ(int64_t(layer->weights.size()), N * qtc::packedBytes(K, bits));
  ASSERT_EQ(int64_t(layer->scales.size()), N * G);
  ASSERT_EQ(layer->zeroPoints.has_value(),
            *record->getBoolean("has_zero_points"));
  if (layer->zeroPoints) {
    ASSERT_EQ(int64_t(layer->zeroPoints->size()), N * G);
  }
  ASSERT_EQ(layer->inputPermutation.has_value(),
            *record->getBoolean("has_permutation"));
  ASSERT_EQ(layer->bias.has_value(), *record->getBoolean("has_bias"));

  // The permutation is one, and makes the g_idx groups contiguous.
  std::vector<int64_t> perm(static_cast<size_t>(K));
  for (int64_t k = 0; k < K; ++k)
    perm[k] = k;
  if (layer->inputPermutation) {
    perm = *layer->inputPermutation;
    std::vector<int64_t> sorted = perm;
    llvm::sort(sorted);
    for (int64_t k = 0; k < K; ++k)
      ASSERT_EQ(sorted[k], k) << "not a permutation";
    auto gIdx = checkpoint->lookup(prefix + ".g_idx");
    ASSERT_TRUE(bool(gIdx)) << llvm::toString(gIdx.takeError());
    for (int64_t k = 0; k < K; ++k)
      ASSERT_EQ(int64_t(llvm::support::endian::read32le(
                    gIdx->bytes().data() + 4 * perm[k])),
                k / g)
          << "position " << k;
  }

  auto referenceFile =
      SafetensorsFile::open(fixturePath(dir + "/reference.safetensors"));
  ASSERT_TRUE(bool(referenceFile))
      << llvm::toString(referenceFile.takeError());
  const TensorInfo *reference = (*referenceFile)->lookup(prefix + ".weight");
  ASSERT_NE(reference, nullptr);
  ASSERT_EQ(reference->dtype, DType::F32);
  ASSERT_EQ(std::vector<int64_t>(reference->shape.begin(),
                                 reference->shape.end()),
            (std::vector<int64_t>{K, N}));
  const uint8_t *ref = (*referenceFile)->bytes(*reference).data();

  std::vector<uint8_t> codes = qtc::unpackRows(layer->weights, N, K, bits,
                                               qtc::BitOrder::LsbFirst);
  const int implicitZero = 1 << (bits - 1);
  int64_t mismatches = 0;
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t kp = 0; kp < K; ++kp) {
      int64_t group = kp / g;
      int zero = layer->zeroPoints ? (*layer->zeroPoints)[n * G + group]
                                   : implicitZero;
      float scale = halfToFloat(layer->scales[n * G + group]);
      float value = static_cast<float>(int(codes[n * K + kp]) - zero) * scale;
      uint32_t got, want;
      std::memcpy(&got, &value, 4);
      want = llvm::support::endian::read32le(ref + 4 * (perm[kp] * N + n));
      if (got != want && ++mismatches <= 5)
        ADD_FAILURE() << "n=" << n << " k'=" << kp << " (k=" << perm[kp]
                      << "): decoded bits 0x" << std::hex << got
                      << ", reference 0x" << want;
    }
  }
  EXPECT_EQ(mismatches, 0);

  if (layer->bias) {
    auto bias = checkpoint->lookup(prefix + ".bias");
    ASSERT_TRUE(bool(bias)) << llvm::toString(bias.takeError());
    for (int64_t n = 0; n < N; ++n)
      EXPECT_EQ((*layer->bias)[n],
                llvm::support::endian::read16le(bias->bytes().data() + 2 * n));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, QuantizedFixture, ::testing::ValuesIn(caseNames()),
    [](const ::testing::TestParamInfo<std::string> &info) {
      return info.param;
    });

TEST(QuantizedFixtures, ManifestCoversEveryFormatVariant) {
  // 4 bit widths x v1/v2 x (sym, asym) x (act-order or not), 3 GPTQ edge
  // cases, 3 AWQ variants.
  EXPECT_EQ(caseNames().size(), 4u * 2 * 4 + 3 + 3);
}

// --- errors on real fixtures ----------------------------------------------

QuantConfig gptqConfig(unsigned bits, int64_t groupSize, bool v2 = false) {
  QuantConfig config;
  config.method = QuantConfig::Method::GPTQ;
  config.bits = bits;
  config.groupSize = groupSize;
  config.sym = false;
  config.checkpointFormat =
      v2 ? QuantConfig::GPTQFormat::V2 : QuantConfig::GPTQFormat::V1;
  config.source = "cfg";
  return config;
}

QuantConfig awqConfig(bool zeroPoint = true) {
  QuantConfig config;
  config.method = QuantConfig::Method::AWQ;
  config.bits = 4;
  config.groupSize = 16;
  config.zeroPoint = zeroPoint;
  config.source = "cfg";
  return config;
}

TEST(GPTQErrors, V1ZeroOfZeroAtEightBitsDoesNotFit) {
  const llvm::json::Object *m = manifest();
  ASSERT_NE(m, nullptr);
  const llvm::json::Array *errors = m->getArray("gptq_errors");
  ASSERT_TRUE(errors && errors->size() == 1);
  const llvm::json::Object *record = (*errors)[0].getAsObject();
  const llvm::json::Array *bad = record->getArray("first_bad_zero");
  std::string dir = record->getString("dir")->str();
  std::string prefix = record->getString("prefix")->str();
  const Checkpoint *checkpoint = openFixture(dir);
  ASSERT_NE(checkpoint, nullptr);
  auto config = parseQuantConfig(*record->getObject("config"), "manifest");
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  auto layer = readGPTQLinear(*checkpoint, prefix, *config);
  EXPECT_EQ(errorOf(layer),
            fixturePath(dir + "/model.safetensors") + ": tensor '" + prefix +
                ".qzeros': group " +
                std::to_string(*(*bad)[0].getAsInteger()) + ", output " +
                std::to_string(*(*bad)[1].getAsInteger()) +
                " stores 255, which checkpoint_format gptq (v1) reads as "
                "zero point 256; it does not fit 8-bit codes");
}

TEST(GPTQErrors, BitsThatDoNotMatchTheWords) {
  const Checkpoint *checkpoint = openFixture("gptq_b4_v1");
  ASSERT_NE(checkpoint, nullptr);
  auto layer = readGPTQLinear(*checkpoint, "model.layers.0.self_attn.q_proj",
                              gptqConfig(3, 16));
  EXPECT_EQ(errorOf(layer),
            fixturePath("gptq_b4_v1/model.safetensors") +
                ": tensor 'model.layers.0.self_attn.q_proj.qweight': has 8 "
                "rows, in_features 64 (the length of g_idx) at 3 bits needs "
                "ceil(64 * 3 / 32) = 6");
}

TEST(GPTQErrors, GroupSizeThatDoesNotMatchTheScales) {
  const Checkpoint *checkpoint = openFixture("gptq_b4_v1");
  ASSERT_NE(checkpoint, nullptr);
  auto layer = readGPTQLinear(*checkpoint, "model.layers.0.self_attn.q_proj",
                              gptqConfig(4, 8));
  EXPECT_EQ(errorOf(layer),
            fixturePath("gptq_b4_v1/model.safetensors") +
                ": tensor 'model.layers.0.self_attn.q_proj.scales': expected "
                "F16 [8, 32] (in_features 64 / group_size 8 = 8 groups, "
                "out_features 32), got F16 [4, 32]");
}

TEST(GPTQErrors, GroupSizeThatDoesNotDivideK) {
  const Checkpoint *checkpoint = openFixture("gptq_b4_v1");
  ASSERT_NE(checkpoint, nullptr);
  auto layer = readGPTQLinear(*checkpoint, "model.layers.0.self_attn.q_proj",
                              gptqConfig(4, 24));
  EXPECT_EQ(errorOf(layer),
            "cfg: layer 'model.layers.0.self_attn.q_proj': group_size 24 does "
            "not divide in_features 64; uneven groups are not supported");
}

TEST(GPTQErrors, UnsupportedBits) {
  const Checkpoint *checkpoint = openFixture("gptq_b4_v1");
  ASSERT_NE(checkpoint, nullptr);
  auto layer = readGPTQLinear(*checkpoint, "model.layers.0.self_attn.q_proj",
                              gptqConfig(5, 16));
  EXPECT_EQ(errorOf(layer),
            "cfg: layer 'model.layers.0.self_attn.q_proj': GPTQ bits 5 is not "
            "supported (expected 2, 3, 4 or 8)");
}

TEST(GPTQErrors, MissingLayer) {
  const Checkpoint *checkpoint = openFixture("gptq_b4_v1");
  ASSERT_NE(checkpoint, nullptr);
  auto layer = readGPTQLinear(*checkpoint, "model.layers.7.self_attn.q_proj",
                              gptqConfig(4, 16));
  EXPECT_EQ(errorOf(layer),
            fixturePath("gptq_b4_v1") +
                ": no tensor 'model.layers.7.self_attn.q_proj.qweight' in the "
                "checkpoint");
}

TEST(AWQErrors, ZeroPointConfigNeedsQzeros) {
  const Checkpoint *checkpoint = openFixture("awq");
  ASSERT_NE(checkpoint, nullptr);
  auto layer =
      readAWQLinear(*checkpoint, "model.layers.0.mlp.up_proj", awqConfig());
  EXPECT_EQ(errorOf(layer),
            fixturePath("awq") + ": no tensor "
                                 "'model.layers.0.mlp.up_proj.qzeros' in the "
                                 "checkpoint");
}

TEST(AWQErrors, OnlyFourBits) {
  const Checkpoint *checkpoint = openFixture("awq");
  ASSERT_NE(checkpoint, nullptr);
  QuantConfig config = awqConfig();
  config.bits = 8;
  auto layer =
      readAWQLinear(*checkpoint, "model.layers.0.self_attn.q_proj", config);
  EXPECT_EQ(errorOf(layer), "cfg: layer 'model.layers.0.self_attn.q_proj': "
                            "AWQ GEMM checkpoints are 4-bit, the config says "
                            "8");
}

TEST(AWQErrors, OnlyTheGemmLayout) {
  const Checkpoint *checkpoint = openFixture("awq");
  ASSERT_NE(checkpoint, nullptr);
  QuantConfig config = awqConfig();
  config.version = "gemv";
  auto layer =
      readAWQLinear(*checkpoint, "model.layers.0.self_attn.q_proj", config);
  EXPECT_EQ(errorOf(layer), "cfg: layer 'model.layers.0.self_attn.q_proj': "
                            "AWQ version 'gemv' is not supported (expected "
                            "gemm)");
}

TEST(AWQErrors, GroupSizeThatDoesNotMatchTheZeros) {
  const Checkpoint *checkpoint = openFixture("awq");
  ASSERT_NE(checkpoint, nullptr);
  QuantConfig config = awqConfig();
  config.groupSize = 32;
  auto layer =
      readAWQLinear(*checkpoint, "model.layers.0.self_attn.q_proj", config);
  EXPECT_EQ(errorOf(layer),
            fixturePath("awq/model.safetensors") +
                ": tensor 'model.layers.0.self_attn.q_proj.scales': expected "
                "F16 [2, 64] (in_features 64 / group_size 32 = 2 groups, "
                "out_features 64), got F16 [4, 64]");
}

// --- errors on synthetic layers -------------------------------------------

/// A one-file checkpoint from (name, dtype, shape, bytes) entries.
struct Tensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

std::unique_ptr<Checkpoint> makeCheckpoint(llvm::ArrayRef<Tensor> tensors) {
  std::vector<HeaderEntry> entries;
  std::string data;
  for (const Tensor &t : tensors) {
    entries.push_back({t.name, t.dtype, t.shape, data.size(),
                       data.size() + t.bytes.size()});
    data += t.bytes;
  }
  auto file = SafetensorsFile::parse(
      llvm::MemoryBuffer::getMemBufferCopy(
          buildFile(buildHeader(entries), data)),
      "layer.safetensors");
  if (!file) {
    ADD_FAILURE() << llvm::toString(file.takeError());
    return nullptr;
  }
  return Checkpoint::fromFile(std::move(*file));
}

std::string int32Bytes(llvm::ArrayRef<int32_t> values) {
  std::string bytes(values.size() * 4, '\0');
  for (size_t i = 0; i < values.size(); ++i)
    llvm::support::endian::write32le(&bytes[4 * i], uint32_t(values[i]));
  return bytes;
}

/// A 4-bit GPTQ layer with K = 32, N = 8, group size 8 and the given g_idx.
std::unique_ptr<Checkpoint> gptqLayer(llvm::ArrayRef<int32_t> gIdx,
                                      std::string qweightDtype = "I32") {
  return makeCheckpoint(
      {{"l.qweight", qweightDtype, {4, 8}, std::string(4 * 8 * 4, '\x11')},
       {"l.qzeros", "I32", {4, 1}, std::string(4 * 4, '\x77')},
       {"l.scales", "F16", {4, 8}, std::string(4 * 8 * 2, '\x3c')},
       {"l.g_idx", "I32", {int64_t(gIdx.size())}, int32Bytes(gIdx)}});
}

std::vector<int32_t> sequentialGIdx() {
  std::vector<int32_t> gIdx(32);
  for (int k = 0; k < 32; ++k)
    gIdx[k] = k / 8;
  return gIdx;
}

TEST(GPTQSynthetic, SequentialGIdxNeedsNoPermutation) {
  auto checkpoint = gptqLayer(sequentialGIdx());
  ASSERT_NE(checkpoint, nullptr);
  auto layer = readGPTQLinear(*checkpoint, "l", gptqConfig(4, 8));
  ASSERT_TRUE(bool(layer)) << llvm::toString(layer.takeError());
  EXPECT_FALSE(layer->inputPermutation.has_value());
  // qzeros words 0x77777777 in v1: every zero is 7 + 1 = 8, the implicit one.
  EXPECT_FALSE(layer->zeroPoints.has_value());
}

TEST(GPTQSynthetic, UnevenGroups) {
  std::vector<int32_t> gIdx = sequentialGIdx();
  gIdx[8] = 0; // group 0 gets 9 rows, group 1 gets 7
  auto checkpoint = gptqLayer(gIdx);
  ASSERT_NE(checkpoint, nullptr);
  auto layer = readGPTQLinear(*checkpoint, "l", gptqConfig(4, 8));
  EXPECT_EQ(errorOf(layer),
            "layer.safetensors: tensor 'l.g_idx': group 0 has 9 input rows, "
            "group_size 8 needs exactly 8 (uneven groups are not supported)");
}

TEST(GPTQSynthetic, GIdxOutOfRange) {
  std::vector<int32_t> gIdx = sequentialGIdx();
  gIdx[31] = 4;
  auto checkpoint = gptqLayer(gIdx);
  ASSERT_NE(checkpoint, nullptr);
  auto layer = readGPTQLinear(*checkpoint, "l", gptqConfig(4, 8));
  EXPECT_EQ(errorOf(layer), "layer.safetensors: tensor 'l.g_idx': g_idx[31] "
                            "is 4, outside the 4 groups [0, 4)");
}

TEST(GPTQSynthetic, QweightOfTheWrongDtype) {
  auto checkpoint = makeCheckpoint(
      {{"l.qweight", "F16", {4, 8}, std::string(4 * 8 * 2, '\0')}});
  ASSERT_NE(checkpoint, nullptr);
  auto layer = readGPTQLinear(*checkpoint, "l", gptqConfig(4, 8));
  EXPECT_EQ(errorOf(layer),
            "layer.safetensors: tensor 'l.qweight': expected I32 "
            "[ceil(in_features * bits / 32), out_features] (GPTQ qweight), "
            "got F16 [4, 8]");
}

TEST(GPTQSynthetic, QzerosOfTheWrongShape) {
  auto checkpoint = makeCheckpoint(
      {{"l.qweight", "I32", {4, 8}, std::string(4 * 8 * 4, '\0')},
       {"l.qzeros", "I32", {4, 2}, std::string(4 * 2 * 4, '\0')},
       {"l.scales", "F16", {4, 8}, std::string(4 * 8 * 2, '\0')}});
  ASSERT_NE(checkpoint, nullptr);
  auto layer = readGPTQLinear(*checkpoint, "l", gptqConfig(4, 8));
  EXPECT_EQ(errorOf(layer),
            "layer.safetensors: tensor 'l.qzeros': expected I32 [4, 1] "
            "(in_features 32 / group_size 8 = 4 groups, out_features 8, "
            "ceil(8 * 4 / 32) words per group), got I32 [4, 2]");
}

TEST(GPTQSynthetic, BiasOfTheWrongDtype) {
  auto checkpoint = makeCheckpoint(
      {{"l.qweight", "I32", {4, 8}, std::string(4 * 8 * 4, '\0')},
       {"l.qzeros", "I32", {4, 1}, std::string(4 * 4, '\0')},
       {"l.scales", "F16", {4, 8}, std::string(4 * 8 * 2, '\0')},
       {"l.bias", "F32", {8}, std::string(8 * 4, '\0')}});
  ASSERT_NE(checkpoint, nullptr);
  auto layer = readGPTQLinear(*checkpoint, "l", gptqConfig(4, 8));
  EXPECT_EQ(errorOf(layer), "layer.safetensors: tensor 'l.bias': expected "
                            "F16 [8] (one per output feature), got F32 [8]");
}

TEST(GPTQSynthetic, ThreeBitCodesStraddlingWords) {
  // 32 codes k = 0..31 with code k = k % 8 in one column, packed as one
  // 96-bit little-endian stream over 3 words (AutoGPTQ's 3-bit layout).
  uint32_t words[3] = {0, 0, 0};
  for (unsigned k = 0; k < 32; ++k)
    for (unsigned b = 0; b < 3; ++b)
      if ((k % 8) >> b & 1)
        words[(3 * k + b) / 32] |= 1u << ((3 * k + b) % 32);
  auto checkpoint = makeCheckpoint(
      {{"l.qweight", "I32", {3, 1},
        int32Bytes({int32_t(words[0]), int32_t(words[1]), int32_t(words[2])})},
       {"l.scales", "F16", {1, 1}, std::string("\x00\x3c", 2)}});
  ASSERT_NE(checkpoint, nullptr);
  QuantConfig config = gptqConfig(3, -1);
  config.sym = true; // no qzeros: implicit zero 4
  auto layer = readGPTQLinear(*checkpoint, "l", config);
  ASSERT_TRUE(bool(layer)) << llvm::toString(layer.takeError());
  EXPECT_EQ(layer->inFeatures, 32);
  EXPECT_EQ(layer->groupSize, 32);
  std::vector<uint8_t> codes = qtc::unpackRows(layer->weights, 1, 32, 3,
                                               qtc::BitOrder::LsbFirst);
  for (unsigned k = 0; k < 32; ++k)
    EXPECT_EQ(codes[k], k % 8) << "k=" << k;
  EXPECT_FALSE(layer->zeroPoints.has_value());
}

TEST(AWQSynthetic, InterleavedNibblesLandInTheirColumns) {
  // One input row, 8 outputs: nibble i of the word holds output
  // [0, 2, 4, 6, 1, 3, 5, 7][i]; give output n the code n + 1.
  const unsigned order[8] = {0, 2, 4, 6, 1, 3, 5, 7};
  uint32_t word = 0, zeros = 0;
  for (unsigned i = 0; i < 8; ++i) {
    word |= (order[i] + 1) << (4 * i);
    zeros |= (15 - order[i]) << (4 * i);
  }
  auto checkpoint = makeCheckpoint(
      {{"l.qweight", "I32", {1, 1}, int32Bytes({int32_t(word)})},
       {"l.qzeros", "I32", {1, 1}, int32Bytes({int32_t(zeros)})},
       {"l.scales", "F16", {1, 8}, std::string(16, '\0')}});
  ASSERT_NE(checkpoint, nullptr);
  QuantConfig config = awqConfig();
  config.groupSize = -1;
  auto layer = readAWQLinear(*checkpoint, "l", config);
  ASSERT_TRUE(bool(layer)) << llvm::toString(layer.takeError());
  ASSERT_EQ(layer->weights.size(), 8u); // 8 rows of ceil(1 * 4 / 8) = 1 byte
  ASSERT_TRUE(layer->zeroPoints.has_value());
  for (unsigned n = 0; n < 8; ++n) {
    EXPECT_EQ(layer->weights[n], n + 1) << "n=" << n;
    EXPECT_EQ((*layer->zeroPoints)[n], 15 - n) << "n=" << n;
  }
}

} // namespace
