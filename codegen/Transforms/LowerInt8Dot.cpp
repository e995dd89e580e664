//===- LowerInt8Dot.cpp - qt.int8_dot to vpdpbusd or vector arithmetic ----===//
//
// The MatMulInteger kernel accumulates 4-byte dot products with
// qt.int8_dot; on x86 that is one vpdpbusd per vector, elsewhere (or with
// intrinsic=false) widening multiplies and a reduction per 4 bytes. The
// few-row kernels look up grid levels with qt.lookup: one vpermps, or
// (intrinsic=false) a tree of selects.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"

#include "dialects/QT/IR/QTOps.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::qt {
#define GEN_PASS_DEF_QTLOWERINT8DOT
#include "codegen/Passes.h.inc"
} // namespace mlir::qt

using namespace mlir;

namespace {

struct LowerInt8DotPass : qt::impl::QTLowerInt8DotBase<LowerInt8DotPass> {
  using QTLowerInt8DotBase::QTLowerInt8DotBase;

  void runOnOperation() override {
    SmallVector<qt::Int8DotOp> ops;
    getOperation()->walk([&](qt::Int8DotOp op) { ops.push_back(op); });
    for (qt::Int8DotOp op : ops) {
      OpBuilder b(op);
      Location l = op.getLoc();
      VectorType accType = op.getAcc().getType();
      int64_t lanes = accType.getDimSize(0);
      Value result;
      if (intrinsic && (lanes == 4 || lanes == 8 || lanes == 16)) {
        std::string name =
            "llvm.x86.avx512.vpdpbusd." + std::to_string(lanes * 32);
        result = LLVM::CallIntrinsicOp::create(
                     b, l, accType, b.getStringAttr(name),
                     ValueRange{op.getAcc(), op.getLhs(), op.getRhs()})
                     .getResult(0);
      } else {
        // Byte j of every group, for j = 0..3: lanes-wide shuffles, then
        // widening multiply-adds into the accumulator.
        auto wide = VectorType::get({lanes}, b.getI32Type());
        result = op.getAcc();
        for (int64_t j = 0; j < 4; ++j) {
          SmallVector<int64_t> picks;
          for (int64_t i = 0; i < lanes; ++i)
            picks.push_back(4 * i + j);
          Value lhs = vector::ShuffleOp::create(b, l, op.getLhs(), op.getLhs(), picks);
          Value rhs = vector::ShuffleOp::create(b, l, op.getRhs(), op.getRhs(), picks);
          Value lhsWide = arith::ExtUIOp::create(b, l, wide, lhs);
          Value rhsWide = arith::ExtSIOp::create(b, l, wide, rhs);
          Value prod = arith::MulIOp::create(b, l, lhsWide, rhsWide);
          result = arith::AddIOp::create(b, l, result, prod);
        }
      }
      op.replaceAllUsesWith(result);
      op.erase();
    }
    SmallVector<qt::LookupOp> lookups;
    getOperation()->walk([&](qt::LookupOp op) { lookups.push_back(op); });
    for (qt::LookupOp op : lookups) {
      OpBuilder b(op);
      Location l = op.getLoc();
      VectorType type = op.getTable().getType();
      int64_t lanes = type.getDimSize(0);
      Value result;
      if (intrinsic) {
        StringRef name = lanes == 16 ? "llvm.x86.avx512.permvar.sf.512"
                                     : "llvm.x86.avx2.permps";
        result = LLVM::CallIntrinsicOp::create(
                     b, l, type, b.getStringAttr(name),
                     ValueRange{op.getTable(), op.getIndex()})
                     .getResult(0);
      } else {
        // Each table lane broadcast, then bit j of the index chooses
        // within pairs of candidates (a tree of lanes - 1 selects).
        auto indexType = op.getIndex().getType();
        SmallVector<Value> cur;
        for (int64_t i = 0; i < lanes; ++i) {
          Value lane = vector::ExtractOp::create(b, l, op.getTable(), i);
          cur.push_back(vector::BroadcastOp::create(b, l, type, lane));
        }
        Value zero = arith::ConstantOp::create(
            b, l, DenseElementsAttr::get(indexType, b.getI32IntegerAttr(0)));
        for (int64_t bit = 0; (int64_t(1) << bit) < lanes; ++bit) {
          Value mask = arith::ConstantOp::create(
              b, l, DenseElementsAttr::get(indexType,
                                           b.getI32IntegerAttr(1 << bit)));
          Value set = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::ne,
              arith::AndIOp::create(b, l, op.getIndex(), mask), zero);
          SmallVector<Value> next;
          for (size_t j = 0; j + 1 < cur.size(); j += 2)
            next.push_back(arith::SelectOp::create(b, l, set, cur[j + 1], cur[j]));
          cur = std::move(next);
        }
        result = cur.front();
      }
      op.replaceAllUsesWith(result);
      op.erase();
    }
  }
};

} // namespace
