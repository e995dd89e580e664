//===- Target.cpp - What the CPU backend knows about its target -----------===//

#include "codegen/CPU/Target.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"

#include <mutex>
#include <unistd.h>

using namespace mlir::qt;

namespace {

/// The host's L1 data cache in bytes (32 KiB when unknown).
int64_t hostL1Bytes() {
#ifdef _SC_LEVEL1_DCACHE_SIZE
  long size = sysconf(_SC_LEVEL1_DCACHE_SIZE);
  if (size > 0)
    return size;
#endif
  return 32 * 1024;
}

/// "+a,-b,+c" as a feature map (later entries win).
llvm::StringMap<bool> parseFeatures(llvm::StringRef text) {
  llvm::StringMap<bool> f;
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, ',', -1, false);
  for (llvm::StringRef p : parts) {
    p = p.trim();
    if (p.consume_front("+"))
      f[p] = true;
    else if (p.consume_front("-"))
      f[p] = false;
  }
  return f;
}

} // namespace

llvm::Expected<CPUTarget>
mlir::qt::resolveCPUTarget(const CPUTargetRequest &request) {
  CPUTarget t;
  t.reassociate = !request.strictFP;
  bool host = request.triple.empty() && request.features.empty();
  t.triple = request.triple.empty() ? llvm::sys::getDefaultTargetTriple()
                                    : request.triple;
  t.cpu = request.cpu;
  t.features = request.features;
  llvm::StringMap<bool> f;
  if (host) {
    f = llvm::sys::getHostCPUFeatures();
    if (t.cpu.empty())
      t.cpu = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures sf;
    for (auto &entry : f)
      sf.AddFeature(entry.first(), entry.second);
    t.features = sf.getString();
    t.l1Bytes = hostL1Bytes();
  } else {
    f = parseFeatures(request.features);
  }
  llvm::Triple triple(t.triple);
  t.x86 = triple.isX86();
  bool avx512 = t.x86 && f.lookup("avx512f");
  bool avx2 = t.x86 && f.lookup("avx2");
  t.vectorBits = avx512 ? 512 : (avx2 || (t.x86 && f.lookup("avx"))) ? 256 : 128;
  t.int8Dot = avx512 && f.lookup("avx512vnni") ? "avx512vnni"
              : t.x86 && f.lookup("avxvnni")   ? "avxvnni"
                                               : "none";
  if (request.l1Bytes > 0)
    t.l1Bytes = request.l1Bytes;
  if (request.vectorBits > 0)
    t.vectorBits = request.vectorBits;
  if (request.int8Dot != "auto") {
    if (request.int8Dot != "avx512vnni" && request.int8Dot != "avxvnni" &&
        request.int8Dot != "none")
      return llvm::createStringError("int8-dot must be auto, none, avx512vnni "
                                     "or avxvnni, not '" +
                                     request.int8Dot + "'");
    t.int8Dot = request.int8Dot;
  }
  // vpermps needs AVX2 (8 lanes) or AVX-512F (16) of the vector width.
  bool permute = (t.vectorBits == 512 && avx512) || (t.vectorBits == 256 && avx2);
  t.gridLookup = permute ? "permute" : "select";
  if (request.gridLookup != "auto") {
    if (request.gridLookup != "permute" && request.gridLookup != "select")
      return llvm::createStringError(
          "grid-lookup must be auto, permute or select, not '" +
          request.gridLookup + "'");
    t.gridLookup = request.gridLookup;
  }
  return t;
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
mlir::qt::createTargetMachine(const CPUTarget &target) {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    llvm::InitializeAllAsmParsers();
  });
  std::string error;
  llvm::Triple triple(target.triple);
  const llvm::Target *t = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!t)
    return llvm::createStringError("target '" + target.triple + "': " + error);
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(t->createTargetMachine(
      triple, target.cpu, target.features, options, llvm::Reloc::PIC_));
  if (!tm)
    return llvm::createStringError("target '" + target.triple +
                                   "': cannot create a target machine");
  return tm;
}
