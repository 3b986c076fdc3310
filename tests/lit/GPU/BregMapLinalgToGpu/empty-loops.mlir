// A reduction over no elements (or into no outputs) writes nothing: it is
// removed, not planned (ReductionPlan::choose divided by zero). A
// non-positive target-blocks is refused.
// RUN: bregman-opt %s --pass-pipeline="builtin.module(func.func(breg-map-linalg-to-gpu))" | FileCheck %s
// RUN: not bregman-opt %s --pass-pipeline="builtin.module(func.func(breg-map-linalg-to-gpu{target-blocks=0}))" 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: breg-map-linalg-to-gpu: target-blocks must be positive, got 0

// CHECK-LABEL: func.func @sum_of_nothing(
// CHECK-NEXT:    return
func.func @sum_of_nothing(%x: memref<0xf32>, %out: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%x : memref<0xf32>) outs(%out : memref<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// CHECK-LABEL: func.func @row_sums_of_no_rows(
// CHECK-NEXT:    return
func.func @row_sums_of_no_rows(%x: memref<0x64xf32>, %out: memref<0xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<0x64xf32>) outs(%out : memref<0xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  return
}
