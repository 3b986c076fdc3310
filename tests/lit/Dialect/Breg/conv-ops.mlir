// The convolution ops parse, verify and print back (round trip).
// RUN: bregman-opt %s | bregman-opt | FileCheck %s

// CHECK-LABEL: func.func @convnet_layer
// CHECK:  breg.conv2d %{{.*}}, %{{.*}} strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : tensor<128x1x28x28xf32>, tensor<64x1x5x5xf32> -> tensor<128x64x24x24xf32>
// CHECK:  breg.conv2d_grad_input %{{.*}}, %{{.*}} strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : tensor<128x64x24x24xf32>, tensor<64x1x5x5xf32> -> tensor<128x1x28x28xf32>
// CHECK:  breg.conv2d_grad_filter %{{.*}}, %{{.*}} strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : tensor<128x1x28x28xf32>, tensor<128x64x24x24xf32> -> tensor<64x1x5x5xf32>
func.func @convnet_layer(%x: tensor<128x1x28x28xf32>, %w: tensor<64x1x5x5xf32>,
                         %dy: tensor<128x64x24x24xf32>)
    -> (tensor<128x64x24x24xf32>, tensor<128x1x28x28xf32>, tensor<64x1x5x5xf32>) {
  %y = breg.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<128x1x28x28xf32>, tensor<64x1x5x5xf32> -> tensor<128x64x24x24xf32>
  %dx = breg.conv2d_grad_input %dy, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<128x64x24x24xf32>, tensor<64x1x5x5xf32> -> tensor<128x1x28x28xf32>
  %dw = breg.conv2d_grad_filter %x, %dy strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<128x1x28x28xf32>, tensor<128x64x24x24xf32> -> tensor<64x1x5x5xf32>
  return %y, %dx, %dw : tensor<128x64x24x24xf32>, tensor<128x1x28x28xf32>, tensor<64x1x5x5xf32>
}

// Strided, padded (asymmetric), dilated, grouped, in f64: OH = (9 + 1 + 0 − 2·2 − 1)/2 + 1 = 3.
// CHECK-LABEL: func.func @geometry
// CHECK:  breg.conv2d %{{.*}}, %{{.*}} strides [2, 1] padding [1, 0, 0, 2] dilations [2, 1] groups 2 : tensor<2x4x9x9xf64>, tensor<6x2x3x3xf64> -> tensor<2x6x3x9xf64>
func.func @geometry(%x: tensor<2x4x9x9xf64>, %w: tensor<6x2x3x3xf64>) -> tensor<2x6x3x9xf64> {
  %y = breg.conv2d %x, %w strides [2, 1] padding [1, 0, 0, 2] dilations [2, 1] groups 2
      : tensor<2x4x9x9xf64>, tensor<6x2x3x3xf64> -> tensor<2x6x3x9xf64>
  return %y : tensor<2x6x3x9xf64>
}

// sparse_conv2d prints its strides only when they are not [1, 1].
// CHECK-LABEL: func.func @sparse_conv_strides
// CHECK:  breg.sparse_conv2d %{{.*}} kernel [3, 3] strides [2, 1] padding [1, 1, 1, 1] dilations [1, 1] flip false : tensor<2x3x8x8xf32>, tensor<5xi32>, tensor<108xi32>, tensor<108xf32> -> tensor<2x4x4x8xf32>
// CHECK:  breg.sparse_conv2d %{{.*}} kernel [3, 3] padding [1, 1, 1, 1] dilations [1, 1] flip false : tensor<2x3x8x8xf32>, tensor<5xi32>, tensor<108xi32>, tensor<108xf32> -> tensor<2x4x8x8xf32>
func.func @sparse_conv_strides(%x: tensor<2x3x8x8xf32>, %p: tensor<5xi32>, %c: tensor<108xi32>, %v: tensor<108xf32>)
    -> (tensor<2x4x4x8xf32>, tensor<2x4x8x8xf32>) {
  %a = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] strides [2, 1] padding [1, 1, 1, 1] dilations [1, 1] flip false
      : tensor<2x3x8x8xf32>, tensor<5xi32>, tensor<108xi32>, tensor<108xf32> -> tensor<2x4x4x8xf32>
  %b = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] flip false
      : tensor<2x3x8x8xf32>, tensor<5xi32>, tensor<108xi32>, tensor<108xf32> -> tensor<2x4x8x8xf32>
  return %a, %b : tensor<2x4x4x8xf32>, tensor<2x4x8x8xf32>
}

// ... and its groups only when there is more than one.
// CHECK-LABEL: func.func @sparse_conv_groups
// CHECK:  breg.sparse_conv2d %{{.*}} kernel [3, 3] strides [2, 2] groups 4 padding [1, 1, 1, 1] dilations [1, 1] flip false : tensor<2x4x8x8xf32>, tensor<5xi32>, tensor<36xi32>, tensor<36xf32> -> tensor<2x4x4x4xf32>
// CHECK:  breg.sparse_conv2d %{{.*}} kernel [3, 3] padding [1, 1, 1, 1] dilations [1, 1] flip false : tensor<2x4x8x8xf32>, tensor<5xi32>, tensor<36xi32>, tensor<36xf32> -> tensor<2x4x8x8xf32>
func.func @sparse_conv_groups(%x: tensor<2x4x8x8xf32>, %p: tensor<5xi32>, %c: tensor<36xi32>, %v: tensor<36xf32>)
    -> (tensor<2x4x4x4xf32>, tensor<2x4x8x8xf32>) {
  %a = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] strides [2, 2] groups 4 padding [1, 1, 1, 1] dilations [1, 1] flip false
      : tensor<2x4x8x8xf32>, tensor<5xi32>, tensor<36xi32>, tensor<36xf32> -> tensor<2x4x4x4xf32>
  %b = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] groups 1 padding [1, 1, 1, 1] dilations [1, 1] flip false
      : tensor<2x4x8x8xf32>, tensor<5xi32>, tensor<36xi32>, tensor<36xf32> -> tensor<2x4x8x8xf32>
  return %a, %b : tensor<2x4x4x4xf32>, tensor<2x4x8x8xf32>
}
