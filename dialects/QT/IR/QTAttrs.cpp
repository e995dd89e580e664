//===- QTAttrs.cpp - qt dialect attributes --------------------------------===//

#include "dialects/QT/IR/QTDialect.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::qt;

#include "dialects/QT/IR/QTEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/QT/IR/QTAttrs.cpp.inc"


void QTDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/QT/IR/QTAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// PackedAttr
//===----------------------------------------------------------------------===//

// #qt.packed<ui4, group_size = 32, scale = f16 [, zero_point] [, order = K]
//            [, levels = [l0, l1, ...]] [, min]>
Attribute PackedAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  Type codeType, scaleType;
  int64_t groupSize = 0;
  bool hasZeroPoint = false, hasMin = false;
  BitOrder order = BitOrder::LsbFirst;
  SmallVector<float> levels;
  bool hasLevels = false;
  if (parser.parseLess() || parser.parseType(codeType) ||
      parser.parseComma() || parser.parseKeyword("group_size") ||
      parser.parseEqual() || parser.parseInteger(groupSize) ||
      parser.parseComma() || parser.parseKeyword("scale") ||
      parser.parseEqual() || parser.parseType(scaleType))
    return {};
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc kwLoc = parser.getCurrentLocation();
    StringRef keyword;
    if (parser.parseKeyword(&keyword))
      return {};
    if (keyword == "zero_point") {
      hasZeroPoint = true;
      continue;
    }
    if (keyword == "min") {
      hasMin = true;
      continue;
    }
    if (keyword == "order") {
      StringRef orderName;
      if (parser.parseEqual() || parser.parseKeyword(&orderName))
        return {};
      std::optional<BitOrder> parsed = symbolizeBitOrder(orderName);
      if (!parsed) {
        parser.emitError(kwLoc) << "unknown bit order '" << orderName
                                << "', expected 'lsb_first' or 'msb_first'";
        return {};
      }
      order = *parsed;
      continue;
    }
    if (keyword == "levels") {
      if (hasLevels) {
        parser.emitError(kwLoc) << "'levels' is given twice";
        return {};
      }
      hasLevels = true;
      if (parser.parseEqual() ||
          parser.parseCommaSeparatedList(
              AsmParser::Delimiter::Square, [&]() -> ParseResult {
                double v;
                if (parser.parseFloat(v))
                  return failure();
                levels.push_back(static_cast<float>(v));
                return success();
              }))
        return {};
      continue;
    }
    parser.emitError(kwLoc) << "unexpected '" << keyword
                            << "', expected 'zero_point', 'min', 'order' or 'levels'";
    return {};
  }
  if (parser.parseGreater())
    return {};
  auto intType = dyn_cast<IntegerType>(codeType);
  if (!intType) {
    parser.emitError(loc) << "code type must be an integer type such as ui4 "
                             "or si4, got "
                          << codeType;
    return {};
  }
  if (hasLevels && levels.empty()) {
    parser.emitError(loc) << "'levels' needs at least one value";
    return {};
  }
  return parser.getChecked<PackedAttr>(
      loc, parser.getContext(), intType, groupSize, scaleType, hasZeroPoint,
      order,
      hasLevels ? DenseF32ArrayAttr::get(parser.getContext(), levels)
                : DenseF32ArrayAttr(),
      hasMin);
}

void PackedAttr::print(AsmPrinter &printer) const {
  printer << "<" << getCodeType() << ", group_size = " << getGroupSize()
          << ", scale = " << getScaleType();
  if (getHasZeroPoint())
    printer << ", zero_point";
  if (getOrder() != BitOrder::LsbFirst)
    printer << ", order = " << stringifyBitOrder(getOrder());
  if (hasLevels()) {
    printer << ", levels = [";
    llvm::interleaveComma(getLevels().asArrayRef(), printer, [&](float v) {
      printer.printFloat(llvm::APFloat(v));
    });
    printer << "]";
  }
  if (getHasMin())
    printer << ", min";
  printer << ">";
}

LogicalResult PackedAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 IntegerType codeType, int64_t groupSize,
                                 Type scaleType, bool hasZeroPoint, BitOrder,
                                 DenseF32ArrayAttr levels, bool hasMin) {
  if (codeType.isSignless())
    return emitError() << "code type " << codeType
                       << " must say its signedness: ui<bits> or si<bits>";
  unsigned bits = codeType.getWidth();
  if (bits < 2 || bits > 8)
    return emitError() << "code width must be 2 to 8 bits, got " << bits
                       << " (" << codeType << ")";
  if (groupSize <= 0)
    return emitError() << "group_size must be positive, got " << groupSize;
  if (!scaleType.isF32() && !scaleType.isF16() && !scaleType.isBF16())
    return emitError() << "scale type must be f32, f16 or bf16, got "
                       << scaleType;
  if (hasMin) {
    if (hasZeroPoint)
      return emitError() << "a format has either a zero point or a min, not "
                            "both";
    if (levels)
      return emitError() << "a format with levels has no min";
    if (!codeType.isUnsigned())
      return emitError() << "codes with a min must be unsigned (ui" << bits
                         << "), got " << codeType;
  }
  if (levels) {
    ArrayRef<float> l = levels.asArrayRef();
    if (static_cast<int64_t>(l.size()) != (int64_t(1) << bits))
      return emitError() << "levels must hold 2^" << bits << " = "
                         << (int64_t(1) << bits) << " values for " << codeType
                         << " codes, got " << l.size();
    if (!codeType.isUnsigned())
      return emitError() << "codes that index levels must be unsigned (ui"
                         << bits << "), got " << codeType;
    if (hasZeroPoint)
      return emitError() << "a format with levels has no zero point";
    for (size_t i = 0; i < l.size(); ++i) {
      if (!std::isfinite(l[i]))
        return emitError() << "level " << i << " is not finite";
      if (i && !(l[i] > l[i - 1]))
        return emitError() << "levels must increase strictly, but level " << i
                           << " (" << l[i] << ") follows " << l[i - 1];
    }
  }
  return success();
}

PackedAttr PackedAttr::withZeroPoint(bool hasZeroPoint) const {
  return PackedAttr::get(getContext(), getCodeType(), getGroupSize(),
                         getScaleType(), hasZeroPoint, getOrder(),
                         getLevels(), getHasMin());
}

PackedAttr PackedAttr::withOrder(BitOrder order) const {
  return PackedAttr::get(getContext(), getCodeType(), getGroupSize(),
                         getScaleType(), getHasZeroPoint(), order,
                         getLevels(), getHasMin());
}
