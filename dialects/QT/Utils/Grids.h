//===- Grids.h - Named non-uniform code grids -------------------*- C++ -*-===//
//
// The tables of the non-uniform 4-bit grids `#qt.packed<..., levels = [...]>`
// can carry: part of the format, so importers (bitsandbytes NF4) and the
// quantizer share them.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_DIALECTS_QT_UTILS_GRIDS_H
#define QTC_DIALECTS_QT_UTILS_GRIDS_H

#include "llvm/ADT/StringRef.h"

#include <vector>

namespace qtc {

/// The grid named `name` for `bits`-bit codes: "uniform" gives an empty
/// grid (evenly spaced codes); "nf4" NormalFloat 4 (QLoRA, as
/// bitsandbytes stores it); "iq4nl" llama.cpp's IQ4_NL table divided by
/// 127. False for an unknown name or a width the grid does not have.
bool namedGrid(llvm::StringRef name, unsigned bits, std::vector<float> &levels);

/// The grid names namedGrid knows, for messages.
const char *gridNames();

} // namespace qtc

#endif // QTC_DIALECTS_QT_UTILS_GRIDS_H
