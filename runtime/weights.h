/*===- weights.h - memory-mapped weight side files ------------------------===*
 *
 * A model compiled with `qtc compile --weights external` reads its large
 * constants from a side file (MODEL.weights) that these functions map and
 * check; the generated entry points (NAME_run, NAME_load_weights,
 * NAME_error; codegen/LLVM/Emit.cpp) call them. The file layout is in
 * runtime/README.md.
 *
 *===----------------------------------------------------------------------===*/

#ifndef QTC_RUNTIME_WEIGHTS_H
#define QTC_RUNTIME_WEIGHTS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One model's side file: zero-initialize (a static object is). Generated
 * code treats it as QTC_WEIGHTS_STATE_BYTES opaque bytes aligned to 8. */
typedef struct {
  const void *base; /* the mapped region once loaded, else NULL */
  int lock;
  char error[512]; /* the last failure, one line; "" if none */
} qtc_weights;

#define QTC_WEIGHTS_STATE_BYTES 528
#ifdef __cplusplus
static_assert(sizeof(qtc_weights) <= QTC_WEIGHTS_STATE_BYTES,
              "qtc_weights outgrew the state generated code reserves");
#else
_Static_assert(sizeof(qtc_weights) <= QTC_WEIGHTS_STATE_BYTES,
               "qtc_weights outgrew the state generated code reserves");
#endif

/* The last failure of `w`, one line ("" if none). */
const char *qtc_weights_error(const qtc_weights *w);

/* Checks that PATH's header matches `id` and `bytes` (what the compile
 * that produced the model wrote) and maps its data region over `region`,
 * the model's page-aligned qtc_weights_data (bytes rounded up to whole
 * pages). Returns 0, or 1 with w->error set. A model's weights are loaded
 * once: a second load fails. */
int qtc_weights_load(qtc_weights *w, const char *path, uint64_t id, uint64_t bytes,
                     void *region);

/* Binds the default side file unless already bound: the file that holds
 * `symbol` (a shared library; with `is_exe`, the running program) with
 * ".so" dropped and ".weights" appended. Returns 0 or 1 as above. */
int qtc_weights_ensure(qtc_weights *w, const void *symbol, int is_exe, uint64_t id,
                       uint64_t bytes, void *region);

#ifdef __cplusplus
}
#endif

#endif /* QTC_RUNTIME_WEIGHTS_H */
