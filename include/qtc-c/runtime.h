/*===- runtime.h - settings of qtc's runtime ------------------------------===*
 *
 * Functions of the runtime every compiled model links (runtime/), callable
 * by programs that load a model built by `qtc compile --emit shared|obj`.
 *
 *===----------------------------------------------------------------------===*/

#ifndef QTC_C_RUNTIME_H
#define QTC_C_RUNTIME_H

#ifdef __cplusplus
extern "C" {
#endif

/* Threads of the pool that runs the model's parallel loops (the weight
 * tiles of quantized matmuls), the calling thread included. Default: the
 * environment variable QTC_NUM_THREADS, else the number of online
 * processors. Set it before a call of qtc_model_run, not during one;
 * values are clamped to [1, 256]. */
void qtc_set_num_threads(int threads);
int qtc_get_num_threads(void);

/* The team size of the parallel regions the calling thread starts from now
 * on, overriding qtc_set_num_threads for this thread alone (0: back to the
 * default). The C API sets it around each run of a model with its own
 * thread count. */
void qtc_set_call_threads(int threads);

/* Models may run on any number of threads at once: the pool serves one
 * parallel region at a time, and a region started while the pool is busy
 * runs on its calling thread alone, with the same results. */

#ifdef __cplusplus
}
#endif

#endif /* QTC_C_RUNTIME_H */
