# -*- Python -*-
# lit configuration of the bregman dialect/compiler tests.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "BREGMAN"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = config.bregman_lit_obj_root
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py",
                   "lit.site.cfg.py.in"]

# As in MLIR's own tests: a captured variable dies at the next CHECK-LABEL.
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"

llvm_config.use_default_substitutions()  # FileCheck, not, count, split-file
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# bregman-opt must come from this build, never from PATH.
tool_dirs = [config.bregman_tools_dir, config.llvm_tools_dir]
tools = [
    ToolSubst("bregman-opt", unresolved="fatal"),
    ToolSubst("mlir-runner", unresolved="fatal"),
    ToolSubst("mlir-translate", unresolved="fatal"),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# Runtime libraries mlir-runner loads for printMemref* and friends.
shlib_ext = config.llvm_shlib_ext or ".so"
config.substitutions.append(
    ("%mlir_runner_utils",
     os.path.join(config.llvm_libs_dir, "libmlir_runner_utils" + shlib_ext)))
config.substitutions.append(
    ("%mlir_c_runner_utils",
     os.path.join(config.llvm_libs_dir, "libmlir_c_runner_utils" + shlib_ext)))

# The CUDA toolkit's ptxas checks that generated PTX is accepted for a target.
# Where it is absent, the tests that need it are reported UNSUPPORTED (the
# reason shows with `lit -v`: "REQUIRES: ptxas").
import shutil
ptxas = shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
if os.path.exists(ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
else:
    lit_config.note("ptxas not found (CUDA toolkit): PTX acceptance tests are "
                    "unsupported")
# CUDA's libdevice: the whole GPU pipeline links it into every kernel. Where
# it is absent, the RUN lines that go down to PTX are skipped (%if libdevice).
if os.path.exists("/usr/local/cuda/nvvm/libdevice/libdevice.10.bc"):
    config.available_features.add("libdevice")
else:
    lit_config.note("CUDA's libdevice not found: the GPU pipeline is checked "
                    "up to the kernels only")
config.substitutions.append(
    ("%extract_ptx",
     "python3 " + os.path.join(config.test_source_root, "Inputs",
                               "extract-ptx.py")))
config.excludes.append("Inputs")
