//===- JIT.cpp - Linking a compiled model into this process ---------------===//

#include "compiler/JIT.h"

#include "runtime/symbols.h"

#include "llvm/ExecutionEngine/Orc/AbsoluteSymbols.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/MapperJITLinkMemoryManager.h"
#include "llvm/ExecutionEngine/Orc/MemoryMapper.h"
#include "llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/TargetParser/Triple.h"

#include <cstring>
#include <sys/mman.h>

using namespace qtc;

// The runtime's entry points, linked into this library.
extern "C" {
#define QTC_DECLARE(name) void name();
QTC_RUNTIME_SYMBOLS(QTC_DECLARE)
#undef QTC_DECLARE
}

JITSession::~JITSession() {
  // The code goes first: nothing may run after the weights are unmapped.
  jit.reset();
  if (weightsMemory)
    munmap(weightsMemory, weightsMapped);
}

llvm::Expected<std::unique_ptr<JITSession>>
JITSession::create(const mlir::qt::CPUTarget &target,
                   std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects,
                   const mlir::qt::WeightBlob *weights) {
  std::unique_ptr<JITSession> session(new JITSession());
  llvm::orc::JITTargetMachineBuilder jtmb{llvm::Triple(target.triple)};
  jtmb.setCPU(target.cpu);
  jtmb.setFeatures(target.features);
  jtmb.setRelocationModel(llvm::Reloc::PIC_);
  auto jit =
      llvm::orc::LLJITBuilder()
          .setJITTargetMachineBuilder(std::move(jtmb))
          .setObjectLinkingLayerCreator(
              [](llvm::orc::ExecutionSession &es)
                  -> llvm::Expected<std::unique_ptr<llvm::orc::ObjectLayer>> {
                // One reservation of address space for all of the model's
                // objects, so their 32-bit PC-relative references to each
                // other always reach.
                auto memory = llvm::orc::MapperJITLinkMemoryManager::
                    CreateWithMapper<llvm::orc::InProcessMemoryMapper>(
                        size_t(1) << 30);
                if (!memory)
                  return memory.takeError();
                return std::make_unique<llvm::orc::ObjectLinkingLayer>(
                    es, std::move(*memory));
              })
          .create();
  if (!jit)
    return jit.takeError();
  session->jit = std::move(*jit);
  llvm::orc::JITDylib &jd = session->jit->getMainJITDylib();
  llvm::orc::MangleAndInterner mangle(session->jit->getExecutionSession(),
                                      session->jit->getDataLayout());
  llvm::orc::SymbolMap symbols;
  auto bind = [&](llvm::StringRef name, const void *address,
                  llvm::JITSymbolFlags flags) {
    symbols[mangle(name)] = llvm::orc::ExecutorSymbolDef(
        llvm::orc::ExecutorAddr::fromPtr(address), flags);
  };
#define QTC_BIND(name)                                                         \
  bind(#name, reinterpret_cast<const void *>(&name),                           \
       llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable);
  QTC_RUNTIME_SYMBOLS(QTC_BIND)
#undef QTC_BIND
  if (weights && !weights->pieces.empty()) {
    // Anonymous pages: untouched padding costs nothing, and they go back
    // to the system whole when the model is freed.
    session->weightsSize = weights->bytes;
    session->weightsMapped = llvm::alignTo(weights->bytes, 64 * 1024);
    void *memory = mmap(nullptr, session->weightsMapped, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
      return llvm::createStringError(
          "cannot allocate " + std::to_string(weights->bytes) +
          " bytes for the model's weights: " + std::strerror(errno));
    session->weightsMemory = memory;
    for (const mlir::qt::WeightPiece &p : weights->pieces)
      std::memcpy(static_cast<char *>(memory) + p.offset, p.bytes.data(),
                  p.bytes.size());
    mprotect(memory, session->weightsMapped, PROT_READ);
    bind(weights->symbol, memory, llvm::JITSymbolFlags::Exported);
  }
  if (llvm::Error e = jd.define(llvm::orc::absoluteSymbols(std::move(symbols))))
    return std::move(e);
  for (std::unique_ptr<llvm::MemoryBuffer> &object : objects)
    if (llvm::Error e = session->jit->addObjectFile(std::move(object)))
      return std::move(e);
  return session;
}

llvm::Expected<void *> JITSession::lookup(llvm::StringRef name) {
  llvm::Expected<llvm::orc::ExecutorAddr> address = jit->lookup(name);
  if (!address)
    return address.takeError();
  return address->toPtr<void *>();
}
