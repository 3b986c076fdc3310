// Pooling and its gradients as linalg generics (ConvertBregPoolingToLinalg.cpp).
// RUN: bregman-opt %s -split-input-file -convert-breg-pooling-to-linalg | FileCheck %s

// Windows that tile the input (2×2, stride 2): the input viewed as
// [N, C, OH, KH, OW, KW], each window's four values read at constant (kh, kw)
// by all-parallel generics; the gradient goes to the FIRST maximum (a strict
// compare chain in row-major order gives its position kh·KW + kw).
// CHECK-DAG: #[[$W00:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0, d3, 0)>
// CHECK-DAG: #[[$W01:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0, d3, 1)>
// CHECK-DAG: #[[$W10:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 1, d3, 0)>
// CHECK-DAG: #[[$W11:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 1, d3, 1)>
// CHECK-DAG: #[[$ID4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[$WIN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d4)>
// CHECK-DAG: #[[$ID6:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>
// CHECK-LABEL: func.func @tiled(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3x4x6xf32>, %[[DY:.*]]: tensor<2x3x2x3xf32>)
// CHECK:         %[[X6:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1], [2, 3], [4, 5]] output_shape [2, 3, 2, 2, 3, 2]
// CHECK:         %[[Y:.*]] = linalg.generic {indexing_maps = [#[[$W00]], #[[$W01]], #[[$W10]], #[[$W11]], #[[$ID4]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME:        ins(%[[X6]], %[[X6]], %[[X6]], %[[X6]] :
// CHECK-COUNT-3:     arith.maximumf
// CHECK:         } -> tensor<2x3x2x3xf32>
// CHECK:         %[[X6B:.*]] = tensor.expand_shape %[[X]]
// CHECK:         %[[POS:.*]] = linalg.generic {{.*}} ins(%[[X6B]], %[[X6B]], %[[X6B]], %[[X6B]] : {{.*}}) outs({{.*}} : tensor<2x3x2x3xi32>)
// CHECK:           arith.cmpf ogt
// CHECK:           arith.select
// CHECK:           arith.constant 1 : i32
// CHECK-COUNT-2:   arith.cmpf ogt
// CHECK:         %[[DX6:.*]] = linalg.generic {indexing_maps = [#[[$WIN]], #[[$WIN]], #[[$ID6]]], {{.*}}} ins(%[[DY]], %[[POS]] : {{.*}}) outs({{.*}} : tensor<2x3x2x2x3x2xf32>)
// CHECK:           %[[KH:.*]] = linalg.index 3
// CHECK:           %[[KW:.*]] = linalg.index 5
// CHECK:           arith.cmpi eq
// CHECK:         %[[DX:.*]] = tensor.collapse_shape %[[DX6]] {{\[\[}}0], [1], [2, 3], [4, 5]] : tensor<2x3x2x2x3x2xf32> into tensor<2x3x4x6xf32>
// Sum pooling's gradient: dy broadcast over each window.
// CHECK:         %[[DS6:.*]] = linalg.generic {indexing_maps = [#[[$WIN]], #[[$ID6]]], {{.*}}} ins(%[[DY]] : {{.*}})
// CHECK-NEXT:    ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      linalg.yield %[[IN]] : f32
// CHECK:         %[[DS:.*]] = tensor.collapse_shape %[[DS6]]
// CHECK:         return %[[Y]], %[[DX]], %[[DS]]
func.func @tiled(%x: tensor<2x3x4x6xf32>, %dy: tensor<2x3x2x3xf32>)
    -> (tensor<2x3x2x3xf32>, tensor<2x3x4x6xf32>, tensor<2x3x4x6xf32>) {
  %y = breg.max_pool2d %x kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<2x3x4x6xf32> -> tensor<2x3x2x3xf32>
  %dx = breg.max_pool2d_grad %x, %dy kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<2x3x4x6xf32>, tensor<2x3x2x3xf32> -> tensor<2x3x4x6xf32>
  %ds = breg.sum_pool2d_grad %dy kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<2x3x2x3xf32> -> tensor<2x3x4x6xf32>
  return %y, %dx, %ds : tensor<2x3x2x3xf32>, tensor<2x3x4x6xf32>, tensor<2x3x4x6xf32>
}

// -----

// Overlapping padded windows (3×3, stride 2, padding 1): the input inside an
// explicit border (0 for a sum, −∞ for a max), a reduction generic over
// (n, c, oh | kh, kw | ow), and for the gradient the position of each
// window's maximum, then a gather over (n, c, h, w | kh, kw).
// CHECK-DAG: #[[$IN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d3, d5 * 2 + d4)>
// CHECK-DAG: #[[$K:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d4)>
// CHECK-DAG: #[[$OUT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5)>
// CHECK-DAG: #[[$GK:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>
// CHECK-DAG: #[[$GX:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @general(
// CHECK-SAME:    %[[X:.*]]: tensor<1x2x5x5xf64>, %[[DY:.*]]: tensor<1x2x3x3xf64>)
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f64
// CHECK:         %[[ZB:.*]] = linalg.fill ins(%[[ZERO]] : f64) {{.*}} -> tensor<1x2x7x7xf64>
// CHECK:         %[[PAD0:.*]] = tensor.insert_slice %[[X]] into %[[ZB]][0, 0, 1, 1] [1, 2, 5, 5] [1, 1, 1, 1]
// CHECK:         %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[$IN]], #[[$K]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "parallel"]} ins(%[[PAD0]], %{{.*}} : tensor<1x2x7x7xf64>, tensor<3x3xf64>)
// CHECK:           arith.addf
// CHECK:         %[[NEGINF:.*]] = arith.constant 0xFFF0000000000000 : f64
// CHECK:         %[[IB:.*]] = linalg.fill ins(%[[NEGINF]] : f64) {{.*}} -> tensor<1x2x7x7xf64>
// CHECK:         %[[PAD1:.*]] = tensor.insert_slice %[[X]] into %[[IB]][0, 0, 1, 1]
// CHECK:         %[[BEST:.*]]:2 = linalg.generic {indexing_maps = [#[[$IN]], #[[$K]], #[[$OUT]], #[[$OUT]]], {{.*}}} ins(%[[PAD1]], %{{.*}} : {{.*}}) outs(%{{.*}}, %{{.*}} : tensor<1x2x3x3xf64>, tensor<1x2x3x3xi32>)
// CHECK:           arith.cmpf ogt
// CHECK:         %[[DX:.*]] = linalg.generic {indexing_maps = [#[[$GK]], #[[$GX]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
// CHECK:           arith.divsi
// CHECK:           arith.remsi
// CHECK:           tensor.extract %[[DY]]
// CHECK:           tensor.extract %[[BEST]]#1
// CHECK:         return %[[SUM]], %[[DX]]
func.func @general(%x: tensor<1x2x5x5xf64>, %dy: tensor<1x2x3x3xf64>)
    -> (tensor<1x2x3x3xf64>, tensor<1x2x5x5xf64>) {
  %y = breg.sum_pool2d %x kernel [3, 3] strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1]
      : tensor<1x2x5x5xf64> -> tensor<1x2x3x3xf64>
  %dx = breg.max_pool2d_grad %x, %dy kernel [3, 3] strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1]
      : tensor<1x2x5x5xf64>, tensor<1x2x3x3xf64> -> tensor<1x2x5x5xf64>
  return %y, %dx : tensor<1x2x3x3xf64>, tensor<1x2x5x5xf64>
}
