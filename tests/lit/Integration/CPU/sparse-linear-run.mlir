// End to end on the CPU: a CSR weight assembled from fixed-capacity buffers,
// sparsified by bregman-cpu-pipeline (breg-bufferize), then mlir-runner.
// W [3, 4] = [[1, 0, 2, 0], [0, 0, 0, 0], [0, 3, 0, 4]] (row 1 empty), stored
// in buffers of capacity 12 (= 3·4, the rest unused):
//   x = [[1, 2, 3, 4], [5, 6, 7, 8]]:  y = x·Wᵀ = [[7, 0, 22], [19, 0, 50]]
//   δ = [[1, 2, 3], [4, 5, 6]]:        δ·W = [[1, 9, 2, 12], [4, 18, 8, 24]]
// RUN: bregman-opt %s --bregman-cpu-pipeline="bare-ptr-call-conv=0" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s
// Scalar loops (vector-size=0, the sparse ones included) give the same.
// RUN: bregman-opt %s --bregman-cpu-pipeline="bare-ptr-call-conv=0 vector-size=0" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s

#CSR = #sparse_tensor.encoding<{map = (i, j) -> (i : dense, j : compressed), posWidth = 32, crdWidth = 32}>

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print(%t: tensor<2x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<2x?xf32> to memref<2x?xf32>
  %u = memref.cast %m : memref<2x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @forward(%x: tensor<2x4xf32>, %pos: tensor<4xi32>, %crd: tensor<12xi32>,
                   %val: tensor<12xf32>) -> tensor<2x3xf32> {
  %w = sparse_tensor.assemble (%pos, %crd), %val
       : (tensor<4xi32>, tensor<12xi32>), tensor<12xf32> to tensor<3x4xf32, #CSR>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3xf32>) -> tensor<2x3xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
       ins(%x, %w : tensor<2x4xf32>, tensor<3x4xf32, #CSR>)
       outs(%init : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

func.func @grad_input(%d: tensor<2x3xf32>, %pos: tensor<4xi32>, %crd: tensor<12xi32>,
                      %val: tensor<12xf32>) -> tensor<2x4xf32> {
  %w = sparse_tensor.assemble (%pos, %crd), %val
       : (tensor<4xi32>, tensor<12xi32>), tensor<12xf32> to tensor<3x4xf32, #CSR>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %dx = linalg.matmul ins(%d, %w : tensor<2x3xf32>, tensor<3x4xf32, #CSR>)
        outs(%init : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %dx : tensor<2x4xf32>
}

func.func @main() {
  %pos = arith.constant dense<[0, 2, 2, 4]> : tensor<4xi32>
  %crd = arith.constant dense<[0, 2, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0]> : tensor<12xi32>
  %val = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]> : tensor<12xf32>
  %x = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32>
  %d = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %y = call @forward(%x, %pos, %crd, %val)
       : (tensor<2x4xf32>, tensor<4xi32>, tensor<12xi32>, tensor<12xf32>) -> tensor<2x3xf32>
  %yd = tensor.cast %y : tensor<2x3xf32> to tensor<2x?xf32>
  // CHECK: [7,   0,   22]
  // CHECK: [19,   0,   50]
  call @print(%yd) : (tensor<2x?xf32>) -> ()
  %dx = call @grad_input(%d, %pos, %crd, %val)
        : (tensor<2x3xf32>, tensor<4xi32>, tensor<12xi32>, tensor<12xf32>) -> tensor<2x4xf32>
  %dxd = tensor.cast %dx : tensor<2x4xf32> to tensor<2x?xf32>
  // CHECK: [1,   9,   2,   12]
  // CHECK: [4,   18,   8,   24]
  call @print(%dxd) : (tensor<2x?xf32>) -> ()
  return
}
