/*===- capi_test.c - a C program written against include/qtc-c/qtc.h alone -===*
 *
 *   capi_test MODEL.onnx IN_DIR OUT_DIR SECOND.onnx|SECOND.so [OPTION=VALUE ...]
 *
 * Compiles MODEL in-process with the given compiler options, reads each
 * input from IN_DIR/NAME.bin (raw C-order data of the port's dtype and
 * shape), runs the model once and writes every output to OUT_DIR/NAME.bin
 * (compare.py checks them against onnxruntime). Then:
 *
 *  - 8 threads run the model 25 times each at once; every output must be
 *    bit-identical to the single run's;
 *  - a second model (compiled from SECOND.onnx with its own dims, or loaded
 *    from a library qtc compile built) lives beside the first, both run
 *    in turns and at once, and the first's outputs stay the same bits;
 *  - every call is tried with bad arguments: NULL and freed handles, wrong
 *    tensor counts, dtypes, ranks, shapes, strides, misaligned data, bad
 *    option keys and values, missing files; each must return an error
 *    status whose message names the argument.
 *
 * Prints one line per check and "N passed, M failed"; exits 1 if any failed.
 *
 *===----------------------------------------------------------------------===*/

#include "qtc-c/qtc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static void check(int ok, const char *what, const char *detail) {
  printf("%s %s%s%s\n", ok ? "OK" : "FAIL", what, detail && *detail ? ": " : "",
         detail ? detail : "");
  if (ok)
    ++passed;
  else
    ++failed;
}

/* An error status whose message contains `needle`. `statusOut` is the
 * address the call stored its status at (read once the call has run). */
static void expectError(qtc_status_code code, qtc_status **statusOut,
                        qtc_status_code want, const char *needle,
                        const char *what) {
  qtc_status *status = *statusOut;
  *statusOut = NULL;
  const char *message = qtc_status_message(status);
  int ok = code == want && status && qtc_status_code_of(status) == want &&
           strstr(message, needle) != NULL && strchr(message, '\n') == NULL;
  check(ok, what, message);
  qtc_status_free(status);
}

typedef struct {
  int count;
  qtc_tensor *tensors;
  int64_t (*dims)[QTC_MAX_RANK];
  size_t *bytes;
} Ports;

/* Tensors with buffers for every input or output port of `m`. */
static int makePorts(qtc_model *m, int inputs, Ports *p) {
  qtc_status *s = NULL;
  if ((inputs ? qtc_model_num_inputs(m, &p->count, &s)
              : qtc_model_num_outputs(m, &p->count, &s)) != QTC_OK) {
    fprintf(stderr, "%s\n", qtc_status_message(s));
    return 1;
  }
  p->tensors = calloc(p->count, sizeof(qtc_tensor));
  p->dims = calloc(p->count, sizeof *p->dims);
  p->bytes = calloc(p->count, sizeof(size_t));
  for (int i = 0; i < p->count; ++i) {
    int32_t rank = QTC_MAX_RANK;
    qtc_dtype dtype;
    if ((inputs ? qtc_model_input_shape(m, i, p->dims[i], &rank, &s)
                : qtc_model_output_shape(m, i, p->dims[i], &rank, &s)) != QTC_OK ||
        (inputs ? qtc_model_input_dtype(m, i, &dtype, &s)
                : qtc_model_output_dtype(m, i, &dtype, &s)) != QTC_OK) {
      fprintf(stderr, "%s\n", qtc_status_message(s));
      return 1;
    }
    size_t n = (size_t)qtc_dtype_size(dtype);
    for (int32_t d = 0; d < rank; ++d)
      n *= (size_t)p->dims[i][d];
    p->bytes[i] = n;
    p->tensors[i].dtype = dtype;
    p->tensors[i].rank = rank;
    p->tensors[i].dims = p->dims[i];
    p->tensors[i].strides = NULL;
    p->tensors[i].data = aligned_alloc(64, n ? (n + 63) / 64 * 64 : 64);
    memset(p->tensors[i].data, 0, n);
  }
  return 0;
}

static const char *portName(qtc_model *m, int inputs, int i) {
  const char *name = NULL;
  qtc_status *s = NULL;
  if (inputs)
    qtc_model_input_name(m, i, &name, &s);
  else
    qtc_model_output_name(m, i, &name, &s);
  qtc_status_free(s);
  return name ? name : "?";
}

static int readInputs(qtc_model *m, Ports *in, const char *dir) {
  for (int i = 0; i < in->count; ++i) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.bin", dir, portName(m, 1, i));
    FILE *f = fopen(path, "rb");
    if (!f || fread(in->tensors[i].data, 1, in->bytes[i], f) != in->bytes[i]) {
      fprintf(stderr, "cannot read %zu bytes from %s\n", in->bytes[i], path);
      if (f)
        fclose(f);
      return 1;
    }
    fclose(f);
  }
  return 0;
}

static int writeOutputs(qtc_model *m, Ports *out, const char *dir) {
  for (int i = 0; i < out->count; ++i) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.bin", dir, portName(m, 0, i));
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(out->tensors[i].data, 1, out->bytes[i], f) != out->bytes[i]) {
      fprintf(stderr, "cannot write %s\n", path);
      if (f)
        fclose(f);
      return 1;
    }
    fclose(f);
  }
  return 0;
}

static void freePorts(Ports *p) {
  for (int i = 0; i < p->count; ++i)
    free(p->tensors[i].data);
  free(p->tensors);
  free(p->dims);
  free(p->bytes);
}

/* Each thread runs the model on the shared inputs into outputs of its own
 * and compares them with the reference outputs. */
typedef struct {
  const qtc_model *model;
  Ports *inputs, *reference;
  int runs, mismatches, errors;
  char error[512];
} Job;

static void *runMany(void *arg) {
  Job *job = arg;
  Ports mine;
  mine.count = job->reference->count;
  mine.tensors = calloc(mine.count, sizeof(qtc_tensor));
  for (int i = 0; i < mine.count; ++i) {
    mine.tensors[i] = job->reference->tensors[i];
    mine.tensors[i].data = aligned_alloc(64, (job->reference->bytes[i] + 63) / 64 * 64 + 64);
  }
  for (int r = 0; r < job->runs; ++r) {
    for (int i = 0; i < mine.count; ++i)
      memset(mine.tensors[i].data, 0xff, job->reference->bytes[i]);
    qtc_status *s = NULL;
    if (qtc_model_run(job->model, job->inputs->tensors, job->inputs->count,
                      mine.tensors, mine.count, &s) != QTC_OK) {
      ++job->errors;
      snprintf(job->error, sizeof job->error, "%s", qtc_status_message(s));
      qtc_status_free(s);
      continue;
    }
    for (int i = 0; i < mine.count; ++i)
      if (memcmp(mine.tensors[i].data, job->reference->tensors[i].data,
                 job->reference->bytes[i]))
        ++job->mismatches;
  }
  for (int i = 0; i < mine.count; ++i)
    free(mine.tensors[i].data);
  free(mine.tensors);
  return NULL;
}

/* Runs `model` from `threads` threads at once; returns mismatches+errors. */
static int concurrent(const qtc_model *model, Ports *in, Ports *ref, int threads,
                      int runs, char *detail, size_t detailSize) {
  pthread_t tid[16];
  Job jobs[16];
  for (int t = 0; t < threads; ++t) {
    jobs[t] = (Job){model, in, ref, runs, 0, 0, ""};
    pthread_create(&tid[t], NULL, runMany, &jobs[t]);
  }
  int bad = 0, errors = 0;
  const char *error = "";
  for (int t = 0; t < threads; ++t) {
    pthread_join(tid[t], NULL);
    bad += jobs[t].mismatches;
    errors += jobs[t].errors;
    if (jobs[t].errors)
      error = jobs[t].error;
  }
  snprintf(detail, detailSize, "%d threads x %d runs, %d outputs differ, %d errors%s%s",
           threads, runs, bad, errors, *error ? ": " : "", error);
  return bad + errors;
}

int main(int argc, char **argv) {
  /* Line by line, so that what was printed survives a sanitizer's exit. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 5) {
    fprintf(stderr, "usage: %s MODEL.onnx IN_DIR OUT_DIR SECOND [KEY=VALUE ...]\n",
            argv[0]);
    return 2;
  }
  const char *modelPath = argv[1], *inDir = argv[2], *outDir = argv[3],
             *second = argv[4];
  check(qtc_api_version() == QTC_API_VERSION, "API version", NULL);

  /* Options: KEY=VALUE pairs; those before "--" are the first model's,
   * those after it the second's. */
  qtc_compiler_options *options = qtc_compiler_options_create(),
                       *secondOptions = qtc_compiler_options_create();
  qtc_compiler_options *current = options;
  for (int i = 5; i < argc; ++i) {
    if (!strcmp(argv[i], "--")) {
      current = secondOptions;
      continue;
    }
    char key[256];
    const char *eq = strchr(argv[i], '=');
    if (!eq || (size_t)(eq - argv[i]) >= sizeof key) {
      fprintf(stderr, "bad option %s\n", argv[i]);
      return 2;
    }
    memcpy(key, argv[i], (size_t)(eq - argv[i]));
    key[eq - argv[i]] = 0;
    qtc_status *s = NULL;
    if (qtc_compiler_options_set(current, key, eq + 1, &s) != QTC_OK) {
      fprintf(stderr, "%s\n", qtc_status_message(s));
      return 2;
    }
  }

  qtc_model *model = NULL;
  qtc_status *s = NULL;
  qtc_status_code code = qtc_model_compile(modelPath, options, &model, &s);
  check(code == QTC_OK && model, "compile in-process", qtc_status_message(s));
  qtc_status_free(s);
  if (!model)
    return 1;

  Ports in, out;
  if (makePorts(model, 1, &in) || makePorts(model, 0, &out) ||
      readInputs(model, &in, inDir))
    return 1;
  code = qtc_model_run(model, in.tensors, in.count, out.tensors, out.count, &s);
  check(code == QTC_OK, "run", qtc_status_message(s));
  qtc_status_free(s);
  if (code != QTC_OK || writeOutputs(model, &out, outDir))
    return 1;

  char detail[1024];
  check(concurrent(model, &in, &out, 8, 25, detail, sizeof detail) == 0,
        "8 threads at once, bit-identical", detail);
  qtc_model_set_num_threads(model, 1, NULL);
  check(concurrent(model, &in, &out, 2, 5, detail, sizeof detail) == 0,
        "one thread per run, bit-identical", detail);
  qtc_model_set_num_threads(model, 0, NULL);

  /* A second model beside the first. */
  qtc_model *other = NULL;
  size_t n = strlen(second);
  if (n > 3 && !strcmp(second + n - 3, ".so"))
    code = qtc_model_load(second, &other, &s);
  else
    code = qtc_model_compile(second, secondOptions, &other, &s);
  check(code == QTC_OK && other, "second model", qtc_status_message(s));
  qtc_status_free(s);
  if (other) {
    Ports in2, out2, again;
    if (makePorts(other, 1, &in2) || makePorts(other, 0, &out2) ||
        makePorts(other, 0, &again))
      return 1;
    /* Token-like inputs: small non-negative integers, ones elsewhere. */
    for (int i = 0; i < in2.count; ++i)
      if (in2.tensors[i].dtype == QTC_DTYPE_INT64)
        for (size_t e = 0; e < in2.bytes[i] / 8; ++e)
          ((int64_t *)in2.tensors[i].data)[e] = (int64_t)((e * 7 + 1) % 50);
    code = qtc_model_run(other, in2.tensors, in2.count, out2.tensors, out2.count, &s);
    check(code == QTC_OK, "second model runs", qtc_status_message(s));
    qtc_status_free(s);
    code = qtc_model_run(other, in2.tensors, in2.count, again.tensors, again.count, &s);
    int same = code == QTC_OK;
    for (int i = 0; same && i < out2.count; ++i)
      same = !memcmp(out2.tensors[i].data, again.tensors[i].data, out2.bytes[i]);
    check(same, "second model again, bit-identical", qtc_status_message(s));
    qtc_status_free(s);
    check(concurrent(model, &in, &out, 4, 10, detail, sizeof detail) == 0 &&
              concurrent(other, &in2, &out2, 4, 10, detail, sizeof detail) == 0,
          "both models from 4 threads each", detail);
    /* The first model's results did not change with the second beside it. */
    check(concurrent(model, &in, &out, 1, 3, detail, sizeof detail) == 0,
          "first model unchanged", detail);
    freePorts(&in2);
    freePorts(&out2);
    freePorts(&again);
    qtc_model_free(other);
  }

  /* Bad arguments: each an error status naming what is wrong. */
  int count = 0;
  expectError(qtc_model_num_inputs(NULL, &count, &s), &s, QTC_ERROR_INVALID_ARGUMENT,
              "model is NULL", "NULL model");
  expectError(qtc_model_num_inputs(model, NULL, &s), &s, QTC_ERROR_INVALID_ARGUMENT,
              "count is NULL", "NULL count");
  expectError(qtc_model_run(model, in.tensors, in.count - 1, out.tensors, out.count, &s),
              &s, QTC_ERROR_INVALID_ARGUMENT, "inputs, got", "too few inputs");
  expectError(qtc_model_run(model, in.tensors, in.count, out.tensors, out.count + 1, &s),
              &s, QTC_ERROR_INVALID_ARGUMENT, "outputs, got", "too many outputs");
  expectError(qtc_model_run(model, NULL, in.count, out.tensors, out.count, &s), &s,
              QTC_ERROR_INVALID_ARGUMENT, "inputs is NULL", "NULL inputs");
  {
    qtc_tensor t = in.tensors[0];
    in.tensors[0].dtype = t.dtype == QTC_DTYPE_FLOAT32 ? QTC_DTYPE_INT32 : QTC_DTYPE_FLOAT32;
    expectError(qtc_model_run(model, in.tensors, in.count, out.tensors, out.count, &s),
                &s, QTC_ERROR_INVALID_ARGUMENT, "input 0", "wrong dtype");
    in.tensors[0] = t;
    in.tensors[0].rank = t.rank + 1;
    expectError(qtc_model_run(model, in.tensors, in.count, out.tensors, out.count, &s),
                &s, QTC_ERROR_INVALID_ARGUMENT, "must have rank", "wrong rank");
    in.tensors[0] = t;
    int64_t dims[QTC_MAX_RANK];
    memcpy(dims, t.dims, sizeof dims);
    dims[0] += 1;
    in.tensors[0].dims = dims;
    expectError(qtc_model_run(model, in.tensors, in.count, out.tensors, out.count, &s),
                &s, QTC_ERROR_INVALID_ARGUMENT, "must have shape", "wrong shape");
    in.tensors[0] = t;
    int64_t strides[QTC_MAX_RANK] = {1, 1, 1, 1, 1, 1, 1, 1};
    strides[t.rank - 1] = 2;
    in.tensors[0].strides = strides;
    expectError(qtc_model_run(model, in.tensors, in.count, out.tensors, out.count, &s),
                &s, QTC_ERROR_INVALID_ARGUMENT, "not contiguous", "non-contiguous");
    in.tensors[0] = t;
    in.tensors[0].data = (char *)t.data + 1;
    expectError(qtc_model_run(model, in.tensors, in.count, out.tensors, out.count, &s),
                &s, QTC_ERROR_INVALID_ARGUMENT, "not aligned", "misaligned");
    in.tensors[0] = t;
    void *saved = out.tensors[0].data;
    out.tensors[0].data = NULL;
    expectError(qtc_model_run(model, in.tensors, in.count, out.tensors, out.count, &s),
                &s, QTC_ERROR_INVALID_ARGUMENT, "data NULL", "NULL output data");
    out.tensors[0].data = saved;
  }
  {
    expectError(qtc_model_input_name(model, in.count, NULL, &s), &s,
                QTC_ERROR_INVALID_ARGUMENT, "out of range", "index out of range");
    int64_t dims[1];
    int32_t rank = 1;
    expectError(qtc_model_output_shape(model, 0, dims, &rank, &s), &s,
                QTC_ERROR_INVALID_ARGUMENT, "dims holds 1", "dims too small");
  }
  expectError(qtc_compiler_options_set(options, "quantize", "w7", &s), &s,
              QTC_ERROR_INVALID_ARGUMENT, "--quantize expects", "bad option value");
  expectError(qtc_compiler_options_set(options, "no-such-option", "1", &s), &s,
              QTC_ERROR_INVALID_ARGUMENT, "unknown compiler option 'no-such-option'",
              "unknown option");
  expectError(qtc_compiler_options_set(NULL, "quantize", "w4", &s), &s,
              QTC_ERROR_INVALID_ARGUMENT, "options is NULL", "NULL options");
  {
    qtc_model *bad = NULL;
    expectError(qtc_model_compile("/nonexistent/model.onnx", NULL, &bad, &s), &s,
                QTC_ERROR_COMPILE, "/nonexistent/model.onnx", "missing model file");
    check(bad == NULL, "no model on failure", NULL);
    expectError(qtc_model_load("/nonexistent/model.so", &bad, &s), &s, QTC_ERROR_LOAD,
                "/nonexistent/model.so", "missing library");
    expectError(qtc_model_compile(modelPath, NULL, NULL, &s), &s,
                QTC_ERROR_INVALID_ARGUMENT, "model (the result) is NULL", "NULL result");
  }
  qtc_compiler_options_destroy(options);
  expectError(qtc_compiler_options_set(options, "quantize", "w4", &s), &s,
              QTC_ERROR_INVALID_ARGUMENT, "already destroyed", "destroyed options");
  qtc_compiler_options_destroy(options); /* a second destroy is ignored */
  qtc_compiler_options_destroy(secondOptions);

  qtc_model_free(model);
  expectError(qtc_model_run(model, in.tensors, in.count, out.tensors, out.count, &s), &s,
              QTC_ERROR_INVALID_ARGUMENT, "already freed", "freed model");
  qtc_model_free(model); /* a second free is ignored */
  qtc_model_free(NULL);
  qtc_status_free(NULL);
  freePorts(&in);
  freePorts(&out);

  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
