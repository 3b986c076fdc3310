// One case per verifier rule of the pooling, argmax, one-hot and dropout-mask
// ops; the messages are pinned.
// RUN: bregman-opt %s -split-input-file -verify-diagnostics

func.func @wrong_output_shape(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'breg.max_pool2d' op output shape 'tensor<1x3x3x4xf32>' does not match the input and window, which give [1, 3, 4, 4]}}
  %y = breg.max_pool2d %x kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<1x3x8x8xf32> -> tensor<1x3x3x4xf32>
  return
}

// -----

func.func @channels_kept(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{'breg.sum_pool2d' op output shape 'tensor<1x6x4x4xf32>' does not match the input and window, which give [1, 3, 4, 4]}}
  %y = breg.sum_pool2d %x kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<1x3x8x8xf32> -> tensor<1x6x4x4xf32>
  return
}

// -----

func.func @kernel_positive(%x: tensor<1x1x8x8xf32>) {
  // expected-error @+1 {{'breg.max_pool2d' op kernel must be 2 positive values, got [2, 0]}}
  %y = breg.max_pool2d %x kernel [2, 0] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<1x1x8x8xf32> -> tensor<1x1x4x4xf32>
  return
}

// -----

func.func @strides_positive(%x: tensor<1x1x8x8xf32>) {
  // expected-error @+1 {{'breg.max_pool2d' op strides must be 2 positive values, got [2]}}
  %y = breg.max_pool2d %x kernel [2, 2] strides [2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<1x1x8x8xf32> -> tensor<1x1x4x4xf32>
  return
}

// -----

func.func @dilations_positive(%x: tensor<1x1x8x8xf32>) {
  // expected-error @+1 {{'breg.sum_pool2d' op dilations must be 2 positive values, got [1, 0]}}
  %y = breg.sum_pool2d %x kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 0]
      : tensor<1x1x8x8xf32> -> tensor<1x1x4x4xf32>
  return
}

// -----

func.func @padding_four(%x: tensor<1x1x8x8xf32>) {
  // expected-error @+1 {{'breg.max_pool2d' op padding must be 4 non-negative values [top, left, bottom, right], got [1, 1]}}
  %y = breg.max_pool2d %x kernel [2, 2] strides [2, 2] padding [1, 1] dilations [1, 1]
      : tensor<1x1x8x8xf32> -> tensor<1x1x4x4xf32>
  return
}

// -----

func.func @window_too_large(%x: tensor<1x1x3x3xf32>) {
  // expected-error @+1 {{'breg.max_pool2d' op the dilated window [2, 2] is larger than the padded input 'tensor<1x1x3x3xf32>'}}
  %y = breg.max_pool2d %x kernel [2, 2] strides [1, 1] padding [0, 0, 0, 0] dilations [3, 1]
      : tensor<1x1x3x3xf32> -> tensor<1x1x1x2xf32>
  return
}

// -----

func.func @static_4d(%x: tensor<1x8x8xf32>) {
  // expected-error @+1 {{'breg.max_pool2d' op input must be a static 4-D tensor, got 'tensor<1x8x8xf32>'}}
  %y = breg.max_pool2d %x kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<1x8x8xf32> -> tensor<1x1x4x4xf32>
  return
}

// -----

func.func @grad_result_is_input(%x: tensor<1x1x8x8xf32>, %dy: tensor<1x1x4x4xf32>) {
  // expected-error @+1 {{'breg.max_pool2d_grad' op result type 'tensor<1x1x8x9xf32>' must be the input type 'tensor<1x1x8x8xf32>'}}
  %dx = breg.max_pool2d_grad %x, %dy kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<1x1x8x8xf32>, tensor<1x1x4x4xf32> -> tensor<1x1x8x9xf32>
  return
}

// -----

func.func @grad_dy_shape(%x: tensor<1x1x8x8xf32>, %dy: tensor<1x1x4x3xf32>) {
  // expected-error @+1 {{'breg.max_pool2d_grad' op output shape 'tensor<1x1x4x3xf32>' does not match the input and window, which give [1, 1, 4, 4]}}
  %dx = breg.max_pool2d_grad %x, %dy kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<1x1x8x8xf32>, tensor<1x1x4x3xf32> -> tensor<1x1x8x8xf32>
  return
}

// -----

// The input shape (the result) must pool to dy's shape.
func.func @sum_grad_input_shape(%dy: tensor<1x1x4x4xf32>) {
  // expected-error @+1 {{'breg.sum_pool2d_grad' op output shape 'tensor<1x1x4x4xf32>' does not match the input and window, which give [1, 1, 5, 4]}}
  %dx = breg.sum_pool2d_grad %dy kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<1x1x4x4xf32> -> tensor<1x1x10x8xf32>
  return
}

// -----

func.func @element_types(%x: tensor<1x1x8x8xf32>) {
  // expected-error @+1 {{'breg.max_pool2d' op failed to verify that all of {input, result} have same element type}}
  %y = breg.max_pool2d %x kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<1x1x8x8xf32> -> tensor<1x1x4x4xf64>
  return
}

// -----

func.func @argmax_shape(%x: tensor<4x10xf32>) {
  // expected-error @+1 {{'breg.argmax' op result shape 'tensor<10xi32>' must be the input's without its last dimension, [4]}}
  %i = breg.argmax %x : tensor<4x10xf32> -> tensor<10xi32>
  return
}

// -----

func.func @argmax_rank(%x: tensor<f32>) {
  // expected-error @+1 {{'breg.argmax' op input must be a static tensor of rank >= 1, got 'tensor<f32>'}}
  %i = breg.argmax %x : tensor<f32> -> tensor<i32>
  return
}

// -----

func.func @one_hot_ranks(%labels: tensor<4x1xi32>) {
  // expected-error @+1 {{'breg.one_hot' op labels must be 1-D and the result static 2-D, got 'tensor<4x1xi32>' and 'tensor<4x10xf32>'}}
  %h = breg.one_hot %labels : tensor<4x1xi32> -> tensor<4x10xf32>
  return
}

// -----

func.func @one_hot_rows(%labels: tensor<4xi32>) {
  // expected-error @+1 {{'breg.one_hot' op result 'tensor<5x10xf32>' must have one row per label (4)}}
  %h = breg.one_hot %labels : tensor<4xi32> -> tensor<5x10xf32>
  return
}

// -----

func.func @dropout_rate(%seed: i32) {
  // expected-error @+1 {{'breg.dropout_mask' op rate must be in [0, 1), got 1.000000e+00}}
  %m = breg.dropout_mask %seed rate 1.0 : tensor<4x10xf32>
  return
}

// -----

func.func @dropout_static(%seed: i32) {
  // expected-error @+1 {{'breg.dropout_mask' op result must have a static shape (the mask hashes the linear index), got 'tensor<?x10xf32>'}}
  %m = breg.dropout_mask %seed rate 0.5 : tensor<?x10xf32>
  return
}

// -----

func.func @padding_overflow(%x: tensor<1x1x4x4xf32>) {
  // expected-error @+1 {{'breg.max_pool2d' op the geometry attributes with input 'tensor<1x1x4x4xf32>' overflow 64-bit integers}}
  %y = breg.max_pool2d %x kernel [1, 1] strides [1, 1] padding [9223372036854775807, 0, 9223372036854775807, 0] dilations [1, 1]
      : tensor<1x1x4x4xf32> -> tensor<1x1x1x1xf32>
  return
}

// -----

func.func @argmax_dynamic(%x: tensor<?x10xf32>) {
  // expected-error @+1 {{'breg.argmax' op input must be a static tensor of rank >= 1, got 'tensor<?x10xf32>'}}
  %i = breg.argmax %x : tensor<?x10xf32> -> tensor<?xi32>
  return
}

// -----

func.func @one_hot_dynamic_classes(%labels: tensor<4xi32>) {
  // expected-error @+1 {{'breg.one_hot' op labels must be 1-D and the result static 2-D, got 'tensor<4xi32>' and 'tensor<4x?xf32>'}}
  %h = breg.one_hot %labels : tensor<4xi32> -> tensor<4x?xf32>
  return
}
