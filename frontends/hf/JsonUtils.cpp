//===- JsonUtils.cpp - JSON helpers of the safetensors reader -------------===//

#include "frontends/hf/JsonUtils.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/ErrorHandling.h"

#include <algorithm>

using namespace llvm;

namespace qtc::safetensors::detail {

StringRef jsonKindName(const json::Value &value) {
  switch (value.kind()) {
  case json::Value::Null:
    return "null";
  case json::Value::Boolean:
    return "a boolean";
  case json::Value::Number:
    return "a number";
  case json::Value::String:
    return "a string";
  case json::Value::Array:
    return "an array";
  case json::Value::Object:
    return "an object";
  }
  llvm_unreachable("unknown JSON kind");
}

bool jsonNestsDeeperThan(StringRef text, unsigned limit) {
  unsigned depth = 0;
  bool inString = false;
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit)
        return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

std::optional<std::string> jsonDuplicateTopLevelKey(StringRef text) {
  StringSet<> seen;
  unsigned depth = 0;
  bool expectKey = false;
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (c == '"') {
      size_t start = ++i;
      while (i < e && text[i] != '"')
        i += text[i] == '\\' ? 2 : 1;
      if (depth == 1 && expectKey) {
        StringRef key = text.slice(start, std::min(i, e));
        if (!seen.insert(key).second)
          return key.str();
        expectKey = false;
      }
    } else if (c == '[' || c == '{') {
      ++depth;
      expectKey = depth == 1 && c == '{';
    } else if (c == ']' || c == '}') {
      if (depth > 0)
        --depth;
    } else if (c == ',' && depth == 1) {
      expectKey = true;
    }
  }
  return std::nullopt;
}

} // namespace qtc::safetensors::detail
