// breg.proxsgd_update -> ONE elementwise linalg.generic whose out is θ
// (updated in place after bufferization). ALGORITHMS.md §2 (ProxSGD):
//   θ' = prox_{lr·J}(θ − lr·g)
//   l1:     sign(x)·max(|x| − lr·λ, 0)
//   l1_pos: max(x − lr·λ, 0)
//   none:   x
// RUN: bregman-opt %s -split-input-file -convert-breg-to-linalg | FileCheck %s

// CHECK-DAG:   #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$SCALAR2:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @proxsgd_l1(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<4x8xf32>, %[[G:[^:]*]]: tensor<4x8xf32>, %[[LR:[^:]*]]: f32, %[[L:[^:]*]]: f32) -> tensor<4x8xf32>
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// The threshold lr·λ is computed once, outside the loop.
// CHECK-NEXT:    %[[THR:.*]] = arith.mulf %[[LR]], %[[L]] : f32
// CHECK-NOT:     tensor.empty
// CHECK-NEXT:    %[[R:.*]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$ID2]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel"]
// CHECK-SAME:      ins(%[[G]], %[[LR]], %[[THR]] : tensor<4x8xf32>, f32, f32)
// CHECK-SAME:      outs(%[[T]] : tensor<4x8xf32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %[[THRE:[^:]*]]: f32, %[[TE:[^:]*]]: f32):
// CHECK-NEXT:      %[[STEP:.*]] = arith.mulf %[[LRE]], %[[GE]] : f32
// CHECK-NEXT:      %[[X:.*]] = arith.subf %[[TE]], %[[STEP]] : f32
// CHECK-NEXT:      %[[ABS:.*]] = math.absf %[[X]] : f32
// CHECK-NEXT:      %[[SH:.*]] = arith.subf %[[ABS]], %[[THRE]] : f32
// CHECK-NEXT:      %[[MAG:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:      %[[NT:.*]] = math.copysign %[[MAG]], %[[X]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]] : f32
// CHECK-NEXT:    } -> tensor<4x8xf32>
// CHECK-NEXT:    return %[[R]] : tensor<4x8xf32>
func.func @proxsgd_l1(%t: tensor<4x8xf32>, %g: tensor<4x8xf32>, %lr: f32, %l: f32) -> tensor<4x8xf32> {
  %t1 = breg.proxsgd_update #breg.l1 %t, %g lr(%lr) lambda(%l) : tensor<4x8xf32>
  return %t1 : tensor<4x8xf32>
}

// -----

// CHECK-DAG:   #[[$ID1:.*]] = affine_map<(d0) -> (d0)>
// CHECK-DAG:   #[[$SCALAR1:.*]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @proxsgd_l1_pos(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<16xf32>, %[[G:[^:]*]]: tensor<16xf32>, %[[LR:[^:]*]]: f32, %[[L:[^:]*]]: f32) -> tensor<16xf32>
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[THR:.*]] = arith.mulf %[[LR]], %[[L]] : f32
// CHECK-NEXT:    %[[R:.*]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$ID1]]]
// CHECK-SAME:      iterator_types = ["parallel"]
// CHECK-SAME:      ins(%[[G]], %[[LR]], %[[THR]] : tensor<16xf32>, f32, f32)
// CHECK-SAME:      outs(%[[T]] : tensor<16xf32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %[[THRE:[^:]*]]: f32, %[[TE:[^:]*]]: f32):
// CHECK-NEXT:      %[[STEP:.*]] = arith.mulf %[[LRE]], %[[GE]] : f32
// CHECK-NEXT:      %[[X:.*]] = arith.subf %[[TE]], %[[STEP]] : f32
// CHECK-NEXT:      %[[SH:.*]] = arith.subf %[[X]], %[[THRE]] : f32
// CHECK-NEXT:      %[[NT:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]] : f32
// CHECK-NEXT:    } -> tensor<16xf32>
// CHECK-NEXT:    return %[[R]] : tensor<16xf32>
func.func @proxsgd_l1_pos(%t: tensor<16xf32>, %g: tensor<16xf32>, %lr: f32, %l: f32) -> tensor<16xf32> {
  %t1 = breg.proxsgd_update #breg.l1_pos %t, %g lr(%lr) lambda(%l) : tensor<16xf32>
  return %t1 : tensor<16xf32>
}

// -----

// J = 0: plain SGD, θ' = θ − lr·g. (The lowering still forms lr·λ and passes
// it to the generic, where it is unused.)
// CHECK-DAG:   #[[$MAP0:.*]] = affine_map<() -> ()>
// CHECK-LABEL: func.func @proxsgd_none_rank0(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<f32>, %[[G:[^:]*]]: tensor<f32>, %[[LR:[^:]*]]: f32, %[[L:[^:]*]]: f32) -> tensor<f32>
// CHECK-NOT:     arith.constant
// CHECK:         %[[THR:.*]] = arith.mulf %[[LR]], %[[L]] : f32
// CHECK-NEXT:    %[[R:.*]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]]]
// CHECK-SAME:      iterator_types = []
// CHECK-SAME:      ins(%[[G]], %[[LR]], %[[THR]] : tensor<f32>, f32, f32)
// CHECK-SAME:      outs(%[[T]] : tensor<f32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %{{[^:]*}}: f32, %[[TE:[^:]*]]: f32):
// CHECK-NEXT:      %[[STEP:.*]] = arith.mulf %[[LRE]], %[[GE]] : f32
// CHECK-NEXT:      %[[NT:.*]] = arith.subf %[[TE]], %[[STEP]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]] : f32
// CHECK-NEXT:    } -> tensor<f32>
// CHECK-NEXT:    return %[[R]] : tensor<f32>
func.func @proxsgd_none_rank0(%t: tensor<f32>, %g: tensor<f32>, %lr: f32, %l: f32) -> tensor<f32> {
  %t1 = breg.proxsgd_update #breg.none %t, %g lr(%lr) lambda(%l) : tensor<f32>
  return %t1 : tensor<f32>
}
