// RUN: bregman-opt %s --split-input-file --verify-diagnostics \
// RUN:   --breg-gpu-finalize-host | FileCheck %s

// A hyper-parameter read on the host from a rank-0 buffer (and arithmetic on
// it) is recomputed inside the kernel; the buffer becomes device memory; a
// splat constant becomes a value.
// CHECK-LABEL: func.func @step
// CHECK-SAME:    (%[[X:.*]]: memref<256xf32>, %[[LR:.*]]: memref<f32>)
// CHECK-NOT:     memref.load
// CHECK:         %[[TMP:.*]] = gpu.alloc () : memref<256xf32>
// CHECK-NEXT:    gpu.launch
// CHECK-NEXT:      %[[L:.*]] = memref.load %[[LR]][] : memref<f32>
// CHECK-NEXT:      %[[HALF:.*]] = arith.mulf %[[L]], %{{.*}} : f32
// CHECK:           %[[TWO:.*]] = arith.constant 2.000000e+00 : f32
// CHECK:           arith.mulf %{{.*}}, %[[HALF]] : f32
// CHECK:           arith.addf %{{.*}}, %[[TWO]] : f32
// CHECK:         gpu.dealloc %[[TMP]] : memref<256xf32>
// CHECK-NOT:     memref.get_global
memref.global "private" constant @two : memref<4xf32> = dense<2.0>
func.func @step(%x: memref<256xf32>, %lr: memref<f32>) {
  %c1 = arith.constant 1 : index
  %c0 = arith.constant 0 : index
  %half = arith.constant 0.5 : f32
  %l = memref.load %lr[] : memref<f32>
  %scaled = arith.mulf %l, %half : f32
  %tmp = memref.alloc() : memref<256xf32>
  %two = memref.get_global @two : memref<4xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%tx] : memref<256xf32>
    %t = memref.load %two[%c0] : memref<4xf32>
    %a = arith.mulf %v, %scaled : f32
    %b = arith.addf %a, %t : f32
    memref.store %b, %tmp[%tx] : memref<256xf32>
    gpu.terminator
  }
  memref.dealloc %tmp : memref<256xf32>
  return
}

// -----

// A load the kernel may not repeat: the buffer is written in between, so the
// host value would differ. It stays on the host, and that is an error.
func.func @written_between(%x: memref<256xf32>, %s: memref<f32>) {
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  // expected-error @+1 {{'memref.load' is left in the host code of a GPU program: it accesses buffer contents, which live in device memory (the computation was not mapped to a kernel)}}
  %l = memref.load %s[] : memref<f32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %f, %s[] : memref<f32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %l, %x[%tx] : memref<256xf32>
    gpu.terminator
  }
  return
}

// -----

// Computation left on the host (not mapped to a kernel) is named.
func.func @unmapped(%x: memref<4xf32>, %y: memref<4xf32>) {
  // expected-error @+1 {{'memref.copy' is left in the host code of a GPU program}}
  memref.copy %x, %y : memref<4xf32> to memref<4xf32>
  return
}
