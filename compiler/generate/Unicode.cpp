//===- Unicode.cpp - Character classes and UTF-8 for the tokenizers -------===//

#include "compiler/generate/Unicode.h"

#include <algorithm>
#include <array>
#include <iterator>

namespace qtc::generate::unicode {

namespace {

struct UnicodeRange {
  uint32_t first;
  uint8_t value;
};

#include "compiler/generate/UnicodeData.inc"

constexpr uint8_t kSpaceBit = 0x80;
constexpr uint32_t kMaxCodepoint = 0x10FFFF;
/// Code points below this are looked up in a flat table.
constexpr uint32_t kFlatLimit = 0x10000;

/// The table value of `cp` by binary search over the ranges.
uint8_t searchValue(uint32_t cp) {
  const UnicodeRange *end = std::end(kUnicodeRanges);
  const UnicodeRange *it = std::upper_bound(
      std::begin(kUnicodeRanges), end, cp,
      [](uint32_t c, const UnicodeRange &r) { return c < r.first; });
  // kUnicodeRanges[0].first is 0, so `it` is past the first entry.
  return std::prev(it)->value;
}

const std::vector<uint8_t> &flatTable() {
  static const std::vector<uint8_t> table = [] {
    std::vector<uint8_t> t(kFlatLimit);
    size_t n = std::size(kUnicodeRanges);
    for (size_t k = 0; k < n; ++k) {
      uint32_t lo = kUnicodeRanges[k].first;
      if (lo >= kFlatLimit)
        break;
      uint32_t hi = k + 1 < n
                        ? std::min(kUnicodeRanges[k + 1].first, kFlatLimit)
                        : kFlatLimit;
      std::fill(t.begin() + lo, t.begin() + hi, kUnicodeRanges[k].value);
    }
    return t;
  }();
  return table;
}

/// byte -> code point, and code point (< 0x144) -> byte + 1 (0: none).
struct ByteMap {
  std::array<uint32_t, 256> toCp{};
  std::array<int16_t, 0x144> toByte{};
  ByteMap() {
    auto printable = [](unsigned b) {
      return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) ||
             (b >= 0xAE && b <= 0xFF);
    };
    uint32_t next = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
      uint32_t cp = printable(b) ? b : next++;
      toCp[b] = cp;
      toByte[cp] = static_cast<int16_t>(b + 1);
    }
  }
};

const ByteMap &byteMap() {
  static const ByteMap map;
  return map;
}

} // namespace

llvm::StringRef tableVersion() { return QTC_UNICODE_VERSION; }

CharInfo charInfo(uint32_t cp) {
  uint8_t v;
  if (cp < kFlatLimit)
    v = flatTable()[cp];
  else if (cp <= kMaxCodepoint)
    v = searchValue(cp);
  else
    v = 0;
  CharInfo info;
  info.cls = static_cast<CharClass>(v & 0x7F);
  info.space = (v & kSpaceBit) != 0;
  return info;
}

bool decodeUTF8(llvm::StringRef text, std::vector<uint32_t> &out,
                size_t &badOffset) {
  const auto *s = reinterpret_cast<const uint8_t *>(text.data());
  size_t n = text.size();
  out.reserve(out.size() + n);
  size_t i = 0;
  while (i < n) {
    uint8_t b0 = s[i];
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      badOffset = i;
      return false;
    }
    if (n - i < len) {
      badOffset = i;
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      uint8_t b = s[i + k];
      if ((b & 0xC0) != 0x80) {
        badOffset = i;
        return false;
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > kMaxCodepoint || (cp >= 0xD800 && cp <= 0xDFFF)) {
      badOffset = i;
      return false;
    }
    out.push_back(cp);
    i += len;
  }
  return true;
}

void appendUTF8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

uint32_t byteToCodepoint(uint8_t byte) { return byteMap().toCp[byte]; }

int codepointToByte(uint32_t cp) {
  if (cp >= byteMap().toByte.size())
    return -1;
  return byteMap().toByte[cp] - 1;
}

} // namespace qtc::generate::unicode
