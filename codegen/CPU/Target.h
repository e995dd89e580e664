//===- Target.h - What the CPU backend knows about its target ---*- C++ -*-===//
//
// The CPU target as the backend's passes and LLVM see it, resolved from the
// user's triple / CPU / features (the host's when none are given) into
// explicit values: cache and vector sizes for tiling, the int8 dot product
// and grid lookup instructions, and whether sums may be reassociated. The
// resolved values are what qt-cpu-pipeline prints, so a printed pipeline
// replays the same way on any machine.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_CODEGEN_CPU_TARGET_H
#define QTC_CODEGEN_CPU_TARGET_H

#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>

namespace llvm {
class TargetMachine;
} // namespace llvm

namespace mlir::qt {

/// What the user asked for; empty strings and zeros mean "from the target"
/// (the host's when neither a triple nor features are given).
struct CPUTargetRequest {
  std::string triple, cpu, features;
  int64_t l1Bytes = 0, vectorBits = 0;
  std::string int8Dot = "auto";    ///< avx512vnni, avxvnni, none, auto
  std::string gridLookup = "auto"; ///< permute, select, auto
  bool strictFP = false;
};

/// The resolved target. `triple`, `cpu` and `features` are what LLVM gets:
/// the host's when the request named neither a triple nor features.
struct CPUTarget {
  std::string triple, cpu, features;
  int64_t l1Bytes = 32 * 1024; ///< L1 data cache size
  int64_t vectorBits = 128;    ///< widest vector register
  std::string int8Dot = "none";  ///< avx512vnni, avxvnni, none
  std::string gridLookup = "select"; ///< permute (vpermps), select
  /// Floating-point sums may be reordered and erf/exp/tanh approximated.
  bool reassociate = true;
  /// x86 intrinsics (vpdpbusd, vpermps) may be emitted.
  bool x86 = false;
};

/// Resolves `request`; an error names an unknown option value.
llvm::Expected<CPUTarget> resolveCPUTarget(const CPUTargetRequest &request);

/// LLVM's target machine for `target` (PIC), or an error naming the triple.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const CPUTarget &target);

} // namespace mlir::qt

#endif // QTC_CODEGEN_CPU_TARGET_H
