// breg-vectorize-elementwise{parallel-threshold=N}: flat loops that move at
// least as many bytes as a loop of N elements reading one f32 and writing one
// become an scf.forall over equal static chunks (threads, through OpenMP),
// each chunk a loop of full vectors; smaller loops, and loops whose chunks
// would be tiny, stay serial.
// RUN: bregman-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(breg-vectorize-elementwise{parallel-threshold=262144}),canonicalize)" | FileCheck %s

// 2^20 elements: 16 chunks of 65536, each 4096 vectors of 16.
// CHECK-LABEL: func.func @large_update(
// CHECK:         scf.forall (%[[I:.*]]) = (0) to (1048576) step (65536) {
// CHECK:           memref.subview %{{.*}}[%[[I]]] [65536] [1] : memref<1048576xf32> to memref<65536xf32, strided<[1], offset: ?>>
// CHECK:           scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:             vector.transfer_read {{.*}} vector<16xf32>
// CHECK:             vector.transfer_write {{.*}} vector<16xf32>
// CHECK-NOT:     linalg.generic
func.func @large_update(%t: memref<1048576xf32>, %g: memref<1048576xf32>, %lr: f32) {
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> ()>,
                                   affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%g, %lr : memref<1048576xf32>, f32) outs(%t : memref<1048576xf32>) {
  ^bb0(%gi: f32, %l: f32, %ti: f32):
    %s = arith.mulf %l, %gi : f32
    %n = arith.subf %ti, %s : f32
    linalg.yield %n : f32
  }
  return
}

// -----

// Below the threshold: one serial vector loop.
// CHECK-LABEL: func.func @small_update(
// CHECK-NOT:     scf.forall
// CHECK:         scf.for
// CHECK:           vector.transfer_read {{.*}} vector<16xf32>
func.func @small_update(%t: memref<4096xf32>, %g: memref<4096xf32>, %lr: f32) {
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> ()>,
                                   affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%g, %lr : memref<4096xf32>, f32) outs(%t : memref<4096xf32>) {
  ^bb0(%gi: f32, %l: f32, %ti: f32):
    %s = arith.mulf %l, %gi : f32
    %n = arith.subf %ti, %s : f32
    linalg.yield %n : f32
  }
  return
}

// -----

// 16 * 32771 elements (32771 is prime): the only chunks are 16 elements or the
// whole loop, so it stays serial.
// CHECK-LABEL: func.func @prime_vectors(
// CHECK-NOT:     scf.forall
// CHECK:         scf.for
// CHECK:           vector.transfer_read {{.*}} vector<16xf32>
func.func @prime_vectors(%t: memref<524336xf32>, %g: memref<524336xf32>, %lr: f32) {
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> ()>,
                                   affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%g, %lr : memref<524336xf32>, f32) outs(%t : memref<524336xf32>) {
  ^bb0(%gi: f32, %l: f32, %ti: f32):
    %s = arith.mulf %l, %gi : f32
    %n = arith.subf %ti, %s : f32
    linalg.yield %n : f32
  }
  return
}

// -----

// The MLP's first LinBreg update, 200 x 784 = 156800 elements: below N, but it
// reads g and v and writes v and θ (16 bytes an element, twice the 8 of a
// one-in one-out loop): threads. 39200 = 2450 vectors of 16 divides it.
// CHECK-LABEL: func.func @update_moving_sixteen_bytes(
// CHECK:         scf.forall (%{{.*}}) = (0) to (156800) step (39200) {
func.func @update_moving_sixteen_bytes(%theta: memref<156800xf32>, %v: memref<156800xf32>,
                                       %g: memref<156800xf32>, %lr: f32) {
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> ()>,
                                   affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%g, %lr : memref<156800xf32>, f32)
      outs(%v, %theta : memref<156800xf32>, memref<156800xf32>) {
  ^bb0(%gi: f32, %l: f32, %vi: f32, %ti: f32):
    %s = arith.mulf %l, %gi : f32
    %n = arith.subf %vi, %s : f32
    linalg.yield %n, %n : f32, f32
  }
  return
}

// -----

// A one-in one-out loop of 196608 = 3 * 2^16 elements (8 bytes an element)
// stays serial; so does one that also reads a scalar, a broadcast element, an
// input it ignores, or the same buffer twice: none of these moves bytes per
// iteration (counted, each would reach 12 bytes, 294912 >= N).
// CHECK-LABEL: func.func @activation_moving_eight_bytes(
// CHECK-NOT:     scf.forall
// CHECK:         scf.for
func.func @activation_moving_eight_bytes(%y: memref<196608xf32>, %x: memref<196608xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%x : memref<196608xf32>) outs(%y : memref<196608xf32>) {
  ^bb0(%xi: f32, %yi: f32):
    %zero = arith.constant 0.0 : f32
    %r = arith.maximumf %xi, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// CHECK-LABEL: func.func @with_scalar_and_broadcast(
// CHECK-NOT:     scf.forall
// CHECK:         scf.for
func.func @with_scalar_and_broadcast(%y: memref<196608xf32>, %x: memref<196608xf32>,
                                     %b: memref<1xf32>, %s: f32) {
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (0)>,
                                   affine_map<(i) -> ()>, affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%x, %b, %s : memref<196608xf32>, memref<1xf32>, f32)
      outs(%y : memref<196608xf32>) {
  ^bb0(%xi: f32, %bi: f32, %si: f32, %yi: f32):
    %m = arith.mulf %xi, %si : f32
    %r = arith.addf %m, %bi : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// CHECK-LABEL: func.func @ignored_input_and_buffer_twice(
// CHECK-NOT:     scf.forall
// CHECK:         scf.for
func.func @ignored_input_and_buffer_twice(%y: memref<196608xf32>, %x: memref<196608xf32>,
                                          %unused: memref<196608xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>,
                                   affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%x, %x, %unused : memref<196608xf32>, memref<196608xf32>, memref<196608xf32>)
      outs(%y : memref<196608xf32>) {
  ^bb0(%a: f32, %b: f32, %u: f32, %yi: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Elements without a fixed byte size (index) are not counted: no threads,
// even far above N.
// CHECK-LABEL: func.func @index_elements(
// CHECK-NOT:     scf.forall
func.func @index_elements(%y: memref<1048576xindex>, %x: memref<1048576xindex>) {
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%x : memref<1048576xindex>) outs(%y : memref<1048576xindex>) {
  ^bb0(%xi: index, %yi: index):
    %one = arith.constant 1 : index
    %r = arith.addi %xi, %one : index
    linalg.yield %r : index
  }
  return
}
