// The generated form of the convolution ops: groups as their own dimension,
// an explicit zero border, one multiply-accumulate linalg.generic whose maps
// carry stride and dilation (see ConvToLinalgPatterns.cpp for the three
// formulas).
// RUN: bregman-opt %s -split-input-file -convert-breg-to-linalg | FileCheck %s

// Stride 2, padding [1, 1, 0, 0], dilation (1, 2), 2 groups.
// CHECK-DAG: #[[$X:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 * 2 + d6, d4 * 2 + d7 * 2)>
// CHECK-DAG: #[[$W:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>
// CHECK-DAG: #[[$Y:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
// CHECK-LABEL: func.func @forward(
// CHECK-SAME:    %[[XIN:.*]]: tensor<2x4x7x7xf64>, %[[WIN:.*]]: tensor<6x2x3x3xf64>)
// CHECK:         %[[ZEROS:.*]] = linalg.fill {{.*}} -> tensor<2x4x8x8xf64>
// CHECK:         %[[PADDED:.*]] = tensor.insert_slice %[[XIN]] into %[[ZEROS]][0, 0, 1, 1] [2, 4, 7, 7] [1, 1, 1, 1]
// CHECK:         %[[XG:.*]] = tensor.expand_shape %[[PADDED]] {{\[\[}}0], [1, 2], [3], [4]] output_shape [2, 2, 2, 8, 8]
// CHECK:         %[[WG:.*]] = tensor.expand_shape %[[WIN]] {{\[\[}}0, 1], [2], [3], [4]] output_shape [2, 3, 2, 3, 3]
// CHECK:         %[[ACC:.*]] = linalg.fill {{.*}} -> tensor<2x2x3x3x2xf64>
// CHECK:         %[[G:.*]] = linalg.generic {indexing_maps = [#[[$X]], #[[$W]], #[[$Y]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-SAME:        ins(%[[XG]], %[[WG]] : {{.*}}) outs(%[[ACC]] :
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         %[[R:.*]] = tensor.collapse_shape %[[G]] {{\[\[}}0], [1, 2], [3], [4]] : tensor<2x2x3x3x2xf64> into tensor<2x6x3x2xf64>
// CHECK:         return %[[R]]
func.func @forward(%x: tensor<2x4x7x7xf64>, %w: tensor<6x2x3x3xf64>) -> tensor<2x6x3x2xf64> {
  %y = breg.conv2d %x, %w strides [2, 2] padding [1, 1, 0, 0] dilations [1, 2] groups 2
      : tensor<2x4x7x7xf64>, tensor<6x2x3x3xf64> -> tensor<2x6x3x2xf64>
  return %y : tensor<2x6x3x2xf64>
}

// -----

// dW[g,f,c,kh,kw] = Σ_{n,oh,ow} x[n,g,c, oh·s + kh·d, ow·s + kw·d] · dy[n,g,f,oh,ow];
// no padding: the input is read as it is.
// CHECK-DAG: #[[$X:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d5, d0, d2, d6 * 2 + d3, d7 * 2 + d4)>
// CHECK-DAG: #[[$DY:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d5, d0, d1, d6, d7)>
// CHECK-LABEL: func.func @grad_filter(
// CHECK-NOT:     tensor.insert_slice
// CHECK:         linalg.generic {indexing_maps = [#[[$X]], #[[$DY]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK:         tensor.collapse_shape {{.*}} {{\[\[}}0, 1], [2], [3], [4]] : tensor<1x4x3x3x3xf32> into tensor<4x3x3x3xf32>
func.func @grad_filter(%x: tensor<2x3x9x9xf32>, %dy: tensor<2x4x4x4xf32>) -> tensor<4x3x3x3xf32> {
  %dw = breg.conv2d_grad_filter %x, %dy strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<2x3x9x9xf32>, tensor<2x4x4x4xf32> -> tensor<4x3x3x3xf32>
  return %dw : tensor<4x3x3x3xf32>
}

// -----

// dx = the transposed convolution: dy spread out by the stride (zeros
// between) inside a border of (K − 1)·d = 2, read against the flipped
// window; then the padding is cut off again.
// CHECK-DAG: #[[$DY:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 - d6 + 2, d4 - d7 + 2)>
// CHECK-DAG: #[[$W:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d5, d2, d6, d7)>
// CHECK-LABEL: func.func @grad_input(
// CHECK-SAME:    %[[DYIN:.*]]: tensor<2x4x4x4xf32>
// CHECK:         %[[DYG:.*]] = tensor.expand_shape %[[DYIN]] {{.*}} output_shape [2, 1, 4, 4, 4]
// CHECK:         %[[SPREAD:.*]] = tensor.insert_slice %[[DYG]] into %{{.*}}[0, 0, 0, 2, 2] [2, 1, 4, 4, 4] [1, 1, 1, 2, 2] : tensor<2x1x4x4x4xf32> into tensor<2x1x4x11x11xf32>
// CHECK:         %[[DX:.*]] = linalg.generic {indexing_maps = [#[[$DY]], #[[$W]], {{.*}}]
// CHECK-SAME:        ins(%[[SPREAD]], {{.*}}) outs({{.*}} : tensor<2x1x3x9x9xf32>)
// CHECK:         %[[FLAT:.*]] = tensor.collapse_shape %[[DX]]
// CHECK:         tensor.extract_slice %[[FLAT]][0, 0, 1, 1] [2, 3, 8, 8] [1, 1, 1, 1] : tensor<2x3x9x9xf32> to tensor<2x3x8x8xf32>
func.func @grad_input(%dy: tensor<2x4x4x4xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<2x3x8x8xf32> {
  %dx = breg.conv2d_grad_input %dy, %w strides [2, 2] padding [1, 1, 0, 0] dilations [1, 1] groups 1
      : tensor<2x4x4x4xf32>, tensor<4x3x3x3xf32> -> tensor<2x3x8x8xf32>
  return %dx : tensor<2x3x8x8xf32>
}
