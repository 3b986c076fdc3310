// What breg-gpu-finalize-host refuses, with the op named.
// RUN: bregman-opt %s -split-input-file -breg-gpu-finalize-host -verify-diagnostics

// The device copy of a global is freed before the block's terminator: one
// that is returned would be used after it is freed.
memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
func.func @returns_a_global() -> memref<4xf32> {
  // expected-error @+1 {{a global that the block returns or yields cannot be given a device copy (it would be freed before use); copy it into a buffer first}}
  %m = memref.get_global @table : memref<4xf32>
  return %m : memref<4xf32>
}

// -----

// Only scalar splats become constants (a complex one crashed): the load
// stays a host access of device memory, which is refused.
memref.global "private" constant @c : memref<4xcomplex<f32>> = dense<(1.0,2.0)>
func.func @complex_splat() -> complex<f32> {
  %c0 = arith.constant 0 : index
  %m = memref.get_global @c : memref<4xcomplex<f32>>
  // expected-error @+1 {{'memref.load' is left in the host code of a GPU program}}
  %v = memref.load %m[%c0] : memref<4xcomplex<f32>>
  return %v : complex<f32>
}
