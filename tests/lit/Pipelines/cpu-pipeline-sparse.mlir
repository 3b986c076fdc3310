// RUN: bregman-opt %s --bregman-cpu-pipeline | FileCheck %s

// A CSR linear layer through the whole CPU pipeline: every sparse op of the
// module gathers x at the stored columns, so the sparsifier's loops are
// scalar and each row's sum runs four entries per iteration, their products
// added pairwise into the sum, then a remainder loop (breg-split-sparse-sums);
// no gather is left for LLVM, nothing of sparse_tensor, and no GEMM library
// call is made for it.

#CSR = #sparse_tensor.encoding<{map = (i, j) -> (i : dense, j : compressed), posWidth = 32, crdWidth = 32}>

// CHECK-LABEL: llvm.func @forward(
// CHECK-NOT:     sparse_tensor
// CHECK-NOT:     bregman_cpu_sgemm
// CHECK-NOT:     gather
// CHECK:         llvm.srem %{{.*}}, %{{.*}} : i64
// CHECK:         %[[P0:.*]] = llvm.fmul {{.*}} : f32
// CHECK:         %[[P1:.*]] = llvm.fmul {{.*}} : f32
// CHECK:         %[[P2:.*]] = llvm.fmul {{.*}} : f32
// CHECK:         %[[P3:.*]] = llvm.fmul {{.*}} : f32
// CHECK:         %[[S01:.*]] = llvm.fadd %[[P0]], %[[P1]] : f32
// CHECK:         %[[S23:.*]] = llvm.fadd %[[P2]], %[[P3]] : f32
// CHECK:         %[[S:.*]] = llvm.fadd %[[S01]], %[[S23]] : f32
// CHECK:         llvm.fadd %{{.*}}, %[[S]] : f32
// CHECK:         llvm.fmul {{.*}} : f32
// CHECK-NOT:     gather
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
