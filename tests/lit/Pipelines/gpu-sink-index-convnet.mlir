// The ConvNet training step (ALGORITHMS.md §7, batch 128: the module the
// frontend emits for `bregman train --model convnet --device cuda`,
// Inputs/convnet-step.mlir, 33 KB) through the GPU pipeline: 50 kernels, none
// doing an integer div or rem (by a run-time value: see gpu-sink-index.mlir);
// before index computations were sunk into the launches, issue 14 counted 82
// in 19 of them.
// The block reductions (issue 14 item 2): the two bias gradients of the
// convolutions (64 channels, 128x24x24 = 73728 and 128x8x8 = 8192 elements
// each) are split over 9 and 8 blocks per channel (576 and 512 blocks of 256
// threads, 4 accumulators each, filled by one 16-byte vector load per thread
// and round; before: 64 blocks), each block's warps
// reduce by 5 butterfly shuffles, meet through workgroup memory (1 barrier)
// and reduce the 8 warp totals by 3 more shuffles; a second kernel per
// gradient (one warp per channel, 5 shuffles) sums the 9 or 8 partials in a
// fixed order. The dense layers' bias gradients (sums over the batch of
// 128 of 128x10 and 128x128: column reductions, the reduced dimension
// outer) take consecutive columns on consecutive threads, so that each
// warp reads neighbouring floats of a row: one block of 16 columns by 16
// row lanes, and 4 blocks of 32 columns by 8 row lanes (before: one warp per
// column, 10 and 128 blocks, reading a row apart); each lane folds its
// rows into 4 accumulators and the lanes meet in a fixed tree in workgroup
// memory (4 and 3 barriers). The two sums of 128 values for the loss are
// one warp per output reading with vector loads. The PTX of every kernel is
// accepted by ptxas for sm_90, sm_80 and sm_120.
// REQUIRES: libdevice
// RUN: bregman-opt %S/../Inputs/convnet-step.mlir --bregman-gpu-pipeline \
// RUN: | %extract_ptx %t --summary > %t.summary
// RUN: FileCheck %s --check-prefix=DIV --input-file=%t.summary
// RUN: grep -v " 0 barriers, 0 shuffles" %t.summary | FileCheck %s --check-prefix=REDUCE
// RUN: bregman-opt %S/../Inputs/convnet-step.mlir --bregman-gpu-pipeline="stop-at-launch=1" \
// RUN: | FileCheck %s --check-prefix=GRID
// RUN: %if ptxas %{ bregman-opt %S/../Inputs/convnet-step.mlir --bregman-gpu-pipeline \
// RUN: | %extract_ptx %t.sm90 --assemble %ptxas sm_90 | FileCheck %s --check-prefix=PTXAS %}
// RUN: %if ptxas %{ bregman-opt %S/../Inputs/convnet-step.mlir --bregman-gpu-pipeline="chip=sm_80" \
// RUN: | %extract_ptx %t.sm80 --assemble %ptxas sm_80 | FileCheck %s --check-prefix=PTXAS80 %}
// RUN: %if ptxas %{ bregman-opt %S/../Inputs/convnet-step.mlir --bregman-gpu-pipeline="chip=sm_120" \
// RUN: | %extract_ptx %t.sm120 --assemble %ptxas sm_120 | FileCheck %s --check-prefix=PTXAS120 %}
// DIV-NOT: {{[1-9][0-9]*}} integer div/rem
// DIV: extracted 50 PTX modules
// REDUCE:      module {{[0-9]+}}: {{(8|12)}} parameters, 0 barriers, 5 shuffles, 1 vector loads, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: 12 parameters, 4 barriers, 0 shuffles, 0 vector loads, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: 12 parameters, 3 barriers, 0 shuffles, 0 vector loads, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: 16 parameters, 1 barriers, 8 shuffles, 1 vector loads, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: 10 parameters, 0 barriers, 5 shuffles, 0 vector loads, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: 16 parameters, 1 barriers, 8 shuffles, 1 vector loads, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: 10 parameters, 0 barriers, 5 shuffles, 0 vector loads, 0 integer div/rem
// REDUCE-NEXT: module {{[0-9]+}}: {{(8|12)}} parameters, 0 barriers, 5 shuffles, 1 vector loads, 0 integer div/rem
// REDUCE-NEXT: extracted 50 PTX modules
// The bias gradients in the host code: the partials buffer, the split launch
// (splits x channels blocks of 256 threads, one workgroup slot per warp), the
// launch summing the partials (a warp per channel), the buffer freed.
// GRID:      gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{(_[0-9]+)?}}, {{.*}} = %c1{{(_[0-9]+)?}}, {{.*}} = %c1{{(_[0-9]+)?}}) threads({{.*}}) in ({{.*}} = %c16{{(_[0-9]+)?}}, {{.*}} = %c16{{(_[0-9]+)?}}, {{.*}} = %c1{{(_[0-9]+)?}}) workgroup(%{{.*}} : memref<256xf32, #gpu.address_space<workgroup>>)
// GRID:        memref.load %{{.*}} : memref<128x10xf32>
// GRID-COUNT-4: gpu.barrier
// GRID:        memref.store %{{.*}} : memref<10xf32>
// GRID:      gpu.launch blocks({{.*}}) in ({{.*}} = %c4{{(_[0-9]+)?}}, {{.*}} = %c1{{(_[0-9]+)?}}, {{.*}} = %c1{{(_[0-9]+)?}}) threads({{.*}}) in ({{.*}} = %c32{{(_[0-9]+)?}}, {{.*}} = %c8{{(_[0-9]+)?}}, {{.*}} = %c1{{(_[0-9]+)?}}) workgroup(%{{.*}} : memref<256xf32, #gpu.address_space<workgroup>>)
// GRID:        memref.load %{{.*}} : memref<128x128xf32>
// GRID-COUNT-3: gpu.barrier
// GRID:        memref.store %{{.*}} : memref<128xf32>
// GRID:      %[[P8:.*]] = gpu.alloc  () : memref<512xf32>
// GRID:      gpu.launch blocks({{.*}}) in ({{.*}} = %c8{{(_[0-9]+)?}}, {{.*}} = %c64{{(_[0-9]+)?}}, {{.*}} = %c1{{(_[0-9]+)?}}) threads({{.*}}) in ({{.*}} = %c256{{(_[0-9]+)?}}, {{.*}}) workgroup(%{{.*}} : memref<8xf32, #gpu.address_space<workgroup>>)
// GRID:        gpu.shuffle  xor
// GRID:        gpu.barrier
// GRID:        memref.store %{{.*}}, %[[P8]][%{{.*}}] : memref<512xf32>
// GRID:      gpu.launch blocks({{.*}}) in ({{.*}} = %c64{{(_[0-9]+)?}}, {{.*}} = %c1{{(_[0-9]+)?}}, {{.*}} = %c1{{(_[0-9]+)?}}) threads({{.*}}) in ({{.*}} = %c32{{(_[0-9]+)?}},
// GRID:        memref.load %[[P8]]
// GRID-COUNT-5: gpu.shuffle  xor
// GRID:      gpu.dealloc  %[[P8]]
// GRID:      %[[P9:.*]] = gpu.alloc  () : memref<576xf32>
// GRID:      gpu.launch blocks({{.*}}) in ({{.*}} = %c9{{(_[0-9]+)?}}, {{.*}} = %c64{{(_[0-9]+)?}}, {{.*}} = %c1{{(_[0-9]+)?}}) threads({{.*}}) in ({{.*}} = %c256{{(_[0-9]+)?}},
// GRID:        memref.store %{{.*}}, %[[P9]][%{{.*}}] : memref<576xf32>
// GRID:      gpu.launch blocks({{.*}}) in ({{.*}} = %c64{{(_[0-9]+)?}}, {{.*}} = %c1{{(_[0-9]+)?}}, {{.*}} = %c1{{(_[0-9]+)?}}) threads({{.*}}) in ({{.*}} = %c32{{(_[0-9]+)?}},
// GRID:        memref.load %[[P9]]
// GRID:      gpu.dealloc  %[[P9]]
// PTXAS: assembled 50 PTX modules for sm_90
// PTXAS80: assembled 50 PTX modules for sm_80
// PTXAS120: assembled 50 PTX modules for sm_120
