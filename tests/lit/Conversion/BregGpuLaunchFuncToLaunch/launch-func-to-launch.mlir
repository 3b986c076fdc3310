// breg-gpu-launch-func-to-launch: after sinking and outlining, each
// gpu.launch_func becomes a gpu.launch of the same sizes whose body is the
// kernel's, its parameters bound to the operands the host passes; the
// gpu.module and the container attribute go away.
// RUN: bregman-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(gpu-launch-sink-index-computations),gpu-kernel-outlining,breg-gpu-launch-func-to-launch)" | FileCheck %s
// The emulation then runs what the launch held before outlining.
// RUN: bregman-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(gpu-launch-sink-index-computations),gpu-kernel-outlining,breg-gpu-launch-func-to-launch,breg-gpu-launch-to-loops)" | FileCheck %s --check-prefix=LOOPS

// CHECK-NOT:   gpu.container_module
// CHECK-LABEL: func.func @scale(
// CHECK-SAME:    %[[BUF:.*]]: memref<256xf32>, %[[S:.*]]: f32)
// CHECK:         %[[C2:.*]] = arith.constant 2 : index
// CHECK:         gpu.launch blocks({{[^)]*}}) in ({{[^=]*}} = %[[C2]],
// CHECK-SAME:      workgroup(%[[W:.*]] : memref<128xf32, #gpu.address_space<workgroup>>)
// CHECK:           %[[B:.*]] = gpu.block_id x
// CHECK:           %[[T:.*]] = gpu.thread_id x
// The index constant was sunk into the kernel: it is cloned, not passed.
// CHECK:           %[[K128:.*]] = arith.constant 128 : index
// CHECK:           arith.muli %[[B]], %[[K128]] : index
// CHECK:           memref.load %[[BUF]][
// CHECK:           arith.mulf %{{.*}}, %[[S]] : f32
// CHECK:           memref.store %{{.*}}, %[[W]][%[[T]]]
// CHECK:           gpu.barrier
// CHECK:           gpu.terminator
// CHECK-NOT:   gpu.launch_func
// CHECK-NOT:   gpu.module
// LOOPS-LABEL: func.func @scale(
// LOOPS:         scf.parallel
// LOOPS-NOT:     gpu.
func.func @scale(%buf: memref<256xf32>, %s: f32) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c128 = arith.constant 128 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1)
             workgroup(%w : memref<128xf32, #gpu.address_space<workgroup>>) {
    %base = arith.muli %bx, %c128 : index
    %i = arith.addi %base, %tx : index
    %x = memref.load %buf[%i] : memref<256xf32>
    %y = arith.mulf %x, %s : f32
    memref.store %y, %w[%tx] : memref<128xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %r = memref.load %w[%tx] : memref<128xf32, #gpu.address_space<workgroup>>
    memref.store %r, %buf[%i] : memref<256xf32>
    gpu.terminator
  }
  return
}

// -----

// Private attributions, a kernel launched twice (each launch its own copy), a
// nested module (its gpu.module and attribute go too).
// CHECK-LABEL: module @inner
// CHECK-NOT:     gpu.container_module
// CHECK-LABEL: func.func @twice(
// CHECK:         gpu.launch {{.*}} private(%[[P0:.*]] : memref<2xf32, #gpu.address_space<private>>)
// CHECK:           memref.store %{{.*}}, %[[P0]]
// CHECK:           gpu.terminator
// CHECK:         gpu.launch {{.*}} private(%[[P1:.*]] : memref<2xf32, #gpu.address_space<private>>)
// CHECK:           memref.store %{{.*}}, %[[P1]]
// CHECK:           gpu.terminator
// CHECK-NOT:     gpu.launch_func
// CHECK-NOT:     gpu.module
module {
module @inner attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%buf: memref<4xf32>) private(%p : memref<2xf32, #gpu.address_space<private>>) kernel {
      %c0 = arith.constant 0 : index
      %t = gpu.thread_id x
      %v = memref.load %buf[%t] : memref<4xf32>
      memref.store %v, %p[%c0] : memref<2xf32, #gpu.address_space<private>>
      %w = memref.load %p[%c0] : memref<2xf32, #gpu.address_space<private>>
      memref.store %w, %buf[%t] : memref<4xf32>
      gpu.return
    }
  }
  func.func @twice(%buf: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c4, %c1, %c1) args(%buf : memref<4xf32>)
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c4, %c1, %c1) args(%buf : memref<4xf32>)
    return
  }
}
}
