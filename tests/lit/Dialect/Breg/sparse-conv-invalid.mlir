// One case per verifier rule of breg.sparse_conv2d; the messages are pinned.
// RUN: bregman-opt %s -split-input-file -verify-diagnostics

func.func @not_4d(%x: tensor<2x3x6xf32>, %p: tensor<5xi32>, %c: tensor<108xi32>, %v: tensor<108xf32>) {
  // expected-error @+1 {{'breg.sparse_conv2d' op input and result must be static 4-D tensors (NCHW), got 'tensor<2x3x6xf32>' and 'tensor<2x4x4x4xf32>'}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] padding [0, 0, 0, 0] dilations [1, 1] flip false : tensor<2x3x6xf32>, tensor<5xi32>, tensor<108xi32>, tensor<108xf32> -> tensor<2x4x4x4xf32>
  return
}

// -----

func.func @geometry(%x: tensor<2x3x6x6xf32>, %p: tensor<5xi32>, %c: tensor<108xi32>, %v: tensor<108xf32>) {
  // expected-error @+1 {{'breg.sparse_conv2d' op kernel, strides and dilations take 2 values and padding 4 (top, left, bottom, right)}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] padding [0, 0] dilations [1, 1] flip false : tensor<2x3x6x6xf32>, tensor<5xi32>, tensor<108xi32>, tensor<108xf32> -> tensor<2x4x4x4xf32>
  return
}

// -----

func.func @negative_padding(%x: tensor<2x3x6x6xf32>, %p: tensor<5xi32>, %c: tensor<108xi32>, %v: tensor<108xf32>) {
  // expected-error @+1 {{'breg.sparse_conv2d' op kernel, strides and dilations must be positive and padding non-negative}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] padding [-1, 0, 1, 0] dilations [1, 1] flip false : tensor<2x3x6x6xf32>, tensor<5xi32>, tensor<108xi32>, tensor<108xf32> -> tensor<2x4x4x4xf32>
  return
}

// -----

func.func @capacities(%x: tensor<2x3x6x6xf32>, %p: tensor<5xi32>, %c: tensor<108xi32>, %v: tensor<100xf32>) {
  // expected-error @+1 {{'breg.sparse_conv2d' op positions, coordinates and values must be static 1-D tensors, coordinates and values of one capacity, got 'tensor<5xi32>', 'tensor<108xi32>' and 'tensor<100xf32>'}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] padding [0, 0, 0, 0] dilations [1, 1] flip false : tensor<2x3x6x6xf32>, tensor<5xi32>, tensor<108xi32>, tensor<100xf32> -> tensor<2x4x4x4xf32>
  return
}

// -----

func.func @result_shape(%x: tensor<2x3x6x6xf32>, %p: tensor<5xi32>, %c: tensor<108xi32>, %v: tensor<108xf32>) {
  // expected-error @+1 {{'breg.sparse_conv2d' op result must be [N, rows, OH, OW] = [2, 4, 6, 6] for input 'tensor<2x3x6x6xf32>' and 4 CSR rows, got 'tensor<2x4x4x4xf32>'}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] padding [1, 1, 1, 1] dilations [1, 1] flip false : tensor<2x3x6x6xf32>, tensor<5xi32>, tensor<108xi32>, tensor<108xf32> -> tensor<2x4x4x4xf32>
  return
}

// -----

func.func @capacity(%x: tensor<2x3x6x6xf32>, %p: tensor<5xi32>, %c: tensor<109xi32>, %v: tensor<109xf32>) {
  // expected-error @+1 {{'breg.sparse_conv2d' op the capacity 109 must be in [1, rows·(C/groups)·KH·KW = 108]}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] padding [0, 0, 0, 0] dilations [1, 1] flip false : tensor<2x3x6x6xf32>, tensor<5xi32>, tensor<109xi32>, tensor<109xf32> -> tensor<2x4x4x4xf32>
  return
}

// -----

func.func @scalar_positions(%x: tensor<2x3x6x6xf32>, %p: tensor<i32>, %c: tensor<108xi32>, %v: tensor<108xf32>) {
  // expected-error @+1 {{'breg.sparse_conv2d' op positions, coordinates and values must be static 1-D tensors, coordinates and values of one capacity, got 'tensor<i32>', 'tensor<108xi32>' and 'tensor<108xf32>'}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] padding [0, 0, 0, 0] dilations [1, 1] flip false : tensor<2x3x6x6xf32>, tensor<i32>, tensor<108xi32>, tensor<108xf32> -> tensor<2x4x4x4xf32>
  return
}

// -----

func.func @offsets(%x: tensor<1x65536x256x128xf32>, %p: tensor<2xi32>, %c: tensor<9xi32>, %v: tensor<9xf32>) {
  // expected-error @+1 {{'breg.sparse_conv2d' op a padded input sample of 2147483648 elements does not fit 32-bit offsets}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] padding [0, 0, 0, 0] dilations [1, 1] flip false : tensor<1x65536x256x128xf32>, tensor<2xi32>, tensor<9xi32>, tensor<9xf32> -> tensor<1x1x254x126xf32>
  return
}

// -----

func.func @bias(%x: tensor<2x3x6x6xf32>, %p: tensor<5xi32>, %c: tensor<108xi32>, %v: tensor<108xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{'breg.sparse_conv2d' op bias must be tensor<4xf32> (one per CSR row), got 'tensor<3xf32>'}}
  %y = breg.sparse_conv2d %x, %p, %c, %v bias %b kernel [3, 3] padding [0, 0, 0, 0] dilations [1, 1] flip false : tensor<2x3x6x6xf32>, tensor<5xi32>, tensor<108xi32>, tensor<108xf32>, tensor<3xf32> -> tensor<2x4x4x4xf32>
  return
}

// -----

func.func @zero_stride(%x: tensor<2x3x6x6xf32>, %p: tensor<5xi32>, %c: tensor<108xi32>, %v: tensor<108xf32>) {
  // expected-error @+1 {{'breg.sparse_conv2d' op kernel, strides and dilations must be positive and padding non-negative}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] strides [0, 1] padding [0, 0, 0, 0] dilations [1, 1] flip false : tensor<2x3x6x6xf32>, tensor<5xi32>, tensor<108xi32>, tensor<108xf32> -> tensor<2x4x4x4xf32>
  return
}

// -----

func.func @flip_strided(%x: tensor<2x4x3x3xf32>, %p: tensor<4xi32>, %c: tensor<108xi32>, %v: tensor<108xf32>) {
  // Under flip the strides dilate the input: 2·(3 − 1) + 1 + 2 + 2 − 2 = 7.
  // expected-error @+1 {{'breg.sparse_conv2d' op result must be [N, rows, OH, OW] = [2, 3, 7, 7] for input 'tensor<2x4x3x3xf32>' and 3 CSR rows, got 'tensor<2x3x8x8xf32>'}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] strides [2, 2] padding [2, 2, 2, 2] dilations [1, 1] flip true : tensor<2x4x3x3xf32>, tensor<4xi32>, tensor<108xi32>, tensor<108xf32> -> tensor<2x3x8x8xf32>
  return
}

// -----

func.func @strided_result(%x: tensor<2x3x7x8xf32>, %p: tensor<5xi32>, %c: tensor<108xi32>, %v: tensor<108xf32>) {
  // (7 − 3) / 2 + 1 = 3 rows, (8 − 3) / 2 + 1 = 3 columns.
  // expected-error @+1 {{'breg.sparse_conv2d' op result must be [N, rows, OH, OW] = [2, 4, 3, 3] for input 'tensor<2x3x7x8xf32>' and 4 CSR rows, got 'tensor<2x4x3x4xf32>'}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1] flip false : tensor<2x3x7x8xf32>, tensor<5xi32>, tensor<108xi32>, tensor<108xf32> -> tensor<2x4x3x4xf32>
  return
}

// -----

func.func @groups_channels(%x: tensor<2x3x6x6xf32>, %p: tensor<5xi32>, %c: tensor<18xi32>, %v: tensor<18xf32>) {
  // expected-error @+1 {{'breg.sparse_conv2d' op groups (2) must be positive and divide the input's 3 channels and the 4 CSR rows}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] groups 2 padding [0, 0, 0, 0] dilations [1, 1] flip false : tensor<2x3x6x6xf32>, tensor<5xi32>, tensor<18xi32>, tensor<18xf32> -> tensor<2x4x4x4xf32>
  return
}

// -----

func.func @groups_rows(%x: tensor<2x4x6x6xf32>, %p: tensor<4xi32>, %c: tensor<18xi32>, %v: tensor<18xf32>) {
  // expected-error @+1 {{'breg.sparse_conv2d' op groups (2) must be positive and divide the input's 4 channels and the 3 CSR rows}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] groups 2 padding [0, 0, 0, 0] dilations [1, 1] flip false : tensor<2x4x6x6xf32>, tensor<4xi32>, tensor<18xi32>, tensor<18xf32> -> tensor<2x3x4x4xf32>
  return
}

// -----

func.func @groups_zero(%x: tensor<2x4x6x6xf32>, %p: tensor<5xi32>, %c: tensor<18xi32>, %v: tensor<18xf32>) {
  // expected-error @+1 {{'breg.sparse_conv2d' op groups (0) must be positive}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] groups 0 padding [0, 0, 0, 0] dilations [1, 1] flip false : tensor<2x4x6x6xf32>, tensor<5xi32>, tensor<18xi32>, tensor<18xf32> -> tensor<2x4x4x4xf32>
  return
}

// -----

// Depthwise: each of the 4 rows reads one channel, at most 4·1·3·3 entries.
func.func @depthwise_capacity(%x: tensor<2x4x6x6xf32>, %p: tensor<5xi32>, %c: tensor<37xi32>, %v: tensor<37xf32>) {
  // expected-error @+1 {{'breg.sparse_conv2d' op the capacity 37 must be in [1, rows·(C/groups)·KH·KW = 36]}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] groups 4 padding [0, 0, 0, 0] dilations [1, 1] flip false : tensor<2x4x6x6xf32>, tensor<5xi32>, tensor<37xi32>, tensor<37xf32> -> tensor<2x4x4x4xf32>
  return
}

// -----

func.func @kernel_overflow(%x: tensor<1x1x4x4xf32>, %p: tensor<2xi32>, %c: tensor<4xi32>, %v: tensor<4xf32>) {
  // expected-error @+1 {{'breg.sparse_conv2d' op the geometry attributes with input 'tensor<1x1x4x4xf32>' overflow 64-bit integers}}
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [4611686018427387905, 1] padding [0, 0, 0, 0] dilations [4, 1] flip false
    : tensor<1x1x4x4xf32>, tensor<2xi32>, tensor<4xi32>, tensor<4xf32> -> tensor<1x1x4x4xf32>
  return
}
