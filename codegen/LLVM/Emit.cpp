//===- Emit.cpp - From the LLVM dialect to machine code -------------------===//

#include "codegen/LLVM/Emit.h"

#include "runtime/weights.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/Analysis/LoopInfo.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/Dominators.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Operator.h"
#include "llvm/Support/SmallVectorMemoryBuffer.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Threading.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Transforms/Utils/CodeExtractor.h"
#include "llvm/Transforms/Utils/LoopSimplify.h"
#include "llvm/Transforms/Utils/SplitModule.h"

#include <mutex>

using namespace mlir;
using namespace mlir::qt;

namespace {

/// Moves every top-level loop nest of a function with at least `minLoops`
/// of them into a function of its own (noinline). A whole model's entry is
/// one function with about a thousand loop nests (MiniLM: 1182), and
/// ScalarEvolution answers some queries of O3's loop passes by walking
/// back through every block before the loop, so those passes cost time
/// proportional to the function for each loop: IndVarSimplify alone took
/// 31 of the 36 s O3 spent on MiniLM. Split, O3 takes a third of the time.
/// Small functions (the parallel regions' bodies) are left whole.
void splitLoopNests(llvm::Module &module, unsigned minLoops = 32) {
  std::vector<llvm::Function *> functions;
  for (llvm::Function &fn : module)
    if (!fn.isDeclaration())
      functions.push_back(&fn);
  for (llvm::Function *fn : functions) {
    llvm::DominatorTree dt(*fn);
    llvm::LoopInfo li(dt);
    if (li.getTopLevelLoops().size() < minLoops)
      continue;
    std::vector<llvm::Loop *> loops(li.begin(), li.end());
    for (llvm::Loop *loop : loops)
      llvm::simplifyLoop(loop, &dt, &li, nullptr, nullptr, nullptr, false);
    for (llvm::Loop *loop : loops) {
      llvm::CodeExtractorAnalysisCache cache(*fn);
      llvm::CodeExtractor extractor(loop->getBlocks(), &dt);
      if (!extractor.isEligible())
        continue;
      if (llvm::Function *nest = extractor.extractCodeRegion(cache))
        nest->addFnAttr(llvm::Attribute::NoInline);
    }
  }
}

/// Object code for `m`, optimized at O3 first.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
optimizeAndEmit(llvm::Module &m, const CPUTarget &target, llvm::StringRef name) {
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> tm =
      createTargetMachine(target);
  if (!tm)
    return tm.takeError();
  m.setDataLayout((*tm)->createDataLayout());
  m.setTargetTriple((*tm)->getTargetTriple());
  if (llvm::Error e = optimizeModule(m, **tm))
    return std::move(e);
  llvm::SmallVector<char, 0> bytes;
  llvm::raw_svector_ostream os(bytes);
  llvm::legacy::PassManager codegen;
  if ((*tm)->addPassesToEmitFile(codegen, os, nullptr,
                                 llvm::CodeGenFileType::ObjectFile))
    return llvm::createStringError("the target cannot emit object files");
  codegen.run(m);
  return std::make_unique<llvm::SmallVectorMemoryBuffer>(std::move(bytes), name,
                                                         false);
}

} // namespace

llvm::Expected<std::unique_ptr<llvm::Module>>
mlir::qt::translateToLLVMIR(ModuleOp module, llvm::LLVMContext &context,
                            llvm::TargetMachine &tm, bool strictFP) {
  // The outlined layers (qt-outline-layers marks them noinline).
  llvm::SmallVector<std::string> layers;
  for (auto f : module.getOps<LLVM::LLVMFuncOp>())
    if (auto passthrough = f.getPassthrough())
      if (llvm::any_of(*passthrough, [](Attribute a) {
            auto s = dyn_cast<StringAttr>(a);
            return s && s.getValue() == "noinline";
          }))
        layers.push_back(f.getSymName().str());
  std::unique_ptr<llvm::Module> m =
      mlir::translateModuleToLLVMIR(module, context);
  if (!m)
    return llvm::createStringError("translation to LLVM IR failed");
  // A layer's buffers are distinct or read-only: its weights, values
  // computed before the call, results in buffers of their own. Saying so
  // lets LLVM keep weights in registers across stores, as it could when the
  // layer was part of one function that addressed the weights as globals.
  // (MLIR passes llvm.noalias on memref arguments only under the
  // bare-pointer calling convention.)
  for (const std::string &name : layers)
    if (llvm::Function *f = m->getFunction(name))
      for (llvm::Argument &arg : f->args())
        if (arg.getType()->isPointerTy())
          arg.addAttr(llvm::Attribute::NoAlias);
  m->setTargetTriple(tm.getTargetTriple());
  m->setDataLayout(tm.createDataLayout());
  if (!strictFP) {
    // Sums may be reassociated and multiply-adds contracted, so the
    // vectorizer can split reductions into lanes and use FMA.
    for (llvm::Function &fn : *m)
      for (llvm::Instruction &inst : llvm::instructions(fn))
        if (llvm::isa<llvm::FPMathOperator>(inst)) {
          inst.setHasAllowReassoc(true);
          inst.setHasAllowContract(true);
        }
  }
  // Functions with many loop nests are split: each top-level loop nest
  // becomes its own function, kept out of line. See splitLoopNests.
  splitLoopNests(*m);
  // Every buffer comes from the runtime's allocator (runtime/alloc.c),
  // which returns blocks nothing else points to. Saying so lets LLVM keep
  // weights in registers across stores to a temporary: without it,
  // external weights (a writable global) must be reloaded after every
  // store to a decoded panel, and the int4 GEMV runs 5x slower.
  for (const char *name :
       {"_mlir_memref_to_llvm_aligned_alloc", "_mlir_memref_to_llvm_alloc"})
    if (llvm::Function *alloc = m->getFunction(name))
      alloc->addRetAttr(llvm::Attribute::NoAlias);
  return m;
}

llvm::Error mlir::qt::addEntryPoints(llvm::Module &m, const EntrySpec &spec) {
  llvm::LLVMContext &ctx = m.getContext();
  const std::string &p = spec.prefix;
  llvm::Function *ciface = m.getFunction("_mlir_ciface_" + spec.function);
  if (!ciface || ciface->isDeclaration())
    return llvm::createStringError("the module has no C entry _mlir_ciface_" +
                                   spec.function +
                                   " (is @" + spec.function + " public?)");
  if (ciface->arg_size() != spec.inputs.size() + spec.outputs.size())
    return llvm::createStringError(
        "_mlir_ciface_" + spec.function + " takes " +
        std::to_string(ciface->arg_size()) + " arguments, the model has " +
        std::to_string(spec.inputs.size() + spec.outputs.size()) + " ports");
  std::vector<std::string> exported = {
      p + "_run", p + "_error", p + "_describe", p + "_set_num_threads",
      p + "_get_num_threads"};
  if (spec.mappedWeights)
    exported.push_back(p + "_load_weights");
  if (spec.program)
    exported.push_back("main");
  // Everything the module defines gets the prefix and hidden visibility:
  // another model's library or object then never binds to it.
  for (llvm::GlobalValue &g : m.global_values()) {
    if (g.isDeclaration() || g.hasLocalLinkage() ||
        g.getName().starts_with("llvm."))
      continue;
    g.setName(p + "." + g.getName());
    g.setVisibility(llvm::GlobalValue::HiddenVisibility);
  }
  for (const std::string &name : exported)
    if (m.getNamedValue(name))
      return llvm::createStringError("the module already uses the symbol " +
                                     name);

  llvm::IRBuilder<> b(ctx);
  llvm::Type *i32 = b.getInt32Ty(), *i64 = b.getInt64Ty(), *ptr = b.getPtrTy();
  auto define = [&](llvm::StringRef name, llvm::Type *ret,
                    llvm::ArrayRef<llvm::Type *> params) {
    llvm::Function *f = llvm::Function::Create(
        llvm::FunctionType::get(ret, params, false),
        llvm::GlobalValue::ExternalLinkage, name, m);
    b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", f));
    return f;
  };
  auto declare = [&](llvm::StringRef name, llvm::Type *ret,
                     llvm::ArrayRef<llvm::Type *> params) {
    return m.getOrInsertFunction(name,
                                 llvm::FunctionType::get(ret, params, false));
  };

  // Mapped weights: the runtime's state of the side file (runtime/weights.h),
  // opaque bytes, zero-initialized.
  llvm::GlobalVariable *state = nullptr, *region = nullptr, *id = nullptr,
                       *bytes = nullptr;
  if (spec.mappedWeights) {
    region = m.getGlobalVariable(p + "." + p + "_weights_data");
    id = m.getGlobalVariable(p + "." + p + "_weights_id");
    bytes = m.getGlobalVariable(p + "." + p + "_weights_bytes");
    if (!region || !id || !bytes)
      return llvm::createStringError("internal: the weights region of " + p +
                                     " is missing");
    auto *stateTy = llvm::ArrayType::get(b.getInt8Ty(), QTC_WEIGHTS_STATE_BYTES);
    state = new llvm::GlobalVariable(m, stateTy, false,
                                     llvm::GlobalValue::InternalLinkage,
                                     llvm::Constant::getNullValue(stateTy),
                                     p + ".weights_state");
    state->setAlignment(llvm::Align(8));
  }

  // int NAME_run(void **args)
  llvm::Function *run = define(p + "_run", i32, {ptr});
  {
    llvm::Value *args = run->getArg(0);
    if (state) {
      llvm::Value *failed = b.CreateCall(
          declare("qtc_weights_ensure", i32, {ptr, ptr, i32, i64, i64, ptr}),
          {state, run, b.getInt32(spec.program ? 1 : 0),
           b.CreateLoad(i64, id), b.CreateLoad(i64, bytes), region});
      llvm::BasicBlock *ok = llvm::BasicBlock::Create(ctx, "ok", run);
      llvm::BasicBlock *fail = llvm::BasicBlock::Create(ctx, "fail", run);
      b.CreateCondBr(b.CreateICmpNE(failed, b.getInt32(0)), fail, ok);
      b.SetInsertPoint(fail);
      b.CreateRet(b.getInt32(1));
      b.SetInsertPoint(ok);
    }
    llvm::SmallVector<llvm::Value *> callArgs;
    for (unsigned i = 0; i < ciface->arg_size(); ++i)
      callArgs.push_back(b.CreateLoad(
          ptr, b.CreateConstInBoundsGEP1_64(ptr, args, i)));
    b.CreateCall(ciface, callArgs);
    b.CreateRet(b.getInt32(0));
  }
  // const char *NAME_error(void)
  define(p + "_error", ptr, {});
  if (state)
    b.CreateRet(b.CreateCall(declare("qtc_weights_error", ptr, {ptr}), {state}));
  else
    b.CreateRet(b.CreateGlobalString("", p + ".no_error"));
  // int NAME_load_weights(const char *path)
  llvm::Function *loadWeights = nullptr;
  if (state) {
    loadWeights = define(p + "_load_weights", i32, {ptr});
    b.CreateRet(b.CreateCall(
        declare("qtc_weights_load", i32, {ptr, ptr, i64, i64, ptr}),
        {state, loadWeights->getArg(0), b.CreateLoad(i64, id),
         b.CreateLoad(i64, bytes), region}));
  }
  // const char *NAME_describe(void)
  define(p + "_describe", ptr, {});
  b.CreateRet(b.CreateGlobalString(spec.description, p + ".description"));
  // Threads of the runtime linked into this library.
  llvm::Function *setThreads = define(p + "_set_num_threads", b.getVoidTy(), {i32});
  b.CreateCall(declare("qtc_set_num_threads", b.getVoidTy(), {i32}),
               {setThreads->getArg(0)});
  b.CreateRetVoid();
  define(p + "_get_num_threads", i32, {});
  b.CreateRet(b.CreateCall(declare("qtc_get_num_threads", i32, {})));

  if (spec.program) {
    // The port tables (include/qtc-c/exe.h's qtc_port) and main().
    auto *shapeTy = llvm::ArrayType::get(i64, 8);
    auto *portTy = llvm::StructType::get(ctx, {ptr, ptr, i32, shapeTy});
    auto table = [&](const std::vector<EntryPort> &ports,
                     llvm::StringRef name) -> llvm::Expected<llvm::Constant *> {
      std::vector<llvm::Constant *> rows;
      for (const EntryPort &port : ports) {
        if (port.shape.size() > 8)
          return llvm::createStringError("--emit exe: port '" + port.name +
                                         "' has more than 8 dimensions");
        std::vector<llvm::Constant *> dims(8, b.getInt64(0));
        for (auto [i, d] : llvm::enumerate(port.shape))
          dims[i] = b.getInt64(d);
        rows.push_back(llvm::ConstantStruct::get(
            portTy, {b.CreateGlobalString(port.name, p + ".port_name"),
                     b.CreateGlobalString(port.dtype, p + ".port_dtype"),
                     b.getInt32(port.shape.size()),
                     llvm::ConstantArray::get(shapeTy, dims)}));
      }
      if (rows.empty())
        rows.push_back(llvm::Constant::getNullValue(portTy));
      auto *arrTy = llvm::ArrayType::get(portTy, rows.size());
      return new llvm::GlobalVariable(m, arrTy, true,
                                      llvm::GlobalValue::PrivateLinkage,
                                      llvm::ConstantArray::get(arrTy, rows),
                                      p + "." + name);
    };
    // Strings made above need an insertion point: main's entry block.
    llvm::Function *mainFn = define("main", i32, {i32, ptr});
    llvm::Expected<llvm::Constant *> ins = table(spec.inputs, "inputs");
    if (!ins)
      return ins.takeError();
    llvm::Expected<llvm::Constant *> outs = table(spec.outputs, "outputs");
    if (!outs)
      return outs.takeError();
    llvm::Function *error = m.getFunction(p + "_error");
    b.CreateRet(b.CreateCall(
        declare("qtc_exe_main", i32, {i32, ptr, ptr, i32, ptr, i32, ptr, ptr, ptr}),
        {mainFn->getArg(0), mainFn->getArg(1), *ins,
         b.getInt32(spec.inputs.size()), *outs, b.getInt32(spec.outputs.size()),
         run, error,
         loadWeights ? static_cast<llvm::Value *>(loadWeights)
                     : llvm::ConstantPointerNull::get(b.getPtrTy())}));
  }
  return llvm::Error::success();
}

llvm::Error mlir::qt::optimizeModule(llvm::Module &m, llvm::TargetMachine &tm) {
  return mlir::makeOptimizingTransformer(3, 0, &tm)(&m);
}

llvm::Expected<std::vector<std::unique_ptr<llvm::MemoryBuffer>>>
mlir::qt::compileToObjects(std::unique_ptr<llvm::Module> m,
                           const CPUTarget &target, unsigned threads) {
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects;
  unsigned defined = 0;
  for (llvm::Function &f : *m)
    defined += !f.isDeclaration();
  if (threads <= 1 || defined < 2 * threads) {
    llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> obj =
        optimizeAndEmit(*m, target, "qtc-model.o");
    if (!obj)
      return obj.takeError();
    objects.push_back(std::move(*obj));
    return objects;
  }
  // Partitions as bitcode, so that each thread reads its own into a
  // context of its own (an LLVMContext is not shared between threads).
  std::vector<llvm::SmallVector<char, 0>> bitcode;
  llvm::SplitModule(
      *m, threads,
      [&](std::unique_ptr<llvm::Module> part) {
        llvm::SmallVector<char, 0> bytes;
        llvm::raw_svector_ostream os(bytes);
        llvm::WriteBitcodeToFile(*part, os);
        bitcode.push_back(std::move(bytes));
      },
      /*PreserveLocals=*/false, /*RoundRobin=*/true);
  m.reset();
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> results(bitcode.size());
  std::vector<std::string> errors(bitcode.size());
  {
    llvm::DefaultThreadPool pool(llvm::hardware_concurrency(threads));
    for (size_t i = 0; i < bitcode.size(); ++i)
      pool.async([&, i] {
        llvm::LLVMContext context;
        llvm::Expected<std::unique_ptr<llvm::Module>> part = llvm::parseBitcodeFile(
            llvm::MemoryBufferRef(
                llvm::StringRef(bitcode[i].data(), bitcode[i].size()),
                "partition"),
            context);
        if (!part) {
          errors[i] = llvm::toString(part.takeError());
          return;
        }
        llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> obj = optimizeAndEmit(
            **part, target, "qtc-model-" + std::to_string(i) + ".o");
        if (!obj) {
          errors[i] = llvm::toString(obj.takeError());
          return;
        }
        results[i] = std::move(*obj);
      });
    pool.wait();
  }
  for (const std::string &e : errors)
    if (!e.empty())
      return llvm::createStringError(e);
  return results;
}
