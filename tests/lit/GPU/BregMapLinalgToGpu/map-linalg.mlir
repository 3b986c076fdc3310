// RUN: bregman-opt %s --split-input-file \
// RUN:   --pass-pipeline="builtin.module(func.func(breg-map-linalg-to-gpu,lower-affine,canonicalize,cse))" \
// RUN: | FileCheck %s

// A full sum of 1000 elements: one block of 256 threads (less than a round
// of 4 x 256 elements, so no split and only the remainder loop runs). Each
// thread folds a strided slice with the op's body (the fused square); the
// warps reduce by butterfly shuffles (xor 16, 8, 4, 2, 1), lane 0 of each
// publishes its total in workgroup memory, and after the one barrier every
// warp reduces the 8 totals (xor 4, 2, 1); thread 0 adds that to the old
// output.
// CHECK-LABEL: func.func @sum_of_squares
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG:     %[[C32:.*]] = arith.constant 32 : i32
// CHECK-DAG:     %[[C16:.*]] = arith.constant 16 : i32
// CHECK-NOT:     memref.alloc
// CHECK:         gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads(%[[T:[^,]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) workgroup(%[[WARPS:.*]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK:           %[[ACC:.*]] = scf.for %[[R:.*]] = %[[T]] to %{{.*}} step %[[C256]] iter_args(%[[A:.*]] = %[[ZERO]]) -> (f32) {
// CHECK:             %[[X:.*]] = memref.load %{{.*}}[%[[R]]] : memref<1000xf32>
// CHECK:             %[[SQ:.*]] = arith.mulf %[[X]], %[[X]] : f32
// CHECK:             %[[NEXT:.*]] = arith.addf %[[SQ]], %[[A]] : f32
// CHECK:             scf.yield %[[NEXT]] : f32
// CHECK:           gpu.shuffle  xor %{{.*}}, %[[C16]], %[[C32]] : f32
// CHECK-COUNT-4:   gpu.shuffle  xor
// CHECK:           scf.if
// CHECK-NEXT:        memref.store %{{.*}}, %[[WARPS]]
// CHECK:           gpu.barrier
// CHECK:           memref.load %[[WARPS]]
// CHECK-COUNT-3:   gpu.shuffle  xor
// CHECK-NOT:       gpu.shuffle
// CHECK:           scf.if
// CHECK-NEXT:        %[[OLD:.*]] = memref.load %{{.*}}[] : memref<f32>
// CHECK-NEXT:        %[[NEW:.*]] = arith.addf %[[OLD]], %{{.*}} : f32
// CHECK-NEXT:        memref.store %[[NEW]], %{{.*}}[] : memref<f32>
// CHECK:           gpu.terminator
// CHECK-NOT:     gpu.launch
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

// A long sum (10^6 elements, one output): split over 977 blocks of 256
// threads (the target is 528 blocks; chunks are whole rounds of 4 x 256
// elements), each thread with 4 independent accumulators filled by one
// vector load per round; the last block (976) takes the
// 576 elements left in its remainder loop. Block totals go to a partials
// buffer of 977; a second launch (one warp) folds them in a fixed order,
// lane l taking partials l, l + 32, ..., and adds the result to the output.
// CHECK-LABEL: func.func @long_sum
// CHECK-DAG:     %[[C977:.*]] = arith.constant 977 : index
// CHECK-DAG:     %[[C976:.*]] = arith.constant 976 : index
// CHECK-DAG:     %[[C1024:.*]] = arith.constant 1024 : index
// CHECK-DAG:     %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG:     %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK:         %[[PARTIALS:.*]] = memref.alloc() : memref<977xf32>
// CHECK:         gpu.launch blocks(%[[B:[^,]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C977]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads(%[[T:[^,]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]],
// CHECK:           %[[BEGIN:.*]] = arith.muli %[[B]], %[[C1024]] : index
// CHECK:           %[[LAST:.*]] = arith.cmpi eq, %[[B]], %[[C976]] : index
// A round: thread t loads elements 4t .. 4t + 3 of it at once (16 bytes,
// aligned) into the 4 accumulators.
// CHECK:           %{{.*}}:4 = scf.for {{.*}} -> (f32, f32, f32, f32) {
// CHECK:             %[[V:.*]] = vector.load %{{.*}} {alignment = 16 : i64} : memref<1000000xf32>, vector<4xf32>
// CHECK-COUNT-4:     vector.extract %[[V]]
// CHECK-NOT:         memref.load
// CHECK:           scf.for
// CHECK-COUNT-5:   gpu.shuffle  xor
// CHECK:           gpu.barrier
// CHECK-COUNT-3:   gpu.shuffle  xor
// CHECK:           scf.if
// CHECK-NEXT:        memref.store %{{.*}}, %[[PARTIALS]][%[[B]]] : memref<977xf32>
// CHECK:         gpu.launch blocks({{.*}}) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads(%[[L:[^,]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C32]],
// CHECK:           scf.for %[[I:.*]] = %[[L]] to %[[C977]] step %[[C32]]
// CHECK:             memref.load %[[PARTIALS]][%[[I]]]
// CHECK-COUNT-5:   gpu.shuffle  xor
// CHECK-NOT:       gpu.barrier
// CHECK:           memref.load %{{.*}}[] : memref<f32>
// CHECK:         memref.dealloc %[[PARTIALS]] : memref<977xf32>
func.func @long_sum(%x: memref<1000000xf32>, %out: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%x : memref<1000000xf32>) outs(%out : memref<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// f64 values do not fit a 32-bit shuffle lane: the block meets in workgroup
// memory (256 partials, 32 threads fold them to 32, two barriers); 4096
// elements are still split over 4 blocks, read 4 at a time (32 bytes).
// CHECK-LABEL: func.func @f64_sum
// CHECK:         %[[PARTIALS:.*]] = memref.alloc() : memref<4xf64>
// CHECK:         gpu.launch {{.*}} workgroup(%{{.*}} : memref<256xf64, #gpu.address_space<workgroup>>, %{{.*}} : memref<32xf64, #gpu.address_space<workgroup>>)
// CHECK:           vector.load %{{.*}} {alignment = 32 : i64} : memref<4096xf64>, vector<4xf64>
// CHECK-NOT:       gpu.shuffle
// CHECK-COUNT-2:   gpu.barrier
// CHECK:           memref.store %{{.*}}, %[[PARTIALS]]
// CHECK:         gpu.launch
// CHECK-NOT:       gpu.shuffle
// CHECK:         memref.dealloc %[[PARTIALS]]
func.func @f64_sum(%x: memref<4096xf64>, %out: memref<f64>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%x : memref<4096xf64>) outs(%out : memref<f64>) {
  ^bb0(%a: f64, %acc: f64):
    %s = arith.addf %a, %acc : f64
    linalg.yield %s : f64
  }
  return
}

// -----

// A column reduction (the bias gradient of a batch of 128, the reduced
// dimension outer and strided): consecutive threads (x) take consecutive
// columns, so a warp reads 32 neighbouring floats of a row; 8 row lanes (y)
// per block, each folding rows lane + 8u (u = 0..3, 4 accumulators) of each
// round of 32 rows. 128 rows are 4 rounds, too few to split: one pass of
// 7 blocks (200 columns by 32). The row lanes meet in workgroup memory in a
// fixed tree (lanes 0..3 add 4..7, then 0..1 add 2..3, then 0 adds 1: three
// barriers); lane 0 of each column in range writes it. No partials buffer.
// CHECK-LABEL: func.func @bias_gradient
// CHECK-DAG:     %[[C200:.*]] = arith.constant 200 : index
// CHECK-DAG:     %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG:     %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG:     %[[C7:.*]] = arith.constant 7 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-NOT:     memref.alloc
// CHECK:         gpu.launch blocks(%[[B:[^,]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C7]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads(%[[TX:[^,]*]], %[[TY:[^,]*]], %{{.*}}) in (%{{.*}} = %[[C32]], %{{.*}} = %[[C8]], %{{.*}} = %[[C1]]) workgroup(%[[LANES:.*]] : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK:           %[[BASE:.*]] = arith.muli %[[B]], %[[C32]] : index
// CHECK:           %[[COL:.*]] = arith.addi %[[BASE]], %[[TX]] : index
// CHECK:           %[[VALID:.*]] = arith.cmpi ult, %[[COL]], %[[C200]] : index
// CHECK:           %[[SAFE:.*]] = arith.select %[[VALID]], %[[COL]], %{{.*}} : index
// CHECK:           %{{.*}}:4 = scf.for %{{.*}} = %{{.*}} to %[[C4]] step %[[C1]] iter_args({{.*}}) -> (f32, f32, f32, f32) {
// CHECK:             %[[ROW:.*]] = arith.addi %{{.*}}, %[[TY]] : index
// CHECK:             memref.load %{{.*}}[%[[ROW]], %[[SAFE]]] : memref<128x200xf32>
// CHECK:             %[[ROW8:.*]] = arith.addi %[[ROW]], %[[C8]] : index
// CHECK:             memref.load %{{.*}}[%[[ROW8]], %[[SAFE]]] : memref<128x200xf32>
// CHECK-COUNT-2:     memref.load %{{.*}}[%{{.*}}, %[[SAFE]]] : memref<128x200xf32>
// CHECK:             scf.yield
// CHECK-NOT:       gpu.shuffle
// CHECK:           memref.store %{{.*}}, %[[LANES]]
// CHECK:           gpu.barrier
// CHECK:           arith.cmpi ult, %[[TY]], %[[C4]] : index
// CHECK:           gpu.barrier
// CHECK:           gpu.barrier
// CHECK-NOT:       gpu.barrier
// CHECK:           arith.cmpi ult, %[[TY]], %[[C1]] : index
// CHECK:           %[[LANE0:.*]] = arith.cmpi eq, %[[TY]], %{{.*}} : index
// CHECK:           %[[STORE:.*]] = arith.andi %[[VALID]], %[[LANE0]] : i1
// CHECK:           scf.if %[[STORE]] {
// CHECK:             memref.load %{{.*}}[%[[SAFE]]] : memref<200xf32>
// CHECK:             memref.store %{{.*}}, %{{.*}}[%[[SAFE]]] : memref<200xf32>
// CHECK-NOT:     gpu.launch
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

// Long columns (65536 rows of 8): 8 columns by 32 row lanes per block, the
// rows split into 128 chunks of 4 rounds (512 rows; about 528 blocks
// wanted), grid 1 x 128. Each block's column totals go to partials
// [128][8]; the second launch reads them as a column reduction too (8
// columns by 32 lanes, one round, five tree steps) and adds them to the
// output.
// CHECK-LABEL: func.func @long_columns
// CHECK-DAG:     %[[C128:.*]] = arith.constant 128 : index
// CHECK-DAG:     %[[C512:.*]] = arith.constant 512 : index
// CHECK-DAG:     %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG:     %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK:         %[[PARTIALS:.*]] = memref.alloc() : memref<1024xf32>
// CHECK:         gpu.launch blocks(%{{.*}}, %[[S:[^,]*]], %{{.*}}) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C128]], %{{.*}} = %[[C1]]) threads(%[[TX:[^,]*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C8]], %{{.*}} = %[[C32]], %{{.*}} = %[[C1]]) workgroup(%{{.*}} : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK:           arith.muli %[[S]], %[[C512]] : index
// CHECK-NOT:       vector.load
// CHECK-COUNT-5:   gpu.barrier
// CHECK-NOT:       gpu.barrier
// CHECK:           %[[AT:.*]] = arith.muli %[[S]], %[[C8]] : index
// CHECK:           %[[AT2:.*]] = arith.addi %[[AT]], %[[TX]] : index
// CHECK:           memref.store %{{.*}}, %[[PARTIALS]][%[[AT2]]] : memref<1024xf32>
// CHECK:         gpu.launch blocks({{.*}}) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads({{.*}}) in (%{{.*}} = %[[C8]], %{{.*}} = %[[C32]], %{{.*}} = %[[C1]])
// CHECK-COUNT-4:   memref.load %[[PARTIALS]]
// CHECK-COUNT-5:   gpu.barrier
// CHECK:           memref.store %{{.*}} : memref<8xf32>
// CHECK:         memref.dealloc %[[PARTIALS]] : memref<1024xf32>
func.func @long_columns(%x: memref<65536x8xf32>, %out: memref<8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<65536x8xf32>) outs(%out : memref<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Few rows, many columns (3 x 4096; fewer rows than
// block-reduction-threshold): one thread per column, 16 blocks of 256,
// consecutive threads on consecutive columns (coalesced as it is), each
// folding its 3 rows in order; no workgroup memory, no barrier.
// CHECK-LABEL: func.func @short_columns
// CHECK-DAG:     %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG:     %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK:         gpu.launch blocks(%[[B:[^,]*]], {{.*}}) in (%{{.*}} = %[[C16]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads(%[[T:[^,]*]], {{.*}}) in (%{{.*}} = %[[C256]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) {
// CHECK:           %[[BASE:.*]] = arith.muli %[[B]], %[[C256]] : index
// CHECK:           %[[COL:.*]] = arith.addi %[[BASE]], %[[T]] : index
// CHECK:           scf.for %[[R:.*]] = %{{.*}} to %[[C3]] step %[[C1]]
// CHECK:             memref.load %{{.*}}[%[[R]], %[[COL]]] : memref<3x4096xf32>
// CHECK:             arith.maximumf
// CHECK-NOT:       gpu.barrier
// CHECK:           memref.store %{{.*}} : memref<4096xf32>
// CHECK-NOT:     gpu.launch
func.func @short_columns(%x: memref<3x4096xf32>, %out: memref<4096xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<3x4096xf32>) outs(%out : memref<4096xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.maximumf %a, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A convolution's bias gradient (NCHW, 64 channels of 128 x 24 x 24 =
// 73728 elements): 9 blocks per channel (grid 9 x 64 = 576 blocks; chunks of
// 8 rounds of 4 x 256), the channel in block id y; 4 consecutive pixels of
// a row per vector load (rows of 24: groups of 4 stay in a row and are
// 16-byte aligned); the partials [64][9] are folded by one warp per channel.
// CHECK-LABEL: func.func @conv_bias_gradient
// CHECK-DAG:     %[[C9:.*]] = arith.constant 9 : index
// CHECK-DAG:     %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG:     %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG:     %[[C8192:.*]] = arith.constant 8192 : index
// CHECK:         %[[PARTIALS:.*]] = memref.alloc() : memref<576xf32>
// CHECK:         gpu.launch blocks(%[[S:[^,]*]], %[[C:[^,]*]], %{{.*}}) in (%{{.*}} = %[[C9]], %{{.*}} = %[[C64]], %{{.*}}) threads({{.*}}) in (%{{.*}} = %[[C256]],
// CHECK:           arith.muli %[[S]], %[[C8192]] : index
// CHECK:           vector.load %{{.*}}[%{{.*}}, %[[C]], %{{.*}}, %{{.*}}] {alignment = 16 : i64} : memref<128x64x24x24xf32>, vector<4xf32>
// CHECK:           %[[AT:.*]] = arith.muli %[[C]], %[[C9]] : index
// CHECK:           %[[AT2:.*]] = arith.addi %[[AT]], %[[S]] : index
// CHECK:           memref.store %{{.*}}, %[[PARTIALS]][%[[AT2]]] : memref<576xf32>
// CHECK:         gpu.launch blocks(%{{.*}}) in (%{{.*}} = %[[C64]],
// CHECK:           memref.store %{{.*}} : memref<64xf32>
// CHECK:         memref.dealloc %[[PARTIALS]]
func.func @conv_bias_gradient(%g: memref<128x64x24x24xf32>, %out: memref<64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(n, c, h, w) -> (n, c, h, w)>, affine_map<(n, c, h, w) -> (c)>],
                  iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%g : memref<128x64x24x24xf32>) outs(%out : memref<64xf32>) {
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

// -----

// No vector loads where a group of 4 would not be 16-byte aligned (rows of
// 1002 elements: a row starts 2 floats off every other time): the thread's
// accumulators read elements 32 apart.
// CHECK-LABEL: func.func @unaligned_rows
// CHECK-NOT:     vector.load
// CHECK:         memref.load %{{.*}} : memref<64x1002xf32>
// CHECK-NOT:     vector.load
func.func @unaligned_rows(%x: memref<64x1002xf32>, %out: memref<64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x1002xf32>) outs(%out : memref<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  return
}
