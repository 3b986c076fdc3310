// The ConvNet training step (ALGORITHMS.md §7, batch 128: the module the
// frontend emits for `bregman train --model convnet --device cuda`,
// Inputs/convnet-step.mlir, 33 KB) through the GPU pipeline: 48 kernels, none
// doing an integer div or rem (by a run-time value: see gpu-sink-index.mlir);
// before index computations were sunk into the launches, issue 14 counted 82
// in 19 of them.
// The 6 block reductions (bias gradients, softmax, loss) take at most 16
// parameters. The PTX of every kernel is accepted by ptxas for sm_90.
// REQUIRES: libdevice
// RUN: bregman-opt %S/../Inputs/convnet-step.mlir --bregman-gpu-pipeline \
// RUN: | %extract_ptx %t --summary > %t.summary
// RUN: FileCheck %s --check-prefix=DIV --input-file=%t.summary
// RUN: grep -v " 0 barriers" %t.summary | FileCheck %s --check-prefix=REDUCE
// RUN: %if ptxas %{ bregman-opt %S/../Inputs/convnet-step.mlir --bregman-gpu-pipeline \
// RUN: | %extract_ptx %t.sm90 --assemble %ptxas sm_90 | FileCheck %s --check-prefix=PTXAS %}
// DIV-NOT: {{[1-9][0-9]*}} integer div/rem
// DIV: extracted 48 PTX modules
// REDUCE:      module {{[0-9]+}}: {{(8|12|16)}} parameters, 2 barriers, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: {{(8|12|16)}} parameters, 2 barriers, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: {{(8|12|16)}} parameters, 2 barriers, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: {{(8|12|16)}} parameters, 2 barriers, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: {{(8|12|16)}} parameters, 2 barriers, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: {{(8|12|16)}} parameters, 2 barriers, 0 integer div/rem
// REDUCE-NEXT: extracted 48 PTX modules
// PTXAS: assembled 48 PTX modules for sm_90
