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

#ifdef __cplusplus
}
#endif

#endif /* QTC_C_RUNTIME_H */
