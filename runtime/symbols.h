/*===- symbols.h - the runtime's entry points generated code calls --------===*
 *
 * X-macro list of every function of the runtime that compiled models call,
 * so that the in-process JIT (compiler/JIT.cpp) can bind them by name to
 * the runtime linked into the compiler library. Keep it in step with the
 * runtime's sources.
 *
 *===----------------------------------------------------------------------===*/

#ifndef QTC_RUNTIME_SYMBOLS_H
#define QTC_RUNTIME_SYMBOLS_H

#define QTC_RUNTIME_SYMBOLS(X)                                                 \
  /* alloc.c */                                                                \
  X(_mlir_memref_to_llvm_alloc)                                                \
  X(_mlir_memref_to_llvm_aligned_alloc)                                        \
  X(_mlir_memref_to_llvm_free)                                                 \
  /* memref.c */                                                               \
  X(memrefCopy)                                                                \
  /* parallel.c */                                                             \
  X(qtc_get_num_threads)                                                       \
  X(qtc_set_num_threads)                                                       \
  X(qtc_set_call_threads)                                                      \
  X(__kmpc_global_thread_num)                                                  \
  X(__kmpc_push_num_threads)                                                   \
  X(__kmpc_fork_call)                                                          \
  X(__kmpc_barrier)                                                            \
  X(__kmpc_for_static_init_8u)                                                 \
  X(__kmpc_for_static_init_8)                                                  \
  X(__kmpc_for_static_init_4u)                                                 \
  X(__kmpc_for_static_init_4)                                                  \
  X(__kmpc_for_static_fini)                                                    \
  X(omp_get_thread_num)                                                        \
  X(omp_get_num_threads)                                                       \
  /* weights.c */                                                              \
  X(qtc_weights_load)                                                          \
  X(qtc_weights_ensure)                                                        \
  X(qtc_weights_error)

#endif /* QTC_RUNTIME_SYMBOLS_H */
