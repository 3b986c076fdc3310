// A whole MLP training step (20-16-8-4, softmax cross-entropy, LinBreg with
// momentum on every parameter; the module the frontend emits,
// Inputs/mlp-step.mlir) through the GPU pipeline.
//
// (a) Up to the launches: the host code only allocates device memory, calls
//     cuBLAS for the 8 GEMMs (3 forward, 5 backward: the first layer's input
//     gradient is not needed) and launches kernels. Reductions over a row
//     (softmax max and sum, loss) are block reductions: ranges of at most
//     128 elements, so one block of 32 threads (one warp) per output, 4
//     accumulators per thread and 5 butterfly shuffles, no barrier. The
//     three bias gradients (sums over the batch of 12: column reductions)
//     are one block each of 16, 8 and 4 consecutive columns by 4 row lanes
//     that meet in workgroup memory (2 barriers), no shuffle.
//     breg-gpu-finalize-host has checked that nothing else is left on the
//     host.
// RUN: bregman-opt %S/../Inputs/mlp-step.mlir --bregman-gpu-pipeline="stop-at-launch=1" | FileCheck %s --check-prefix=HOST
// HOST-LABEL: func.func @bregman_main(
// HOST-COUNT-8: call @bregman_gpu_sgemm(
// HOST-NOT:     call @bregman_gpu_sgemm(
// HOST:         return
// RUN: bregman-opt %S/../Inputs/mlp-step.mlir --bregman-gpu-pipeline="stop-at-launch=1" | FileCheck %s --check-prefix=SHUFFLES
// SHUFFLES-COUNT-25: gpu.shuffle xor
// SHUFFLES-NOT:      gpu.shuffle
// RUN: bregman-opt %S/../Inputs/mlp-step.mlir --bregman-gpu-pipeline="stop-at-launch=1" | FileCheck %s --check-prefix=BARRIERS
// BARRIERS-NOT:      gpu.barrier
// BARRIERS:          gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c4{{(_[0-9]+)?}}, {{.*}} = %c4{{(_[0-9]+)?}}, {{.*}}) workgroup({{.*}} : memref<16xf32, #gpu.address_space<workgroup>>)
// BARRIERS-COUNT-2:  gpu.barrier
// BARRIERS-NOT:      gpu.barrier
// BARRIERS:          gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c8{{(_[0-9]+)?}}, {{.*}} = %c4{{(_[0-9]+)?}}, {{.*}}) workgroup({{.*}} : memref<32xf32, #gpu.address_space<workgroup>>)
// BARRIERS-COUNT-2:  gpu.barrier
// BARRIERS-NOT:      gpu.barrier
// BARRIERS:          gpu.launch {{.*}} threads({{.*}}) in ({{.*}} = %c16{{(_[0-9]+)?}}, {{.*}} = %c4{{(_[0-9]+)?}}, {{.*}}) workgroup({{.*}} : memref<64xf32, #gpu.address_space<workgroup>>)
// BARRIERS-COUNT-2:  gpu.barrier
// BARRIERS-NOT:      gpu.barrier
// RUN: bregman-opt %S/../Inputs/mlp-step.mlir --bregman-gpu-pipeline="stop-at-launch=1" | FileCheck %s --check-prefix=ALLOC
// ALLOC-NOT: memref.alloc
// ALLOC-NOT: memref.copy
//
// (b) The whole pipeline: one stream for the call, every launch and the
//     GEMM calls on the host side, all kernels in PTX.
// RUN: %if libdevice %{ bregman-opt %S/../Inputs/mlp-step.mlir --bregman-gpu-pipeline | FileCheck %s --check-prefix=LLVM %}
// LLVM-LABEL: llvm.func @bregman_main(
// LLVM:         %[[S:.*]] = llvm.call @mgpuStreamCreate()
// LLVM:         llvm.call @mgpuMemAlloc(
// LLVM:         gpu.launch_func <%{{.*}} : !llvm.ptr> @bregman_main_kernel::@bregman_main_kernel
// LLVM:         llvm.call @bregman_gpu_sgemm(
// LLVM:         llvm.call @mgpuStreamSynchronize(
// LLVM-COUNT-31: gpu.binary @bregman_main_kernel{{(_[0-9]+)?}} [#gpu.object<#nvvm.target<chip = "sm_90"
