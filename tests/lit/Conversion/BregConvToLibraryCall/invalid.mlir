// A declaration of a library symbol with another type is an error, not a
// silent mismatch at run time.
// RUN: bregman-opt %s -breg-conv-to-library-call -verify-diagnostics

// expected-error @+1 {{'bregman_cpu_conv2d_forward' is declared as '(index) -> ()' but the convolution library call needs '(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index) -> ()'}}
func.func private @bregman_cpu_conv2d_forward(index)

func.func @conv(%x: tensor<1x1x4x4xf32>, %w: tensor<1x1x3x3xf32>) -> tensor<1x1x2x2xf32> {
  %y = breg.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<1x1x4x4xf32>, tensor<1x1x3x3xf32> -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}
