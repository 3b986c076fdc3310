// A group regulariser on groups of no elements lowers to the two whole
// passes: tiling the update by group (fuseGroupPasses) crashed in
// computeTileSizes on the empty dimension.
// RUN: bregman-opt %s -convert-breg-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @empty_rows_l1_l2(
// CHECK-NOT:     scf.for
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-NOT:     scf.for
func.func @empty_rows_l1_l2(%t: tensor<4x0xf32>, %s: f32, %l: f32) -> tensor<4x0xf32> {
  %v = breg.prox #breg.l1_l2 %t, %s, %l : tensor<4x0xf32>
  return %v : tensor<4x0xf32>
}
