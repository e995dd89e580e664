//===- ExternalizeWeights.cpp - Constant weights into a side file ---------===//
//
// Large constants leave the object: their bytes go to a side file, and the
// code reads them at fixed offsets in one page-aligned, zero-filled region
// (`qtc_weights_data`, in .bss) that the runtime maps the file over
// (runtime/weights.c). Addressing a global, rather than a pointer loaded at
// run time, keeps LLVM's alias analysis as sharp as with embedded
// constants: loops that write temporaries while reading weights still
// vectorize. The file layout is in runtime/README.md.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/xxhash.h"

namespace mlir::qt {
#define GEN_PASS_DEF_QTEXTERNALIZEWEIGHTS
#include "passes/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;
using namespace mlir::qt;

namespace {

constexpr char kMagic[8] = {'Q', 'T', 'C', 'W', 'G', 'H', 'T', 'S'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderBytes = 40;
// Data offset and region alignment: 64 KiB, a multiple of every page size
// Linux uses (4, 16 and 64 KiB), so the runtime can map the data in place.
constexpr uint64_t kPage = 64 * 1024, kAlign = 64;

/// The bytes of a constant global's value as the LLVM translation lays
/// them out, or nothing when the value is not a non-splat array of
/// whole-byte integers or floats.
std::optional<ArrayRef<char>> constantBytes(Attribute value) {
  auto elements = dyn_cast_or_null<ElementsAttr>(value);
  if (!elements)
    return std::nullopt;
  Type et = elements.getElementType();
  if (!et.isIntOrFloat() || et.getIntOrFloatBitWidth() % 8)
    return std::nullopt;
  uint64_t expected = uint64_t(elements.getNumElements()) *
                      (et.getIntOrFloatBitWidth() / 8);
  ArrayRef<char> bytes;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    bytes = blob->getData();
  } else if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    if (dense.isSplat())
      return std::nullopt;
    bytes = dense.getRawData();
  } else {
    return std::nullopt;
  }
  if (bytes.size() != expected)
    return std::nullopt;
  return bytes;
}

/// A readable name for the index: the resource key, else the symbol.
std::string weightName(LLVM::GlobalOp global) {
  if (auto resource =
          dyn_cast_or_null<DenseResourceElementsAttr>(global.getValueOrNull()))
    return resource.getRawHandle().getKey().str();
  return global.getSymName().str();
}

struct Entry {
  LLVM::GlobalOp global;
  ArrayRef<char> bytes;
  std::string name;
  uint64_t offset = 0;
};

struct ExternalizeWeightsPass
    : mlir::qt::impl::QTExternalizeWeightsBase<ExternalizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (file.empty()) {
      emitError(module.getLoc(), "qt-externalize-weights needs file=PATH");
      return signalPassFailure();
    }
    for (StringRef taken : {"qtc_weights_data", "qtc_weights_id",
                            "qtc_weights_bytes"})
      if (SymbolTable::lookupSymbolIn(module, taken)) {
        emitError(module.getLoc()) << "qt-externalize-weights: the module "
                                      "already defines @" << taken;
        return signalPassFailure();
      }

    // Every symbol use, once: addressof in functions per symbol, and the
    // symbols used any other way (those stay where they are).
    llvm::StringMap<SmallVector<LLVM::AddressOfOp>> addresses;
    llvm::StringSet<> otherUses;
    if (std::optional<SymbolTable::UseRange> uses =
            SymbolTable::getSymbolUses(&module.getBodyRegion()))
      for (const SymbolTable::SymbolUse &use : *uses) {
        StringRef name = use.getSymbolRef().getRootReference().getValue();
        auto addr = dyn_cast<LLVM::AddressOfOp>(use.getUser());
        if (addr && addr->getParentOfType<LLVM::LLVMFuncOp>())
          addresses[name].push_back(addr);
        else
          otherUses.insert(name);
      }

    // Candidates: private constants read only through addressof in code.
    std::vector<Entry> entries;
    uint64_t dataBytes = 0;
    for (auto global : module.getOps<LLVM::GlobalOp>()) {
      if (!global.getConstant() ||
          (global.getLinkage() != LLVM::Linkage::Private &&
           global.getLinkage() != LLVM::Linkage::Internal) ||
          otherUses.contains(global.getSymName()))
        continue;
      std::optional<ArrayRef<char>> bytes =
          constantBytes(global.getValueOrNull());
      if (!bytes || int64_t(bytes->size()) < minBytes)
        continue;
      dataBytes = llvm::alignTo(dataBytes, kAlign);
      entries.push_back({global, *bytes, weightName(global), dataBytes});
      dataBytes += bytes->size();
    }

    // Identity of the data: the hash of every tensor's offset, size and
    // bytes, so a file from another compile (or a truncated one) is refused.
    SmallVector<uint64_t> summary;
    for (const Entry &e : entries) {
      summary.push_back(e.offset);
      summary.push_back(e.bytes.size());
      summary.push_back(llvm::xxh3_64bits(ArrayRef<uint8_t>(
          reinterpret_cast<const uint8_t *>(e.bytes.data()), e.bytes.size())));
    }
    uint64_t id = llvm::xxh3_64bits(ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(summary.data()),
        summary.size() * sizeof(uint64_t)));

    if (failed(writeFile(module, entries, id, dataBytes)))
      return signalPassFailure();
    rewrite(module, entries, addresses, id, dataBytes);
  }

  LogicalResult writeFile(ModuleOp module, ArrayRef<Entry> entries, uint64_t id,
                          uint64_t dataBytes) {
    std::string index;
    auto put = [&](std::string &out, uint64_t v, unsigned width) {
      char buf[8];
      llvm::support::endian::write64le(buf, v);
      out.append(buf, width);
    };
    for (const Entry &e : entries) {
      put(index, e.offset, 8);
      put(index, e.bytes.size(), 8);
      put(index, e.name.size(), 4);
      index += e.name;
    }
    uint64_t dataOffset = llvm::alignTo(kHeaderBytes + index.size(), kPage);
    std::string header(kMagic, sizeof(kMagic));
    put(header, kVersion, 4);
    put(header, entries.size(), 4);
    put(header, id, 8);
    put(header, dataOffset, 8);
    put(header, dataBytes, 8);

    std::error_code ec;
    llvm::ToolOutputFile out(file, ec, llvm::sys::fs::OF_None);
    if (ec)
      return emitError(module.getLoc())
             << "cannot write '" << file << "': " << ec.message();
    llvm::raw_fd_ostream &os = out.os();
    os << header << index;
    uint64_t at = kHeaderBytes + index.size();
    auto pad = [&](uint64_t to) {
      os.write_zeros(to - at);
      at = to;
    };
    pad(dataOffset);
    for (const Entry &e : entries) {
      pad(dataOffset + e.offset);
      os.write(e.bytes.data(), e.bytes.size());
      at += e.bytes.size();
    }
    os.flush();
    if (os.has_error())
      return emitError(module.getLoc())
             << "cannot write '" << file << "': " << os.error().message();
    out.keep();
    return success();
  }

  void rewrite(ModuleOp module, MutableArrayRef<Entry> entries,
               llvm::StringMap<SmallVector<LLVM::AddressOfOp>> &addresses,
               uint64_t id, uint64_t dataBytes) {
    MLIRContext *ctx = module.getContext();
    Location loc = module.getLoc();
    auto ptrTy = LLVM::LLVMPointerType::get(ctx);
    auto i8 = IntegerType::get(ctx, 8);
    auto i64 = IntegerType::get(ctx, 64);
    OpBuilder b(ctx);

    // The region the runtime maps the file's data over: whole pages of
    // zeros (.bss, no space in the object), hidden, and not constant, so
    // LLVM neither folds its loads nor assumes what it holds.
    b.setInsertionPointToStart(module.getBody());
    uint64_t regionBytes = std::max<uint64_t>(llvm::alignTo(dataBytes, kPage), kPage);
    auto region = LLVM::GlobalOp::create(
        b, loc, LLVM::LLVMArrayType::get(i8, regionBytes), /*isConstant=*/false,
        LLVM::Linkage::External, "qtc_weights_data",
        LLVM::ZeroAttr::get(ctx), /*alignment=*/kPage);
    region.setVisibility_(LLVM::Visibility::Hidden);
    for (auto [name, value] : {std::pair<StringRef, uint64_t>{"qtc_weights_id", id},
                               {"qtc_weights_bytes", dataBytes}}) {
      auto g = LLVM::GlobalOp::create(b, loc, i64, /*isConstant=*/true,
                                      LLVM::Linkage::External, name,
                                      b.getI64IntegerAttr(value), 8);
      g.setVisibility_(LLVM::Visibility::Hidden);
    }

    for (Entry &e : entries) {
      for (LLVM::AddressOfOp addr : addresses[e.global.getSymName()]) {
        b.setInsertionPoint(addr);
        Value ptr = LLVM::AddressOfOp::create(b, addr.getLoc(), region);
        if (e.offset)
          ptr = LLVM::GEPOp::create(
              b, addr.getLoc(), ptrTy, i8, ptr,
              ValueRange{LLVM::ConstantOp::create(
                  b, addr.getLoc(), i64, b.getI64IntegerAttr(e.offset))},
              LLVM::GEPNoWrapFlags::inbounds);
        addr.replaceAllUsesWith(ptr);
        addr.erase();
      }
      e.global.erase();
    }
  }
};

} // namespace
