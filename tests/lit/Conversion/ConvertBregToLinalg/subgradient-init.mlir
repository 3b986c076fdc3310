// breg.subgradient_init -> one elementwise linalg.generic (ALGORITHMS.md §2-3):
//   v = θ/δ + p,  p = λ·sign(θ) with sign(0) = 0 for l1,  p = 0 for none.
// RUN: bregman-opt %s -split-input-file -convert-breg-to-linalg | FileCheck %s

// CHECK-DAG:   #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG:   #[[$SCALAR3:.*]] = affine_map<(d0, d1, d2) -> ()>
// CHECK-LABEL: func.func @subgradient_init_l1(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<2x3x4xf32>, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32) -> tensor<2x3x4xf32>
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[INIT:.*]] = tensor.empty() : tensor<2x3x4xf32>
// CHECK:         %[[V:.*]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID3]], #[[$SCALAR3]], #[[$SCALAR3]], #[[$ID3]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel"]
// CHECK-SAME:      ins(%[[T]], %[[D]], %[[L]] : tensor<2x3x4xf32>, f32, f32)
// CHECK-SAME:      outs(%[[INIT]] : tensor<2x3x4xf32>)
// CHECK-NEXT:    ^bb0(%[[TE:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %[[LE:[^:]*]]: f32, %{{[^:]*}}: f32):
// CHECK-NEXT:      %[[Q:.*]] = arith.divf %[[TE]], %[[DE]] : f32
// CHECK-NEXT:      %[[SGN:.*]] = math.copysign %[[LE]], %[[TE]] : f32
// CHECK-NEXT:      %[[ISZ:.*]] = arith.cmpf oeq, %[[TE]], %[[ZERO]] : f32
// CHECK-NEXT:      %[[P:.*]] = arith.select %[[ISZ]], %[[ZERO]], %[[SGN]] : f32
// CHECK-NEXT:      %[[R:.*]] = arith.addf %[[Q]], %[[P]] : f32
// CHECK-NEXT:      linalg.yield %[[R]] : f32
// CHECK-NEXT:    } -> tensor<2x3x4xf32>
// CHECK-NEXT:    return %[[V]] : tensor<2x3x4xf32>
func.func @subgradient_init_l1(%t: tensor<2x3x4xf32>, %d: f32, %l: f32) -> tensor<2x3x4xf32> {
  %v = breg.subgradient_init #breg.l1 %t, %d, %l : tensor<2x3x4xf32>
  return %v : tensor<2x3x4xf32>
}

// -----

// J = 0: v = θ/δ, no subgradient term (λ is still an unused `ins`).
// CHECK-DAG:   #[[$ID1:.*]] = affine_map<(d0) -> (d0)>
// CHECK-DAG:   #[[$SCALAR1:.*]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @subgradient_init_none(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<10xf32>, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32) -> tensor<10xf32>
// CHECK:         %[[INIT:.*]] = tensor.empty() : tensor<10xf32>
// CHECK-NEXT:    %[[V:.*]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$ID1]]]
// CHECK-SAME:      iterator_types = ["parallel"]
// CHECK-SAME:      ins(%[[T]], %[[D]], %[[L]] : tensor<10xf32>, f32, f32)
// CHECK-SAME:      outs(%[[INIT]] : tensor<10xf32>)
// CHECK-NEXT:    ^bb0(%[[TE:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %{{[^:]*}}: f32, %{{[^:]*}}: f32):
// CHECK-NEXT:      %[[Q:.*]] = arith.divf %[[TE]], %[[DE]] : f32
// CHECK-NEXT:      linalg.yield %[[Q]] : f32
// CHECK-NEXT:    } -> tensor<10xf32>
// CHECK-NEXT:    return %[[V]] : tensor<10xf32>
func.func @subgradient_init_none(%t: tensor<10xf32>, %d: f32, %l: f32) -> tensor<10xf32> {
  %v = breg.subgradient_init #breg.none %t, %d, %l : tensor<10xf32>
  return %v : tensor<10xf32>
}

// -----

// CHECK-LABEL: func.func @subgradient_init_dynamic(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<?xf32>
// CHECK:         %[[DIM:.*]] = tensor.dim %[[T]], %{{.*}} : tensor<?xf32>
// CHECK:         tensor.empty(%[[DIM]]) : tensor<?xf32>
func.func @subgradient_init_dynamic(%t: tensor<?xf32>, %d: f32, %l: f32) -> tensor<?xf32> {
  %v = breg.subgradient_init #breg.l1 %t, %d, %l : tensor<?xf32>
  return %v : tensor<?xf32>
}

// -----

// l1_pos chooses the same subgradient as l1: v = θ/δ + λ·sign(θ), sign(0) = 0.
// CHECK-DAG:   #[[$ID1:.*]] = affine_map<(d0) -> (d0)>
// CHECK-DAG:   #[[$SCALAR1:.*]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @subgradient_init_l1_pos(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<16xf32>, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32) -> tensor<16xf32>
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[INIT:.*]] = tensor.empty() : tensor<16xf32>
// CHECK:         %[[V:.*]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$ID1]]]
// CHECK-SAME:      iterator_types = ["parallel"]
// CHECK-SAME:      ins(%[[T]], %[[D]], %[[L]] : tensor<16xf32>, f32, f32)
// CHECK-SAME:      outs(%[[INIT]] : tensor<16xf32>)
// CHECK-NEXT:    ^bb0(%[[TE:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %[[LE:[^:]*]]: f32, %{{[^:]*}}: f32):
// CHECK-NEXT:      %[[Q:.*]] = arith.divf %[[TE]], %[[DE]] : f32
// CHECK-NEXT:      %[[SGN:.*]] = math.copysign %[[LE]], %[[TE]] : f32
// CHECK-NEXT:      %[[ISZ:.*]] = arith.cmpf oeq, %[[TE]], %[[ZERO]] : f32
// CHECK-NEXT:      %[[P:.*]] = arith.select %[[ISZ]], %[[ZERO]], %[[SGN]] : f32
// CHECK-NEXT:      %[[R:.*]] = arith.addf %[[Q]], %[[P]] : f32
// CHECK-NEXT:      linalg.yield %[[R]] : f32
// CHECK-NEXT:    } -> tensor<16xf32>
// CHECK-NEXT:    return %[[V]] : tensor<16xf32>
func.func @subgradient_init_l1_pos(%t: tensor<16xf32>, %d: f32, %l: f32) -> tensor<16xf32> {
  %v = breg.subgradient_init #breg.l1_pos %t, %d, %l : tensor<16xf32>
  return %v : tensor<16xf32>
}
