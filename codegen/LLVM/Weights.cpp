//===- Weights.cpp - Large constants kept out of LLVM ---------------------===//

#include "codegen/LLVM/Weights.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/BinaryFormat/ELF.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/xxhash.h"
#include "llvm/TargetParser/Triple.h"

#include <cstring>

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

} // namespace

llvm::Expected<WeightBlob>
mlir::qt::detachWeights(ModuleOp module, const WeightOptions &options) {
  WeightBlob blob;
  blob.symbol = options.prefix + "_weights_data";
  std::string idName = options.prefix + "_weights_id",
              bytesName = options.prefix + "_weights_bytes";
  for (StringRef taken : {StringRef(blob.symbol), StringRef(idName),
                          StringRef(bytesName)})
    if (SymbolTable::lookupSymbolIn(module, taken))
      return llvm::createStringError("the module already defines @" + taken);

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
  SmallVector<LLVM::GlobalOp> globals;
  for (auto global : module.getOps<LLVM::GlobalOp>()) {
    if (!global.getConstant() ||
        (global.getLinkage() != LLVM::Linkage::Private &&
         global.getLinkage() != LLVM::Linkage::Internal) ||
        otherUses.contains(global.getSymName()))
      continue;
    std::optional<ArrayRef<char>> bytes = constantBytes(global.getValueOrNull());
    if (!bytes || int64_t(bytes->size()) < options.minBytes)
      continue;
    blob.bytes = llvm::alignTo(blob.bytes, kAlign);
    blob.pieces.push_back({weightName(global), *bytes, blob.bytes});
    globals.push_back(global);
    blob.bytes += bytes->size();
  }

  // Identity of the data: the hash of every tensor's offset, size and
  // bytes, so a file from another compile (or a truncated one) is refused.
  SmallVector<uint64_t> summary;
  for (const WeightPiece &p : blob.pieces) {
    summary.push_back(p.offset);
    summary.push_back(p.bytes.size());
    summary.push_back(llvm::xxh3_64bits(llvm::ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(p.bytes.data()), p.bytes.size())));
  }
  blob.id = llvm::xxh3_64bits(llvm::ArrayRef<uint8_t>(
      reinterpret_cast<const uint8_t *>(summary.data()),
      summary.size() * sizeof(uint64_t)));

  bool mapped = options.placement == WeightPlacement::Mapped;
  if (!mapped && blob.pieces.empty())
    return blob;

  MLIRContext *ctx = module.getContext();
  Location loc = module.getLoc();
  auto ptrTy = LLVM::LLVMPointerType::get(ctx);
  auto i8 = IntegerType::get(ctx, 8);
  auto i64 = IntegerType::get(ctx, 64);
  OpBuilder b(ctx);
  b.setInsertionPointToStart(module.getBody());
  LLVM::GlobalOp region;
  if (mapped) {
    // The region the runtime maps the file's data over: whole pages of
    // zeros (.bss, no space in the object), hidden, and not constant, so
    // LLVM neither folds its loads nor assumes what it holds.
    uint64_t regionBytes =
        std::max<uint64_t>(llvm::alignTo(blob.bytes, kPage), kPage);
    region = LLVM::GlobalOp::create(
        b, loc, LLVM::LLVMArrayType::get(i8, regionBytes),
        /*isConstant=*/false, LLVM::Linkage::External, blob.symbol,
        LLVM::ZeroAttr::get(ctx), /*alignment=*/kPage);
    region.setVisibility_(LLVM::Visibility::Hidden);
    for (auto [name, value] :
         {std::pair<StringRef, uint64_t>{idName, blob.id}, {bytesName, blob.bytes}}) {
      auto g = LLVM::GlobalOp::create(b, loc, i64, /*isConstant=*/true,
                                      LLVM::Linkage::External, name,
                                      b.getI64IntegerAttr(value), 8);
      g.setVisibility_(LLVM::Visibility::Hidden);
    }
  } else {
    // Defined elsewhere, read-only: LLVM may assume nothing stores to it.
    region = LLVM::GlobalOp::create(
        b, loc, LLVM::LLVMArrayType::get(i8, std::max<uint64_t>(blob.bytes, 1)),
        /*isConstant=*/true, LLVM::Linkage::External, blob.symbol,
        /*value=*/Attribute(), /*alignment=*/kAlign);
    if (!options.anywhere)
      region.setVisibility_(LLVM::Visibility::Hidden);
  }

  for (auto [piece, global] : llvm::zip(blob.pieces, globals)) {
    for (LLVM::AddressOfOp addr : addresses[global.getSymName()]) {
      b.setInsertionPoint(addr);
      Value ptr = LLVM::AddressOfOp::create(b, addr.getLoc(), region);
      if (piece.offset)
        ptr = LLVM::GEPOp::create(
            b, addr.getLoc(), ptrTy, i8, ptr,
            ValueRange{LLVM::ConstantOp::create(
                b, addr.getLoc(), i64, b.getI64IntegerAttr(piece.offset))},
            LLVM::GEPNoWrapFlags::inbounds);
      addr.replaceAllUsesWith(ptr);
      addr.erase();
    }
    global.erase();
  }
  return blob;
}

llvm::Error mlir::qt::writeWeightsFile(llvm::StringRef path,
                                       const WeightBlob &blob) {
  std::string index;
  auto put = [&](std::string &out, uint64_t v, unsigned width) {
    char buf[8];
    llvm::support::endian::write64le(buf, v);
    out.append(buf, width);
  };
  for (const WeightPiece &p : blob.pieces) {
    put(index, p.offset, 8);
    put(index, p.bytes.size(), 8);
    put(index, p.name.size(), 4);
    index += p.name;
  }
  uint64_t dataOffset = llvm::alignTo(kHeaderBytes + index.size(), kPage);
  std::string header(kMagic, sizeof(kMagic));
  put(header, kVersion, 4);
  put(header, blob.pieces.size(), 4);
  put(header, blob.id, 8);
  put(header, dataOffset, 8);
  put(header, blob.bytes, 8);

  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError("cannot write '" + path + "': " + ec.message());
  llvm::raw_fd_ostream &os = out.os();
  os << header << index;
  uint64_t at = kHeaderBytes + index.size();
  auto pad = [&](uint64_t to) {
    os.write_zeros(to - at);
    at = to;
  };
  pad(dataOffset);
  for (const WeightPiece &p : blob.pieces) {
    pad(dataOffset + p.offset);
    os.write(p.bytes.data(), p.bytes.size());
    at += p.bytes.size();
  }
  os.flush();
  if (os.has_error())
    return llvm::createStringError("cannot write '" + path +
                                   "': " + os.error().message());
  out.keep();
  return llvm::Error::success();
}

bool mlir::qt::canWriteWeightsObject(const llvm::Triple &triple) {
  return triple.isOSBinFormatELF() && triple.isArch64Bit() &&
         triple.isLittleEndian() && llvm::endianness::native == llvm::endianness::little &&
         (triple.getArch() == llvm::Triple::x86_64 ||
          triple.getArch() == llvm::Triple::aarch64 ||
          triple.getArch() == llvm::Triple::riscv64);
}

llvm::Error mlir::qt::writeWeightsObject(llvm::StringRef path,
                                         const WeightBlob &blob,
                                         const llvm::Triple &triple) {
  namespace ELF = llvm::ELF;
  if (!canWriteWeightsObject(triple))
    return llvm::createStringError("cannot write a weights object for " +
                                   triple.str());
  bool large = triple.getArch() == llvm::Triple::x86_64 &&
               blob.bytes > kLargeWeightsBytes;
  uint16_t machine = triple.getArch() == llvm::Triple::x86_64    ? ELF::EM_X86_64
                     : triple.getArch() == llvm::Triple::aarch64 ? ELF::EM_AARCH64
                                                                 : ELF::EM_RISCV;
  // Sections: null, the data, .note.GNU-stack (no executable stack),
  // .symtab, .strtab, .shstrtab.
  std::string dataName = (large ? ".lrodata." : ".rodata.") + blob.symbol;
  std::string shstrtab(1, '\0');
  auto addName = [](std::string &table, llvm::StringRef name) {
    uint32_t at = table.size();
    table += name;
    table += '\0';
    return at;
  };
  uint32_t nData = addName(shstrtab, dataName),
           nStack = addName(shstrtab, ".note.GNU-stack"),
           nSymtab = addName(shstrtab, ".symtab"),
           nStrtab = addName(shstrtab, ".strtab"),
           nShstrtab = addName(shstrtab, ".shstrtab");
  std::string strtab(1, '\0');
  uint32_t nSymbol = addName(strtab, blob.symbol);

  ELF::Elf64_Sym syms[3];
  std::memset(syms, 0, sizeof syms);
  syms[1].st_shndx = 1;
  syms[1].setBindingAndType(ELF::STB_LOCAL, ELF::STT_SECTION);
  syms[2].st_name = nSymbol;
  syms[2].setBindingAndType(ELF::STB_GLOBAL, ELF::STT_OBJECT);
  syms[2].st_other = ELF::STV_HIDDEN;
  syms[2].st_shndx = 1;
  syms[2].st_value = 0;
  syms[2].st_size = blob.bytes;

  uint64_t dataOffset = llvm::alignTo(sizeof(ELF::Elf64_Ehdr), kAlign);
  uint64_t symtabOffset = llvm::alignTo(dataOffset + blob.bytes, 8);
  uint64_t strtabOffset = symtabOffset + sizeof syms;
  uint64_t shstrtabOffset = strtabOffset + strtab.size();
  uint64_t shOffset = llvm::alignTo(shstrtabOffset + shstrtab.size(), 8);

  ELF::Elf64_Shdr sh[6];
  std::memset(sh, 0, sizeof sh);
  sh[1].sh_name = nData;
  sh[1].sh_type = ELF::SHT_PROGBITS;
  sh[1].sh_flags = ELF::SHF_ALLOC | (large ? ELF::SHF_X86_64_LARGE : 0);
  sh[1].sh_offset = dataOffset;
  sh[1].sh_size = blob.bytes;
  sh[1].sh_addralign = kAlign;
  sh[2].sh_name = nStack;
  sh[2].sh_type = ELF::SHT_PROGBITS;
  sh[2].sh_offset = symtabOffset;
  sh[2].sh_addralign = 1;
  sh[3].sh_name = nSymtab;
  sh[3].sh_type = ELF::SHT_SYMTAB;
  sh[3].sh_offset = symtabOffset;
  sh[3].sh_size = sizeof syms;
  sh[3].sh_link = 4;
  sh[3].sh_info = 2; // the first global symbol
  sh[3].sh_addralign = 8;
  sh[3].sh_entsize = sizeof(ELF::Elf64_Sym);
  sh[4].sh_name = nStrtab;
  sh[4].sh_type = ELF::SHT_STRTAB;
  sh[4].sh_offset = strtabOffset;
  sh[4].sh_size = strtab.size();
  sh[4].sh_addralign = 1;
  sh[5].sh_name = nShstrtab;
  sh[5].sh_type = ELF::SHT_STRTAB;
  sh[5].sh_offset = shstrtabOffset;
  sh[5].sh_size = shstrtab.size();
  sh[5].sh_addralign = 1;

  ELF::Elf64_Ehdr eh;
  std::memset(&eh, 0, sizeof eh);
  std::memcpy(eh.e_ident, ELF::ElfMagic, 4);
  eh.e_ident[ELF::EI_CLASS] = ELF::ELFCLASS64;
  eh.e_ident[ELF::EI_DATA] = ELF::ELFDATA2LSB;
  eh.e_ident[ELF::EI_VERSION] = ELF::EV_CURRENT;
  eh.e_ident[ELF::EI_OSABI] = ELF::ELFOSABI_NONE;
  eh.e_type = ELF::ET_REL;
  eh.e_machine = machine;
  eh.e_version = ELF::EV_CURRENT;
  eh.e_shoff = shOffset;
  eh.e_ehsize = sizeof eh;
  eh.e_shentsize = sizeof(ELF::Elf64_Shdr);
  eh.e_shnum = 6;
  eh.e_shstrndx = 5;

  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError("cannot write '" + path + "': " + ec.message());
  llvm::raw_fd_ostream &os = out.os();
  uint64_t at = 0;
  auto write = [&](const void *data, uint64_t n) {
    os.write(static_cast<const char *>(data), n);
    at += n;
  };
  auto pad = [&](uint64_t to) {
    os.write_zeros(to - at);
    at = to;
  };
  write(&eh, sizeof eh);
  pad(dataOffset);
  for (const WeightPiece &p : blob.pieces) {
    pad(dataOffset + p.offset);
    write(p.bytes.data(), p.bytes.size());
  }
  pad(symtabOffset);
  write(syms, sizeof syms);
  write(strtab.data(), strtab.size());
  write(shstrtab.data(), shstrtab.size());
  pad(shOffset);
  write(sh, sizeof sh);
  os.flush();
  if (os.has_error())
    return llvm::createStringError("cannot write '" + path +
                                   "': " + os.error().message());
  out.keep();
  return llvm::Error::success();
}
