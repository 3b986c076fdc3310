// linalg.batch_matmul on static, contiguous rank-3 f32 buffers -> one call
// of the batched GEMM symbol (the default), or without one (the GPU
// pipeline's setting) a loop over the batch calling the GEMM symbol at
// base + batch · matrix bytes.
// RUN: bregman-opt %s -split-input-file -breg-matmul-to-library-call="batched-symbol=" | FileCheck %s
// RUN: bregman-opt %s -split-input-file -breg-matmul-to-library-call | FileCheck %s --check-prefix=BATCHED

// BATCHED-LABEL: func.func private @bregman_cpu_sgemm_batched(i32, i32, index, index, index, index, f32, index, index, index)
// BATCHED-LABEL: func.func @batched(
// BATCHED-SAME:    %[[A:[^:]*]]: memref<3x4x8xf32>, %[[B:[^:]*]]: memref<3x16x8xf32>, %[[C:[^:]*]]: memref<3x4x16xf32>)
// BATCHED-DAG:     %[[PA:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// BATCHED-DAG:     %[[PB:.*]] = memref.extract_aligned_pointer_as_index %[[B]]
// BATCHED-DAG:     %[[PC:.*]] = memref.extract_aligned_pointer_as_index %[[C]]
// BATCHED-DAG:     %[[TA:.*]] = arith.constant 0 : i32
// BATCHED-DAG:     %[[TB:.*]] = arith.constant 1 : i32
// BATCHED-DAG:     %[[N:.*]] = arith.constant 3 : index
// BATCHED-DAG:     %[[M:.*]] = arith.constant 4 : index
// BATCHED-NOT:     scf.for
// BATCHED:         call @bregman_cpu_sgemm_batched(%[[TA]], %[[TB]], %[[N]], %[[M]], %{{.*}}, %{{.*}}, %{{.*}}, %[[PA]], %[[PB]], %[[PC]])
// BATCHED-NOT:     linalg.batch_matmul
// BATCHED-NOT:     linalg.fill
// BATCHED:         return

// CHECK-LABEL: func.func @batched(
// CHECK-SAME:    %[[A:[^:]*]]: memref<3x4x8xf32>, %[[B:[^:]*]]: memref<3x16x8xf32>, %[[C:[^:]*]]: memref<3x4x16xf32>)
// CHECK-DAG:     %[[PA:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// CHECK-DAG:     %[[PB:.*]] = memref.extract_aligned_pointer_as_index %[[B]]
// CHECK-DAG:     %[[PC:.*]] = memref.extract_aligned_pointer_as_index %[[C]]
// CHECK-DAG:     %[[SA:.*]] = arith.constant 128 : index
// CHECK-DAG:     %[[SB:.*]] = arith.constant 512 : index
// CHECK-DAG:     %[[SC:.*]] = arith.constant 256 : index
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step
// CHECK-DAG:       %[[OA:.*]] = arith.muli %[[I]], %[[SA]]
// CHECK-DAG:       %[[AA:.*]] = arith.addi %[[PA]], %[[OA]]
// CHECK-DAG:       %[[OB:.*]] = arith.muli %[[I]], %[[SB]]
// CHECK-DAG:       %[[AB:.*]] = arith.addi %[[PB]], %[[OB]]
// CHECK-DAG:       %[[OC:.*]] = arith.muli %[[I]], %[[SC]]
// CHECK-DAG:       %[[AC:.*]] = arith.addi %[[PC]], %[[OC]]
// CHECK-DAG:       %[[TA:.*]] = arith.constant 0 : i32
// CHECK-DAG:       %[[TB:.*]] = arith.constant 1 : i32
// CHECK-DAG:       %[[BETA:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:           call @bregman_cpu_sgemm(%[[TA]], %[[TB]], %{{.*}}, %{{.*}}, %{{.*}}, %[[BETA]], %[[AA]], %[[AB]], %[[AC]])
// CHECK-NOT:     linalg.batch_matmul
// CHECK-NOT:     linalg.fill
// CHECK:         return
#mapA = affine_map<(b, m, n, k) -> (b, m, k)>
#mapB = affine_map<(b, m, n, k) -> (b, n, k)>
#mapC = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @batched(%a: memref<3x4x8xf32>, %b: memref<3x16x8xf32>, %c: memref<3x4x16xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<3x4x16xf32>)
  linalg.batch_matmul indexing_maps = [#mapA, #mapB, #mapC]
    ins(%a, %b : memref<3x4x8xf32>, memref<3x16x8xf32>) outs(%c : memref<3x4x16xf32>)
  return
}

// -----

// f64 stays a linalg.batch_matmul (lowered to loops later).
// CHECK-LABEL: func.func @f64_stays(
// CHECK:         linalg.batch_matmul
// CHECK-NOT:     call
func.func @f64_stays(%a: memref<2x4x8xf64>, %b: memref<2x8x16xf64>, %c: memref<2x4x16xf64>) {
  linalg.batch_matmul ins(%a, %b : memref<2x4x8xf64>, memref<2x8x16xf64>) outs(%c : memref<2x4x16xf64>)
  return
}
