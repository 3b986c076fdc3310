// One case per verifier rule of the convolution ops; the messages are pinned.
// RUN: bregman-opt %s -split-input-file -verify-diagnostics

func.func @wrong_output_shape(%x: tensor<1x1x8x8xf32>, %w: tensor<2x1x3x3xf32>) {
  // expected-error @+1 {{'breg.conv2d' op output shape 'tensor<1x2x5x6xf32>' does not match the input, filter and geometry, which give [1, 2, 6, 6]}}
  %y = breg.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<1x1x8x8xf32>, tensor<2x1x3x3xf32> -> tensor<1x2x5x6xf32>
  return
}

// -----

func.func @channels_per_filter(%x: tensor<1x4x8x8xf32>, %w: tensor<2x4x3x3xf32>) {
  // expected-error @+1 {{'breg.conv2d' op filter 'tensor<2x4x3x3xf32>' must have 2 channels per filter (input channels 4 / groups 2)}}
  %y = breg.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 2
      : tensor<1x4x8x8xf32>, tensor<2x4x3x3xf32> -> tensor<1x2x6x6xf32>
  return
}

// -----

func.func @groups_divide(%x: tensor<1x4x8x8xf32>, %w: tensor<3x2x3x3xf32>) {
  // expected-error @+1 {{'breg.conv2d' op groups (2) must divide the input channels (4) and the filters (3)}}
  %y = breg.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 2
      : tensor<1x4x8x8xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x6x6xf32>
  return
}

// -----

func.func @zero_groups(%x: tensor<1x4x8x8xf32>, %w: tensor<3x2x3x3xf32>) {
  // expected-error @+1 {{'breg.conv2d' op attribute 'groups' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %y = breg.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 0
      : tensor<1x4x8x8xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x6x6xf32>
  return
}

// -----

func.func @bad_strides(%x: tensor<1x1x8x8xf32>, %w: tensor<2x1x3x3xf32>) {
  // expected-error @+1 {{'breg.conv2d' op strides must be 2 positive values, got [1, 0]}}
  %y = breg.conv2d %x, %w strides [1, 0] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<1x1x8x8xf32>, tensor<2x1x3x3xf32> -> tensor<1x2x6x6xf32>
  return
}

// -----

func.func @bad_padding(%x: tensor<1x1x8x8xf32>, %w: tensor<2x1x3x3xf32>) {
  // expected-error @+1 {{'breg.conv2d' op padding must be 4 non-negative values [top, left, bottom, right], got [1, 1]}}
  %y = breg.conv2d %x, %w strides [1, 1] padding [1, 1] dilations [1, 1] groups 1
      : tensor<1x1x8x8xf32>, tensor<2x1x3x3xf32> -> tensor<1x2x6x6xf32>
  return
}

// -----

func.func @bad_dilations(%x: tensor<1x1x8x8xf32>, %w: tensor<2x1x3x3xf32>) {
  // expected-error @+1 {{'breg.conv2d' op dilations must be 2 positive values, got [1, 1, 1]}}
  %y = breg.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1, 1] groups 1
      : tensor<1x1x8x8xf32>, tensor<2x1x3x3xf32> -> tensor<1x2x6x6xf32>
  return
}

// -----

func.func @not_4d(%x: tensor<8x8xf32>, %w: tensor<2x1x3x3xf32>) {
  // expected-error @+1 {{'breg.conv2d' op input must be a static 4-D tensor, got 'tensor<8x8xf32>'}}
  %y = breg.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<8x8xf32>, tensor<2x1x3x3xf32> -> tensor<1x2x6x6xf32>
  return
}

// -----

func.func @filter_too_large(%x: tensor<1x1x4x4xf32>, %w: tensor<2x1x3x3xf32>) {
  // expected-error @+1 {{'breg.conv2d' op the dilated filter 'tensor<2x1x3x3xf32>' is larger than the padded input 'tensor<1x1x4x4xf32>'}}
  %y = breg.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [2, 2] groups 1
      : tensor<1x1x4x4xf32>, tensor<2x1x3x3xf32> -> tensor<1x2x1x1xf32>
  return
}

// -----

func.func @element_types(%x: tensor<1x1x8x8xf32>, %w: tensor<2x1x3x3xf64>) {
  // expected-error @+1 {{'breg.conv2d' op failed to verify that all of {lhs, rhs, result} have same element type}}
  %y = breg.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<1x1x8x8xf32>, tensor<2x1x3x3xf64> -> tensor<1x2x6x6xf32>
  return
}

// -----

// The gradient ops check the same geometry, with their operands in the roles
// of output cotangent, filter and input.
func.func @grad_input_shape(%dy: tensor<1x2x6x6xf32>, %w: tensor<2x1x3x3xf32>) {
  // expected-error @+1 {{'breg.conv2d_grad_input' op output shape 'tensor<1x2x6x6xf32>' does not match the input, filter and geometry, which give [1, 2, 7, 7]}}
  %dx = breg.conv2d_grad_input %dy, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<1x2x6x6xf32>, tensor<2x1x3x3xf32> -> tensor<1x1x9x9xf32>
  return
}

// -----

func.func @grad_filter_shape(%x: tensor<1x1x8x8xf32>, %dy: tensor<1x2x6x6xf32>) {
  // expected-error @+1 {{'breg.conv2d_grad_filter' op filter 'tensor<2x2x3x3xf32>' must have 1 channels per filter (input channels 1 / groups 1)}}
  %dw = breg.conv2d_grad_filter %x, %dy strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<1x1x8x8xf32>, tensor<1x2x6x6xf32> -> tensor<2x2x3x3xf32>
  return
}

// -----

// A dilation of 2^62 made dilations·(K − 1) wrap to 0 and passed the check.
func.func @dilation_overflow(%x: tensor<1x1x4x4xf32>, %w: tensor<1x1x5x5xf32>) {
  // expected-error @+1 {{'breg.conv2d' op the geometry attributes with input 'tensor<1x1x4x4xf32>' overflow 64-bit integers}}
  %y = breg.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [4611686018427387904, 4611686018427387904] groups 1
      : tensor<1x1x4x4xf32>, tensor<1x1x5x5xf32> -> tensor<1x1x4x4xf32>
  return
}

// -----

func.func @empty_filter_window(%x: tensor<1x2x4x4xf32>, %w: tensor<3x2x0x0xf32>) {
  // expected-error @+1 {{'breg.conv2d' op filter 'tensor<3x2x0x0xf32>' must have a positive height and width}}
  %y = breg.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<1x2x4x4xf32>, tensor<3x2x0x0xf32> -> tensor<1x3x5x5xf32>
  return
}
