//===- SafetensorsReaderTest.cpp - Tests of the safetensors reader --------===//
//
// Files written by the real safetensors package (fixtures/gen_fixtures.py)
// are read back and compared with what the generator recorded in
// manifest.json; malformed files are built in memory and must give one-line
// errors naming the file, the tensor and the expectation.
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"

#include "frontends/hf/Safetensors.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace qtc::safetensors;
using namespace qtc::safetensors::test;

namespace {

// --- dtypes ---------------------------------------------------------------

TEST(SafetensorsDType, NamesRoundTripAndSizesMatchTheFormat) {
  ASSERT_EQ(allDTypes().size(), 22u);
  for (DType dtype : allDTypes()) {
    std::optional<DType> parsed = parseDType(dtypeName(dtype));
    ASSERT_TRUE(parsed.has_value()) << dtypeName(dtype).str();
    EXPECT_EQ(*parsed, dtype);
  }
  EXPECT_EQ(dtypeBits(DType::BOOL), 8u);
  EXPECT_EQ(dtypeBits(DType::BF16), 16u);
  EXPECT_EQ(dtypeBits(DType::C64), 64u);
  EXPECT_EQ(dtypeBits(DType::F8_E8M0), 8u);
  EXPECT_EQ(dtypeBits(DType::F6_E2M3), 6u);
  EXPECT_EQ(dtypeBits(DType::F4), 4u);
  EXPECT_FALSE(parseDType("f32").has_value()) << "dtype names are upper case";
  EXPECT_FALSE(parseDType("F128").has_value());
}

/// Checks a fixture file against its manifest section (dtype, shape, bytes
/// and metadata of every tensor the generator wrote).
void checkAgainstManifest(llvm::StringRef section) {
  const llvm::json::Object *m = manifest();
  ASSERT_NE(m, nullptr) << "cannot read " << fixturePath("manifest.json");
  const llvm::json::Object *expected = m->getObject(section);
  ASSERT_NE(expected, nullptr) << section.str();
  std::string path = fixturePath(*expected->getString("file"));

  auto file = SafetensorsFile::open(path);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  const llvm::json::Object *tensors = expected->getObject("tensors");
  ASSERT_NE(tensors, nullptr);
  EXPECT_EQ((*file)->tensors().size(), tensors->size());
  for (const auto &entry : *tensors) {
    std::string name = entry.first.str();
    const llvm::json::Object *record = entry.second.getAsObject();
    const TensorInfo *info = (*file)->lookup(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(dtypeName(info->dtype), *record->getString("dtype")) << name;
    std::vector<int64_t> shape = shapeOf(record->get("shape"));
    EXPECT_EQ(std::vector<int64_t>(info->shape.begin(), info->shape.end()),
              shape)
        << name;
    int64_t numElements = 1;
    for (int64_t dim : shape)
      numElements *= dim;
    EXPECT_EQ(info->numElements, numElements) << name;
    llvm::ArrayRef<uint8_t> bytes = (*file)->bytes(*info);
    EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()),
              hexBytes(*record->getString("hex")))
        << name;
  }

  std::map<std::string, std::string> metadata;
  if (const llvm::json::Object *meta = expected->getObject("metadata"))
    for (const auto &entry : *meta)
      metadata[entry.first.str()] = entry.second.getAsString()->str();
  EXPECT_EQ((*file)->metadata(), metadata);
}

TEST(SafetensorsFixtures, EveryDTypeThePackageWritesReadsBack) {
  checkAgainstManifest("dtypes");
}

TEST(SafetensorsFixtures, SubByteF6TypesReadBack) { checkAgainstManifest("f6"); }

TEST(SafetensorsFixtures, ViewsPointIntoTheMappedFile) {
  // The reference matrices are tens of KB, above MemoryBuffer's mmap
  // threshold; tensor views must be slices of that one mapping.
  auto file =
      SafetensorsFile::open(fixturePath("gptq_b4_v1/reference.safetensors"));
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_TRUE((*file)->isMemoryMapped());
  llvm::ArrayRef<TensorInfo> tensors = (*file)->tensors();
  ASSERT_GE(tensors.size(), 2u);
  const uint8_t *base = (*file)->bytes(tensors.front()).data();
  for (const TensorInfo &info : tensors) {
    EXPECT_EQ((*file)->bytes(info).data() - base,
              static_cast<ptrdiff_t>(info.begin - tensors.front().begin));
    EXPECT_EQ((*file)->bytes(info).size(), info.byteSize());
  }
  // Sorted by offset, the last tensor ends where the file ends.
  EXPECT_EQ(tensors.back().end, (*file)->dataSize());
  EXPECT_EQ(8 + (*file)->headerSize() + (*file)->dataSize(),
            [&] {
              uint64_t size = 0;
              llvm::sys::fs::file_size(
                  fixturePath("gptq_b4_v1/reference.safetensors"), size);
              return size;
            }());
}

// --- valid corner cases ---------------------------------------------------

TEST(SafetensorsParse, EmptyHeaderObjectHasNoTensors) {
  auto file = SafetensorsFile::parse(
      llvm::MemoryBuffer::getMemBufferCopy(buildFile("{}  ")), "empty");
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_TRUE((*file)->tensors().empty());
  EXPECT_TRUE((*file)->metadata().empty());
}

TEST(SafetensorsParse, EmptyTensorsMayShareOffsets) {
  std::string header = buildHeader({{"a", "F32", {0, 4}, 0, 0},
                                    {"b", "U8", {2}, 0, 2},
                                    {"c", "F16", {0}, 2, 2}});
  EXPECT_EQ(parseError(buildFile(header, "xy")), "");
}

TEST(SafetensorsParse, NullMetadataIsNoMetadata) {
  EXPECT_EQ(parseError(buildFile(R"({"__metadata__": null})")), "");
}

// --- malformed files: one exact line each ---------------------------------

TEST(SafetensorsMalformed, FileShorterThanTheLengthField) {
  EXPECT_EQ(parseError(llvm::StringRef("\x05\x00\x00", 3), "tiny.safetensors"),
            "tiny.safetensors: file is 3 bytes, too short for the 8-byte "
            "header length");
}

TEST(SafetensorsMalformed, HeaderLengthBeyondTheFile) {
  EXPECT_EQ(parseError(buildFile("{}", "", 1000)),
            "model.safetensors: header length 1000 runs past the end of the "
            "file (10 bytes, so at most 2)");
}

TEST(SafetensorsMalformed, HeaderLengthBeyondTheFormatLimit) {
  EXPECT_EQ(parseError(buildFile("{}", "", uint64_t(1) << 40)),
            "model.safetensors: header length 1099511627776 exceeds the "
            "format's limit of 100000000 bytes");
}

TEST(SafetensorsMalformed, GarbageJson) {
  std::string message = parseError(buildFile("{\"a\": nope}"));
  EXPECT_EQ(message.rfind("model.safetensors: header is not valid JSON: ", 0),
            0u)
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(SafetensorsMalformed, HeaderIsNotAnObject) {
  EXPECT_EQ(parseError(buildFile("[1, 2]")),
            "model.safetensors: header must be a JSON object, got an array");
}

TEST(SafetensorsMalformed, DeeplyNestedJsonIsRefusedBeforeParsing) {
  std::string header = "{\"a\": " + std::string(5000, '[') +
                       std::string(5000, ']') + "}";
  EXPECT_EQ(parseError(buildFile(header)),
            "model.safetensors: header JSON nests deeper than 16 levels");
}

TEST(SafetensorsMalformed, UnknownDType) {
  std::string message = parseError(
      buildFile(buildHeader({{"w", "F128", {2}, 0, 32}}), std::string(32, 0)));
  EXPECT_EQ(message.rfind("model.safetensors: tensor 'w': unknown dtype "
                          "'F128' (expected one of BOOL, U8, I8, ",
                          0),
            0u)
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(SafetensorsMalformed, SizeMismatch) {
  std::string header =
      buildHeader({{"h.0.attn.c_attn.weight", "F32", {5, 6}, 0, 100}});
  EXPECT_EQ(parseError(buildFile(header, std::string(100, 0))),
            "model.safetensors: tensor 'h.0.attn.c_attn.weight': "
            "data_offsets [0, 100] hold 100 bytes, F32 [5, 6] needs 120");
}

TEST(SafetensorsMalformed, OffsetsOutOfRange) {
  std::string header = buildHeader({{"w", "F32", {2}, 0, 8}});
  EXPECT_EQ(parseError(buildFile(header, std::string(4, 0))),
            "model.safetensors: tensor 'w': data_offsets [0, 8] run past the "
            "data section, which holds 4 bytes");
}

TEST(SafetensorsMalformed, HugeOffsetsDoNotWrapAround) {
  uint64_t begin = ~uint64_t(0) - 7;
  std::string header = buildHeader({{"w", "F32", {1}, begin, begin + 4}});
  EXPECT_EQ(parseError(buildFile(header, std::string(4, 0))),
            "model.safetensors: tensor 'w': data_offsets "
            "[18446744073709551608, 18446744073709551612] run past the data "
            "section, which holds 4 bytes");
}

TEST(SafetensorsMalformed, BeginAfterEnd) {
  std::string header = buildHeader({{"w", "U8", {0}, 8, 0}});
  EXPECT_EQ(parseError(buildFile(header, std::string(8, 0))),
            "model.safetensors: tensor 'w': data_offsets [8, 0] begin after "
            "they end");
}

TEST(SafetensorsMalformed, OverlappingTensors) {
  std::string header = buildHeader(
      {{"a", "F32", {4}, 0, 16}, {"b", "F32", {4}, 8, 24}});
  EXPECT_EQ(parseError(buildFile(header, std::string(24, 0))),
            "model.safetensors: tensor 'b': data_offsets [8, 24] overlap "
            "tensor 'a' at [0, 16]");
}

TEST(SafetensorsMalformed, TensorInsideAnother) {
  std::string header = buildHeader({{"outer", "U8", {32}, 0, 32},
                                    {"inner", "U8", {4}, 16, 20},
                                    {"after", "U8", {4}, 32, 36}});
  EXPECT_EQ(parseError(buildFile(header, std::string(36, 0))),
            "model.safetensors: tensor 'inner': data_offsets [16, 20] overlap "
            "tensor 'outer' at [0, 32]");
}

TEST(SafetensorsMalformed, NegativeDimension) {
  std::string header = buildHeader({{"w", "F32", {-1, 2}, 0, 0}});
  EXPECT_EQ(parseError(buildFile(header)),
            "model.safetensors: tensor 'w': 'shape' entry 0 is -1, expected a "
            "non-negative integer");
}

TEST(SafetensorsMalformed, FractionalDimension) {
  EXPECT_EQ(parseError(buildFile(
                R"({"w": {"dtype": "U8", "shape": [2.5], "data_offsets": [0, 0]}})")),
            "model.safetensors: tensor 'w': 'shape' entry 0 is a "
            "floating-point number, expected a non-negative integer");
}

TEST(SafetensorsMalformed, OverflowingShapeProduct) {
  std::string header =
      buildHeader({{"w", "F32", {4294967296, 4294967296}, 0, 0}});
  EXPECT_EQ(parseError(buildFile(header)),
            "model.safetensors: tensor 'w': shape [4294967296, 4294967296] "
            "has more elements than a 64-bit count holds");
}

TEST(SafetensorsMalformed, OverflowingBitCount) {
  std::string header =
      buildHeader({{"w", "F32", {int64_t(1) << 62}, 0, 0}});
  EXPECT_EQ(parseError(buildFile(header)),
            "model.safetensors: tensor 'w': F32 [4611686018427387904] has "
            "more bits than a 64-bit count holds");
}

TEST(SafetensorsMalformed, SubByteTensorEndingMidByte) {
  std::string header = buildHeader({{"w", "F4", {3}, 0, 2}});
  EXPECT_EQ(parseError(buildFile(header, "ab")),
            "model.safetensors: tensor 'w': F4 [3] holds 12 bits, not a whole "
            "number of bytes");
}

TEST(SafetensorsMalformed, EntryIsNotAnObject) {
  EXPECT_EQ(parseError(buildFile(R"({"w": [1, 2]})")),
            "model.safetensors: tensor 'w': header entry must be an object "
            "with dtype, shape and data_offsets, got an array");
}

TEST(SafetensorsMalformed, MissingDataOffsets) {
  EXPECT_EQ(parseError(buildFile(R"({"w": {"dtype": "U8", "shape": [1]}})")),
            "model.safetensors: tensor 'w': missing 'data_offsets'");
}

TEST(SafetensorsMalformed, DataOffsetsOfTheWrongForm) {
  EXPECT_EQ(
      parseError(buildFile(
          R"({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1, 2]}})")),
      "model.safetensors: tensor 'w': 'data_offsets' must be [begin, end], "
      "two non-negative integers");
}

TEST(SafetensorsMalformed, DuplicateTensorName) {
  // llvm::json keeps the last of two equal keys; the reader refuses them.
  std::string entry = R"({"dtype": "U8", "shape": [1], "data_offsets": [0, 1]})";
  EXPECT_EQ(parseError(buildFile("{\"w\": " + entry + ", \"w\": " + entry +
                                 "}",
                                 "x")),
            "model.safetensors: tensor 'w': appears twice in the header");
}

TEST(SafetensorsParse, EqualNamesInsideEntriesAreNotDuplicates) {
  // Keys of nested objects ("dtype" in every entry) are not top-level keys.
  std::string header = buildHeader({{"a", "U8", {1}, 0, 1},
                                    {"b", "U8", {1}, 1, 2}});
  EXPECT_EQ(parseError(buildFile(header, "xy")), "");
}

TEST(SafetensorsMalformed, MetadataValueIsNotAString) {
  EXPECT_EQ(parseError(buildFile(R"({"__metadata__": {"epoch": 3}})")),
            "model.safetensors: '__metadata__' entry 'epoch' must be a "
            "string, got a number");
}

TEST(SafetensorsMalformed, TensorNamesAreEscapedOntoOneLine) {
  std::string header = buildHeader({{"bad\nname", "F999", {1}, 0, 1}});
  std::string message = parseError(buildFile(header, "x"));
  EXPECT_EQ(message.rfind("model.safetensors: tensor 'bad\\0Aname': unknown "
                          "dtype 'F999'",
                          0),
            0u)
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(SafetensorsMalformed, MissingFile) {
  std::string path = fixturePath("no-such-file.safetensors");
  auto file = SafetensorsFile::open(path);
  EXPECT_EQ(errorOf(file),
            path + ": cannot open: No such file or directory");
}

TEST(SafetensorsMalformed, TruncatedFileOnDisk) {
  // A real fixture cut short: the tensor(s) at the end no longer fit.
  std::string original = fixturePath("dtypes.safetensors");
  auto intact = SafetensorsFile::open(original);
  ASSERT_TRUE(bool(intact)) << llvm::toString(intact.takeError());
  auto buffer = llvm::MemoryBuffer::getFile(original);
  ASSERT_TRUE(bool(buffer));
  llvm::StringRef contents = (*buffer)->getBuffer();
  llvm::StringRef truncated = contents.drop_back(10);

  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("truncated", "safetensors",
                                                  path));
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    ASSERT_FALSE(ec);
    os << truncated;
  }
  auto file = SafetensorsFile::open(path);
  std::string message = errorOf(file);
  llvm::sys::fs::remove(path);

  // Tensors are checked by name; the first one past the new end is named.
  uint64_t dataSize = (*intact)->dataSize() - 10;
  std::string firstBad;
  const TensorInfo *bad = nullptr;
  for (const TensorInfo &info : (*intact)->tensors())
    if (info.end > dataSize && (!bad || info.name < bad->name))
      bad = &info;
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(message, std::string(path) + ": tensor '" + bad->name +
                         "': data_offsets [" + std::to_string(bad->begin) +
                         ", " + std::to_string(bad->end) +
                         "] run past the data section, which holds " +
                         std::to_string(dataSize) + " bytes");
}

} // namespace
