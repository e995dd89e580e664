/*===- compile_and_run.c - compile a model at run time and run it ----------===*
 *
 *   compile_and_run [MODEL.onnx]
 *
 * Compiles the bundled 4-bit Llama-style model (or MODEL.onnx, whose
 * dimensions it binds the same way) in this process through libqtc,
 * greedily extends a short token sequence one token at a time, and prints
 * the tokens and the time per step. Build:
 *
 *   cc -I include examples/embed/compile_and_run.c -L build/lib \
 *      -Wl,-rpath,build/lib -lqtc -o compile_and_run
 *
 *===----------------------------------------------------------------------===*/

#include "qtc-c/qtc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef QTC_SOURCE_DIR
#define QTC_SOURCE_DIR "."
#endif

enum { kTokens = 8 };

static int failed(qtc_status *s) {
  fprintf(stderr, "error: %s\n", qtc_status_message(s));
  qtc_status_free(s);
  return 1;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  const char *path =
      argc > 1 ? argv[1]
               : QTC_SOURCE_DIR
      "/test/frontends/onnx/fixtures/llama_tiny_int4_matmulnbits.onnx";
  qtc_status *s = NULL;

  /* One sequence, the whole context at once (no cache): the dims of the
   * ONNX export's dim_params. */
  char dim[64];
  qtc_compiler_options *options = qtc_compiler_options_create();
  const char *fixed[] = {"batch_size=1", "past_sequence_length=0"};
  for (int i = 0; i < 2; ++i)
    if (qtc_compiler_options_set(options, "dim", fixed[i], &s))
      return failed(s);
  snprintf(dim, sizeof dim, "sequence_length=%d", kTokens);
  if (qtc_compiler_options_set(options, "dim", dim, &s))
    return failed(s);
  snprintf(dim, sizeof dim, "total_sequence_length=%d", kTokens);
  if (qtc_compiler_options_set(options, "dim", dim, &s))
    return failed(s);

  double t0 = now();
  qtc_model *model = NULL;
  if (qtc_model_compile(path, options, &model, &s))
    return failed(s);
  qtc_compiler_options_destroy(options);
  printf("compiled %s in %.2f s\n", path, now() - t0);

  /* Buffers for every port, found from the model's description. */
  int numIn = 0, numOut = 0;
  qtc_model_num_inputs(model, &numIn, NULL);
  qtc_model_num_outputs(model, &numOut, NULL);
  qtc_tensor *in = calloc(numIn, sizeof *in), *out = calloc(numOut, sizeof *out);
  int64_t(*dims)[QTC_MAX_RANK] = calloc(numIn + numOut, sizeof *dims);
  int64_t *ids = NULL, *positions = NULL, *mask = NULL;
  float *logits = NULL;
  int64_t vocab = 0;
  for (int i = 0; i < numIn + numOut; ++i) {
    int isIn = i < numIn, k = isIn ? i : i - numIn;
    qtc_tensor *t = isIn ? &in[k] : &out[k];
    const char *name = NULL;
    int32_t rank = QTC_MAX_RANK;
    if ((isIn ? qtc_model_input_shape(model, k, dims[i], &rank, &s)
              : qtc_model_output_shape(model, k, dims[i], &rank, &s)) ||
        (isIn ? qtc_model_input_dtype(model, k, &t->dtype, &s)
              : qtc_model_output_dtype(model, k, &t->dtype, &s)) ||
        (isIn ? qtc_model_input_name(model, k, &name, &s)
              : qtc_model_output_name(model, k, &name, &s)))
      return failed(s);
    size_t bytes = (size_t)qtc_dtype_size(t->dtype);
    for (int32_t d = 0; d < rank; ++d)
      bytes *= (size_t)dims[i][d];
    t->rank = rank;
    t->dims = dims[i];
    t->data = calloc(bytes ? bytes : 1, 1);
    if (!strcmp(name, "input_ids"))
      ids = t->data;
    else if (!strcmp(name, "position_ids"))
      positions = t->data;
    else if (!strcmp(name, "attention_mask"))
      mask = t->data;
    else if (!strcmp(name, "logits")) {
      logits = t->data;
      vocab = dims[i][rank - 1];
    }
  }
  if (!ids || !logits) {
    fprintf(stderr, "error: %s has no input_ids or logits\n", path);
    return 1;
  }

  /* Greedy decoding over a fixed window: the first 3 tokens are given, each
   * step appends the most likely next token (masked-out positions are
   * padding the model does not attend to). */
  int length = 3;
  for (int i = 0; i < kTokens; ++i) {
    ids[i] = i < length ? 10 + 7 * i : 0;
    if (positions)
      positions[i] = i;
  }
  printf("tokens:");
  for (int i = 0; i < length; ++i)
    printf(" %lld", (long long)ids[i]);
  fflush(stdout);
  double stepTime = 0;
  for (; length < kTokens; ++length) {
    if (mask)
      for (int i = 0; i < kTokens; ++i)
        mask[i] = i < length;
    double t1 = now();
    if (qtc_model_run(model, in, numIn, out, numOut, &s))
      return failed(s);
    stepTime += now() - t1;
    const float *row = logits + (length - 1) * vocab;
    int64_t best = 0;
    for (int64_t v = 1; v < vocab; ++v)
      if (row[v] > row[best])
        best = v;
    ids[length] = best;
    printf(" %lld", (long long)best);
    fflush(stdout);
  }
  printf("\n%d steps, %.3f ms per step\n", kTokens - 3,
         1e3 * stepTime / (kTokens - 3));

  for (int i = 0; i < numIn; ++i)
    free(in[i].data);
  for (int i = 0; i < numOut; ++i)
    free(out[i].data);
  free(in);
  free(out);
  free(dims);
  qtc_model_free(model);
  return 0;
}
