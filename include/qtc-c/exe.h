/*===- exe.h - the main() of programs built by qtc compile --emit exe ------===*
 *
 * `qtc compile MODEL --emit exe -o PROG` links the model with a generated
 * main() that describes the model's ports and calls qtc_exe_main(), which
 * lives in qtc's runtime (runtime/exe_main.c):
 *
 *   PROG NAME=FILE.npy ... [--output-dir DIR] [--threads N] [--bench N]
 *        [--weights FILE]
 *
 * reads each input from a C-order .npy file, checks its dtype and shape,
 * runs the model, writes every output as DIR/NAME.npy and prints the time;
 * with --bench N also min/median/max over N more runs; --threads N sets
 * the size of the thread pool (qtc_set_num_threads in runtime.h). A
 * program compiled with --weights external maps PROG.weights, or FILE.
 *
 *===----------------------------------------------------------------------===*/

#ifndef QTC_C_EXE_H
#define QTC_C_EXE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QTC_MAX_RANK 8

/* One input or output of the compiled entry. dtype is a numpy name:
 * float64, float32, float16, bfloat16, int64, int32, int16, int8, bool. */
typedef struct {
  const char *name;
  const char *dtype;
  int32_t rank;
  int64_t shape[QTC_MAX_RANK];
} qtc_port;

/* Runs the program; returns the process exit status. `entry` takes one
 * memref descriptor per input, then per output (see the model's header),
 * and returns 0, or non-zero with `error()` saying why. `load_weights`
 * maps a weights side file (NULL when the weights are built in). */
int qtc_exe_main(int argc, char **argv, const qtc_port *inputs, int num_inputs,
                 const qtc_port *outputs, int num_outputs,
                 int (*entry)(void **args), const char *(*error)(void),
                 int (*load_weights)(const char *path));

#ifdef __cplusplus
}
#endif

#endif /* QTC_C_EXE_H */
