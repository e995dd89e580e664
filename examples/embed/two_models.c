/*===- two_models.c - two models in one process ----------------------------===*
 *
 *   two_models [REFERENCE.onnx|.so CANDIDATE.onnx|.so]
 *
 * Loads two models side by side (an .onnx is compiled in-process, an .so
 * built by `qtc compile --emit shared` is loaded), runs both on the same
 * inputs from two threads at once and compares their first output: by
 * default the bundled fp32 Llama-style model against its int4 version
 * (onnxruntime's MatMulNBits quantizer), so the figures are the int4
 * model's error. Build:
 *
 *   cc -I include examples/embed/two_models.c -L build/lib \
 *      -Wl,-rpath,build/lib -lqtc -lpthread -lm -o two_models
 *
 *===----------------------------------------------------------------------===*/

#include "qtc-c/qtc.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef QTC_SOURCE_DIR
#define QTC_SOURCE_DIR "."
#endif
#define FIXTURES QTC_SOURCE_DIR "/test/frontends/onnx/fixtures/"

typedef struct {
  qtc_model *model;
  int numIn, numOut;
  qtc_tensor *in, *out;
  int64_t (*dims)[QTC_MAX_RANK];
  qtc_status *status;
} Loaded;

static int openModel(const char *path, Loaded *m) {
  size_t n = strlen(path);
  if (n > 3 && !strcmp(path + n - 3, ".so"))
    return qtc_model_load(path, &m->model, &m->status);
  /* The fixtures' dim_params: one sequence of 6 tokens, no cache. */
  qtc_compiler_options *o = qtc_compiler_options_create();
  const char *dims[] = {"batch_size=1", "sequence_length=6",
                        "past_sequence_length=0", "total_sequence_length=6"};
  for (int i = 0; i < 4; ++i)
    qtc_compiler_options_set(o, "dim", dims[i], NULL);
  int code = qtc_model_compile(path, o, &m->model, &m->status);
  qtc_compiler_options_destroy(o);
  return code;
}

/* Buffers for every port; integer inputs get token-like values. */
static int allocate(Loaded *m) {
  qtc_model_num_inputs(m->model, &m->numIn, NULL);
  qtc_model_num_outputs(m->model, &m->numOut, NULL);
  m->in = calloc(m->numIn, sizeof(qtc_tensor));
  m->out = calloc(m->numOut, sizeof(qtc_tensor));
  m->dims = calloc(m->numIn + m->numOut, sizeof *m->dims);
  for (int i = 0; i < m->numIn + m->numOut; ++i) {
    int isIn = i < m->numIn, k = isIn ? i : i - m->numIn;
    qtc_tensor *t = isIn ? &m->in[k] : &m->out[k];
    int32_t rank = QTC_MAX_RANK;
    if ((isIn ? qtc_model_input_shape(m->model, k, m->dims[i], &rank, &m->status)
              : qtc_model_output_shape(m->model, k, m->dims[i], &rank, &m->status)) ||
        (isIn ? qtc_model_input_dtype(m->model, k, &t->dtype, &m->status)
              : qtc_model_output_dtype(m->model, k, &t->dtype, &m->status)))
      return 1;
    size_t count = 1;
    for (int32_t d = 0; d < rank; ++d)
      count *= (size_t)m->dims[i][d];
    t->rank = rank;
    t->dims = m->dims[i];
    t->data = calloc(count ? count : 1, (size_t)qtc_dtype_size(t->dtype));
    if (isIn && t->dtype == QTC_DTYPE_INT64) {
      const char *name = NULL;
      qtc_model_input_name(m->model, k, &name, NULL);
      int64_t *v = t->data;
      int64_t last = rank ? m->dims[i][rank - 1] : 1;
      for (size_t e = 0; e < count; ++e)
        v[e] = !strcmp(name, "attention_mask") ? 1
               : !strcmp(name, "position_ids") ? (int64_t)(e % (size_t)last)
                                                : (int64_t)((e * 13 + 5) % 100);
    }
  }
  return 0;
}

static void *run(void *arg) {
  Loaded *m = arg;
  qtc_model_run(m->model, m->in, m->numIn, m->out, m->numOut, &m->status);
  return NULL;
}

int main(int argc, char **argv) {
  const char *paths[2] = {FIXTURES "llama_tiny.onnx",
                          FIXTURES "llama_tiny_int4_matmulnbits.onnx"};
  if (argc == 3) {
    paths[0] = argv[1];
    paths[1] = argv[2];
  }
  Loaded m[2];
  memset(m, 0, sizeof m);
  for (int i = 0; i < 2; ++i)
    if (openModel(paths[i], &m[i]) || allocate(&m[i])) {
      fprintf(stderr, "error: %s\n", qtc_status_message(m[i].status));
      return 1;
    }
  printf("loaded %s and %s\n", paths[0], paths[1]);
  pthread_t threads[2];
  for (int i = 0; i < 2; ++i)
    pthread_create(&threads[i], NULL, run, &m[i]);
  for (int i = 0; i < 2; ++i)
    pthread_join(threads[i], NULL);
  for (int i = 0; i < 2; ++i)
    if (m[i].status) {
      fprintf(stderr, "error: %s\n", qtc_status_message(m[i].status));
      return 1;
    }
  /* The first outputs side by side. */
  const char *name = NULL;
  qtc_model_output_name(m[0].model, 0, &name, NULL);
  size_t count = 1;
  for (int32_t d = 0; d < m[0].out[0].rank; ++d)
    count *= (size_t)m[0].out[0].dims[d];
  if (m[0].out[0].dtype != QTC_DTYPE_FLOAT32 || m[1].out[0].dtype != QTC_DTYPE_FLOAT32 ||
      m[1].out[0].rank != m[0].out[0].rank ||
      memcmp(m[0].out[0].dims, m[1].out[0].dims, sizeof(int64_t) * (size_t)m[0].out[0].rank)) {
    fprintf(stderr, "error: the models' first outputs differ in type or shape\n");
    return 1;
  }
  const float *a = m[0].out[0].data, *b = m[1].out[0].data;
  double dot = 0, aa = 0, bb = 0, maxDiff = 0;
  for (size_t e = 0; e < count; ++e) {
    dot += (double)a[e] * b[e];
    aa += (double)a[e] * a[e];
    bb += (double)b[e] * b[e];
    double d = fabs((double)a[e] - b[e]);
    if (d > maxDiff)
      maxDiff = d;
  }
  printf("%s: cosine %.6f, max |difference| %.4g over %zu values\n", name,
         dot / sqrt(aa * bb), maxDiff, count);
  for (int i = 0; i < 2; ++i) {
    for (int k = 0; k < m[i].numIn; ++k)
      free(m[i].in[k].data);
    for (int k = 0; k < m[i].numOut; ++k)
      free(m[i].out[k].data);
    free(m[i].in);
    free(m[i].out);
    free(m[i].dims);
    qtc_model_free(m[i].model);
  }
  return 0;
}
