// One case per verifier rule of breg.compress_rows; the messages are pinned.
// RUN: bregman-opt %s -split-input-file -verify-diagnostics

func.func @not_2d(%m: tensor<12xf32>) {
  // expected-error @+1 {{'breg.compress_rows' op matrix must be a static 2-D tensor, got 'tensor<12xf32>'}}
  %p, %c, %v = breg.compress_rows %m : tensor<12xf32> -> tensor<4xi32>, tensor<12xi32>, tensor<12xf32>
  return
}

// -----

func.func @dynamic(%m: tensor<?x4xf32>) {
  // expected-error @+1 {{'breg.compress_rows' op matrix must be a static 2-D tensor, got 'tensor<?x4xf32>'}}
  %p, %c, %v = breg.compress_rows %m : tensor<?x4xf32> -> tensor<4xi32>, tensor<12xi32>, tensor<12xf32>
  return
}

// -----

func.func @positions(%m: tensor<3x4xf32>) {
  // expected-error @+1 {{'breg.compress_rows' op positions must be tensor<4xi32> (rows + 1), got 'tensor<3xi32>'}}
  %p, %c, %v = breg.compress_rows %m : tensor<3x4xf32> -> tensor<3xi32>, tensor<12xi32>, tensor<12xf32>
  return
}

// -----

func.func @capacity(%m: tensor<3x4xf32>) {
  // expected-error @+1 {{'breg.compress_rows' op coordinates and values must have the capacity rows * cols = 12, got 'tensor<6xi32>' and 'tensor<6xf32>'}}
  %p, %c, %v = breg.compress_rows %m : tensor<3x4xf32> -> tensor<4xi32>, tensor<6xi32>, tensor<6xf32>
  return
}

// -----

func.func @empty(%m: tensor<0x4xf32>) {
  // expected-error @+1 {{'breg.compress_rows' op matrix 'tensor<0x4xf32>' must have between 1 and 2^31 - 1 elements}}
  %p, %c, %v = breg.compress_rows %m : tensor<0x4xf32> -> tensor<1xi32>, tensor<0xi32>, tensor<0xf32>
  return
}

// -----

func.func @element_type(%m: tensor<3x4xf64>) {
  // expected-error @+1 {{'breg.compress_rows' op operand #0 must be ranked tensor of 32-bit float values, but got 'tensor<3x4xf64>'}}
  %p, %c, %v = breg.compress_rows %m : tensor<3x4xf64> -> tensor<4xi32>, tensor<12xi32>, tensor<12xf32>
  return
}

// -----

func.func @into_count(%m: tensor<3x4xf32>, %p0: tensor<4xi32>) {
  // expected-error @+1 {{'breg.compress_rows' op takes no `into` operands or one per result (3), got 1}}
  %p, %c, %v = breg.compress_rows %m into(%p0 : tensor<4xi32>) : tensor<3x4xf32> -> tensor<4xi32>, tensor<12xi32>, tensor<12xf32>
  return
}

// -----

func.func @into_type(%m: tensor<3x4xf32>, %p0: tensor<4xi32>, %c0: tensor<12xi32>, %v0: tensor<12xi32>) {
  // expected-error @+1 {{'breg.compress_rows' op `into` operand 2 must have its result's type 'tensor<12xf32>', got 'tensor<12xi32>'}}
  %p, %c, %v = breg.compress_rows %m into(%p0, %c0, %v0 : tensor<4xi32>, tensor<12xi32>, tensor<12xi32>) : tensor<3x4xf32> -> tensor<4xi32>, tensor<12xi32>, tensor<12xf32>
  return
}

// -----

// rows·cols wrapped to 2 and passed as the capacity.
func.func @element_count_overflow(%m: tensor<3x6148914691236517206xf32>) {
  // expected-error @+1 {{'breg.compress_rows' op matrix 'tensor<3x6148914691236517206xf32>' must have between 1 and 2^31 - 1 elements}}
  %p, %c, %v = breg.compress_rows %m : tensor<3x6148914691236517206xf32> -> tensor<4xi32>, tensor<2xi32>, tensor<2xf32>
  return
}
