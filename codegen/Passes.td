//===- Passes.td - the CPU backend's passes ----------------------*- tablegen -*-===//

#ifndef QTC_CODEGEN_PASSES_TD
#define QTC_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

def QTEmitCInterface : Pass<"qt-emit-c-interface", "::mlir::ModuleOp"> {
  let summary = "Gives every public function a C entry over memref descriptors";
  let description = [{
    Marks each public `func.func` with a body `llvm.emit_c_interface`, so
    that the conversion to the LLVM dialect also emits
    `_mlir_ciface_<name>`, which takes one pointer per memref descriptor:
    the function the generated entry points (`NAME_run`) and the JIT call.
    First stage of qt-cpu-pipeline.
  }];
}

def QTTileQuantizedMatmul : Pass<"qt-tile-quantized-matmul"> {
  let summary = "Tiles quantized matmuls into L1-sized weight panels";
  let description = [{
    A `qt.quantized_matmul` with static shapes and at least `min-rows` rows
    is split into tiles of its weight matrix: for each block of `tn` output
    features and `tk` input features, the block's codes are decoded once by
    a tile-sized `qt.dequantize` into a real-valued panel in L1, which is
    then multiplied with every row. Decoding thus runs once per weight and
    call, as a dense loop LLVM vectorizes, and is amortized over the rows;
    the full real-valued matrix is never built. A matmul whose single tile
    would be the whole matrix is left to the fused lowering
    (`convert-qt-to-linalg` decodes codes inside the contraction), as are
    matmuls with dynamic shapes.

    On this repository's reference machine (docs/performance.md) the panel
    form is faster than the fused one at every row count measured, a single
    row included, hence `min-rows` = 1.

    The n tiles write disjoint columns and form an `scf.forall`, which
    `qt-cpu-pipeline` runs on the runtime's thread pool; a matmul of fewer
    than `parallel-min-macs` multiply-accumulates gets plain `scf.for`
    loops instead, since forking the pool would cost more than it saves.
    Real-valued `linalg.matmul`s with static shapes and at least
    `parallel-min-macs` multiply-accumulates are tiled the same way along N
    (K x tn weights filling half of L1), through the TilingInterface, so
    that fp32 models use the pool too.

    The contractions are written as register-blocked vector code, since
    LLVM, unable to rule out that the output aliases an input, vectorizes
    the scalar loop nests poorly:

    - a quantized tile, and an f32 `linalg.matmul` reading B as (n, k) (a
      Hugging Face Linear), become dot products over blocks of up to 4 rows
      x 4 columns: 16 accumulator vectors of `vector-bits` / 32 lanes run
      over k, each reduced once. Splitting sums into lanes reorders them,
      so only with `reassociate` (qtc compile --strict-fp turns it off;
      then the tile stays a linalg.generic);
    - an f32 `linalg.matmul` reading B as (k, n) (ONNX MatMul's [K, N]
      weights) loops over (m, k, n) with up to 4 rows of 4-16-column
      accumulator vectors, adding broadcast A[m, k] times a row piece of B
      per step: the sum keeps linalg's order. Narrower than 4 columns it
      stays a generic over (m, k, n);
    - an i32 `linalg.matmul` of two widened 8-bit operands minus rank-0
      zero points (ONNX MatMulInteger) whose B codes are a constant, on a
      target with an int8 dot product instruction (`int8-dot`: AVX-512
      VNNI or AVX-VNNI `vpdpbusd`, 4 unsigned x signed byte products summed
      into each i32 lane): B is repacked at compile time so that one vector
      holds 4 consecutive k of each of 16 (8) columns, its column sums
      become a constant, and the kernel accumulates broadcast 4-byte pieces
      of A's row against it, 4 rows x 2 vectors of columns at a time. The
      zero points come back as row- and column-sum corrections; signed A
      and unsigned B are shifted by 128 into the instruction's ranges.
      Integer sums are exact, so results are bit-identical to the generic.

    Tile sizes come from the target: `tk` is about 16 vectors of the
    widest vector register (`vector-bits`), rounded to whole groups and
    bytes and dividing K; `tn` fills half of the L1 data cache (`l1-bytes`)
    with the panel and divides N. 0 for either means the host's value.

    ```mlir
    %y = qt.quantized_matmul %x, %w, %s {format = #qt.packed<si4, group_size = 32, scale = f16>}
        : tensor<64x1024xf32>, tensor<1024x512xi8>, tensor<1024x32xf16> -> tensor<64x1024xf32>
    ```

    becomes (`l1-bytes=49152 vector-bits=512`: tk = 256, tn = 24 does not
    divide 1024, so tn = 16)

    ```mlir
    %y = scf.forall (%t) in (64) shared_outs(%out = %zeros) {
      %n0 = arith.muli %t, %c16 : index
      %yt = tensor.extract_slice %out[0, %n0] [64, 16] [1, 1]
      %r = scf.for %k0 = %c0 to %c1024 step %c256 iter_args(%acc = %yt) {
        %panel = qt.dequantize %w_tile, %s_tile {format = ...}
            : tensor<16x128xi8>, tensor<16x8xf16> -> tensor<16x256xf32>
        %next = scf.for %m0 ... {        // acc += x . panel^T, register-blocked
          scf.for %j0 ... { scf.for %kk ... -> (vector<16xf32> x 16) ... vector.reduction <add> ... }
        }
        scf.yield %next
      }
      scf.forall.in_parallel {
        tensor.parallel_insert_slice %r into %out[0, %n0] [64, 16] [1, 1]
      }
    }
    ```
  }];
  let dependentDialects = ["::mlir::qt::QTDialect", "::mlir::scf::SCFDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
  let options = [
    Option<"l1Bytes", "l1-bytes", "int64_t", /*default=*/"0",
           "L1 data cache size in bytes (0: the host's)">,
    Option<"vectorBits", "vector-bits", "int64_t", /*default=*/"0",
           "Widest vector register in bits (0: the host's)">,
    Option<"parallelMinMacs", "parallel-min-macs", "int64_t",
           /*default=*/"4194304",
           "Share tiles out to the thread pool only from this many "
           "multiply-accumulates on (smaller matmuls run on the calling "
           "thread)">,
    Option<"minRows", "min-rows", "int64_t", /*default=*/"1",
           "Tile only matmuls with at least this many rows (larger values "
           "keep the fused lowering for decoding steps)">,
    Option<"int8Dot", "int8-dot", "std::string", /*default=*/"\"auto\"",
           "int8 dot product instruction for MatMulInteger: avx512vnni, "
           "avxvnni, none, or auto (the host's)">,
    Option<"reassociate", "reassociate", "bool", /*default=*/"true",
           "Let the quantized tile contraction split its sums into vector "
           "lanes (register-blocked; false keeps each dot product in order)">,
    Option<"gridLookup", "grid-lookup", "std::string", /*default=*/"\"auto\"",
           "How few-row tiles look up codes on a non-uniform grid: permute "
           "(x86 vpermps on 8 or 16 lanes), select (a tree of selects, any "
           "target), or auto (permute when the host has AVX2 / AVX-512 of "
           "the vector width)">
  ];
}

def QTOutlineLayers : Pass<"qt-outline-layers", "::mlir::ModuleOp"> {
  let summary = "Compiles repeated layers once: each becomes a call of a shared function";
  let description = [{
    A transformer repeats one layer with other weights, and everything after
    this pass (the lowering, bufferization and all of LLVM) costs time per
    op. For each public function with one block, the ops are grouped by the
    layer their location names (a path component `layers.N`, `layer.N`,
    `h.N`, `blocks.N` or `block.N`, as exporters and the checkpoint builders
    name nodes). When the groups' spans do not interleave, each span (every
    op from a layer's first to its last, constants aside) moves into a
    private function (noinline) called in its place: constants whose data
    is large (weights, tables) stay in the caller and become arguments;
    small ones and splats are cloned into the function. Functions whose
    bodies print the same (the same ops, types and small constants) are
    then merged, so a model of N identical layers keeps one layer function
    called N times.

    Any contiguous span of a block can be outlined without changing what
    the program computes, so names only decide how much is shared: a
    model without layer names, or whose layers interleave, is left as it
    is. Runs after qt-tile-quantized-matmul, which repacks constant weights.

    ```mlir
    %w0 = arith.constant dense_resource<w0> : tensor<64x64xf32>
    %w1 = arith.constant dense_resource<w1> : tensor<64x64xf32>
    %h1 = call @layer(%x, %w0) : (...) -> tensor<8x64xf32>
    %h2 = call @layer(%h1, %w1) : (...) -> tensor<8x64xf32>
    ```
  }];
  let options = [
    Option<"minLayers", "min-layers", "unsigned", /*default=*/"2",
           "Outline only functions with at least this many layers">,
    Option<"maxInlineBytes", "max-inline-bytes", "int64_t", /*default=*/"512",
           "Constants of at most this many bytes are cloned into the layer "
           "function; larger ones are passed in">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Emit a remark with the layers outlined, or why none were">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def QTConstantGlobals : Pass<"qt-constant-globals", "::mlir::ModuleOp"> {
  let summary = "Gives tensor constants their memref.global in program order";
  let description = [{
    One-shot bufferization makes a `memref.global` for every tensor constant
    as it reaches it, and it reaches a module's functions in an order kept
    in a pointer-keyed map: with several functions (outlined layers), two
    compiles of the same module named and ordered the globals differently.
    This pass makes them first, walking the module in order, with
    bufferization's own helper, which bufferization then finds and reuses:
    the output is the same on every run. Runs right before
    one-shot-bufferize.
  }];
  let options = [
    Option<"alignment", "alignment", "uint64_t", /*default=*/"64",
           "Alignment of the globals: one-shot-bufferize's buffer-alignment">,
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def QTLowerInt8Dot : Pass<"qt-lower-int8-dot"> {
  let summary = "Lowers qt.int8_dot and qt.lookup to x86 intrinsics or to "
                "vector arithmetic";
  let description = [{
    `qt.int8_dot` on vectors of 4, 8 or 16 i32 lanes becomes a call of the
    LLVM intrinsic `llvm.x86.avx512.vpdpbusd.{128,256,512}` (which LLVM
    selects as the AVX-512 VNNI or AVX-VNNI instruction); other lane counts,
    or all with `intrinsic=false`, become four shuffles picking byte j of
    every group and widening multiply-adds, which any target runs.
    `qt.lookup` becomes `llvm.x86.avx512.permvar.sf.512` (16 lanes) or
    `llvm.x86.avx2.permps` (8 lanes), one vpermps; with `intrinsic=false`,
    a tree of selects on the index bits. Runs after bufferization: the
    intrinsic call's memory effects are unknown to it.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::LLVM::LLVMDialect"];
  let options = [
    Option<"intrinsic", "intrinsic", "bool", /*default=*/"true",
           "Use the x86 intrinsic (false: portable vector arithmetic)">
  ];
}

def QTApproximateMath : Pass<"qt-approximate-math"> {
  let summary = "Replaces f32 erf, exp and tanh by polynomial approximations";
  let description = [{
    `math.erf`, `math.exp` and `math.tanh` on f32 (scalars or vectors)
    become MLIR's polynomial approximations (upstream
    `populateMathPolynomialApproximationPatterns`): plain arithmetic that
    LLVM vectorizes, where libm calls (`erff`, `expf`) keep GELU, SiLU and
    softmax loops scalar; a profile of all-MiniLM-L6-v2 spent 13 % of its
    time in `erff` and 5 % in `expf`. The approximations differ from libm
    in the last bits, so `qt-cpu-pipeline` runs this pass only when sums may
    be reassociated (not under `qtc compile --strict-fp`).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def QTParallelizeLoops : Pass<"qt-parallelize-loops"> {
  let summary = "Splits large linalg ops into chunks run on the thread pool";
  let description = [{
    Every linalg op directly in a function body (not inside a loop), with
    tensor semantics and static loop ranges, whose iteration space has at
    least `min-iterations` points, is tiled along its first parallel loop
    of two or more iterations into at most `chunks` equal pieces under an
    `scf.forall` (the piece is the smallest divisor of the range that gives
    at most `chunks` of them, so each keeps static shapes). `qt-cpu-pipeline`
    turns the forall into an OpenMP region, run by the runtime's thread
    pool. `linalg.matmul` (tiled by `qt-tile-quantized-matmul`) and
    `linalg.fill` are left alone; reductions are never split, so results
    do not depend on the number of threads.

    Before, only matmul tiles ran in parallel: on all-MiniLM-L6-v2 with
    int8 activations, 54 % of one thread's time was in the layer norms,
    GELU, softmax, attention products and activation quantization.
  }];
  let options = [
    Option<"minIterations", "min-iterations", "uint64_t", /*default=*/"32768",
           "Smallest iteration space split into chunks">,
    Option<"chunks", "chunks", "int64_t", /*default=*/"16",
           "Most pieces one op is split into">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::affine::AffineDialect"];
}

def QTPlanArena : Pass<"qt-plan-arena", "::mlir::func::FuncOp"> {
  let summary = "Places a function's temporary buffers in one arena at planned offsets";
  let description = [{
    Static memory planning: every `memref.alloc` directly in a function's
    body with a static shape, the identity layout and a byte-sized element
    type, whose buffer (and every view of it) stays inside the function,
    gets an offset in one arena allocated once per call. Two buffers share
    bytes only when their lifetimes, from the alloc to the body operation
    holding the last use of the buffer or of a view of it, do not overlap.
    Offsets are chosen largest buffer first, each at the lowest
    `alignment`-aligned offset free for its whole lifetime. Buffers smaller
    than `min-bytes` keep their own allocation: LLVM proves that separately
    allocated buffers do not alias, which keeps small accumulators in
    registers, and views into one arena lose that.

    Runs after bufferization (with results already turned into
    out-parameters) and before the deallocation pipeline, which then frees
    the arena at the end of the call. Buffers allocated inside loops (the
    decoded panels of the tiled matmuls, one per thread) are left alone.

    Before:

    ```mlir
    %a = memref.alloc() {alignment = 64 : i64} : memref<1024xf32>
    linalg.fill ins(%c : f32) outs(%a : memref<1024xf32>)
    linalg.copy ins(%a : memref<1024xf32>) outs(%out : memref<1024xf32>)
    %b = memref.alloc() {alignment = 64 : i64} : memref<1024xf32>
    ...
    ```

    After (`%a` is dead before `%b` is allocated: same bytes):

    ```mlir
    %arena = memref.alloc() {alignment = 64 : i64} : memref<4096xi8>
    %a = memref.view %arena[%c0][] : memref<4096xi8> to memref<1024xf32>
    ...
    %b = memref.view %arena[%c0][] : memref<4096xi8> to memref<1024xf32>
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
  let options = [
    Option<"minBytes", "min-bytes", "uint64_t", /*default=*/"4096",
           "Smallest buffer placed in the arena">,
    Option<"alignment", "alignment", "uint64_t", /*default=*/"64",
           "Alignment of every offset in the arena (a power of two)">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Emit a remark per function: buffers placed, their total size "
           "and the arena's">,
  ];
}

def QTExternalizeWeights : Pass<"qt-externalize-weights", "::mlir::ModuleOp"> {
  let summary = "Moves constant weights of an LLVM-dialect module into a side file";
  let description = [{
    Runs on the output of `qt-cpu-pipeline` (the LLVM dialect). Every private
    constant `llvm.mlir.global` of at least `min-bytes` bytes whose value is
    a dense or `dense_resource` array of whole-byte elements, and whose only
    uses are `llvm.mlir.addressof` in functions, is written to `file` (64-byte
    aligned, after a page-aligned header; the format is in runtime/README.md)
    and replaced by a pointer global: each `llvm.mlir.addressof @w` becomes
    a load of `@w_qtc_ptr`. The pass adds

    - `llvm.func @qtc_weights_bind(%base: !llvm.ptr)`, which points every
      `_qtc_ptr` global into the mapped file's data region, and
    - `@qtc_weights_id` / `@qtc_weights_bytes` (i64 constants): the data's
      hash and size, which the runtime checks against the file's header
      before binding it, so a side file from another compile is refused.

    Weights are then memory-mapped at run time (runtime/weights.c) instead
    of living in the object: the library stays small, pages load on demand
    and processes that run the same model share them.

    Before:

    ```mlir
    llvm.mlir.global private constant @w(dense_resource<w> : tensor<64x64xi8>) : !llvm.array<64 x array<64 x i8>>
    %p = llvm.mlir.addressof @w : !llvm.ptr
    ```

    After:

    ```mlir
    llvm.mlir.global internal @w_qtc_ptr() : !llvm.ptr { ... llvm.mlir.zero ... }
    %a = llvm.mlir.addressof @w_qtc_ptr : !llvm.ptr
    %p = llvm.load %a : !llvm.ptr -> !llvm.ptr
    ```
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
  let options = [
    Option<"file", "file", "std::string", /*default=*/"\"\"",
           "Path of the side file to write (required)">,
    Option<"minBytes", "min-bytes", "int64_t", /*default=*/"1024",
           "Smaller constants stay in the object">,
    Option<"prefix", "prefix", "std::string", /*default=*/"\"qtc\"",
           "Symbols: <prefix>_weights_data, _id, _bytes (qtc compile uses "
           "its --name)">
  ];
}

def ConvertQTToLinalg : Pass<"convert-qt-to-linalg"> {
  let summary = "Lowers qt ops to linalg on tensors (first backend stage)";
  let description = [{
    Rewrites qt ops into linalg, tensor, arith and math ops on tensors, ready
    for bufferization and the CPU backend's later stages:

    - `qt.quantized_matmul` becomes one `linalg.generic` over (m, n, k) whose
      body reads the packed byte(s) of code (n, k), unpacks, subtracts the
      zero point and scales it in registers before the multiply-accumulate:
      no real-valued copy of the weight matrix is ever built;
    - `qt.dequantize` becomes the same decoding producing the [N, K] tensor
      (that is what it asks for);
    - `qt.gelu` / `qt.silu` become `linalg.map` with `math` ops;
    - `qt.rms_norm` / `qt.layer_norm` become reductions over the last
      dimension and maps, accumulating in the input's type;
    - `qt.attention` becomes q.k^T per head (grouped heads through the
      key/value head index h / group), scaling, masks (additive, boolean,
      causal from the cache length), a softmax over keys and .v, with the
      present key/value the cache concatenated with the new entries;
    - `qt.rotary_embedding` and `qt.embedding` (real or packed tables)
      become element-wise generics that gather what they read.

    `qt.dynamic_quantize` has no lowering yet and is left in place.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // QTC_CODEGEN_PASSES_TD
