// breg-vectorize-elementwise: contiguous elementwise generics become one loop
// of full vectors; broadcasts keep their nest with the widest dividing width;
// odd loops and reductions are left alone.
// RUN: bregman-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(breg-vectorize-elementwise),canonicalize)" | FileCheck %s

// CHECK-LABEL: func.func @contiguous_update(
// CHECK-SAME:    %[[T:[^:]*]]: memref<64x32xf32>, %[[G:[^:]*]]: memref<64x32xf32>, %[[LR:[^:]*]]: f32)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[N:.*]] = arith.constant 2048 : index
// CHECK-DAG:     %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG:     %[[TF:.*]] = memref.collapse_shape %[[T]] {{\[\[}}0, 1]] : memref<64x32xf32> into memref<2048xf32>
// CHECK-DAG:     %[[GF:.*]] = memref.collapse_shape %[[G]] {{\[\[}}0, 1]] : memref<64x32xf32> into memref<2048xf32>
// CHECK:         scf.for %[[I:.*]] = %[[C0]] to %[[N]] step %[[C16]] {
// CHECK:           %[[GV:.*]] = vector.transfer_read %{{.*}} {in_bounds = [true]} : memref<16xf32, strided<[1], offset: ?>>, vector<16xf32>
// CHECK:           %[[TV:.*]] = vector.transfer_read %{{.*}} {in_bounds = [true]} : memref<16xf32, strided<[1], offset: ?>>, vector<16xf32>
// CHECK:           %[[LRV:.*]] = vector.broadcast %[[LR]] : f32 to vector<16xf32>
// CHECK:           %[[STEP:.*]] = arith.mulf %[[LRV]], %[[GV]] : vector<16xf32>
// CHECK:           %[[NEW:.*]] = arith.subf %[[TV]], %[[STEP]] : vector<16xf32>
// CHECK:           vector.transfer_write %[[NEW]], %{{.*}} {in_bounds = [true]} : vector<16xf32>, memref<16xf32, strided<[1], offset: ?>>
// CHECK-NOT:     linalg.generic
func.func @contiguous_update(%t: memref<64x32xf32>, %g: memref<64x32xf32>, %lr: f32) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>,
                                   affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%g, %lr : memref<64x32xf32>, f32) outs(%t : memref<64x32xf32>) {
  ^bb0(%gi: f32, %l: f32, %ti: f32):
    %s = arith.mulf %l, %gi : f32
    %n = arith.subf %ti, %s : f32
    linalg.yield %n : f32
  }
  return
}

// -----

// A bias broadcast along rows: the nest stays, rows of 200 take 8-wide vectors.
// CHECK-LABEL: func.func @bias_relu(
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:           scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:             vector.transfer_read {{.*}} vector<1x8xf32>
// CHECK:             arith.addf {{.*}} : vector<1x8xf32>
// CHECK:             arith.maximumf {{.*}} : vector<1x8xf32>
// CHECK:             vector.transfer_write {{.*}} : vector<1x8xf32>
// CHECK-NOT:     linalg.generic
func.func @bias_relu(%x: memref<32x200xf32>, %b: memref<200xf32>, %y: memref<32x200xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>,
                                   affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : memref<32x200xf32>, memref<200xf32>) outs(%y : memref<32x200xf32>) {
  ^bb0(%a: f32, %bias: f32, %o: f32):
    %s = arith.addf %a, %bias : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// An odd loop (3·5 = 15 once collapsed) and a reduction are left for
// convert-linalg-to-loops.
// CHECK-LABEL: func.func @left_alone(
// CHECK-NOT:     vector.
// CHECK:         linalg.generic
// CHECK-SAME:      iterator_types = ["parallel"]
// CHECK-SAME:      memref<15xf32>
// CHECK:         linalg.generic
// CHECK-SAME:      iterator_types = ["parallel", "reduction"]
func.func @left_alone(%x: memref<3x5xf32>, %y: memref<3x5xf32>, %s: memref<3xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<3x5xf32>) outs(%y : memref<3x5xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.negf %a : f32
    linalg.yield %n : f32
  }
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<3x5xf32>) outs(%s : memref<3xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %n = arith.addf %a, %acc : f32
    linalg.yield %n : f32
  }
  return
}
