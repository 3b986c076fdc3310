// RUN: bregman-opt %s -breg-matmul-to-library-call -verify-diagnostics

// A user symbol of the same name but another type is reported, not reused.
// expected-error @+1 {{'bregman_cpu_sgemm' is declared as '(i64) -> ()' but the GEMM library call needs '(i32, i32, index, index, index, f32, index, index, index) -> ()'}}
func.func private @bregman_cpu_sgemm(i64)

func.func @clash(%a: memref<4x8xf32>, %b: memref<8x5xf32>, %c: memref<4x5xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x5xf32>) outs(%c : memref<4x5xf32>)
  return
}
