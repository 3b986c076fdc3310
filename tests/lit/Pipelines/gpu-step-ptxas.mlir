// Every kernel of a whole MLP training step (Inputs/mlp-step.mlir, see
// gpu-step.mlir) is accepted by the CUDA toolkit's assembler for sm_90,
// sm_80 and sm_120. Unsupported where ptxas is absent.
// REQUIRES: ptxas, libdevice
// RUN: bregman-opt %S/../Inputs/mlp-step.mlir --bregman-gpu-pipeline \
// RUN: | %extract_ptx %t.sm90 --assemble %ptxas sm_90 | FileCheck %s --check-prefix=SM90
// SM90: extracted 31 PTX modules
// SM90: assembled 31 PTX modules for sm_90
// RUN: bregman-opt %S/../Inputs/mlp-step.mlir --bregman-gpu-pipeline="chip=sm_80" \
// RUN: | %extract_ptx %t.sm80 --assemble %ptxas sm_80 | FileCheck %s --check-prefix=SM80
// SM80: assembled 31 PTX modules for sm_80
// RUN: bregman-opt %S/../Inputs/mlp-step.mlir --bregman-gpu-pipeline="chip=sm_120" \
// RUN: | %extract_ptx %t.sm120 --assemble %ptxas sm_120 | FileCheck %s --check-prefix=SM120
// SM120: assembled 31 PTX modules for sm_120
