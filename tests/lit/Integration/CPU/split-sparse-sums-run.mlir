// End to end on the CPU: small-batch CSR products x·Wᵀ, whose every sparse
// op gathers x, so the sparsifier's loops are scalar and each row's sum is
// split into four entries per iteration plus a remainder
// (breg-split-sparse-sums). W [10, 12] has row r with r stored entries
// (0 to 9: empty rows, rows shorter than four, a multiple of four and each
// remainder), in buffers of capacity 60 (the rest unused); integer values,
// so every order of summation gives the same float. Three batch rows, and
// the first row alone (batch 1, as inference at batch 1 runs).
// RUN: bregman-opt %s --bregman-cpu-pipeline="bare-ptr-call-conv=0" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s

#CSR = #sparse_tensor.encoding<{map = (i, j) -> (i : dense, j : compressed), posWidth = 32, crdWidth = 32}>

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print(%t: tensor<?x10xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x10xf32> to memref<?x10xf32>
  %u = memref.cast %m : memref<?x10xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @forward3(%x: tensor<3x12xf32>, %pos: tensor<11xi32>, %crd: tensor<60xi32>,
                    %val: tensor<60xf32>) -> tensor<3x10xf32> {
  %w = sparse_tensor.assemble (%pos, %crd), %val
       : (tensor<11xi32>, tensor<60xi32>), tensor<60xf32> to tensor<10x12xf32, #CSR>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x10xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<3x10xf32>) -> tensor<3x10xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
       ins(%x, %w : tensor<3x12xf32>, tensor<10x12xf32, #CSR>)
       outs(%init : tensor<3x10xf32>) -> tensor<3x10xf32>
  return %y : tensor<3x10xf32>
}

func.func @forward1(%x: tensor<1x12xf32>, %pos: tensor<11xi32>, %crd: tensor<60xi32>,
                    %val: tensor<60xf32>) -> tensor<1x10xf32> {
  %w = sparse_tensor.assemble (%pos, %crd), %val
       : (tensor<11xi32>, tensor<60xi32>), tensor<60xf32> to tensor<10x12xf32, #CSR>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x10xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x10xf32>) -> tensor<1x10xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
       ins(%x, %w : tensor<1x12xf32>, tensor<10x12xf32, #CSR>)
       outs(%init : tensor<1x10xf32>) -> tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}

func.func @main() {
  %pos = arith.constant dense<[0, 0, 1, 3, 6, 10, 15, 21, 28, 36, 45]> : tensor<11xi32>
  %crd = arith.constant dense<[1, 2, 7, 3, 8, 1, 4, 9, 2, 7, 5, 10, 3, 8, 1, 6, 11, 4, 9, 2, 7, 7, 0, 5, 10, 3, 8, 1, 8, 1, 6, 11, 4, 9, 2, 7, 9, 2, 7, 0, 5, 10, 3, 8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]> : tensor<60xi32>
  %val = arith.constant dense<[1.0, 1.0, 2.0, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]> : tensor<60xf32>
  %x = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0], [-2.0, 0.0, 2.0, -1.0, 1.0, -2.0, 0.0, 2.0, -1.0, 1.0, -2.0, 0.0], [0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0, 2.0, 0.0, 1.0, 2.0]]> : tensor<3x12xf32>
  %y = call @forward3(%x, %pos, %crd, %val)
       : (tensor<3x12xf32>, tensor<11xi32>, tensor<60xi32>, tensor<60xf32>) -> tensor<3x10xf32>
  %yd = tensor.cast %y : tensor<3x10xf32> to tensor<?x10xf32>
  // CHECK: [0,   2,   19,   28,   66,   86,   149,   160,   252,   258]
  // CHECK: [0,   0,   6,   -3,   17,   -13,   29,   -27,   40,   -34]
  // CHECK: [0,   1,   4,   7,   11,   17,   23,   30,   39,   48]
  call @print(%yd) : (tensor<?x10xf32>) -> ()
  %x1 = tensor.extract_slice %x[0, 0] [1, 12] [1, 1] : tensor<3x12xf32> to tensor<1x12xf32>
  %y1 = call @forward1(%x1, %pos, %crd, %val)
        : (tensor<1x12xf32>, tensor<11xi32>, tensor<60xi32>, tensor<60xf32>) -> tensor<1x10xf32>
  %y1d = tensor.cast %y1 : tensor<1x10xf32> to tensor<?x10xf32>
  // CHECK: [0,   2,   19,   28,   66,   86,   149,   160,   252,   258]
  call @print(%y1d) : (tensor<?x10xf32>) -> ()
  return
}
