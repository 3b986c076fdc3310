// breg.compress_rows of an update's θ' (the training step on CSR), CPU
// vector form: the update and the compaction become one loop nest where the
// update was (CompressRowsWithUpdate.cpp). Per row, per chunk of 16
// columns: g and v read with vector.transfer_read, the update's body on
// vector<16xf32> (LinBreg, l1: v' = v - lr·g, θ' = soft threshold of δ·v'),
// θ' and v' written, and θ' packed into the CSR from the register (no read
// of θ' back); the last 37 % 16 = 5 columns under a constant mask. θ's old
// value is never read and it is a read-only argument here: the loops carry
// a tensor.empty for it (no copy of θ), v itself (read and written).
// With compress-parallel-threshold (units of 8 bytes moved) a large enough
// update runs in parallel blocks of whole rows (scf.forall, each block
// compacting from its own first slot), joined by a serial loop that moves
// each later block's entries down (masked vector transfers) and offsets its
// positions. A group regulariser's update and a compaction of anything but
// an update keep the separate compaction.
// RUN: bregman-opt %s -convert-breg-to-linalg | FileCheck %s
// RUN: bregman-opt %s -convert-breg-to-linalg="compress-parallel-threshold=1" | FileCheck %s --check-prefix=PAR
// RUN: bregman-opt %s -convert-breg-to-linalg="compress-vector-length=0" | FileCheck %s --check-prefix=SCALAR

// CHECK-LABEL: func.func @linbreg(
// CHECK-SAME:    %{{[^:]*}}: memref<4x37xf32>, %[[V:[^:]*]]: tensor<4x37xf32>, %[[G:[^:]*]]: tensor<4x37xf32>, %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK-NOT:     linalg.generic
// CHECK:         %[[TH:.*]] = arith.mulf %[[D]], %[[L]] : f32
// CHECK-DAG:     %[[LRV:.*]] = vector.broadcast %[[LR]] : f32 to vector<16xf32>
// CHECK-DAG:     %[[DV:.*]] = vector.broadcast %[[D]] : f32 to vector<16xf32>
// CHECK-DAG:     %[[THV:.*]] = vector.broadcast %[[TH]] : f32 to vector<16xf32>
// CHECK-DAG:     %[[TE:.*]] = tensor.empty() : tensor<4x37xf32>
// CHECK:         %[[ROWS:.*]]:6 = scf.for %[[R:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[TA:.*]] = %[[TE]], %[[VA:.*]] = %[[V]], %[[PA:.*]] = %{{.*}}, %[[CA:.*]] = %{{.*}}, %[[XA:.*]] = %{{.*}}, %[[NA:.*]] = %{{.*}})
// CHECK:           scf.for %[[C:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[TB:.*]] = %[[TA]], %[[VB:.*]] = %[[VA]],
// CHECK:             %[[GC:.*]] = vector.transfer_read %[[G]][%{{.*}}, %[[C]]]{{.*}} : tensor<4x37xf32>, vector<16xf32>
// CHECK:             %[[VC:.*]] = vector.transfer_read %[[VB]][%[[R]], %[[C]]]{{.*}} : tensor<4x37xf32>, vector<16xf32>
// CHECK:             %[[STEP:.*]] = arith.mulf %[[LRV]], %[[GC]] : vector<16xf32>
// CHECK:             %[[NV:.*]] = arith.subf %[[VC]], %[[STEP]] : vector<16xf32>
// CHECK:             %[[X:.*]] = arith.mulf %[[DV]], %[[NV]] : vector<16xf32>
// CHECK:             math.absf %[[X]] : vector<16xf32>
// CHECK:             %[[NT:.*]] = math.copysign %{{.*}}, %[[X]] : vector<16xf32>
// CHECK:             vector.transfer_write %[[NT]], %[[TB]][%[[R]], %[[C]]]
// CHECK:             vector.transfer_write %[[NV]], %[[VB]][%[[R]], %[[C]]]
// CHECK:             %[[NZ:.*]] = arith.cmpf une, %[[NT]], %{{.*}} : vector<16xf32>
// CHECK:             llvm.call @breg_vector_compress_v16f32(%[[NT]], %[[NZ]])
// CHECK:             scf.yield
// The masked last chunk: the reads and the writes of θ' and v' under the
// row's mask, the lanes past the row not counted, and only the packed
// entries stored.
// CHECK:           %[[TAIL:.*]] = vector.constant_mask [5] : vector<16xi1>
// CHECK:           vector.transfer_read %[[G]][%{{.*}}, %{{.*}}], %{{.*}}, %[[TAIL]]
// CHECK:           vector.transfer_read %{{.*}}[%{{.*}}, %{{.*}}], %{{.*}}, %[[TAIL]]
// CHECK:           vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}], %[[TAIL]]
// CHECK:           vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}], %[[TAIL]]
// CHECK:           %[[NZ2:.*]] = arith.cmpf une
// CHECK:           %[[COUNTED:.*]] = arith.andi %[[TAIL]], %[[NZ2]] : vector<16xi1>
// CHECK:           llvm.call @breg_vector_compress_v16f32(%{{.*}}, %[[COUNTED]])
// CHECK:           %[[STORED:.*]] = vector.create_mask
// CHECK:           vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}], %[[STORED]]
// CHECK:           vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}], %[[STORED]]
// CHECK:           tensor.insert %{{.*}} into %[[PA]][%{{.*}}] : tensor<5xi32>
// CHECK:           scf.yield
// CHECK-NOT:     vector.load
// CHECK:         return %[[ROWS]]#0, %[[ROWS]]#1, %[[ROWS]]#2, %[[ROWS]]#3, %[[ROWS]]#4

// PAR-LABEL: func.func @linbreg(
// 4·37 elements: too few for blocks (4 Ki at least): one loop.
// PAR-NOT:     scf.forall
// PAR-LABEL: func.func @blocks(
// [8, 1100] at 16 bytes an element: two blocks of 4 rows (4,400 elements).
// PAR:         %[[B:.*]]:5 = scf.forall (%[[I:.*]]) in (2) shared_outs(%[[ST:.*]] = %{{.*}}, %[[SV:.*]] = %{{.*}}, %[[SP:.*]] = %{{.*}}, %[[SC:.*]] = %{{.*}}, %[[SX:.*]] = %{{.*}})
// PAR:           %[[R0:.*]] = arith.muli %[[I]], %{{.*}} : index
// PAR:           %[[S0:.*]] = arith.muli %[[R0]], %{{.*}} : index
// PAR:           %[[P0:.*]] = arith.addi %[[R0]], %{{.*}} : index
// PAR:           tensor.extract_slice %[[ST]][%[[R0]], 0] [4, 1100] [1, 1]
// PAR:           tensor.extract_slice %[[SV]][%[[R0]], 0] [4, 1100] [1, 1]
// PAR:           tensor.extract_slice %[[SP]][%[[P0]]] [4] [1]
// PAR:           tensor.extract_slice %[[SC]][%[[S0]]] [4400] [1]
// PAR:           tensor.extract_slice %[[SX]][%[[S0]]] [4400] [1]
// PAR:           scf.forall.in_parallel
// PAR-COUNT-5:     tensor.parallel_insert_slice
// The join: block 1's entries move behind block 0's, its positions grow.
// PAR:         %[[END:.*]] = arith.index_cast %{{.*}} : i32 to index
// PAR:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[B]]#2, %{{.*}} = %[[B]]#3, %{{.*}} = %[[B]]#4, %{{.*}} = %[[END]])
// PAR:           scf.for %[[K:.*]] = %{{.*}} to %[[COUNT:.*]] step %{{.*}}
// PAR:             %[[LEFT:.*]] = arith.subi %[[COUNT]], %[[K]] : index
// PAR:             %[[MOVE:.*]] = vector.create_mask %[[LEFT]] : vector<16xi1>
// PAR:             vector.transfer_read %{{.*}}[%{{.*}}], %{{.*}}, %[[MOVE]]
// PAR:             vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}], %[[MOVE]]
// PAR:             vector.transfer_read %{{.*}}[%{{.*}}], %{{.*}}, %[[MOVE]]
// PAR:             vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}], %[[MOVE]]
// PAR:           scf.for
// PAR:             arith.addi %{{.*}}, %{{.*}} : i32

// CHECK-LABEL: func.func @blocks(
// CHECK-NOT:     scf.forall

// The group regulariser's update stays a generic (after its norms); the
// compaction reads its θ' through a buffer.
// CHECK-LABEL: func.func @group(
// CHECK:         linalg.generic
// CHECK:         bufferization.to_buffer %{{.*}} read_only
// CHECK:         vector.load

// Not an update: the plain compaction.
// CHECK-LABEL: func.func @plain(
// CHECK:         bufferization.to_buffer %{{.*}} read_only

// Not fused: a body that may trap (an integer division would run on the
// masked chunk's zero padding), an input that is also an init, and a
// compaction under a condition (it must not run unconditionally).
// CHECK-LABEL: func.func @traps(
// CHECK:         linalg.generic
// CHECK:         bufferization.to_buffer %{{.*}} read_only
// CHECK-LABEL: func.func @in_place(
// CHECK:         linalg.generic
// CHECK:         bufferization.to_buffer %{{.*}} read_only
// CHECK-LABEL: func.func @conditional(
// CHECK:         linalg.generic
// CHECK:         scf.if
// CHECK:           bufferization.to_buffer %{{.*}} read_only

// A filter's update [4, 3, 2, 2] whose rows [4, 12] are compacted (a
// collapse_shape of θ'): the update runs on its operands collapsed alike,
// and its results are expanded back for their other users.
// CHECK-LABEL: func.func @filter(
// CHECK-SAME:    %[[FT:[^:]*]]: tensor<4x3x2x2xf32>, %[[FV:[^:]*]]: tensor<4x3x2x2xf32>, %[[FG:[^:]*]]: tensor<4x3x2x2xf32>
// CHECK-NOT:     linalg.generic
// CHECK-DAG:     %[[CG:.*]] = tensor.collapse_shape %[[FG]] {{\[\[}}0], [1, 2, 3]] : tensor<4x3x2x2xf32> into tensor<4x12xf32>
// CHECK-DAG:     %[[CT:.*]] = tensor.collapse_shape %[[FT]] {{\[\[}}0], [1, 2, 3]]
// CHECK-DAG:     %[[CV:.*]] = tensor.collapse_shape %[[FV]] {{\[\[}}0], [1, 2, 3]]
// CHECK:         %[[FR:.*]]:6 = scf.for %{{.*}} iter_args(%{{.*}} = %[[CT]], %{{.*}} = %[[CV]],
// CHECK:           vector.transfer_read %[[CG]]
// CHECK:           llvm.call @breg_vector_compress_v16f32
// CHECK:         %[[ET:.*]] = tensor.expand_shape %[[FR]]#0 {{\[\[}}0], [1, 2, 3]] output_shape [4, 3, 2, 2]
// CHECK:         %[[EV:.*]] = tensor.expand_shape %[[FR]]#1 {{\[\[}}0], [1, 2, 3]] output_shape [4, 3, 2, 2]
// CHECK:         return %[[ET]], %[[EV]], %[[FR]]#2, %[[FR]]#3, %[[FR]]#4

// The GPU's scalar form: the update is a generic, the compaction scalar.
// SCALAR-LABEL: func.func @linbreg(
// SCALAR:         linalg.generic
// SCALAR:         tensor.extract
// SCALAR-NOT:     vector.

func.func @linbreg(%tm: memref<4x37xf32>, %v: tensor<4x37xf32>, %g: tensor<4x37xf32>,
                   %lr: f32, %delta: f32, %lambda: f32)
    -> (tensor<4x37xf32>, tensor<4x37xf32>, tensor<5xi32>, tensor<148xi32>, tensor<148xf32>) {
  %t = bufferization.to_tensor %tm restrict : memref<4x37xf32> to tensor<4x37xf32>
  %t1, %v1 = breg.linbreg_update #breg.l1 %t, %v, %g
      lr(%lr) delta(%delta) lambda(%lambda) : tensor<4x37xf32>
  %p, %c, %x = breg.compress_rows %t1
      : tensor<4x37xf32> -> tensor<5xi32>, tensor<148xi32>, tensor<148xf32>
  return %t1, %v1, %p, %c, %x
      : tensor<4x37xf32>, tensor<4x37xf32>, tensor<5xi32>, tensor<148xi32>, tensor<148xf32>
}

func.func @blocks(%t: tensor<8x1100xf32>, %v: tensor<8x1100xf32>, %g: tensor<8x1100xf32>,
                  %lr: f32, %delta: f32, %lambda: f32)
    -> (tensor<8x1100xf32>, tensor<8x1100xf32>, tensor<9xi32>, tensor<8800xi32>, tensor<8800xf32>) {
  %t1, %v1 = breg.linbreg_update #breg.l1 %t, %v, %g
      lr(%lr) delta(%delta) lambda(%lambda) : tensor<8x1100xf32>
  %p, %c, %x = breg.compress_rows %t1
      : tensor<8x1100xf32> -> tensor<9xi32>, tensor<8800xi32>, tensor<8800xf32>
  return %t1, %v1, %p, %c, %x
      : tensor<8x1100xf32>, tensor<8x1100xf32>, tensor<9xi32>, tensor<8800xi32>, tensor<8800xf32>
}

func.func @group(%t: tensor<4x37xf32>, %v: tensor<4x37xf32>, %g: tensor<4x37xf32>,
                 %lr: f32, %delta: f32, %lambda: f32)
    -> (tensor<4x37xf32>, tensor<5xi32>, tensor<148xi32>, tensor<148xf32>) {
  %t1, %v1 = breg.linbreg_update #breg.l1_l2 %t, %v, %g
      lr(%lr) delta(%delta) lambda(%lambda) : tensor<4x37xf32>
  %p, %c, %x = breg.compress_rows %t1
      : tensor<4x37xf32> -> tensor<5xi32>, tensor<148xi32>, tensor<148xf32>
  return %v1, %p, %c, %x : tensor<4x37xf32>, tensor<5xi32>, tensor<148xi32>, tensor<148xf32>
}

func.func @plain(%m: tensor<4x37xf32>)
    -> (tensor<5xi32>, tensor<148xi32>, tensor<148xf32>) {
  %p, %c, %x = breg.compress_rows %m
      : tensor<4x37xf32> -> tensor<5xi32>, tensor<148xi32>, tensor<148xf32>
  return %p, %c, %x : tensor<5xi32>, tensor<148xi32>, tensor<148xf32>
}

#id = affine_map<(d0, d1) -> (d0, d1)>

func.func @traps(%a: tensor<2x5xi32>, %d: tensor<2x5xi32>)
    -> (tensor<3xi32>, tensor<10xi32>, tensor<10xf32>) {
  %e = tensor.empty() : tensor<2x5xf32>
  %b = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %d : tensor<2x5xi32>, tensor<2x5xi32>) outs(%e : tensor<2x5xf32>) {
  ^bb0(%x: i32, %y: i32, %o: f32):
    %q = arith.divsi %x, %y : i32
    %f = arith.sitofp %q : i32 to f32
    linalg.yield %f : f32
  } -> tensor<2x5xf32>
  %p, %c, %v = breg.compress_rows %b
      : tensor<2x5xf32> -> tensor<3xi32>, tensor<10xi32>, tensor<10xf32>
  return %p, %c, %v : tensor<3xi32>, tensor<10xi32>, tensor<10xf32>
}

func.func @in_place(%a: tensor<2x5xf32>)
    -> (tensor<3xi32>, tensor<10xi32>, tensor<10xf32>) {
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<2x5xf32>) outs(%a : tensor<2x5xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %o : f32
    linalg.yield %y : f32
  } -> tensor<2x5xf32>
  %p, %c, %v = breg.compress_rows %b
      : tensor<2x5xf32> -> tensor<3xi32>, tensor<10xi32>, tensor<10xf32>
  return %p, %c, %v : tensor<3xi32>, tensor<10xi32>, tensor<10xf32>
}

func.func @conditional(%a: tensor<2x5xf32>, %when: i1)
    -> (tensor<2x5xf32>, tensor<3xi32>) {
  %e = tensor.empty() : tensor<2x5xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<2x5xf32>) outs(%e : tensor<2x5xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %x : f32
    linalg.yield %y : f32
  } -> tensor<2x5xf32>
  %r = scf.if %when -> tensor<3xi32> {
    %p, %c, %v = breg.compress_rows %b
        : tensor<2x5xf32> -> tensor<3xi32>, tensor<10xi32>, tensor<10xf32>
    scf.yield %p : tensor<3xi32>
  } else {
    %z = arith.constant dense<0> : tensor<3xi32>
    scf.yield %z : tensor<3xi32>
  }
  return %b, %r : tensor<2x5xf32>, tensor<3xi32>
}

func.func @filter(%t: tensor<4x3x2x2xf32>, %v: tensor<4x3x2x2xf32>, %g: tensor<4x3x2x2xf32>,
                  %lr: f32, %delta: f32, %lambda: f32)
    -> (tensor<4x3x2x2xf32>, tensor<4x3x2x2xf32>, tensor<5xi32>, tensor<48xi32>, tensor<48xf32>) {
  %t1, %v1 = breg.linbreg_update #breg.l1 %t, %v, %g
      lr(%lr) delta(%delta) lambda(%lambda) : tensor<4x3x2x2xf32>
  %rows = tensor.collapse_shape %t1 [[0], [1, 2, 3]] : tensor<4x3x2x2xf32> into tensor<4x12xf32>
  %p, %c, %x = breg.compress_rows %rows
      : tensor<4x12xf32> -> tensor<5xi32>, tensor<48xi32>, tensor<48xf32>
  return %t1, %v1, %p, %c, %x
      : tensor<4x3x2x2xf32>, tensor<4x3x2x2xf32>, tensor<5xi32>, tensor<48xi32>, tensor<48xf32>
}
