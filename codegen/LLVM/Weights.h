//===- Weights.h - Large constants kept out of LLVM -------------*- C++ -*-===//
//
// A model's weights are most of its bytes and none of its code. Before the
// LLVM-dialect module is translated, its large constants leave it: the code
// addresses them at fixed offsets of one region, `<prefix>_weights_data`,
// and their bytes go
//
//  - into a side file the runtime maps over a zero-filled region of the
//    library at run time (`--weights external`, WeightPlacement::Mapped);
//  - into an object file of their own, written here byte for byte without
//    LLVM (`--emit shared|exe`), or to memory the in-process JIT binds the
//    symbol to (WeightPlacement::Linked).
//
// Addressing a global, rather than a pointer loaded at run time, keeps
// LLVM's alias analysis as sharp as with embedded constants: loops that
// write temporaries while reading weights still vectorize.
//
//===----------------------------------------------------------------------===//

#ifndef QTC_CODEGEN_LLVM_WEIGHTS_H
#define QTC_CODEGEN_LLVM_WEIGHTS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llvm {
class Triple;
} // namespace llvm

namespace mlir::qt {

/// One constant moved out: its bytes (owned by the module's context) and
/// its offset in the region.
struct WeightPiece {
  std::string name; ///< the resource key, else the global's symbol
  llvm::ArrayRef<char> bytes;
  uint64_t offset = 0;
};

struct WeightBlob {
  std::string symbol; ///< `<prefix>_weights_data`
  std::vector<WeightPiece> pieces;
  uint64_t bytes = 0; ///< end of the last piece
  /// Hash of every piece's offset, size and bytes: the side file's
  /// identity, checked when it is mapped.
  uint64_t id = 0;
};

enum class WeightPlacement {
  /// A zero-filled, 64 KiB-aligned region of whole pages in the module
  /// (.bss), over which the runtime maps the side file; also defines
  /// `<prefix>_weights_id` and `<prefix>_weights_bytes`.
  Mapped,
  /// An external constant declaration, defined by a weights object linked
  /// beside the code or bound by the JIT.
  Linked,
};

struct WeightOptions {
  std::string prefix = "qtc";
  WeightPlacement placement = WeightPlacement::Mapped;
  /// Smaller constants stay in the code.
  int64_t minBytes = 1024;
  /// Linked: the symbol may resolve anywhere in the address space (the
  /// JIT), so it is not marked hidden / dso_local.
  bool anywhere = false;
};

/// Moves the large constant globals of an LLVM-dialect module out of it (see
/// the file comment). Only private or internal constants read through
/// llvm.mlir.addressof in functions move; the pieces' bytes stay valid as
/// long as the module's context.
llvm::Expected<WeightBlob> detachWeights(ModuleOp module,
                                         const WeightOptions &options);

/// Writes the side file of a Mapped blob (layout: runtime/README.md).
llvm::Error writeWeightsFile(llvm::StringRef path, const WeightBlob &blob);

/// Whether writeWeightsObject can write an object for `triple` (ELF).
bool canWriteWeightsObject(const llvm::Triple &triple);

/// Writes a relocatable ELF object defining the Linked blob's symbol
/// (hidden, read-only, 64-byte aligned; in a large-data section on x86-64
/// when over 1 GiB), streaming the pieces to the file.
llvm::Error writeWeightsObject(llvm::StringRef path, const WeightBlob &blob,
                               const llvm::Triple &triple);

/// Blobs over this size are addressed with 64-bit offsets (x86-64's large
/// data sections), beyond the reach of the small code model.
constexpr uint64_t kLargeWeightsBytes = uint64_t(1) << 30;

} // namespace mlir::qt

#endif // QTC_CODEGEN_LLVM_WEIGHTS_H
