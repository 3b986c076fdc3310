// linalg.matmul on static, contiguous f32 buffers ->
//   func.call @bregman_cpu_sgemm(transA, transB, M, N, K, beta, A, B, C)
// RUN: bregman-opt %s -split-input-file -breg-matmul-to-library-call | FileCheck %s
// RUN: bregman-opt %s -split-input-file -breg-matmul-to-library-call -cse | FileCheck %s --check-prefix=CSE

// CHECK-LABEL: func.func private @bregman_cpu_sgemm(i32, i32, index, index, index, f32, index, index, index)
// CHECK-LABEL: func.func @plain(
// CHECK-SAME:    %[[A:[^:]*]]: memref<4x8xf32>, %[[B:[^:]*]]: memref<8x16xf32>, %[[C:[^:]*]]: memref<4x16xf32>)
// CHECK-DAG:     %[[BETA:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:     %[[TA:.*]] = arith.constant 0 : i32
// CHECK-DAG:     %[[TB:.*]] = arith.constant 0 : i32
// CHECK-DAG:     %[[M:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[N:.*]] = arith.constant 16 : index
// CHECK-DAG:     %[[K:.*]] = arith.constant 8 : index
// CHECK-DAG:     %[[PA:.*]] = memref.extract_aligned_pointer_as_index %[[A]] : memref<4x8xf32> -> index
// CHECK-DAG:     %[[PB:.*]] = memref.extract_aligned_pointer_as_index %[[B]] : memref<8x16xf32> -> index
// CHECK-DAG:     %[[PC:.*]] = memref.extract_aligned_pointer_as_index %[[C]] : memref<4x16xf32> -> index
// CHECK:         call @bregman_cpu_sgemm(%[[TA]], %[[TB]], %[[M]], %[[N]], %[[K]], %[[BETA]], %[[PA]], %[[PB]], %[[PC]])
// CHECK-SAME:      : (i32, i32, index, index, index, f32, index, index, index) -> ()
// CHECK-NOT:     linalg.matmul
// CHECK:         return
func.func @plain(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}

// -----

// A is stored K x M (transA = 1); K is read from A's first dimension.
// CHECK-LABEL: func.func @transposed_a(
// CHECK-SAME:    %[[A:[^:]*]]: memref<8x4xf32>, %[[B:[^:]*]]: memref<8x16xf32>, %[[C:[^:]*]]: memref<4x16xf32>)
// CHECK-DAG:     %[[BETA:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:     %[[TA:.*]] = arith.constant 1 : i32
// CHECK-DAG:     %[[TB:.*]] = arith.constant 0 : i32
// CHECK-DAG:     %[[M:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[N:.*]] = arith.constant 16 : index
// CHECK-DAG:     %[[K:.*]] = arith.constant 8 : index
// CHECK-DAG:     %[[PA:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// CHECK-DAG:     %[[PB:.*]] = memref.extract_aligned_pointer_as_index %[[B]]
// CHECK-DAG:     %[[PC:.*]] = memref.extract_aligned_pointer_as_index %[[C]]
// CHECK:         call @bregman_cpu_sgemm(%[[TA]], %[[TB]], %[[M]], %[[N]], %[[K]], %[[BETA]], %[[PA]], %[[PB]], %[[PC]])
// CHECK-NOT:     linalg.matmul
func.func @transposed_a(%a: memref<8x4xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
                                 affine_map<(m, n, k) -> (k, n)>,
                                 affine_map<(m, n, k) -> (m, n)>]
    ins(%a, %b : memref<8x4xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}

// -----

// B is stored N x K (transB = 1), e.g. the x·Wᵀ of a linear layer.
// CHECK-LABEL: func.func @transposed_b(
// CHECK-SAME:    %[[A:[^:]*]]: memref<32x784xf32>, %[[B:[^:]*]]: memref<200x784xf32>, %[[C:[^:]*]]: memref<32x200xf32>)
// CHECK-DAG:     %[[BETA:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:     %[[TA:.*]] = arith.constant 0 : i32
// CHECK-DAG:     %[[TB:.*]] = arith.constant 1 : i32
// CHECK-DAG:     %[[M:.*]] = arith.constant 32 : index
// CHECK-DAG:     %[[N:.*]] = arith.constant 200 : index
// CHECK-DAG:     %[[K:.*]] = arith.constant 784 : index
// CHECK-DAG:     %[[PA:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// CHECK-DAG:     %[[PB:.*]] = memref.extract_aligned_pointer_as_index %[[B]]
// CHECK-DAG:     %[[PC:.*]] = memref.extract_aligned_pointer_as_index %[[C]]
// CHECK:         call @bregman_cpu_sgemm(%[[TA]], %[[TB]], %[[M]], %[[N]], %[[K]], %[[BETA]], %[[PA]], %[[PB]], %[[PC]])
// CHECK-NOT:     linalg.matmul
func.func @transposed_b(%a: memref<32x784xf32>, %b: memref<200x784xf32>, %c: memref<32x200xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
    ins(%a, %b : memref<32x784xf32>, memref<200x784xf32>) outs(%c : memref<32x200xf32>)
  return
}

// -----

// Both transposed; one callee declaration serves every call in the module.
// CHECK-LABEL: func.func private @bregman_cpu_sgemm(
// CHECK-NOT:   func.func private @bregman_cpu_sgemm
// CHECK-LABEL: func.func @transposed_ab(
// CHECK-SAME:    %[[A:[^:]*]]: memref<8x4xf32>, %[[B:[^:]*]]: memref<16x8xf32>, %[[C:[^:]*]]: memref<4x16xf32>)
// CHECK-DAG:     %[[T:.*]] = arith.constant 1 : i32
// CHECK-DAG:     %[[M:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[N:.*]] = arith.constant 16 : index
// CHECK-DAG:     %[[K:.*]] = arith.constant 8 : index
// CHECK:         call @bregman_cpu_sgemm(%[[T]], %{{.*}}, %[[M]], %[[N]], %[[K]],
// CHECK-LABEL: func.func @second(
// CHECK:         call @bregman_cpu_sgemm(
func.func @transposed_ab(%a: memref<8x4xf32>, %b: memref<16x8xf32>, %c: memref<4x16xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
    ins(%a, %b : memref<8x4xf32>, memref<16x8xf32>) outs(%c : memref<4x16xf32>)
  return
}
func.func @second(%a: memref<2x3xf32>, %b: memref<3x5xf32>, %c: memref<2x5xf32>) {
  linalg.matmul ins(%a, %b : memref<2x3xf32>, memref<3x5xf32>) outs(%c : memref<2x5xf32>)
  return
}

// -----

// A zero fill of C right before the matmul becomes beta = 0 and disappears.
// CHECK-LABEL: func.func @zero_fill_folds(
// CHECK-SAME:    %[[A:[^:]*]]: memref<4x8xf32>, %[[B:[^:]*]]: memref<8x16xf32>, %[[C:[^:]*]]: memref<4x16xf32>)
// CHECK-NOT:     linalg.fill
// CHECK-NOT:     arith.constant 1.000000e+00 : f32
// CHECK:         call @bregman_cpu_sgemm(
// (The source's zero constant stays next to the new one; after -cse there
// is one 0.0 and beta must be it.)
// CSE-LABEL:   func.func @zero_fill_folds(
// CSE-SAME:      %[[A:[^:]*]]: memref<4x8xf32>, %[[B:[^:]*]]: memref<8x16xf32>, %[[C:[^:]*]]: memref<4x16xf32>)
// CSE-NOT:       linalg.fill
// CSE-DAG:       %[[BETA:.*]] = arith.constant 0.000000e+00 : f32
// CSE-DAG:       %[[PA:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// CSE-DAG:       %[[PB:.*]] = memref.extract_aligned_pointer_as_index %[[B]]
// CSE-DAG:       %[[PC:.*]] = memref.extract_aligned_pointer_as_index %[[C]]
// CSE:           call @bregman_cpu_sgemm(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BETA]], %[[PA]], %[[PB]], %[[PC]])
// CSE-NOT:       linalg
// CSE:           return
// CHECK-NOT:     linalg.fill
// CHECK-NOT:     linalg.matmul
// CHECK:         return
func.func @zero_fill_folds(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<4x16xf32>)
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}

// -----

// A non-zero fill is kept and the product accumulates onto it (beta = 1).
// CHECK-LABEL: func.func @nonzero_fill_stays(
// CHECK-SAME:    %[[A:[^:]*]]: memref<4x8xf32>, %[[B:[^:]*]]: memref<8x16xf32>, %[[C:[^:]*]]: memref<4x16xf32>)
// CHECK:         %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK:         linalg.fill ins(%[[HALF]] : f32) outs(%[[C]] : memref<4x16xf32>)
// CHECK-DAG:     %[[BETA:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:     %[[PC:.*]] = memref.extract_aligned_pointer_as_index %[[C]]
// CHECK:         call @bregman_cpu_sgemm(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BETA]], %{{.*}}, %{{.*}}, %[[PC]])
// CHECK-NOT:     linalg.matmul
func.func @nonzero_fill_stays(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  %half = arith.constant 0.5 : f32
  linalg.fill ins(%half : f32) outs(%c : memref<4x16xf32>)
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}

// -----

// A zero fill of another buffer is not folded.
// CHECK-LABEL: func.func @zero_fill_of_other_buffer(
// CHECK-SAME:    %[[A:[^:]*]]: memref<4x8xf32>, %[[B:[^:]*]]: memref<8x16xf32>, %[[C:[^:]*]]: memref<4x16xf32>, %[[D:[^:]*]]: memref<4x16xf32>)
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%[[D]] : memref<4x16xf32>)
// CHECK-DAG:     %[[BETA:.*]] = arith.constant 1.000000e+00 : f32
// CHECK:         call @bregman_cpu_sgemm(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BETA]],
func.func @zero_fill_of_other_buffer(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>, %d: memref<4x16xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%d : memref<4x16xf32>)
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}

// -----

// Buffers the library cannot read stay linalg.matmul: a strided (non-identity
// layout) operand, f64, dynamic shapes, and tensors (before bufferization).
// CHECK-NOT:   @bregman_cpu_sgemm
// CHECK-LABEL: func.func @strided_stays(
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : memref<4x8xf32, strided<[16, 1]>>, memref<8x16xf32>)
// CHECK-NOT:     call
// CHECK-LABEL: func.func @strided_output_stays(
// CHECK:         linalg.matmul
// CHECK-SAME:      outs(%{{.*}} : memref<4x16xf32, strided<[16, 1], offset: 4>>)
// CHECK-NOT:     call
// CHECK-LABEL: func.func @f64_stays(
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : memref<4x8xf64>, memref<8x16xf64>) outs(%{{.*}} : memref<4x16xf64>)
// CHECK-NOT:     call
// CHECK-LABEL: func.func @dynamic_stays(
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : memref<?x8xf32>, memref<8x16xf32>) outs(%{{.*}} : memref<?x16xf32>)
// CHECK-NOT:     call
// CHECK-LABEL: func.func @tensor_stays(
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<8x16xf32>) outs(%{{.*}} : tensor<4x16xf32>)
// CHECK-NOT:     call
func.func @strided_stays(%a: memref<4x8xf32, strided<[16, 1]>>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32, strided<[16, 1]>>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}
func.func @strided_output_stays(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32, strided<[16, 1], offset: 4>>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32, strided<[16, 1], offset: 4>>)
  return
}
func.func @f64_stays(%a: memref<4x8xf64>, %b: memref<8x16xf64>, %c: memref<4x16xf64>) {
  linalg.matmul ins(%a, %b : memref<4x8xf64>, memref<8x16xf64>) outs(%c : memref<4x16xf64>)
  return
}
func.func @dynamic_stays(%a: memref<?x8xf32>, %b: memref<8x16xf32>, %c: memref<?x16xf32>) {
  linalg.matmul ins(%a, %b : memref<?x8xf32>, memref<8x16xf32>) outs(%c : memref<?x16xf32>)
  return
}
func.func @tensor_stays(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %c: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>) outs(%c : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// -----

// A nested module declares the symbol for itself.
// CHECK-LABEL: module @inner
// CHECK:         func.func private @bregman_cpu_sgemm(i32, i32, index, index, index, f32, index, index, index)
// CHECK-LABEL:   func.func @nested(
// CHECK:           call @bregman_cpu_sgemm(
module @inner {
  func.func @nested(%a: memref<4x8xf32>, %b: memref<8x5xf32>, %c: memref<4x5xf32>) {
    linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x5xf32>) outs(%c : memref<4x5xf32>)
    return
  }
}
