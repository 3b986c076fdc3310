// RUN: bregman-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(breg-collapse-elementwise))" | FileCheck %s

// An elementwise generic over contiguous buffers becomes one flat loop.
// CHECK-LABEL: func.func @flat
// CHECK-DAG:     %[[A:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0, 1]] : memref<4x8xf32> into memref<32xf32>
// CHECK-DAG:     %[[B:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0, 1]] : memref<4x8xf32> into memref<32xf32>
// CHECK:         linalg.generic {{.*}}iterator_types = ["parallel"]
// CHECK-SAME:      ins(%[[A]] : memref<32xf32>) outs(%[[B]] : memref<32xf32>)
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @flat(%a: memref<4x8xf32>, %b: memref<4x8xf32>) {
  linalg.generic {indexing_maps = [#id, #id],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x8xf32>) outs(%b : memref<4x8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %s = arith.addf %x, %x : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A broadcast (a non-identity map) keeps its loop nest.
// CHECK-LABEL: func.func @broadcast
// CHECK-NOT:     memref.collapse_shape
// CHECK:         iterator_types = ["parallel", "parallel"]
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
func.func @broadcast(%a: memref<8xf32>, %b: memref<4x8xf32>) {
  linalg.generic {indexing_maps = [#row, #id2],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<8xf32>) outs(%b : memref<4x8xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  return
}
