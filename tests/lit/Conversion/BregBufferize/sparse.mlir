// RUN: bregman-opt %s -breg-bufferize -split-input-file | FileCheck %s
// RUN: bregman-opt %s -breg-bufferize="sparse-vector-length=0" -split-input-file \
// RUN:   | FileCheck %s --check-prefix=SCALAR

// A linear layer y = x·Wᵀ with W [6, 8] in CSR (rows dense, columns
// compressed, 32-bit positions and coordinates in buffers of a fixed
// capacity): batch rows outermost, then W's rows, then the stored entries of
// the row one at a time, reading x at their columns. Every sparse op of the
// module gathers, so its loops are scalar (not the requested 16 lanes):
// breg-split-sparse-sums splits their sums afterwards.

#CSR = #sparse_tensor.encoding<{map = (i, j) -> (i : dense, j : compressed), posWidth = 32, crdWidth = 32}>

// CHECK-LABEL: func.func @forward(
// CHECK-SAME:    %[[X:.*]]: memref<4x8xf32>, %[[POS:.*]]: memref<7xi32>, %[[CRD:.*]]: memref<48xi32>, %[[VAL:.*]]: memref<48xf32>) -> memref<4x6xf32>
// CHECK-NOT:     sparse_tensor
// CHECK-NOT:     vector.
// CHECK:         scf.for %[[B:.*]] = %{{.*}} to %c4
// CHECK:           scf.for %[[O:.*]] = %{{.*}} to %c6
// CHECK:             scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 iter_args(%{{.*}} = %{{.*}}) -> (f32)
// CHECK:               %[[C:.*]] = arith.index_cast
// CHECK:               memref.load %[[X]][%[[B]], %[[C]]]
// CHECK:               arith.mulf
// CHECK:               arith.addf
// CHECK-NOT:     sparse_tensor
// CHECK-NOT:     vector.
// SCALAR-LABEL: func.func @forward(
// SCALAR-NOT:     vector.
// SCALAR:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 iter_args(%{{.*}} = %{{.*}}) -> (f32)
func.func @forward(%x: tensor<4x8xf32>, %pos: tensor<7xi32>, %crd: tensor<48xi32>,
                   %val: tensor<48xf32>) -> tensor<4x6xf32> {
  %w = sparse_tensor.assemble (%pos, %crd), %val
       : (tensor<7xi32>, tensor<48xi32>), tensor<48xf32> to tensor<6x8xf32, #CSR>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x6xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<4x6xf32>) -> tensor<4x6xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
       ins(%x, %w : tensor<4x8xf32>, tensor<6x8xf32, #CSR>)
       outs(%init : tensor<4x6xf32>) -> tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}

// -----

// The input gradient dx = δ·W: each stored entry scatters δ[b, o]·w into
// dx[b, column]; within a row the columns differ, so 16 at a time is exact.

#CSR = #sparse_tensor.encoding<{map = (i, j) -> (i : dense, j : compressed), posWidth = 32, crdWidth = 32}>

// CHECK-LABEL: func.func @grad_input(
// CHECK-SAME:    %[[D:.*]]: memref<4x6xf32>, %{{.*}}: memref<7xi32>, %{{.*}}: memref<48xi32>, %{{.*}}: memref<48xf32>) -> memref<4x8xf32>
// CHECK:         %[[DX:.*]] = memref.alloc() {{.*}} : memref<4x8xf32>
// CHECK:         scf.for %[[B:.*]] = %{{.*}} to %c4
// CHECK:           scf.for %[[O:.*]] = %{{.*}} to %c6
// CHECK:             memref.load %[[D]][%[[B]], %[[O]]]
// CHECK:             scf.for %{{.*}} step %c16 {
// CHECK:               vector.gather %[[DX]][%[[B]],
// CHECK:               vector.scatter %[[DX]][%[[B]],
// CHECK-NOT:     sparse_tensor
func.func @grad_input(%d: tensor<4x6xf32>, %pos: tensor<7xi32>, %crd: tensor<48xi32>,
                      %val: tensor<48xf32>) -> tensor<4x8xf32> {
  %w = sparse_tensor.assemble (%pos, %crd), %val
       : (tensor<7xi32>, tensor<48xi32>), tensor<48xf32> to tensor<6x8xf32, #CSR>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %dx = linalg.matmul ins(%d, %w : tensor<4x6xf32>, tensor<6x8xf32, #CSR>)
        outs(%init : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %dx : tensor<4x8xf32>
}

// -----

// A module that also holds a product whose stored entries do not index a
// dense input in the innermost loop (the feature-major form W·a, vectors
// along a's columns) keeps the requested 16 lanes for both.

#CSR = #sparse_tensor.encoding<{map = (i, j) -> (i : dense, j : compressed), posWidth = 32, crdWidth = 32}>

// CHECK-LABEL: func.func @both_forms(
// CHECK-NOT:     vector<8x
// CHECK:         vector.gather {{.*}} : memref<4x8xf32>, vector<16xi32>, vector<16xi1>, vector<16xf32> into vector<16xf32>
// CHECK-NOT:     vector<8x
func.func @both_forms(%x: tensor<4x8xf32>, %xt: tensor<8x32xf32>, %pos: tensor<7xi32>,
                      %crd: tensor<48xi32>, %val: tensor<48xf32>)
    -> (tensor<4x6xf32>, tensor<6x32xf32>) {
  %w = sparse_tensor.assemble (%pos, %crd), %val
       : (tensor<7xi32>, tensor<48xi32>), tensor<48xf32> to tensor<6x8xf32, #CSR>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x6xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<4x6xf32>) -> tensor<4x6xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
       ins(%x, %w : tensor<4x8xf32>, tensor<6x8xf32, #CSR>)
       outs(%init : tensor<4x6xf32>) -> tensor<4x6xf32>
  %et = tensor.empty() : tensor<6x32xf32>
  %initt = linalg.fill ins(%zero : f32) outs(%et : tensor<6x32xf32>) -> tensor<6x32xf32>
  %yt = linalg.matmul ins(%w, %xt : tensor<6x8xf32, #CSR>, tensor<8x32xf32>)
        outs(%initt : tensor<6x32xf32>) -> tensor<6x32xf32>
  return %y, %yt : tensor<4x6xf32>, tensor<6x32xf32>
}

// -----

// Dense modules bufferize as before; a dense matmul next to a sparse one
// keeps its named form (it becomes the GEMM library call later).

#CSR = #sparse_tensor.encoding<{map = (i, j) -> (i : dense, j : compressed), posWidth = 32, crdWidth = 32}>

// CHECK-LABEL: func.func @mixed(
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : memref<4x8xf32>, memref<8x6xf32>)
// CHECK-NOT:     linalg.matmul
func.func @mixed(%x: tensor<4x8xf32>, %dense: tensor<8x6xf32>, %pos: tensor<7xi32>,
                 %crd: tensor<48xi32>, %val: tensor<48xf32>) -> (tensor<4x6xf32>, tensor<4x6xf32>) {
  %w = sparse_tensor.assemble (%pos, %crd), %val
       : (tensor<7xi32>, tensor<48xi32>), tensor<48xf32> to tensor<6x8xf32, #CSR>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x6xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<4x6xf32>) -> tensor<4x6xf32>
  %a = linalg.matmul ins(%x, %dense : tensor<4x8xf32>, tensor<8x6xf32>)
       outs(%init : tensor<4x6xf32>) -> tensor<4x6xf32>
  %b = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
       ins(%x, %w : tensor<4x8xf32>, tensor<6x8xf32, #CSR>)
       outs(%init : tensor<4x6xf32>) -> tensor<4x6xf32>
  return %a, %b : tensor<4x6xf32>, tensor<4x6xf32>
}
