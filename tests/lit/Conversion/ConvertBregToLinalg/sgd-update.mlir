// breg.sgd_update -> ONE elementwise linalg.generic whose outs are θ (and the
// momentum buffer m), updated in place after bufferization. PyTorch's
// convention:
//   without momentum:  θ' = θ − lr·g
//   with momentum β:   m' = β·m + g ;  θ' = θ − lr·m'
// RUN: bregman-opt %s -split-input-file -convert-breg-to-linalg | FileCheck %s

// CHECK-DAG:   #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$SCALAR2:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @sgd(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<4x8xf32>, %[[G:[^:]*]]: tensor<4x8xf32>, %[[LR:[^:]*]]: f32) -> tensor<4x8xf32>
// No scalar prelude at all.
// CHECK-NOT:     arith.
// CHECK-NOT:     tensor.empty
// CHECK-NEXT:    %[[R:.*]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID2]], #[[$SCALAR2]], #[[$ID2]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel"]
// CHECK-SAME:      ins(%[[G]], %[[LR]] : tensor<4x8xf32>, f32)
// CHECK-SAME:      outs(%[[T]] : tensor<4x8xf32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %[[TE:[^:]*]]: f32):
// CHECK-NEXT:      %[[STEP:.*]] = arith.mulf %[[LRE]], %[[GE]] : f32
// CHECK-NEXT:      %[[NT:.*]] = arith.subf %[[TE]], %[[STEP]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]] : f32
// CHECK-NEXT:    } -> tensor<4x8xf32>
// CHECK-NEXT:    return %[[R]] : tensor<4x8xf32>
func.func @sgd(%t: tensor<4x8xf32>, %g: tensor<4x8xf32>, %lr: f32) -> tensor<4x8xf32> {
  %t1 = breg.sgd_update %t, %g lr(%lr) : tensor<4x8xf32>
  return %t1 : tensor<4x8xf32>
}

// -----

// CHECK-DAG:   #[[$ID1:.*]] = affine_map<(d0) -> (d0)>
// CHECK-DAG:   #[[$SCALAR1:.*]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @sgd_momentum(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<16xf32>, %[[G:[^:]*]]: tensor<16xf32>, %[[M:[^:]*]]: tensor<16xf32>, %[[LR:[^:]*]]: f32, %[[B:[^:]*]]: f32)
// CHECK-NOT:     arith.
// CHECK-NEXT:    %[[R:.*]]:2 = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$ID1]], #[[$ID1]]]
// CHECK-SAME:      iterator_types = ["parallel"]
// CHECK-SAME:      ins(%[[G]], %[[LR]], %[[B]] : tensor<16xf32>, f32, f32)
// CHECK-SAME:      outs(%[[T]], %[[M]] : tensor<16xf32>, tensor<16xf32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %[[BE:[^:]*]]: f32, %[[TE:[^:]*]]: f32, %[[ME:[^:]*]]: f32):
// m' = β·m + g (no 1 − β damping)
// CHECK-NEXT:      %[[BM:.*]] = arith.mulf %[[BE]], %[[ME]] : f32
// CHECK-NEXT:      %[[NM:.*]] = arith.addf %[[BM]], %[[GE]] : f32
// θ' = θ − lr·m'
// CHECK-NEXT:      %[[STEP:.*]] = arith.mulf %[[LRE]], %[[NM]] : f32
// CHECK-NEXT:      %[[NT:.*]] = arith.subf %[[TE]], %[[STEP]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]], %[[NM]] : f32, f32
// CHECK-NEXT:    } -> (tensor<16xf32>, tensor<16xf32>)
// CHECK-NEXT:    return %[[R]]#0, %[[R]]#1 : tensor<16xf32>, tensor<16xf32>
func.func @sgd_momentum(%t: tensor<16xf32>, %g: tensor<16xf32>, %m: tensor<16xf32>, %lr: f32, %b: f32)
    -> (tensor<16xf32>, tensor<16xf32>) {
  %t1, %m1 = breg.sgd_update %t, %g lr(%lr) momentum(%m, %b : tensor<16xf32>) : tensor<16xf32>
  return %t1, %m1 : tensor<16xf32>, tensor<16xf32>
}

// -----

// Rank 0 with momentum: every map is `() -> ()`.
// CHECK-DAG:   #[[$MAP0:.*]] = affine_map<() -> ()>
// CHECK-LABEL: func.func @sgd_momentum_rank0(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<f32>, %[[G:[^:]*]]: tensor<f32>, %[[M:[^:]*]]: tensor<f32>, %[[LR:[^:]*]]: f32, %[[B:[^:]*]]: f32)
// CHECK-NEXT:    %[[R:.*]]:2 = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]]]
// CHECK-SAME:      iterator_types = []
// CHECK-SAME:      ins(%[[G]], %[[LR]], %[[B]] : tensor<f32>, f32, f32)
// CHECK-SAME:      outs(%[[T]], %[[M]] : tensor<f32>, tensor<f32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %[[BE:[^:]*]]: f32, %[[TE:[^:]*]]: f32, %[[ME:[^:]*]]: f32):
// CHECK-NEXT:      %[[BM:.*]] = arith.mulf %[[BE]], %[[ME]] : f32
// CHECK-NEXT:      %[[NM:.*]] = arith.addf %[[BM]], %[[GE]] : f32
// CHECK-NEXT:      %[[STEP:.*]] = arith.mulf %[[LRE]], %[[NM]] : f32
// CHECK-NEXT:      %[[NT:.*]] = arith.subf %[[TE]], %[[STEP]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]], %[[NM]] : f32, f32
// CHECK-NEXT:    } -> (tensor<f32>, tensor<f32>)
func.func @sgd_momentum_rank0(%t: tensor<f32>, %g: tensor<f32>, %m: tensor<f32>, %lr: f32, %b: f32)
    -> (tensor<f32>, tensor<f32>) {
  %t1, %m1 = breg.sgd_update %t, %g lr(%lr) momentum(%m, %b : tensor<f32>) : tensor<f32>
  return %t1, %m1 : tensor<f32>, tensor<f32>
}

// -----

// Dynamic shapes: θ itself is the destination, no tensor.empty or tensor.dim.
// CHECK-LABEL: func.func @sgd_dynamic(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<?x8xf32>, %[[G:[^:]*]]: tensor<?x8xf32>, %[[LR:[^:]*]]: f32)
// CHECK-NOT:     tensor.dim
// CHECK-NOT:     tensor.empty
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[G]], %[[LR]] : tensor<?x8xf32>, f32)
// CHECK-SAME:      outs(%[[T]] : tensor<?x8xf32>)
// CHECK:         } -> tensor<?x8xf32>
func.func @sgd_dynamic(%t: tensor<?x8xf32>, %g: tensor<?x8xf32>, %lr: f32) -> tensor<?x8xf32> {
  %t1 = breg.sgd_update %t, %g lr(%lr) : tensor<?x8xf32>
  return %t1 : tensor<?x8xf32>
}
