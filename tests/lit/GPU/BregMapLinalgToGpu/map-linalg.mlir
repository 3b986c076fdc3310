// RUN: bregman-opt %s --split-input-file \
// RUN:   --pass-pipeline="builtin.module(func.func(breg-map-linalg-to-gpu,lower-affine,canonicalize,cse))" \
// RUN: | FileCheck %s

// A full sum of 1000 elements: one block of 256 threads. Each thread folds a
// strided slice with the op's body (the fused square), partials meet in
// workgroup memory, 32 threads fold them to 32, thread 0 adds those to the
// old output.
// CHECK-LABEL: func.func @sum_of_squares
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C256:.*]] = arith.constant 256 : index
// CHECK:         gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads(%[[T:[^,]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) workgroup(%[[PART:.*]] : memref<256xf32, #gpu.address_space<workgroup>>, %[[WARP:.*]] : memref<32xf32, #gpu.address_space<workgroup>>)
// CHECK:           %[[ACC:.*]] = scf.for %[[R:.*]] = %[[T]] to %{{.*}} step %{{.*}} iter_args(%[[A:.*]] = %[[ZERO]]) -> (f32) {
// CHECK:             %[[X:.*]] = memref.load %{{.*}}[%{{.*}}] : memref<1000xf32>
// CHECK:             %[[SQ:.*]] = arith.mulf %[[X]], %[[X]] : f32
// CHECK:             %[[NEXT:.*]] = arith.addf %[[SQ]], %[[A]] : f32
// CHECK:             scf.yield %[[NEXT]] : f32
// CHECK:           memref.store %[[ACC]], %[[PART]][%[[T]]]
// CHECK-NEXT:      gpu.barrier
// CHECK:           scf.if
// CHECK-COUNT-8:     memref.load %[[PART]]
// CHECK:             memref.store %{{.*}}, %[[WARP]][%[[T]]]
// CHECK:           gpu.barrier
// CHECK:           scf.if
// CHECK-COUNT-32:    memref.load %[[WARP]]
// CHECK-NOT:         memref.load %[[WARP]]
// CHECK:             %[[OLD:.*]] = memref.load %{{.*}}[] : memref<f32>
// CHECK-NEXT:        %[[NEW:.*]] = arith.addf %[[OLD]], %{{.*}} : f32
// CHECK-NEXT:        memref.store %[[NEW]], %{{.*}}[] : memref<f32>
// CHECK:           gpu.terminator
// CHECK-NOT:     linalg.generic
func.func @sum_of_squares(%x: memref<1000xf32>, %out: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%x : memref<1000xf32>) outs(%out : memref<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A column reduction (the bias gradient of a batch of 128): one block of
// 128 threads per output column; the reduction loop is the outer one.
// CHECK-LABEL: func.func @bias_gradient
// CHECK-DAG:     %[[C200:.*]] = arith.constant 200 : index
// CHECK-DAG:     %[[C128:.*]] = arith.constant 128 : index
// CHECK:         gpu.launch blocks(%[[B:[^,]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C200]], {{.*}} threads(%[[T:[^,]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C128]], {{.*}} workgroup(%{{.*}} : memref<128xf32, #gpu.address_space<workgroup>>,
// The block is the column, the loop variable the row.
// CHECK:           scf.for %[[R:.*]] = %[[T]] to %[[C128]] step %[[C128]]
// CHECK:             memref.load %{{.*}}[%[[R]], %[[B]]] : memref<128x200xf32>
// CHECK-COUNT-2:   gpu.barrier
// CHECK:             memref.store %{{.*}}, %{{.*}}[%[[B]]] : memref<200xf32>
func.func @bias_gradient(%g: memref<128x200xf32>, %out: memref<200xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%g : memref<128x200xf32>) outs(%out : memref<200xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Many outputs with short reductions (a row max over 10 classes for 128
// rows): one thread per output, each running the loop in the op's order.
// CHECK-LABEL: func.func @row_max
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C128:.*]] = arith.constant 128 : index
// CHECK-DAG:     %[[C10:.*]] = arith.constant 10 : index
// CHECK:         gpu.launch blocks(%[[B:[^,]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C1]], {{.*}} threads(%[[T:[^,]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C128]],
// CHECK-NOT:       gpu.barrier
// CHECK:           arith.cmpi ult, %[[T]], %[[C128]]
// CHECK:           scf.if
// CHECK:             %[[INIT:.*]] = memref.load %{{.*}} : memref<128xf32>
// CHECK:             scf.for %{{.*}} = %{{.*}} to %[[C10]] step %[[C1]] iter_args(%{{.*}} = %[[INIT]])
// CHECK:               arith.maximumf
// CHECK:             memref.store
func.func @row_max(%x: memref<128x10xf32>, %out: memref<128xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<128x10xf32>) outs(%out : memref<128xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %a, %acc : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// A combiner that is not recognised (two outputs: max and its index) keeps
// its sequential order, one thread per output; a rank-0 op becomes a launch
// of one thread.
// CHECK-LABEL: func.func @argmax_and_scalar
// CHECK:         gpu.launch
// CHECK-NOT:       gpu.barrier
// CHECK:           scf.for {{.*}} -> (f32, i32)
// CHECK:         gpu.launch blocks({{.*}}) in ({{.*}} = %[[ONE:c1[_0-9]*]], {{.*}}) threads({{.*}}) in ({{.*}} = %[[ONE]],
// CHECK:           arith.mulf
// CHECK-NOT:     linalg.
func.func @argmax_and_scalar(%x: memref<4x10xf32>, %max: memref<4xf32>, %arg: memref<4xi32>,
                             %s: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>,
                                   affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x10xf32>) outs(%max, %arg : memref<4xf32>, memref<4xi32>) {
  ^bb0(%a: f32, %m: f32, %i: i32):
    %j = linalg.index 1 : index
    %ji = arith.index_cast %j : index to i32
    %greater = arith.cmpf ogt, %a, %m : f32
    %m2 = arith.select %greater, %a, %m : f32
    %i2 = arith.select %greater, %ji, %i : i32
    linalg.yield %m2, %i2 : f32, i32
  }
  linalg.generic {indexing_maps = [affine_map<() -> ()>], iterator_types = []}
      outs(%s : memref<f32>) {
  ^bb0(%o: f32):
    %d = arith.mulf %o, %o : f32
    linalg.yield %d : f32
  }
  return
}

// -----

// A bias broadcast over a 128x200 activation (fused with ReLU): one thread
// per element, 100 blocks of 256, the linear index decoded with the last
// dimension fastest (neighbouring threads read neighbouring elements); the
// output's old value is not read.
// CHECK-LABEL: func.func @bias_relu
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C100:.*]] = arith.constant 100 : index
// CHECK-DAG:     %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG:     %[[C200:.*]] = arith.constant 200 : index
// CHECK:         gpu.launch blocks(%[[B:[^,]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C100]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads(%[[T:[^,]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]],
// CHECK:           %[[BASE:.*]] = arith.muli %[[B]], %[[C256]] : index
// CHECK:           %[[LIN:.*]] = arith.addi %[[BASE]], %[[T]] : index
// CHECK:           scf.if
// CHECK:             %[[COL:.*]] = arith.remui %[[LIN]], %[[C200]] : index
// CHECK:             %[[ROW:.*]] = arith.divui %[[LIN]], %[[C200]] : index
// CHECK:             %[[X:.*]] = memref.load %{{.*}}[%[[ROW]], %[[COL]]] : memref<128x200xf32>
// CHECK:             %[[BIAS:.*]] = memref.load %{{.*}}[%[[COL]]] : memref<200xf32>
// CHECK-NOT:         memref.load
// CHECK:             arith.addf %[[X]], %[[BIAS]]
// CHECK:             arith.maximumf
// CHECK:             memref.store %{{.*}}, %{{.*}}[%[[ROW]], %[[COL]]] : memref<128x200xf32>
func.func @bias_relu(%x: memref<128x200xf32>, %bias: memref<200xf32>, %out: memref<128x200xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>,
                                   affine_map<(d0, d1) -> (d0, d1)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %bias : memref<128x200xf32>, memref<200xf32>) outs(%out : memref<128x200xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// The zero fill of a reduction's output is taken over by the kernel: thread
// 0 combines with the fill's value instead of loading the output (one
// launch instead of two). A fill separated by a use of the buffer is kept.
// CHECK-LABEL: func.func @fill_then_sum
// CHECK-NOT:     linalg.fill
// CHECK:         gpu.launch
// CHECK:           scf.if
// CHECK-NOT:         memref.load %{{.*}}[] : memref<f32>
// CHECK:             arith.addf %{{.*}}, %{{.*}} : f32
// CHECK:             memref.store %{{.*}}, %{{.*}}[] : memref<f32>
func.func @fill_then_sum(%x: memref<1000xf32>, %out: memref<f32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<f32>)
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%x : memref<1000xf32>) outs(%out : memref<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The fill stays (a one-thread launch of its own), the reduction loads.
// CHECK-LABEL: func.func @fill_used_in_between
// CHECK:         gpu.launch
// CHECK-NEXT:      memref.store
// CHECK:         memref.copy
// CHECK:         gpu.launch
// CHECK:           memref.load %{{.*}}[] : memref<f32>
func.func @fill_used_in_between(%x: memref<1000xf32>, %out: memref<f32>, %seen: memref<f32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<f32>)
  memref.copy %out, %seen : memref<f32> to memref<f32>
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%x : memref<1000xf32>) outs(%out : memref<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Adjacent scalar (rank-0) ops run in one one-thread launch, in order.
// CHECK-LABEL: func.func @scalar_chain
// CHECK-COUNT-1: gpu.launch
// CHECK-NOT:     gpu.launch
// CHECK:           arith.negf
// CHECK:           memref.store
// CHECK:           memref.load
// CHECK:           memref.store
func.func @scalar_chain(%a: memref<f32>, %b: memref<f32>, %c: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>], iterator_types = []}
      ins(%a : memref<f32>) outs(%b : memref<f32>) {
  ^bb0(%x: f32, %o: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  }
  linalg.copy ins(%b : memref<f32>) outs(%c : memref<f32>)
  return
}
