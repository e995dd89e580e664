//===- OutlineLayers.cpp - Repeated layers compiled once ------------------===//
//
// See qt-outline-layers in codegen/Passes.td. A 30-layer model lowered as
// one function costs the lowering, bufferization and LLVM 30 times the work
// of one layer; outlined, deduplicated layers cost it once.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringExtras.h"

#include <functional>
#include <limits>

namespace mlir::qt {
#define GEN_PASS_DEF_QTOUTLINELAYERS
#include "codegen/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;

namespace {

/// The layer a name names: the text up to and including the layer number
/// of its first `(layers|layer|h|blocks|block)[._]N` path component
/// ("model.layers.3.mlp" -> "model.layers.3", "/model/layers.3/attn/MatMul"
/// -> "/model/layers.3", "transformer.h.0.attn" -> "transformer.h.0"), else
/// "".
std::string layerKey(StringRef name) {
  auto separator = [](char c) { return c == '.' || c == '/' || c == '_'; };
  for (size_t start = 0; start < name.size();) {
    size_t end = start;
    while (end < name.size() && !separator(name[end]))
      ++end;
    StringRef word = name.slice(start, end);
    if ((word == "layers" || word == "layer" || word == "h" ||
         word == "blocks" || word == "block") &&
        end < name.size() && (name[end] == '.' || name[end] == '_')) {
      size_t digits = end + 1;
      while (digits < name.size() && llvm::isDigit(name[digits]))
        ++digits;
      if (digits > end + 1 && (digits == name.size() || separator(name[digits])))
        return name.take_front(digits).str();
    }
    start = end + 1;
  }
  return "";
}

/// The layer a location names (see above).
std::string layerKey(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    std::string key = layerKey(name.getName().strref());
    return key.empty() ? layerKey(name.getChildLoc()) : key;
  }
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations()) {
      std::string key = layerKey(inner);
      if (!key.empty())
        return key;
    }
  if (auto site = dyn_cast<CallSiteLoc>(loc))
    return layerKey(site.getCallee());
  return "";
}

/// The layer of an op: its own location's, else the first nested op's.
std::string layerOf(Operation *op) {
  std::string key = layerKey(op->getLoc());
  if (!key.empty() || op->getNumRegions() == 0)
    return key;
  op->walk([&](Operation *inner) {
    if (key.empty())
      key = layerKey(inner->getLoc());
    return key.empty() ? WalkResult::advance() : WalkResult::interrupt();
  });
  return key;
}

/// Bytes of a constant's data, or -1 when `op` is not a constant.
int64_t constantBytes(Operation *op) {
  Attribute value;
  if (!op->hasTrait<OpTrait::ConstantLike>() || op->getNumResults() != 1 ||
      !matchPattern(op->getResult(0), m_Constant(&value)))
    return -1;
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements)
    return 0;
  // Resources are weights, whatever their size: never cloned.
  if (isa<DenseResourceElementsAttr>(elements))
    return std::numeric_limits<int64_t>::max();
  if (auto dense = dyn_cast<DenseElementsAttr>(elements); dense && dense.isSplat())
    return 0;
  Type et = elements.getElementType();
  int64_t bits = et.isIntOrFloat() ? et.getIntOrFloatBitWidth() : 64;
  return elements.getNumElements() * std::max<int64_t>(bits / 8, 1);
}

/// A symbol-friendly name for a layer key: "model.layers.3" -> "model_layers_3".
std::string symbolFor(StringRef key) {
  std::string s;
  for (char c : key)
    s += llvm::isAlnum(c) ? c : '_';
  while (!s.empty() && s.front() == '_')
    s.erase(s.begin());
  return s.empty() ? "layer" : s;
}

struct OutlineLayersPass
    : qt::impl::QTOutlineLayersBase<OutlineLayersPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> functions;
    for (auto f : module.getOps<func::FuncOp>())
      if (f.isPublic() && !f.isExternal() && f.getBody().hasOneBlock())
        functions.push_back(f);
    SymbolTable symbols(module);
    // Layer functions by their printed body: the first of each kind.
    llvm::StringMap<func::FuncOp> kinds;
    for (func::FuncOp f : functions)
      outline(f, symbols, kinds);
  }

  /// Whether `op` is a constant cloned into layer functions rather than
  /// passed in.
  bool inlinable(Operation *op) const {
    int64_t bytes = constantBytes(op);
    return bytes >= 0 && bytes <= maxInlineBytes;
  }

  /// The ops of `body` whose results depend on no data: small constants,
  /// and side-effect-free ops of such operands alone (tensor.empty, a fill
  /// with a constant). CSE shares them between layers, keeping the first
  /// layer's location, so they name no layer; a layer function clones the
  /// ones it uses instead of taking them as arguments.
  llvm::DenseSet<Operation *> recomputable(Block &body) const {
    llvm::DenseSet<Operation *> set;
    for (Operation &op : body.without_terminator()) {
      if (inlinable(&op)) {
        set.insert(&op);
        continue;
      }
      if (constantBytes(&op) >= 0 || !isMemoryEffectFree(&op) ||
          op.getNumResults() == 0)
        continue;
      bool independent = true;
      op.walk([&](Operation *inner) {
        for (Value v : inner->getOperands()) {
          if (op.isAncestor(v.getParentRegion()->getParentOp()))
            continue;
          Operation *def = v.getDefiningOp();
          if (!def || !set.contains(def))
            independent = false;
        }
      });
      if (independent)
        set.insert(&op);
    }
    return set;
  }

  void outline(func::FuncOp f, SymbolTable &symbols,
               llvm::StringMap<func::FuncOp> &kinds) {
    Block &body = f.getBody().front();
    SmallVector<Operation *> ops;
    for (Operation &op : body.without_terminator())
      ops.push_back(&op);
    llvm::DenseSet<Operation *> cloned = recomputable(body);
    // Each layer's first and last op (constants and recomputable ops belong
    // to no layer).
    llvm::MapVector<std::string, std::pair<size_t, size_t>,
                    llvm::StringMap<unsigned>>
        spans;
    SmallVector<std::string> keys(ops.size());
    for (auto [i, op] : llvm::enumerate(ops)) {
      if (constantBytes(op) >= 0 || cloned.contains(op))
        continue;
      keys[i] = layerOf(op);
      if (keys[i].empty())
        continue;
      auto [it, inserted] = spans.try_emplace(keys[i], i, i);
      if (!inserted)
        it->second.second = i;
    }
    if (spans.size() < minLayers) {
      if (report)
        f.emitRemark() << "qt-outline-layers: " << spans.size()
                       << " layers named, fewer than "
                       << static_cast<unsigned>(minLayers);
      return;
    }
    // The spans must not interleave: no op of another layer inside one.
    for (auto &[key, span] : spans)
      for (size_t i = span.first; i <= span.second; ++i)
        if (!keys[i].empty() && keys[i] != key) {
          if (report)
            ops[i]->emitRemark()
                << "qt-outline-layers: '" << ops[i]->getName() << "' of "
                << keys[i] << " lies between ops of " << key
                << "; nothing outlined";
          return;
        }
    size_t kindsBefore = kinds.size();

    for (auto &[key, span] : spans) {
      // Constants and recomputable ops stay where they are: cloned into the
      // function when used there (small ones), passed in (large ones).
      llvm::SetVector<Operation *> moved;
      for (size_t i = span.first; i <= span.second; ++i)
        if (constantBytes(ops[i]) < 0 && !cloned.contains(ops[i]))
          moved.insert(ops[i]);
      outlineSpan(f, key, moved, cloned, ops[span.second], symbols, kinds);
    }
    if (report)
      f.emitRemark() << "qt-outline-layers: " << spans.size()
                     << " layers outlined into " << kinds.size() - kindsBefore
                     << " functions";
  }

  void outlineSpan(func::FuncOp parent, StringRef key,
                   const llvm::SetVector<Operation *> &moved,
                   const llvm::DenseSet<Operation *> &recomputed, Operation *last,
                   SymbolTable &symbols, llvm::StringMap<func::FuncOp> &kinds) {
    MLIRContext *ctx = parent.getContext();
    // Arguments: values the span uses that are defined outside it (large
    // constants included), in the order of first use; recomputable values
    // used from outside are cloned instead, with what they depend on.
    llvm::SetVector<Value> arguments;
    llvm::SetVector<Operation *> clones;
    std::function<void(Operation *)> cloneWithOperands = [&](Operation *def) {
      if (clones.contains(def))
        return;
      def->walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          if (!def->isAncestor(v.getParentRegion()->getParentOp()))
            if (Operation *d = v.getDefiningOp())
              cloneWithOperands(d);
      });
      clones.insert(def);
    };
    for (Operation *op : moved) {
      auto visit = [&](Value v) {
        Operation *def = v.getDefiningOp();
        if (def && moved.contains(def))
          return;
        // Values defined inside the op (its nested ops and block
        // arguments) are not inputs.
        if (op->isAncestor(v.getParentRegion()->getParentOp()))
          return;
        if (def && recomputed.contains(def))
          cloneWithOperands(def);
        else
          arguments.insert(v);
      };
      op->walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          visit(v);
      });
    }
    // Results: values of the span used after it.
    SmallVector<Value> results;
    for (Operation *op : moved)
      for (Value r : op->getResults())
        if (llvm::any_of(r.getUsers(), [&](Operation *user) {
              Operation *top = parent.getBody().front().findAncestorOpInBlock(*user);
              return !top || !moved.contains(top);
            }))
          results.push_back(r);

    // The layer function.
    OpBuilder b(ctx);
    b.setInsertionPoint(parent);
    SmallVector<Type> argTypes, resultTypes;
    for (Value v : arguments)
      argTypes.push_back(v.getType());
    for (Value v : results)
      resultTypes.push_back(v.getType());
    Location loc = NameLoc::get(StringAttr::get(ctx, key));
    auto fn = func::FuncOp::create(b, loc, symbolFor(key),
                                   b.getFunctionType(argTypes, resultTypes));
    fn.setPrivate();
    // Compiled once, called per layer: keep it out of line.
    fn->setAttr("passthrough", b.getArrayAttr({b.getStringAttr("noinline")}));
    Block *entry = fn.addEntryBlock();
    IRMapping map;
    for (auto [v, arg] : llvm::zip(arguments, entry->getArguments()))
      map.map(v, arg);
    b.setInsertionPointToEnd(entry);
    // Clones in the order of first use (operands before users): the same
    // for every layer of a kind, wherever CSE left the originals.
    for (Operation *c : clones)
      b.clone(*c, map);
    for (Operation *op : moved)
      b.clone(*op, map);
    SmallVector<Value> returned;
    for (Value r : results)
      returned.push_back(map.lookup(r));
    func::ReturnOp::create(b, loc, returned);

    // The same kind of layer as one already outlined: call that one. The
    // whole function is printed (so that values print by their position),
    // under one name.
    std::string text;
    {
      StringAttr name = fn.getSymNameAttr();
      fn.setSymName("layer");
      llvm::raw_string_ostream os(text);
      OpPrintingFlags flags;
      flags.printGenericOpForm().useLocalScope();
      fn->print(os, flags);
      fn.setSymNameAttr(name);
    }
    func::FuncOp callee;
    auto [it, inserted] = kinds.try_emplace(text, fn);
    if (inserted) {
      symbols.insert(fn);
      callee = fn;
    } else {
      fn.erase();
      callee = it->second;
    }

    // The call, where the span's last op was.
    b.setInsertionPointAfter(last);
    auto call = func::CallOp::create(b, loc, callee, arguments.getArrayRef());
    Block &block = parent.getBody().front();
    for (auto [r, replacement] : llvm::zip(results, call.getResults()))
      r.replaceUsesWithIf(replacement, [&](OpOperand &use) {
        Operation *top = block.findAncestorOpInBlock(*use.getOwner());
        return !top || !moved.contains(top);
      });
    for (Operation *op : llvm::reverse(moved))
      op->erase();
  }
};

} // namespace
