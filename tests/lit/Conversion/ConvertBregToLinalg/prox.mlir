// breg.prox -> one elementwise linalg.generic (ALGORITHMS.md §3):
//   l1:     y = sign(x)·max(|x| − s·λ, 0)
//   l1_pos: y = max(x − s·λ, 0)
//   none:   y = x  (the op folds before it is lowered)
// RUN: bregman-opt %s -split-input-file -convert-breg-to-linalg | FileCheck %s

// CHECK-DAG:   #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$SCALAR2:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @prox_l1(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4x8xf32>, %[[S:[^:]*]]: f32, %[[L:[^:]*]]: f32) -> tensor<4x8xf32>
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[INIT:.*]] = tensor.empty() : tensor<4x8xf32>
// The threshold s·λ is computed once, outside the loop.
// CHECK-DAG:     %[[T:.*]] = arith.mulf %[[S]], %[[L]] : f32
// CHECK:         %[[Y:.*]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID2]], #[[$SCALAR2]], #[[$ID2]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel"]
// CHECK-SAME:      ins(%[[X]], %[[T]] : tensor<4x8xf32>, f32)
// CHECK-SAME:      outs(%[[INIT]] : tensor<4x8xf32>)
// CHECK-NEXT:    ^bb0(%[[XE:[^:]*]]: f32, %[[TE:[^:]*]]: f32, %{{[^:]*}}: f32):
// CHECK-NEXT:      %[[ABS:.*]] = math.absf %[[XE]] : f32
// CHECK-NEXT:      %[[SH:.*]] = arith.subf %[[ABS]], %[[TE]] : f32
// CHECK-NEXT:      %[[MAG:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:      %[[R:.*]] = math.copysign %[[MAG]], %[[XE]] : f32
// CHECK-NEXT:      linalg.yield %[[R]] : f32
// CHECK-NEXT:    } -> tensor<4x8xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<4x8xf32>
func.func @prox_l1(%x: tensor<4x8xf32>, %s: f32, %l: f32) -> tensor<4x8xf32> {
  %y = breg.prox #breg.l1 %x, %s, %l : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Rank 0: the tensor operand has the rank-0 identity map, like the scalars.
// CHECK-DAG:   #[[$MAP0:.*]] = affine_map<() -> ()>
// CHECK-LABEL: func.func @prox_l1_rank0(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<f32>, %[[S:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK:         %[[INIT:.*]] = tensor.empty() : tensor<f32>
// CHECK:         %[[T:.*]] = arith.mulf %[[S]], %[[L]] : f32
// CHECK:         linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$MAP0]], #[[$MAP0]], #[[$MAP0]]]
// CHECK-SAME:      iterator_types = []
// CHECK-SAME:      ins(%[[X]], %[[T]] : tensor<f32>, f32)
// CHECK-SAME:      outs(%[[INIT]] : tensor<f32>)
// CHECK-NEXT:    ^bb0(
// CHECK-NEXT:      math.absf
// CHECK-NEXT:      arith.subf
// CHECK-NEXT:      arith.maximumf
// CHECK-NEXT:      math.copysign
// CHECK-NEXT:      linalg.yield
func.func @prox_l1_rank0(%x: tensor<f32>, %s: f32, %l: f32) -> tensor<f32> {
  %y = breg.prox #breg.l1 %x, %s, %l : tensor<f32>
  return %y : tensor<f32>
}

// -----

// J = 0: prox is the identity and nothing is generated.
// CHECK-LABEL: func.func @prox_none(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<3x5xf32>
// CHECK-NOT:     linalg.generic
// CHECK-NOT:     breg.prox
// CHECK:         return %[[X]] : tensor<3x5xf32>
func.func @prox_none(%x: tensor<3x5xf32>, %s: f32, %l: f32) -> tensor<3x5xf32> {
  %y = breg.prox #breg.none %x, %s, %l : tensor<3x5xf32>
  return %y : tensor<3x5xf32>
}

// -----

// Dynamic dimensions reach the tensor.empty of the result.
// CHECK-LABEL: func.func @prox_dynamic(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x8xf32>
// CHECK:         %[[C0:.*]] = arith.constant 0 : index
// CHECK:         %[[DIM:.*]] = tensor.dim %[[X]], %[[C0]] : tensor<?x8xf32>
// CHECK:         %[[INIT:.*]] = tensor.empty(%[[DIM]]) : tensor<?x8xf32>
// CHECK:         linalg.generic
// CHECK-SAME:      outs(%[[INIT]] : tensor<?x8xf32>)
func.func @prox_dynamic(%x: tensor<?x8xf32>, %s: f32, %l: f32) -> tensor<?x8xf32> {
  %y = breg.prox #breg.l1 %x, %s, %l : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// l1_pos: the one-sided threshold max(x − s·λ, 0): no absf, no copysign.
// CHECK-DAG:   #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$SCALAR2:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @prox_l1_pos(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4x8xf32>, %[[S:[^:]*]]: f32, %[[L:[^:]*]]: f32) -> tensor<4x8xf32>
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[INIT:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK-DAG:     %[[T:.*]] = arith.mulf %[[S]], %[[L]] : f32
// CHECK:         %[[Y:.*]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID2]], #[[$SCALAR2]], #[[$ID2]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel"]
// CHECK-SAME:      ins(%[[X]], %[[T]] : tensor<4x8xf32>, f32)
// CHECK-SAME:      outs(%[[INIT]] : tensor<4x8xf32>)
// CHECK-NEXT:    ^bb0(%[[XE:[^:]*]]: f32, %[[TE:[^:]*]]: f32, %{{[^:]*}}: f32):
// CHECK-NEXT:      %[[SH:.*]] = arith.subf %[[XE]], %[[TE]] : f32
// CHECK-NEXT:      %[[R:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:      linalg.yield %[[R]] : f32
// CHECK-NEXT:    } -> tensor<4x8xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<4x8xf32>
func.func @prox_l1_pos(%x: tensor<4x8xf32>, %s: f32, %l: f32) -> tensor<4x8xf32> {
  %y = breg.prox #breg.l1_pos %x, %s, %l : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// l1_pos does not fold under prox (only J = 0 does); rank 0 works too.
// CHECK-DAG:   #[[$MAP0:.*]] = affine_map<() -> ()>
// CHECK-LABEL: func.func @prox_l1_pos_rank0(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<f32>, %[[S:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK:         linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$MAP0]], #[[$MAP0]], #[[$MAP0]]]
// CHECK-SAME:      iterator_types = []
// CHECK-NEXT:    ^bb0(
// CHECK-NEXT:      arith.subf
// CHECK-NEXT:      arith.maximumf
// CHECK-NEXT:      linalg.yield
func.func @prox_l1_pos_rank0(%x: tensor<f32>, %s: f32, %l: f32) -> tensor<f32> {
  %y = breg.prox #breg.l1_pos %x, %s, %l : tensor<f32>
  return %y : tensor<f32>
}
