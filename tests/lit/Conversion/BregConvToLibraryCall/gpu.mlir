// For the GPU (cuDNN): the calls are bregman_gpu_conv2d_*, and a
// convolution padded asymmetrically (top != bottom or left != right), which
// cuDNN cannot express, is left to convert-breg-to-linalg.
// RUN: bregman-opt %s -breg-conv-to-library-call="symbol-prefix=bregman_gpu_conv2d require-symmetric-padding=1" | FileCheck %s

// CHECK-LABEL: func.func @symmetric
// CHECK:         call @bregman_gpu_conv2d_forward(
// CHECK-NOT:     breg.conv2d
func.func @symmetric(%x: tensor<1x2x6x6xf32>, %w: tensor<3x2x3x3xf32>) -> tensor<1x3x6x6xf32> {
  %y = breg.conv2d %x, %w strides [1, 1] padding [1, 1, 1, 1] dilations [1, 1] groups 1
      : tensor<1x2x6x6xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x6x6xf32>
  return %y : tensor<1x3x6x6xf32>
}

// CHECK-LABEL: func.func @asymmetric
// CHECK-NOT:     call @bregman_gpu_conv2d
// CHECK:         breg.conv2d
func.func @asymmetric(%x: tensor<1x2x6x6xf32>, %w: tensor<3x2x3x3xf32>) -> tensor<1x3x5x5xf32> {
  %y = breg.conv2d %x, %w strides [1, 1] padding [0, 0, 1, 1] dilations [1, 1] groups 1
      : tensor<1x2x6x6xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x5x5xf32>
  return %y : tensor<1x3x5x5xf32>
}
