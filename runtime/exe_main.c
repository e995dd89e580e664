/*===- exe_main.c - main() of programs built by qtc compile --emit exe ----===*
 *
 * Reads .npy inputs, checks them against the model's ports, runs the model
 * and writes .npy outputs. Errors are one line on stderr naming the file
 * or input, and exit status 1. See include/qtc-c/exe.h.
 *
 *===----------------------------------------------------------------------===*/

#define _POSIX_C_SOURCE 200809L

#include "include/qtc-c/exe.h"
#include "include/qtc-c/runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct {
  char *data;
  int64_t count;
} buffer;

static int fail(const char *prog, const char *what, const char *why) {
  fprintf(stderr, "%s: error: %s: %s\n", prog, what, why);
  return 1;
}

static size_t item_size(const char *dtype) {
  if (!strcmp(dtype, "float64") || !strcmp(dtype, "int64")) return 8;
  if (!strcmp(dtype, "float32") || !strcmp(dtype, "int32")) return 4;
  if (!strcmp(dtype, "float16") || !strcmp(dtype, "bfloat16") || !strcmp(dtype, "int16")) return 2;
  return 1;
}

/* numpy's descr for a dtype; unsigned files of the same width are accepted
 * on read (integers are signless in compiled code). */
static const char *descr_of(const char *dtype) {
  static const char *table[][2] = {
      {"float64", "<f8"}, {"float32", "<f4"}, {"float16", "<f2"}, {"int64", "<i8"},
      {"int32", "<i4"},   {"int16", "<i2"},   {"int8", "|i1"},    {"bool", "|b1"},
      /* numpy has no bfloat16: its raw bits, as uint16 */
      {"bfloat16", "<u2"}};
  for (size_t i = 0; i < sizeof table / sizeof table[0]; ++i)
    if (!strcmp(table[i][0], dtype))
      return table[i][1];
  return NULL;
}

static const char *dtype_of_descr(const char *d) {
  static const char *table[][2] = {
      {"<f8", "float64"}, {"<f4", "float32"}, {"<f2", "float16"}, {"<i8", "int64"},
      {"<i4", "int32"},   {"<i2", "int16"},   {"|i1", "int8"},    {"|b1", "bool"},
      {"<u8", "int64"},   {"<u4", "int32"},   {"<u2", "int16"},   {"|u1", "int8"}};
  for (size_t i = 0; i < sizeof table / sizeof table[0]; ++i)
    if (!strncmp(table[i][0], d, 3))
      return table[i][1];
  return NULL;
}

static void shape_string(char *out, size_t n, int rank, const int64_t *shape) {
  size_t at = (size_t)snprintf(out, n, "[");
  for (int i = 0; i < rank && at < n; ++i)
    at += (size_t)snprintf(out + at, n - at, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (at < n)
    snprintf(out + at, n - at, "]");
}

/* Reads `path` as a C-order .npy of exactly `port`'s dtype and shape. */
static int read_npy(const char *prog, const char *path, const qtc_port *port, buffer *out) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return fail(prog, path, strerror(errno));
  unsigned char magic[12];
  size_t got = fread(magic, 1, 10, f);
  if (got != 10 || memcmp(magic, "\x93NUMPY", 6)) {
    fclose(f);
    return fail(prog, path, "not a .npy file");
  }
  size_t header_len = magic[8] | ((size_t)magic[9] << 8);
  if (magic[6] >= 2) {
    if (fread(magic + 10, 1, 2, f) != 2) {
      fclose(f);
      return fail(prog, path, "truncated .npy header");
    }
    header_len |= ((size_t)magic[10] << 16) | ((size_t)magic[11] << 24);
  }
  char *header = malloc(header_len + 1);
  if (!header || fread(header, 1, header_len, f) != header_len) {
    free(header);
    fclose(f);
    return fail(prog, path, "truncated .npy header");
  }
  header[header_len] = 0;
  const char *descr = strstr(header, "'descr':");
  const char *fortran = strstr(header, "'fortran_order':");
  const char *shape = strstr(header, "'shape':");
  const char *dtype = NULL;
  if (descr && (descr = strchr(descr + 8, '\'')))
    dtype = dtype_of_descr(descr + 1);
  char message[256], want[96], have[96];
  if (!dtype || !shape || !fortran) {
    free(header);
    fclose(f);
    return fail(prog, path, "unsupported .npy header (dtype or layout)");
  }
  const char *order = fortran + 16;
  while (*order == ' ') ++order;
  if (!strncmp(order, "True", 4)) {
    free(header);
    fclose(f);
    return fail(prog, path, "Fortran-ordered arrays are not supported");
  }
  int64_t dims[QTC_MAX_RANK];
  int rank = 0;
  const char *p = strchr(shape, '(');
  while (p && *p && *p != ')') {
    ++p;
    while (*p == ' ' || *p == ',') ++p;
    if (*p == ')') break;
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p || rank == QTC_MAX_RANK) { rank = -1; break; }
    dims[rank++] = v;
    p = end;
  }
  free(header);
  shape_string(want, sizeof want, port->rank, port->shape);
  int same = rank == port->rank && !strcmp(dtype, port->dtype);
  for (int i = 0; same && i < rank; ++i)
    same = dims[i] == port->shape[i];
  if (!same) {
    shape_string(have, sizeof have, rank < 0 ? 0 : rank, dims);
    snprintf(message, sizeof message, "input '%s' must be %s %s, the file holds %s %s",
             port->name, port->dtype, want, dtype, have);
    fclose(f);
    return fail(prog, path, message);
  }
  int64_t count = 1;
  for (int i = 0; i < rank; ++i) count *= dims[i];
  size_t bytes = (size_t)count * item_size(port->dtype);
  out->data = aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
  out->count = count;
  if (!out->data || fread(out->data, 1, bytes, f) != bytes) {
    fclose(f);
    return fail(prog, path, "holds fewer bytes than its shape needs");
  }
  fclose(f);
  return 0;
}

static int write_npy(const char *prog, const char *path, const qtc_port *port, const buffer *b) {
  char header[512], shape[256];
  size_t at = 0;
  for (int i = 0; i < port->rank; ++i)
    at += (size_t)snprintf(shape + at, sizeof shape - at, "%lld,", (long long)port->shape[i]);
  shape[at] = 0;
  int len = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                     descr_of(port->dtype), shape);
  int total = 10 + len + 1;
  int pad = (64 - total % 64) % 64;
  FILE *f = fopen(path, "wb");
  if (!f)
    return fail(prog, path, strerror(errno));
  unsigned short hl = (unsigned short)(len + pad + 1);
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  fputc(hl & 0xff, f);
  fputc(hl >> 8, f);
  fwrite(header, 1, (size_t)len, f);
  for (int i = 0; i < pad; ++i) fputc(' ', f);
  fputc('\n', f);
  size_t bytes = (size_t)b->count * item_size(port->dtype);
  int ok = fwrite(b->data, 1, bytes, f) == bytes;
  if (fclose(f) || !ok)
    return fail(prog, path, "write failed");
  return 0;
}

/* {allocated, aligned, offset, sizes[r], strides[r]} */
static int64_t *descriptor(const qtc_port *port, buffer *b) {
  int64_t *d = calloc(3 + 2 * (size_t)port->rank, sizeof(int64_t));
  if (!d) return NULL;
  memcpy(&d[0], &b->data, sizeof(void *));
  memcpy(&d[1], &b->data, sizeof(void *));
  int64_t stride = 1;
  for (int i = port->rank - 1; i >= 0; --i) {
    d[3 + i] = port->shape[i];
    d[3 + port->rank + i] = stride;
    stride *= port->shape[i];
  }
  return d;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void usage(const char *prog, const qtc_port *inputs, int n) {
  fprintf(stderr, "usage: %s", prog);
  for (int i = 0; i < n; ++i)
    fprintf(stderr, " %s=FILE.npy", inputs[i].name);
  fprintf(stderr, " [--output-dir DIR] [--threads N] [--bench N] [--weights FILE]\ninputs:\n");
  for (int i = 0; i < n; ++i) {
    char s[96];
    shape_string(s, sizeof s, inputs[i].rank, inputs[i].shape);
    fprintf(stderr, "  %s: %s %s\n", inputs[i].name, inputs[i].dtype, s);
  }
}

int qtc_exe_main(int argc, char **argv, const qtc_port *inputs, int num_inputs,
                 const qtc_port *outputs, int num_outputs, int (*entry)(void **),
                 const char *(*error)(void), int (*load_weights)(const char *)) {
  const char *prog = argv[0];
  const char *out_dir = ".";
  long bench = 0;
  const char **files = calloc((size_t)num_inputs + 1, sizeof(char *));
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(prog, inputs, num_inputs);
      return 0;
    }
    if (!strcmp(argv[i], "--output-dir") && i + 1 < argc) {
      out_dir = argv[++i];
      continue;
    }
    if (!strcmp(argv[i], "--weights") && i + 1 < argc) {
      if (!load_weights)
        return fail(prog, "--weights", "this program has its weights built in");
      if (load_weights(argv[++i])) {
        fprintf(stderr, "%s: error: %s\n", prog, error());
        return 1;
      }
      continue;
    }
    if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
      char *end;
      long threads = strtol(argv[++i], &end, 10);
      if (*end || threads < 1)
        return fail(prog, "--threads", "expects a positive thread count");
      qtc_set_num_threads((int)threads);
      continue;
    }
    if (!strcmp(argv[i], "--bench") && i + 1 < argc) {
      char *end;
      bench = strtol(argv[++i], &end, 10);
      if (*end || bench < 0)
        return fail(prog, "--bench", "expects a run count");
      continue;
    }
    const char *eq = strchr(argv[i], '=');
    int found = -1;
    for (int k = 0; eq && k < num_inputs; ++k)
      if (strlen(inputs[k].name) == (size_t)(eq - argv[i]) &&
          !strncmp(inputs[k].name, argv[i], (size_t)(eq - argv[i])))
        found = k;
    if (found < 0) {
      usage(prog, inputs, num_inputs);
      return fail(prog, argv[i], eq ? "the model has no such input" : "expected NAME=FILE.npy");
    }
    files[found] = eq + 1;
  }
  buffer *bufs = calloc((size_t)(num_inputs + num_outputs) + 1, sizeof(buffer));
  void **args = calloc((size_t)(num_inputs + num_outputs) + 1, sizeof(void *));
  for (int k = 0; k < num_inputs; ++k) {
    if (!files[k]) {
      char s[96], message[200];
      shape_string(s, sizeof s, inputs[k].rank, inputs[k].shape);
      snprintf(message, sizeof message, "is missing (%s %s): give %s=FILE.npy", inputs[k].dtype, s,
               inputs[k].name);
      return fail(prog, inputs[k].name, message);
    }
    if (read_npy(prog, files[k], &inputs[k], &bufs[k]))
      return 1;
    args[k] = descriptor(&inputs[k], &bufs[k]);
  }
  for (int k = 0; k < num_outputs; ++k) {
    buffer *b = &bufs[num_inputs + k];
    b->count = 1;
    for (int i = 0; i < outputs[k].rank; ++i) b->count *= outputs[k].shape[i];
    size_t bytes = (size_t)b->count * item_size(outputs[k].dtype);
    b->data = aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
    if (!b->data)
      return fail(prog, outputs[k].name, "out of memory");
    args[num_inputs + k] = descriptor(&outputs[k], b);
  }
  double t0 = now_ms();
  if (entry(args)) {
    fprintf(stderr, "%s: error: %s\n", prog, error());
    return 1;
  }
  double first = now_ms() - t0;
  mkdir(out_dir, 0777);
  for (int k = 0; k < num_outputs; ++k) {
    size_t n = strlen(out_dir) + strlen(outputs[k].name) + 6;
    char *path = malloc(n);
    snprintf(path, n, "%s/%s.npy", out_dir, outputs[k].name);
    if (write_npy(prog, path, &outputs[k], &bufs[num_inputs + k]))
      return 1;
    printf("output %s -> %s\n", outputs[k].name, path);
    free(path);
  }
  printf("first run: %.3f ms\n", first);
  if (bench > 0) {
    double *t = (size_t)bench < ((size_t)-1) / sizeof(double)
                    ? malloc((size_t)bench * sizeof(double))
                    : NULL;
    if (!t)
      return fail(prog, "--bench", "too many runs");
    for (long i = 0; i < bench; ++i) {
      double s = now_ms();
      entry(args);
      t[i] = now_ms() - s;
    }
    qsort(t, (size_t)bench, sizeof(double), compare_double);
    printf("latency over %ld runs: min %.3f ms, median %.3f ms, max %.3f ms\n", bench, t[0],
           t[bench / 2], t[bench - 1]);
  }
  return 0;
}
