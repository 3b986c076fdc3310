// breg.sparse_conv2d -> loops on buffers (before bufferization): the input
// copied row by row (vectors, the last masked) into a zero-filled padded
// buffer, the entries' offsets decoded once (taps
// flipped under `flip`), then an scf.parallel over (sample, CSR row) whose
// tiles accumulate 8-lane vectors over the row's stored entries: 4 output
// rows of 1 vector here (OW = 6: the vector is masked to 6 lanes when read
// and stored), 12 accumulators at most.
// RUN: bregman-opt %s -breg-sparse-conv-to-loops | FileCheck %s
// RUN: bregman-opt %s -breg-sparse-conv-to-loops="vector-length=4 accumulators=2" | FileCheck %s --check-prefix=SMALL

// CHECK-LABEL: func.func @padded_flipped
// CHECK-DAG:     %[[X:.*]] = bufferization.to_buffer %arg0 read_only
// CHECK:         %[[PADDED:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x3x6x8xf32>
// CHECK:         linalg.fill {{.*}} outs(%[[PADDED]] : memref<2x3x6x8xf32>)
// CHECK-DAG:     %[[XFLAT:.*]] = memref.collapse_shape %[[X]] {{\[}}[0, 1, 2, 3]] : memref<2x3x4x6xf32> into memref<144xf32>
// CHECK-DAG:     %[[PFLAT:.*]] = memref.collapse_shape %[[PADDED]] {{\[}}[0, 1, 2, 3]] : memref<2x3x6x8xf32> into memref<288xf32>
// CHECK:         scf.parallel (%[[PLANE:.*]]) = (%c0{{.*}}) to (%c6{{.*}})
// CHECK:           scf.for %[[ROW:.*]] = %c0{{.*}} to %c4{{.*}}
// CHECK:             vector.maskedload %[[XFLAT]]
// CHECK:             vector.maskedstore %[[PFLAT]]
// CHECK:         %[[OFFSETS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<108xi32>
// CHECK:         scf.for
// CHECK:           arith.divui %{{.*}}, %c9
// CHECK:           arith.subi %c2
// CHECK:           memref.store {{.*}}, %[[OFFSETS]]
// CHECK:         %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x4x4x6xf32>
// CHECK:         scf.parallel
// CHECK:           scf.for {{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:             vector.broadcast
// CHECK-COUNT-4:     vector.maskedload
// CHECK:           vector.maskedstore
// CHECK:         bufferization.to_tensor %[[OUT]] restrict writable
// CHECK-NOT:     breg.sparse_conv2d
func.func @padded_flipped(%x: tensor<2x3x4x6xf32>, %p: tensor<5xi32>, %c: tensor<108xi32>, %v: tensor<108xf32>) -> tensor<2x4x4x6xf32> {
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] padding [1, 1, 1, 1] dilations [1, 1] flip true
    : tensor<2x3x4x6xf32>, tensor<5xi32>, tensor<108xi32>, tensor<108xf32> -> tensor<2x4x4x6xf32>
  return %y : tensor<2x4x4x6xf32>
}

// Two accumulators of 4 lanes: OW = 6 is one full vector and one masked to
// 2 lanes per tile row, one row per tile (a loop over the 4 rows).
// SMALL-LABEL: func.func @padded_flipped
// SMALL:         scf.parallel
// SMALL:           scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1
// SMALL:             scf.for {{.*}} iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>)
// SMALL:               vector.load
// SMALL:               vector.maskedload
// SMALL:             vector.store
// SMALL:             vector.constant_mask [2] : vector<4xi1>
// SMALL:             vector.maskedstore

// With a bias, each tile's accumulators start from the row's bias.
// CHECK-LABEL: func.func @bias
// CHECK:         %[[B:.*]] = bufferization.to_buffer %arg4 read_only : tensor<4xf32>
// CHECK:         scf.parallel (%{{.*}}, %[[ROW:.*]]) =
// CHECK:           %[[BR:.*]] = memref.load %[[B]][%[[ROW]]] : memref<4xf32>
// CHECK:           %[[INIT:.*]] = vector.broadcast %[[BR]] : f32 to vector<8xf32>
// CHECK:           scf.for {{.*}} iter_args({{.*}} = %[[INIT]],
func.func @bias(%x: tensor<2x3x6x6xf32>, %p: tensor<5xi32>, %c: tensor<108xi32>, %v: tensor<108xf32>, %b: tensor<4xf32>) -> tensor<2x4x4x4xf32> {
  %y = breg.sparse_conv2d %x, %p, %c, %v bias %b kernel [3, 3] padding [0, 0, 0, 0] dilations [1, 1] flip false
    : tensor<2x3x6x6xf32>, tensor<5xi32>, tensor<108xi32>, tensor<108xf32>, tensor<4xf32> -> tensor<2x4x4x4xf32>
  return %y : tensor<2x4x4x4xf32>
}
