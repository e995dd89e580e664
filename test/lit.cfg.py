# lit configuration for qtc's FileCheck tests.
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "qtc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.qtc_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unittests"]

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.qtc_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(
    [ToolSubst(t, unresolved="fatal") for t in ["qtc-opt", "qtc-translate", "qtc"]], tool_dirs)

# The JIT runner and its support libraries, for numeric end-to-end tests of
# the lowering stages.
config.substitutions.append(("%mlir_runner", os.path.join(config.llvm_tools_dir, "mlir-runner")))
config.substitutions.append(("%runner_utils_lib", os.path.join(config.llvm_lib_dir, "libmlir_runner_utils.so")))
config.substitutions.append(("%c_runner_utils_lib", os.path.join(config.llvm_lib_dir, "libmlir_c_runner_utils.so")))
# The source tree and libqtc.so, for C programs built against the C API.
config.substitutions.append(("%qtc_src_root", config.qtc_src_root))
config.substitutions.append(("%qtc_lib_dir", os.path.join(config.qtc_obj_root, "lib")))
# The qtc driver by absolute path, for scripts that call it.
config.substitutions.append(("%qtc_bin", os.path.join(config.qtc_tools_dir, "qtc")))
