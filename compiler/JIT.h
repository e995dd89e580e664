//===- JIT.h - Linking a compiled model into this process -------*- C++ -*-===//
//
// The in-process JIT: the object code the CPU backend emitted is linked
// into the running process with LLVM's ORC (JITLink), no file and no
// subprocess involved. The runtime functions the code calls resolve to
// the runtime linked into the compiler library (runtime/symbols.h), libc
// and libm to the process's, and the weights region to memory the session
// owns.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_COMPILER_JIT_H
#define QTC_COMPILER_JIT_H

#include "codegen/CPU/Target.h"
#include "codegen/LLVM/Weights.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <vector>

namespace llvm::orc {
class LLJIT;
} // namespace llvm::orc

namespace qtc {

class JITSession {
public:
  /// Links `objects` (one model) into the process. The weights' bytes are
  /// copied into memory the session owns, bound to `weights.symbol`.
  static llvm::Expected<std::unique_ptr<JITSession>>
  create(const mlir::qt::CPUTarget &target,
         std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects,
         const mlir::qt::WeightBlob *weights);
  ~JITSession();

  /// The address of a symbol the objects define.
  llvm::Expected<void *> lookup(llvm::StringRef name);

  /// Bytes of weights the session holds.
  uint64_t weightBytes() const { return weightsSize; }

private:
  JITSession() = default;
  std::unique_ptr<llvm::orc::LLJIT> jit;
  void *weightsMemory = nullptr;
  uint64_t weightsSize = 0, weightsMapped = 0;
};

} // namespace qtc

#endif // QTC_COMPILER_JIT_H
