// breg-vectorize-transpose: a static transpose on buffers becomes a loop nest
// over w×w tiles (w the widest power of two up to vector-size dividing both
// tiled sizes), each tile w contiguous vector loads, shuffles and w
// contiguous vector stores; a transpose that keeps the innermost dimension
// is tiled along it alone; sizes without a divisor of at least 4 are left.
// RUN: bregman-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(breg-vectorize-transpose),canonicalize)" | FileCheck %s
// RUN: bregman-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(breg-vectorize-transpose{vector-size=8}),canonicalize)" | FileCheck %s --check-prefix=SIDE8

// 16×16 tiles, the transpose as 16-lane shuffles (shuffle_16x16).
// CHECK-LABEL: func.func @input_of_a_sparse_layer(
// CHECK-DAG:     %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG:     %[[C784:.*]] = arith.constant 784 : index
// CHECK-DAG:     %[[C128:.*]] = arith.constant 128 : index
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %[[C784]] step %[[C16]] {
// CHECK:           scf.for %[[J:.*]] = %{{.*}} to %[[C128]] step %[[C16]] {
// CHECK:             %[[IN:.*]] = memref.subview %{{.*}}[%[[J]], %[[I]]] [16, 16] [1, 1]
// CHECK:             %[[OUT:.*]] = memref.subview %{{.*}}[%[[I]], %[[J]]] [16, 16] [1, 1]
// CHECK:             vector.transfer_read %[[IN]]{{.*}} {in_bounds = [true, true]} : memref<16x16xf32, strided<[784, 1], offset: ?>>, vector<16x16xf32>
// CHECK-NOT:         vector.transpose
// CHECK-COUNT-64:    vector.shuffle {{.*}} : vector<16xf32>, vector<16xf32>
// CHECK:             vector.transfer_write %{{.*}}, %[[OUT]]{{.*}} {in_bounds = [true, true]} : vector<16x16xf32>, memref<16x16xf32, strided<[128, 1], offset: ?>>
// CHECK-NOT:     linalg.transpose
// SIDE8-LABEL: func.func @input_of_a_sparse_layer(
// SIDE8:         memref.subview {{.*}} [8, 8] [1, 1]
// SIDE8:         vector.transfer_read {{.*}} vector<8x8xf32>
// SIDE8:         vector.shape_cast {{.*}} : vector<8x8xf32> to vector<64xf32>
// SIDE8:         vector.shuffle {{.*}} : vector<64xf32>, vector<64xf32>
// SIDE8-NOT:     linalg.transpose
func.func @input_of_a_sparse_layer(%x: memref<128x784xf32>, %xt: memref<784x128xf32>) {
  linalg.transpose ins(%x : memref<128x784xf32>) outs(%xt : memref<784x128xf32>) permutation = [1, 0]
  return
}

// -----

// 200 = 8·25: 8×8 tiles, the transpose as one 64-element shuffle.
// CHECK-LABEL: func.func @output_of_a_sparse_layer(
// SIDE8-LABEL: func.func @output_of_a_sparse_layer(
// CHECK:         memref.subview {{.*}} [8, 8] [1, 1] : memref<200x128xf32> to memref<8x8xf32, strided<[128, 1], offset: ?>>
// CHECK:         vector.transfer_read {{.*}} : memref<8x8xf32, strided<[128, 1], offset: ?>>, vector<8x8xf32>
// CHECK:         vector.shuffle {{.*}} : vector<64xf32>, vector<64xf32>
// CHECK:         vector.transfer_write {{.*}} : vector<8x8xf32>, memref<8x8xf32, strided<[200, 1], offset: ?>>
// CHECK-NOT:     linalg.transpose
func.func @output_of_a_sparse_layer(%y: memref<200x128xf32>, %yt: memref<128x200xf32>) {
  linalg.transpose ins(%y : memref<200x128xf32>) outs(%yt : memref<128x200xf32>) permutation = [1, 0]
  return
}

// -----

// The last two of three dimensions swapped (attention's kᵀ): [1, 16, 16]
// tiles, the leading unit dimension dropped.
// CHECK-LABEL: func.func @batched(
// CHECK:         memref.subview {{.*}} [1, 16, 16] [1, 1, 1] : memref<4x32x16xf32> to memref<1x16x16xf32
// CHECK:         vector.transfer_read {{.*}} vector<16x16xf32>
// CHECK:         vector.shuffle
// CHECK:         vector.transfer_write {{.*}} : vector<16x16xf32>, memref<1x16x16xf32
// CHECK-NOT:     linalg.transpose
func.func @batched(%a: memref<4x32x16xf32>, %b: memref<4x16x32xf32>) {
  linalg.transpose ins(%a : memref<4x32x16xf32>) outs(%b : memref<4x16x32xf32>) permutation = [0, 2, 1]
  return
}

// -----

// The innermost dimension stays innermost: rows of 16 copied as vectors.
// CHECK-LABEL: func.func @heads_to_front(
// CHECK:         vector.transfer_read {{.*}} : memref<1x1x1x16xf32, strided<[2048, 128, 32, 1], offset: ?>>, vector<16xf32>
// CHECK-NEXT:    vector.transfer_write {{.*}} : vector<16xf32>, memref<1x1x1x16xf32, strided<[2048, 512, 32, 1], offset: ?>>
// CHECK-NOT:     vector.shuffle
// CHECK-NOT:     linalg.transpose
func.func @heads_to_front(%a: memref<2x16x4x32xf32>, %b: memref<2x4x16x32xf32>) {
  linalg.transpose ins(%a : memref<2x16x4x32xf32>) outs(%b : memref<2x4x16x32xf32>) permutation = [0, 2, 1, 3]
  return
}

// -----

// No divisor of at least 4 (3 columns), and tensors (before bufferization):
// left alone.
// CHECK-LABEL: func.func @odd(
// CHECK:         linalg.transpose
// CHECK-NOT:     vector.
func.func @odd(%a: memref<10x3xf32>, %b: memref<3x10xf32>) {
  linalg.transpose ins(%a : memref<10x3xf32>) outs(%b : memref<3x10xf32>) permutation = [1, 0]
  return
}

// CHECK-LABEL: func.func @on_tensors(
// CHECK:         linalg.transpose
// CHECK-NOT:     vector.
func.func @on_tensors(%a: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %e = tensor.empty() : tensor<16x16xf32>
  %t = linalg.transpose ins(%a : tensor<16x16xf32>) outs(%e : tensor<16x16xf32>) permutation = [1, 0]
  return %t : tensor<16x16xf32>
}

// -----

// Dynamic sizes: left alone.
// CHECK-LABEL: func.func @dynamic(
// CHECK:         linalg.transpose
func.func @dynamic(%a: memref<?x16xf32>, %b: memref<16x?xf32>) {
  linalg.transpose ins(%a : memref<?x16xf32>) outs(%b : memref<16x?xf32>) permutation = [1, 0]
  return
}
