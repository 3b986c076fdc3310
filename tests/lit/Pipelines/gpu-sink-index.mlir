// Index computations are sunk into the launches before outlining
// (gpu-launch-sink-index-computations): constants are not kernel parameters
// and no kernel divides by a run-time value. Before, the MLP step's block
// reductions took 46 parameters (42 for the loss) of which 32 were the
// constants 0..31 of the tree reduction, and 7 kernels did an integer div or
// rem by a parameter (in LLVM a division by a constant is a multiply and
// shift, so any integer div/rem left in PTX divides by a run-time value).
// The ConvNet step (48 kernels, none with integer div/rem):
// gpu-sink-index-convnet.mlir.
// REQUIRES: libdevice
// RUN: bregman-opt %S/../Inputs/mlp-step.mlir --bregman-gpu-pipeline \
// RUN: | %extract_ptx %t --summary | FileCheck %s --check-prefix=DIV
// RUN: bregman-opt %S/../Inputs/mlp-step.mlir --bregman-gpu-pipeline \
// RUN: | %extract_ptx %t --summary | grep -v " 0 barriers, 0 shuffles" \
// RUN: | FileCheck %s --check-prefix=REDUCE
// DIV-NOT: {{[1-9][0-9]*}} integer div/rem
// DIV: extracted 31 PTX modules
//
// The 8 reductions: the 5 over a row (softmax max and sum, loss) are one
// warp per output (ranges of at most 128 elements: 5 shuffles, no
// barrier), the 3 bias gradients column reductions (row lanes meeting in
// workgroup memory: 2 barriers, no shuffle). Those over a memref take 12
// parameters (two memref descriptors of 5 and the size and stride), the
// loss 8; none takes more.
// REDUCE:      module {{[0-9]+}}: {{(12|8)}} parameters, 0 barriers, 5 shuffles, 0 vector loads, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: {{(12|8)}} parameters, 0 barriers, 5 shuffles, 0 vector loads, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: {{(12|8)}} parameters, 0 barriers, 5 shuffles, 0 vector loads, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: {{(12|8)}} parameters, 0 barriers, 5 shuffles, 0 vector loads, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: {{(12|8)}} parameters, 0 barriers, 5 shuffles, 0 vector loads, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: 12 parameters, 2 barriers, 0 shuffles, 0 vector loads, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: 12 parameters, 2 barriers, 0 shuffles, 0 vector loads, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: 12 parameters, 2 barriers, 0 shuffles, 0 vector loads, 0 integer div/rem
// REDUCE-NEXT: extracted 31 PTX modules
