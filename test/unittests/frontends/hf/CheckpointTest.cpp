//===- CheckpointTest.cpp - Tests of checkpoint directories and configs ---===//

#include "TestSupport.h"

#include "frontends/hf/Checkpoint.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace qtc::safetensors;
using namespace qtc::safetensors::test;

namespace {

TEST(Checkpoint, ShardedLookupFindsEveryTensorInItsShard) {
  const llvm::json::Object *m = manifest();
  ASSERT_NE(m, nullptr);
  const llvm::json::Object *sharded = m->getObject("sharded");
  ASSERT_NE(sharded, nullptr);
  std::string dir = fixturePath(*sharded->getString("dir"));

  auto checkpoint = Checkpoint::open(dir);
  ASSERT_TRUE(bool(checkpoint)) << llvm::toString(checkpoint.takeError());
  EXPECT_EQ((*checkpoint)->shards().size(), 2u);

  const llvm::json::Object *tensors = sharded->getObject("tensors");
  ASSERT_NE(tensors, nullptr);
  std::vector<std::string> expectedNames;
  for (const auto &entry : *tensors)
    expectedNames.push_back(entry.first.str());
  llvm::sort(expectedNames);
  EXPECT_EQ((*checkpoint)->tensorNames(), expectedNames);

  for (const auto &entry : *tensors) {
    const llvm::json::Object *record = entry.second.getAsObject();
    auto ref = (*checkpoint)->lookup(entry.first);
    ASSERT_TRUE(bool(ref)) << llvm::toString(ref.takeError());
    EXPECT_EQ(llvm::sys::path::filename(ref->file->name()),
              *record->getString("shard"))
        << entry.first.str();
    EXPECT_EQ(dtypeName(ref->info->dtype), *record->getString("dtype"));
    std::vector<int64_t> shape = shapeOf(record->get("shape"));
    EXPECT_EQ(std::vector<int64_t>(ref->info->shape.begin(),
                                   ref->info->shape.end()),
              shape);
    llvm::ArrayRef<uint8_t> bytes = ref->bytes();
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()),
              hexBytes(*record->getString("hex")))
        << entry.first.str();
    // Shards keep the metadata the writer gave them.
    EXPECT_EQ(ref->file->metadata().at("format"), "pt");
  }

  const llvm::json::Object *config = (*checkpoint)->config();
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->getString("model_type"), sharded->getString("model_type"));
  EXPECT_FALSE((*checkpoint)->quantization().has_value());
}

TEST(Checkpoint, MissingTensorNamesTheCheckpoint) {
  std::string dir = fixturePath("sharded");
  auto checkpoint = Checkpoint::open(dir);
  ASSERT_TRUE(bool(checkpoint)) << llvm::toString(checkpoint.takeError());
  EXPECT_FALSE((*checkpoint)->find("model.layers.9.mlp.up_proj.weight"));
  auto ref = (*checkpoint)->lookup("model.layers.9.mlp.up_proj.weight");
  EXPECT_EQ(errorOf(ref), dir + ": no tensor "
                                "'model.layers.9.mlp.up_proj.weight' in the "
                                "checkpoint");
}

TEST(Checkpoint, MissingShard) {
  std::string dir = fixturePath("sharded_missing_shard");
  auto checkpoint = Checkpoint::open(dir);
  EXPECT_EQ(errorOf(checkpoint),
            fixturePath("sharded_missing_shard/model.safetensors.index.json") +
                ": shard 'model-00002-of-00002.safetensors' (listed for "
                "tensor 'lm_head.weight') does not exist");
}

TEST(Checkpoint, TensorListedInTheIndexButAbsentFromItsShard) {
  std::string dir = fixturePath("sharded_missing_tensor");
  auto checkpoint = Checkpoint::open(dir);
  EXPECT_EQ(errorOf(checkpoint),
            fixturePath(
                "sharded_missing_tensor/model-00002-of-00002.safetensors") +
                ": tensor 'lm_head.weight': listed in "
                "model.safetensors.index.json but absent from this shard");
}

TEST(Checkpoint, DirectoryWithoutWeights) {
  std::string dir = fixturePath();
  auto checkpoint = Checkpoint::open(dir);
  EXPECT_EQ(errorOf(checkpoint),
            dir + ": no model.safetensors or model.safetensors.index.json in "
                  "the checkpoint directory");
}

TEST(Checkpoint, SingleFileOpensAsACheckpoint) {
  auto checkpoint = Checkpoint::open(fixturePath("dtypes.safetensors"));
  ASSERT_TRUE(bool(checkpoint)) << llvm::toString(checkpoint.takeError());
  EXPECT_TRUE((*checkpoint)->find("h.0.attn.c_attn.weight").has_value());
  EXPECT_EQ((*checkpoint)->shards().size(), 1u);
}

/// A scratch directory removed at the end of the test.
class ScratchDir {
public:
  ScratchDir() {
    llvm::SmallString<256> prefix;
    llvm::sys::path::system_temp_directory(/*ErasedOnReboot=*/true, prefix);
    llvm::sys::path::append(prefix, "qtc-safetensors-test");
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory(prefix, path_));
  }
  ~ScratchDir() { llvm::sys::fs::remove_directories(path_); }
  std::string file(llvm::StringRef name, llvm::StringRef contents) {
    llvm::SmallString<256> path(path_);
    llvm::sys::path::append(path, name);
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    EXPECT_FALSE(ec) << ec.message();
    os << contents;
    return std::string(path);
  }
  std::string path() const { return std::string(path_); }

private:
  llvm::SmallString<256> path_;
};

TEST(Checkpoint, IndexShardOutsideTheDirectoryIsRefused) {
  ScratchDir dir;
  std::string index = dir.file(
      "model.safetensors.index.json",
      R"({"weight_map": {"w": "../elsewhere/model.safetensors"}})");
  auto checkpoint = Checkpoint::open(dir.path());
  EXPECT_EQ(errorOf(checkpoint),
            index + ": tensor 'w' maps to shard "
                    "'../elsewhere/model.safetensors', which is not a file "
                    "inside the checkpoint directory");
}

TEST(Checkpoint, IndexWithoutWeightMap) {
  ScratchDir dir;
  std::string index =
      dir.file("model.safetensors.index.json", R"({"metadata": {}})");
  auto checkpoint = Checkpoint::open(dir.path());
  EXPECT_EQ(errorOf(checkpoint),
            index + ": missing 'weight_map' object (tensor name -> shard "
                    "file)");
}

TEST(Checkpoint, BrokenConfigJson) {
  ScratchDir dir;
  dir.file("model.safetensors", buildFile("{}"));
  std::string config = dir.file("config.json", "{\"model_type\": ");
  auto checkpoint = Checkpoint::open(dir.path());
  std::string message = errorOf(checkpoint);
  EXPECT_EQ(message.rfind(config + ": not valid JSON: ", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

// --- quantization settings ------------------------------------------------

TEST(QuantConfigFiles, EveryFixtureCheckpointHasTheSettingsItWasWrittenWith) {
  const llvm::json::Object *m = manifest();
  ASSERT_NE(m, nullptr);
  const llvm::json::Object *configs = m->getObject("checkpoint_configs");
  ASSERT_NE(configs, nullptr);
  ASSERT_EQ(configs->size(), 10u) << "8 GPTQ directories, gptq_edge, awq";
  for (const auto &entry : *configs) {
    std::string dir = fixturePath(entry.first);
    const llvm::json::Object *expected = entry.second.getAsObject();
    auto checkpoint = Checkpoint::open(dir);
    ASSERT_TRUE(bool(checkpoint)) << llvm::toString(checkpoint.takeError());
    const std::optional<QuantConfig> &config = (*checkpoint)->quantization();
    ASSERT_TRUE(config.has_value()) << dir;
    bool gptq = *expected->getString("method") == "gptq";
    EXPECT_EQ(config->method, gptq ? QuantConfig::Method::GPTQ
                                   : QuantConfig::Method::AWQ)
        << dir;
    EXPECT_EQ(int64_t(config->bits), *expected->getInteger("bits")) << dir;
    EXPECT_EQ(config->groupSize, *expected->getInteger("group_size")) << dir;
    if (gptq) {
      EXPECT_EQ(config->descAct, *expected->getBoolean("desc_act")) << dir;
      EXPECT_EQ(config->sym, *expected->getBoolean("sym")) << dir;
      EXPECT_EQ(config->checkpointFormat,
                *expected->getString("checkpoint_format") == "gptq_v2"
                    ? QuantConfig::GPTQFormat::V2
                    : QuantConfig::GPTQFormat::V1)
          << dir;
    } else {
      EXPECT_EQ(config->zeroPoint, *expected->getBoolean("zero_point"));
      EXPECT_EQ(config->version, *expected->getString("version"));
    }
    // The source names the file the settings came from.
    EXPECT_EQ(config->source.rfind(dir, 0), 0u) << config->source;
  }
}

llvm::Expected<QuantConfig> parseText(llvm::StringRef text,
                                      std::optional<QuantConfig::Method>
                                          method = std::nullopt) {
  llvm::Expected<llvm::json::Value> value = llvm::json::parse(text);
  if (!value)
    return value.takeError();
  return parseQuantConfig(*value->getAsObject(), "q.json", method);
}

TEST(QuantConfigParse, GPTQModelSpellings) {
  auto config = parseText(R"({"quant_method": "gptq", "bits": 3,
      "group_size": -1, "desc_act": true, "sym": false, "format": "gptq_v2",
      "pack_dtype": "int32", "meta": {"quantizer": ["gptqmodel:2.0"]}})");
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->bits, 3u);
  EXPECT_EQ(config->groupSize, -1);
  EXPECT_TRUE(config->descAct);
  EXPECT_FALSE(config->sym);
  EXPECT_EQ(config->checkpointFormat, QuantConfig::GPTQFormat::V2);
  EXPECT_EQ(config->packDtype, "int32");
}

TEST(QuantConfigParse, AutoAWQSpellingsNeedTheDefaultMethod) {
  llvm::StringRef text =
      R"({"zero_point": false, "q_group_size": 64, "w_bit": 4, "version": "GEMM"})";
  auto withoutDefault = parseText(text);
  EXPECT_EQ(errorOf(withoutDefault),
            "q.json: missing 'quant_method' (gptq or awq)");
  auto config = parseText(text, QuantConfig::Method::AWQ);
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->method, QuantConfig::Method::AWQ);
  EXPECT_EQ(config->bits, 4u);
  EXPECT_EQ(config->groupSize, 64);
  EXPECT_FALSE(config->zeroPoint);
  EXPECT_EQ(config->version, "gemm");
}

TEST(QuantConfigParse, AWQSymStandsInForZeroPoint) {
  auto config = parseText(
      R"({"quant_method": "awq", "bits": 4, "group_size": 128, "sym": true})");
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_FALSE(config->zeroPoint);
}

TEST(QuantConfigParse, UnsupportedMethod) {
  auto config = parseText(R"({"quant_method": "bitsandbytes", "bits": 4})");
  EXPECT_EQ(errorOf(config), "q.json: quant_method 'bitsandbytes' is not "
                             "supported (expected gptq or awq)");
}

TEST(QuantConfigParse, BitsOutOfRange) {
  auto config = parseText(R"({"quant_method": "gptq", "bits": 16})");
  EXPECT_EQ(errorOf(config), "q.json: 'bits' is 16, expected 2 to 8");
}

TEST(QuantConfigParse, BitsOfTheWrongType) {
  auto config = parseText(R"({"quant_method": "gptq", "bits": "4"})");
  EXPECT_EQ(errorOf(config), "q.json: 'bits' must be an integer, got a string");
}

TEST(QuantConfigParse, UnknownCheckpointFormat) {
  auto config = parseText(
      R"({"quant_method": "gptq", "bits": 4, "checkpoint_format": "marlin"})");
  EXPECT_EQ(errorOf(config), "q.json: checkpoint_format 'marlin' is not "
                             "supported (expected gptq or gptq_v2)");
}

TEST(QuantConfigParse, ZeroGroupSize) {
  auto config =
      parseText(R"({"quant_method": "gptq", "bits": 4, "group_size": 0})");
  EXPECT_EQ(errorOf(config), "q.json: 'group_size' is 0, expected a positive "
                             "size or -1 (one group per row)");
}

} // namespace
