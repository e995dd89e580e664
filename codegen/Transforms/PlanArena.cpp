//===- PlanArena.cpp - Static placement of temporaries in one arena -------===//
//
// After bufferization a model's entry function allocates one buffer per
// intermediate tensor and frees it after its last use. This pass plans
// those buffers at compile time instead: each gets an offset in a single
// arena allocated once per call, and buffers whose lifetimes do not overlap
// share bytes. The arena is smaller than the sum of the buffers, the bytes
// a layer writes are the ones the previous layer freed (still in cache),
// and a call makes one allocation for them instead of hundreds.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace mlir::qt {
#define GEN_PASS_DEF_QTPLANARENA
#include "codegen/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;

namespace {

/// A buffer to place: live from the body operation at `start` (its alloc)
/// to the one at `end` (the last that uses it or a view of it).
struct Buffer {
  memref::AllocOp alloc;
  uint64_t bytes, align;
  unsigned start, end;
  uint64_t offset = 0;
};

/// The size in bytes of a static, identity-layout buffer of a byte-sized
/// element type; nullopt for anything memref.view cannot produce.
std::optional<uint64_t> viewableBytes(MemRefType type) {
  if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
      type.getMemorySpace())
    return std::nullopt;
  Type elem = type.getElementType();
  if (!elem.isIntOrFloat() || elem.getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  return static_cast<uint64_t>(type.getNumElements()) *
         (elem.getIntOrFloatBitWidth() / 8);
}

/// The index in `body` of the last operation that uses `root` or a view of
/// it; nullopt if the buffer may outlive the function or be reached other
/// than through views (returned, passed to a call, yielded out of a region,
/// turned into a tensor or a pointer).
std::optional<unsigned>
lastUse(Value root, Block &body, const DenseMap<Operation *, unsigned> &index) {
  unsigned last = 0;
  SmallVector<Value> worklist = {root};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (isa<CallOpInterface, RegionBranchTerminatorOpInterface,
              func::ReturnOp, memref::ExtractAlignedPointerAsIndexOp,
              memref::DeallocOp>(user) ||
          user->hasTrait<OpTrait::IsTerminator>())
        return std::nullopt;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user)) {
        if (view.getViewSource() != v)
          return std::nullopt; // an offset or size operand: not expected
        for (Value r : user->getResults())
          worklist.push_back(r);
      } else if (llvm::any_of(user->getResultTypes(), [](Type t) {
                   return !t.isIntOrIndexOrFloat() && !isa<VectorType>(t);
                 })) {
        // A result that may hold the buffer (a tensor, a memref, a
        // pointer): its lifetime is not the buffer's uses any more.
        return std::nullopt;
      }
      Operation *top = body.findAncestorOpInBlock(*user);
      if (!top)
        return std::nullopt;
      last = std::max(last, index.lookup(top));
    }
  }
  return last;
}

uint64_t alignTo(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

struct PlanArenaPass : qt::impl::QTPlanArenaBase<PlanArenaPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (alignment == 0 || (alignment & (alignment - 1))) {
      func.emitError() << "qt-plan-arena: alignment must be a power of two, not "
                       << static_cast<uint64_t>(alignment);
      return signalPassFailure();
    }
    if (func.isExternal() || !func.getBody().hasOneBlock())
      return;
    Block &body = func.getBody().front();
    DenseMap<Operation *, unsigned> index;
    for (auto [i, op] : llvm::enumerate(body))
      index[&op] = i;

    std::vector<Buffer> buffers;
    for (Operation &op : body) {
      auto alloc = dyn_cast<memref::AllocOp>(op);
      if (!alloc || !alloc.getDynamicSizes().empty() ||
          !alloc.getSymbolOperands().empty())
        continue;
      std::optional<uint64_t> bytes = viewableBytes(alloc.getType());
      if (!bytes || *bytes < minBytes)
        continue;
      std::optional<unsigned> end = lastUse(alloc, body, index);
      if (!end)
        continue;
      uint64_t align = std::max<uint64_t>(alignment, alloc.getAlignment().value_or(1));
      buffers.push_back({alloc, *bytes, align, index[&op], std::max(*end, index[&op])});
    }
    if (buffers.size() < 2)
      return;

    // Largest first, each at the lowest offset that no buffer placed so far
    // with an overlapping lifetime occupies.
    std::vector<Buffer *> order;
    for (Buffer &b : buffers)
      order.push_back(&b);
    llvm::stable_sort(order, [](const Buffer *a, const Buffer *b) {
      return a->bytes != b->bytes ? a->bytes > b->bytes : a->start < b->start;
    });
    uint64_t total = 0;
    std::vector<const Buffer *> placed;
    for (Buffer *b : order) {
      std::vector<const Buffer *> live;
      for (const Buffer *p : placed)
        if (p->start <= b->end && b->start <= p->end)
          live.push_back(p);
      llvm::sort(live, [](const Buffer *x, const Buffer *y) {
        return x->offset < y->offset;
      });
      uint64_t offset = 0;
      for (const Buffer *p : live) {
        if (alignTo(offset, b->align) + b->bytes <= p->offset)
          break;
        offset = std::max(offset, p->offset + p->bytes);
      }
      b->offset = alignTo(offset, b->align);
      total = std::max(total, b->offset + b->bytes);
      placed.push_back(b);
    }

    uint64_t arenaAlign = 1;
    for (const Buffer &b : buffers)
      arenaAlign = std::max(arenaAlign, b.align);
    OpBuilder builder(&body, body.begin());
    Location loc = func.getLoc();
    auto arenaType = MemRefType::get({static_cast<int64_t>(total)},
                                     builder.getI8Type());
    Value arena = memref::AllocOp::create(builder, loc, arenaType, ValueRange{},
                                          builder.getI64IntegerAttr(arenaAlign));
    // The offsets as constants next to the arena, one per distinct value.
    DenseMap<uint64_t, Value> offsets;
    for (const Buffer &b : buffers)
      if (!offsets.count(b.offset))
        offsets[b.offset] = arith::ConstantIndexOp::create(
            builder, loc, static_cast<int64_t>(b.offset));
    uint64_t summed = 0;
    for (Buffer &b : buffers) {
      summed += b.bytes;
      builder.setInsertionPoint(b.alloc);
      Value offset = offsets[b.offset];
      Value view = memref::ViewOp::create(builder, b.alloc.getLoc(),
                                          b.alloc.getType(), arena, offset,
                                          ValueRange{});
      b.alloc.replaceAllUsesWith(view);
      b.alloc.erase();
    }
    if (report)
      func.emitRemark() << "qt-plan-arena: " << buffers.size()
                        << " buffers of " << summed
                        << " bytes in an arena of " << total << " bytes";
  }
};

} // namespace
