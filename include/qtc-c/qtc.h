/*===- qtc.h - qtc, the compiler for quantized transformers, as a library ---===*
 *
 * Compile a model in this process and run it, or load a library that
 * `qtc compile --emit shared` built, through one C interface:
 *
 *   qtc_compiler_options *o = qtc_compiler_options_create();
 *   qtc_compiler_options_set(o, "dim", "batch=1", NULL);
 *   qtc_compiler_options_set(o, "quantize", "w4", NULL);
 *   qtc_model *m = NULL;
 *   qtc_status *s = NULL;
 *   if (qtc_model_compile("model.onnx", o, &m, &s) != QTC_OK) {
 *     fprintf(stderr, "%s\n", qtc_status_message(s));
 *     qtc_status_free(s);
 *   }
 *   qtc_compiler_options_destroy(o);
 *   ... qtc_model_run(m, inputs, n_in, outputs, n_out, &s) ...
 *   qtc_model_free(m);
 *
 * The model is compiled and linked in-process (LLVM's ORC JIT): no
 * subprocess, no file written. Link with -lqtc (build/lib/libqtc.so).
 *
 * Conventions
 *  - Every call that can fail returns a qtc_status_code and, when `status`
 *    is not NULL, sets *status: NULL on success, else a status object whose
 *    message is one line naming the argument (or the model's file, node or
 *    op) and what was expected. Free it with qtc_status_free.
 *  - Handles are opaque. A NULL handle, or one already destroyed, is an
 *    error status (QTC_ERROR_INVALID_ARGUMENT), never a crash. (A destroyed
 *    handle whose memory a newer handle of the same kind reuses cannot be
 *    told apart from that newer handle.)
 *  - There is no global state: compilations and models are independent,
 *    and any number may exist and run on different threads at once.
 *  - qtc_model_run may be called from any number of threads at once on one
 *    model; each call's results are the same bits as a call alone.
 *  - Strings returned by the library live as long as the handle they came
 *    from.
 *
 *===----------------------------------------------------------------------===*/

#ifndef QTC_C_QTC_H
#define QTC_C_QTC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this interface; qtc_api_version() returns the library's.
 * It grows by one with every incompatible change. */
#define QTC_API_VERSION 1

/* The largest rank of a model's input or output. */
#define QTC_MAX_RANK 8

typedef struct qtc_status qtc_status;
typedef struct qtc_compiler_options qtc_compiler_options;
typedef struct qtc_model qtc_model;

typedef enum {
  QTC_OK = 0,
  /* A NULL or destroyed handle, an unknown option key or a bad value, a
   * tensor of the wrong count, dtype, shape, layout or alignment. */
  QTC_ERROR_INVALID_ARGUMENT = 1,
  /* The model could not be imported, quantized, lowered or linked. */
  QTC_ERROR_COMPILE = 2,
  /* A library could not be loaded. */
  QTC_ERROR_LOAD = 3,
  /* The model could not run (e.g. its weights file is missing). */
  QTC_ERROR_RUN = 4,
} qtc_status_code;

/* Element types, as the model's ports declare them. */
typedef enum {
  QTC_DTYPE_FLOAT32 = 1,
  QTC_DTYPE_FLOAT16 = 2,
  QTC_DTYPE_BFLOAT16 = 3,
  QTC_DTYPE_FLOAT64 = 4,
  QTC_DTYPE_INT8 = 5,
  QTC_DTYPE_INT16 = 6,
  QTC_DTYPE_INT32 = 7,
  QTC_DTYPE_INT64 = 8,
  QTC_DTYPE_BOOL = 9,
} qtc_dtype;

/* A tensor over memory the caller owns. `dims` holds `rank` sizes.
 * `strides` is NULL for C order (row-major, contiguous), or holds `rank`
 * strides in elements, which must then describe C order too: models read
 * and write contiguous buffers. `data` must be aligned to the element
 * size. */
typedef struct {
  qtc_dtype dtype;
  int32_t rank;
  const int64_t *dims;
  const int64_t *strides;
  void *data;
} qtc_tensor;

/* QTC_API_VERSION of the library linked. */
int qtc_api_version(void);

/* Bytes per element of a dtype (0 for an unknown one). */
int qtc_dtype_size(qtc_dtype dtype);
/* "float32", "int64", ... (NULL for an unknown dtype). */
const char *qtc_dtype_name(qtc_dtype dtype);

/*===--- Status ---------------------------------------------------------===*/

/* QTC_OK for NULL. */
qtc_status_code qtc_status_code_of(const qtc_status *status);
/* One line; "" for NULL. */
const char *qtc_status_message(const qtc_status *status);
/* Frees a status; NULL is ignored. */
void qtc_status_free(qtc_status *status);

/*===--- Compiler options -----------------------------------------------===*/

/* Options with `qtc compile`'s defaults (NULL only when out of memory). */
qtc_compiler_options *qtc_compiler_options_create(void);

/* Sets an option by the name of its `qtc compile` flag, without dashes:
 * "dim" ("NAME=SIZE", repeatable), "input-shape", "batch", "seq", "past",
 * "target-triple", "target-cpu", "target-features", "strict-fp",
 * "outline-layers", "allow-unused-tensors", "name", "compile-threads",
 * "quantize" ("w4", "q4_1"),
 * "weight-bits" ("avg:3.5"), "group-size", "asym", "min", "grid", "tensor-type",
 * "calibration" (FILE.npz), "gptq", "rotate", "awq", "kv-cache-bits", ...
 * (see `qtc compile --help`). Flags take "true" / "false" (or ""). An
 * unknown key or a bad value is QTC_ERROR_INVALID_ARGUMENT naming it. */
qtc_status_code qtc_compiler_options_set(qtc_compiler_options *options,
                                         const char *key, const char *value,
                                         qtc_status **status);

/* Destroys options; NULL and destroyed handles are ignored. */
void qtc_compiler_options_destroy(qtc_compiler_options *options);

/*===--- Models ---------------------------------------------------------===*/

/* Compiles an ONNX file, a Hugging Face checkpoint folder or a .mlir file
 * in this process and links it for running (options may be NULL: the
 * defaults). The options are read, not kept. */
qtc_status_code qtc_model_compile(const char *path,
                                  const qtc_compiler_options *options,
                                  qtc_model **model, qtc_status **status);

/* Loads a shared library built by `qtc compile --emit shared` (with
 * --weights external, its side file maps on the first run). */
qtc_status_code qtc_model_load(const char *path, qtc_model **model,
                               qtc_status **status);

qtc_status_code qtc_model_num_inputs(const qtc_model *model, int *count,
                                     qtc_status **status);
qtc_status_code qtc_model_num_outputs(const qtc_model *model, int *count,
                                      qtc_status **status);

/* The port's name (lives as long as the model). */
qtc_status_code qtc_model_input_name(const qtc_model *model, int index,
                                     const char **name, qtc_status **status);
qtc_status_code qtc_model_output_name(const qtc_model *model, int index,
                                      const char **name, qtc_status **status);

/* The port's shape: on entry *rank is how many entries `dims` holds, on
 * return the port's rank, with its sizes in dims[0 .. rank-1]. */
qtc_status_code qtc_model_input_shape(const qtc_model *model, int index,
                                      int64_t *dims, int32_t *rank,
                                      qtc_status **status);
qtc_status_code qtc_model_output_shape(const qtc_model *model, int index,
                                       int64_t *dims, int32_t *rank,
                                       qtc_status **status);

qtc_status_code qtc_model_input_dtype(const qtc_model *model, int index,
                                      qtc_dtype *dtype, qtc_status **status);
qtc_status_code qtc_model_output_dtype(const qtc_model *model, int index,
                                       qtc_dtype *dtype, qtc_status **status);

/* Runs the model: `inputs` in input order, `outputs` (allocated by the
 * caller, written by the model) in output order, each with its port's
 * dtype and shape. Safe to call from several threads at once. */
qtc_status_code qtc_model_run(const qtc_model *model, const qtc_tensor *inputs,
                              int num_inputs, qtc_tensor *outputs,
                              int num_outputs, qtc_status **status);

/* Threads this model's parallel loops use, the calling thread included
 * (0: the default, the QTC_NUM_THREADS environment variable, else every
 * processor). Applies to later runs. */
qtc_status_code qtc_model_set_num_threads(qtc_model *model, int threads,
                                          qtc_status **status);

/* Frees a model (its code and weights); NULL and destroyed handles are
 * ignored. No run of it may be in progress. */
void qtc_model_free(qtc_model *model);

/*===--- Generation ------------------------------------------------------===*/

/* A decoder compiled for generating text: a prompt-chunk entry and a
 * decoding-step entry over a KV cache of `max_context` positions that the
 * generator owns and updates in place. Token ids in, next-token logits out;
 * tokenizing and sampling are the caller's (or `qtc generate`'s). Not
 * thread-safe: one generator per thread. */
typedef struct qtc_generator qtc_generator;

/* Compiles the decoder at `path` (a GGUF file or a checkpoint folder) with
 * `options` (may be NULL), a cache of `max_context` positions and prompt
 * chunks of `prefill_chunk` tokens (1: every token a decoding step). When
 * the environment variable QTC_CACHE_DIR names a folder, the compiled
 * entries are kept there as shared libraries keyed by the model files,
 * the options and this qtc build, and a later create() loads them instead
 * of compiling. */
qtc_status_code qtc_generator_create(const char *path,
                                     const qtc_compiler_options *options,
                                     int64_t max_context,
                                     int64_t prefill_chunk,
                                     qtc_generator **generator,
                                     qtc_status **status);

/* Runs `count` tokens from the current position (the cache keeps them).
 * Fails, running nothing, when they would not fit in the context or an id
 * is outside the vocabulary. */
qtc_status_code qtc_generator_append(qtc_generator *generator,
                                     const int32_t *tokens, int64_t count,
                                     qtc_status **status);

/* The logits of the last token appended (`*count` = the vocabulary size);
 * valid until the next append or reset. */
qtc_status_code qtc_generator_logits(const qtc_generator *generator,
                                     const float **logits, int64_t *count,
                                     qtc_status **status);

/* The number of cached positions, and the context size. */
qtc_status_code qtc_generator_position(const qtc_generator *generator,
                                       int64_t *position,
                                       int64_t *max_context,
                                       qtc_status **status);

/* Forgets the cached positions (a new sequence). */
qtc_status_code qtc_generator_reset(qtc_generator *generator,
                                    qtc_status **status);

/* Frees a generator; NULL and destroyed handles are ignored. */
void qtc_generator_free(qtc_generator *generator);

#ifdef __cplusplus
}
#endif

#endif /* QTC_C_QTC_H */
