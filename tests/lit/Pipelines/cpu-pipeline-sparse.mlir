// RUN: bregman-opt %s --bregman-cpu-pipeline | FileCheck %s

// A CSR linear layer through the whole CPU pipeline: the sparsifier's loops
// reach the LLVM dialect with 8-lane gathers at the stored columns (every
// sparse op of the module gathers: BregBufferize's kGatherLanes); nothing of
// sparse_tensor is left, and no GEMM library call is made for it.

#CSR = #sparse_tensor.encoding<{map = (i, j) -> (i : dense, j : compressed), posWidth = 32, crdWidth = 32}>

// CHECK-LABEL: llvm.func @forward(
// CHECK-NOT:     sparse_tensor
// CHECK-NOT:     bregman_cpu_sgemm
// CHECK:         llvm.intr.masked.gather {{.*}} : (vector<8x!llvm.ptr>, vector<8xi1>, vector<8xf32>) -> vector<8xf32>
// CHECK:         "llvm.intr.vector.reduce.fadd"
// CHECK-NOT:     sparse_tensor
func.func @forward(%x: tensor<128x784xf32>, %pos: tensor<201xi32>,
                   %crd: tensor<156800xi32>, %val: tensor<156800xf32>) -> tensor<128x200xf32> {
  %w = sparse_tensor.assemble (%pos, %crd), %val
       : (tensor<201xi32>, tensor<156800xi32>), tensor<156800xf32> to tensor<200x784xf32, #CSR>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x200xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<128x200xf32>) -> tensor<128x200xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
       ins(%x, %w : tensor<128x784xf32>, tensor<200x784xf32, #CSR>)
       outs(%init : tensor<128x200xf32>) -> tensor<128x200xf32>
  return %y : tensor<128x200xf32>
}
