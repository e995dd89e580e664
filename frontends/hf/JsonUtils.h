//===- JsonUtils.h - JSON helpers of the safetensors reader -----*- C++ -*-===//
//
// Internal to frontends/hf: describing JSON values in diagnostics
// and refusing absurdly nested input before llvm::json::parse (which recurses
// once per nesting level) sees it.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_FRONTENDS_SAFETENSORS_JSONUTILS_H
#define QTC_FRONTENDS_SAFETENSORS_JSONUTILS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>

namespace qtc::safetensors::detail {

/// "a string", "an array", ... for "expected X, got <kind>" messages.
llvm::StringRef jsonKindName(const llvm::json::Value &value);

/// True when `text` nests arrays/objects deeper than `limit` levels
/// (brackets inside strings, escapes included, are not counted).
bool jsonNestsDeeperThan(llvm::StringRef text, unsigned limit);

/// The first key of the top-level object of `text` that occurs twice,
/// compared as written (llvm::json::parse silently keeps the last one).
/// Keys spelled differently through escapes are not recognised as equal.
std::optional<std::string> jsonDuplicateTopLevelKey(llvm::StringRef text);

} // namespace qtc::safetensors::detail

#endif // QTC_FRONTENDS_SAFETENSORS_JSONUTILS_H
