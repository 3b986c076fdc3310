// RUN: bregman-opt %s -pass-pipeline="builtin.module(func.func(breg-copies-to-linalg))" | FileCheck %s

// Copies become linalg ops (kernels, once mapped to the GPU).
// CHECK-LABEL: func.func @copy
// CHECK-SAME:    (%[[A:.*]]: memref<4x8xf32>, %[[B:.*]]: memref<4x8xf32>)
// CHECK-NOT:     memref.copy
// CHECK:         linalg.copy ins(%[[A]] : memref<4x8xf32>) outs(%[[B]] : memref<4x8xf32>)
func.func @copy(%a: memref<4x8xf32>, %b: memref<4x8xf32>) {
  memref.copy %a, %b : memref<4x8xf32> to memref<4x8xf32>
  return
}
