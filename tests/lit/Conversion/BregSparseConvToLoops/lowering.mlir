// breg.sparse_conv2d -> loops on buffers (before bufferization): the input
// channels some stored entry reads (flagged once per call) copied row by
// row (vectors, the last masked) into their zero-filled planes of a padded
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
// CHECK:         %[[READ:.*]] = memref.alloc() : memref<3xi8>
// CHECK:         linalg.fill ins(%{{.*}} : i8) outs(%[[READ]] : memref<3xi8>)
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             memref.store %{{.*}}, %[[READ]]
// CHECK-DAG:     %[[XFLAT:.*]] = memref.collapse_shape %[[X]] {{\[}}[0, 1, 2, 3]] : memref<2x3x4x6xf32> into memref<144xf32>
// CHECK-DAG:     %[[PFLAT:.*]] = memref.collapse_shape %[[PADDED]] {{\[}}[0, 1, 2, 3]] : memref<2x3x6x8xf32> into memref<288xf32>
// CHECK:         scf.parallel (%[[PLANE:.*]]) = (%c0{{.*}}) to (%c6{{.*}})
// CHECK:           %[[CHANNEL:.*]] = arith.remui %[[PLANE]], %c3
// CHECK:           memref.load %[[READ]][%[[CHANNEL]]]
// CHECK:           scf.if
// CHECK:             %[[VIEW:.*]] = memref.subview %[[PFLAT]][%{{.*}}] [48] [1]
// CHECK:             linalg.fill {{.*}} outs(%[[VIEW]]
// CHECK:             scf.for %[[ROW:.*]] = %c0{{.*}} to %c4{{.*}}
// CHECK:               vector.maskedload %[[XFLAT]]
// CHECK:               vector.maskedstore %[[PFLAT]]
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

// At strides [2, 2] the padded input (9 × 10) is copied element by element
// with each row split by column phase (5 even columns, then 5 odd ones), an
// entry's column offset is its tap's phase·5 + tap / 2, and output row r
// reads input row 2r (a row step of 2 · 10 elements). Its output: OH = (9 −
// 3) / 2 + 1 = 4, OW = (10 − 3) / 2 + 1 = 4.
// CHECK-LABEL: func.func @strided
// CHECK:         %[[PADDED:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x3x9x10xf32>
// CHECK:         scf.parallel
// CHECK:           scf.if
// CHECK:             memref.subview %{{.*}} [90] [1]
// CHECK:             linalg.fill
// CHECK:             scf.for
// CHECK:               scf.for
// CHECK:               %[[PHASE:.*]] = arith.remui %{{.*}}, %c2
// CHECK:               %[[WITHIN:.*]] = arith.divui %{{.*}}, %c2
// CHECK:               memref.load
// CHECK:               memref.store
// CHECK:         scf.for
// CHECK:           arith.divui %{{.*}}, %c9
// CHECK:           arith.remui %{{.*}}, %c2
// CHECK:           arith.muli %{{.*}}, %c5
// CHECK:           arith.divui %{{.*}}, %c2
// CHECK:         %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x4x4x4xf32>
// CHECK:         scf.parallel
// CHECK:           scf.for {{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:             arith.muli %{{.*}}, %c20
// CHECK-COUNT-4:     vector.maskedload
// CHECK-NOT:     breg.sparse_conv2d
func.func @strided(%x: tensor<2x3x7x8xf32>, %p: tensor<5xi32>, %c: tensor<108xi32>, %v: tensor<108xf32>) -> tensor<2x4x4x4xf32> {
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1] flip false
    : tensor<2x3x7x8xf32>, tensor<5xi32>, tensor<108xi32>, tensor<108xf32> -> tensor<2x4x4x4xf32>
  return %y : tensor<2x4x4x4xf32>
}

// Rows of 20 columns at a column stride of 2 with 1 column of padding on
// the left (padded width 21: phases of 11 columns, a row pitch of 22) and a
// 1×2 kernel (its two taps read both phases): the first 16 columns are one
// vector<16xf32> whose odd lanes (padded columns 2, 4, ...) go to phase 0
// from its column 1 and whose even lanes to phase 1 from its column 0
// (offset 11); the last 4 columns one by one.
// CHECK-LABEL: func.func @strided_chunks
// CHECK:         scf.parallel
// CHECK:           linalg.fill
// CHECK:           scf.for
// CHECK:             scf.for
// CHECK:               %[[CHUNK:.*]] = vector.load {{.*}} : memref<40xf32>, vector<16xf32>
// CHECK:               %[[EVEN:.*]] = vector.shuffle %[[CHUNK]], %[[CHUNK]] [1, 3, 5, 7, 9, 11, 13, 15] : vector<16xf32>, vector<16xf32>
// CHECK:               %[[AT0:.*]] = arith.addi %{{.*}}, %c1
// CHECK:               vector.store %[[EVEN]], %{{.*}}[%[[AT0]]] : memref<44xf32>, vector<8xf32>
// CHECK:               %[[ODD:.*]] = vector.shuffle %[[CHUNK]], %[[CHUNK]] [0, 2, 4, 6, 8, 10, 12, 14] : vector<16xf32>, vector<16xf32>
// CHECK:               %[[AT1:.*]] = arith.addi %{{.*}}, %c11
// CHECK:               vector.store %[[ODD]], %{{.*}}[%[[AT1]]] : memref<44xf32>, vector<8xf32>
// CHECK:             scf.for %{{.*}} = %c16{{.*}} to %c20
// CHECK:               memref.load
// CHECK:               memref.store
func.func @strided_chunks(%x: tensor<1x1x2x20xf32>, %p: tensor<3xi32>, %c: tensor<4xi32>, %v: tensor<4xf32>) -> tensor<1x2x2x10xf32> {
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [1, 2] strides [1, 2] padding [0, 1, 0, 0] dilations [1, 1] flip false
    : tensor<1x1x2x20xf32>, tensor<3xi32>, tensor<4xi32>, tensor<4xf32> -> tensor<1x2x2x10xf32>
  return %y : tensor<1x2x2x10xf32>
}

// A 1×1 kernel at strides [2, 2] without padding (a ResNet shortcut) reads
// the even rows' even columns only: no zero fill, a loop over every other
// row, and per chunk of 16 columns one shuffle (phase 0) stored.
// CHECK-LABEL: func.func @strided_shortcut
// CHECK-NOT:     linalg.fill {{.*}} f32
// CHECK:         scf.parallel
// CHECK:           scf.if
// CHECK-NOT:         linalg.fill
// CHECK:             scf.for %{{.*}} = %c0{{.*}} to %c4{{.*}} step %c2
// CHECK:               scf.for
// CHECK:                 vector.load {{.*}} : memref<128xf32>, vector<16xf32>
// CHECK-NEXT:            vector.shuffle {{.*}} [0, 2, 4, 6, 8, 10, 12, 14]
// CHECK-NEXT:            arith.constant 0 : index
// CHECK-NEXT:            arith.addi
// CHECK-NEXT:            vector.store
// CHECK-NEXT:          }
// CHECK-NEXT:        }
// CHECK-NEXT:      }
// CHECK-NEXT:      scf.reduce
func.func @strided_shortcut(%x: tensor<1x1x4x32xf32>, %p: tensor<3xi32>, %c: tensor<2xi32>, %v: tensor<2xf32>) -> tensor<1x2x2x16xf32> {
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [1, 1] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1] flip false
    : tensor<1x1x4x32xf32>, tensor<3xi32>, tensor<2xi32>, tensor<2xf32> -> tensor<1x2x2x16xf32>
  return %y : tensor<1x2x2x16xf32>
}

// Under flip at strides [2, 2] (the input gradient of a 3×3 stride-2
// convolution of 7×8 inputs padded by 1): the cotangent 4×4 is copied with
// 1 column after (phase reads reach column 4), the stored entries are
// regrouped by (CSR row, phase), 3 rows × 4 phases, and each phase's plane
// (4×4, 4×4, 3×4 and 3×4 outputs) reads the cotangent contiguously and
// stores every second output column (vector.scatter).
// CHECK-LABEL: func.func @flipped_strided
// CHECK:         memref.alloc() {alignment = 64 : i64} : memref<1x2x4x5xf32>
// CHECK:         %[[GROUPS:.*]] = memref.alloc() : memref<13xindex>
// CHECK:         linalg.fill ins(%{{.*}} : index) outs(%[[GROUPS]] : memref<13xindex>)
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             arith.remui %{{.*}}, %c2
// CHECK:         scf.for %{{.*}} = %c1{{.*}} to %c13
// CHECK:         memref.alloc() : memref<12xindex>
// CHECK:         memref.alloc() {alignment = 64 : i64} : memref<54xi32>
// CHECK:         memref.alloc() {alignment = 64 : i64} : memref<54xf32>
// CHECK:         memref.alloc() {alignment = 64 : i64} : memref<1x3x7x8xf32>
// CHECK:         scf.parallel
// CHECK:           arith.constant dense<[0, 2, 4, 6, 8, 10, 12, 14]> : vector<8xi32>
// CHECK-COUNT-14:  vector.scatter {{.*}} : memref<168xf32>, vector<8xi32>, vector<8xi1>, vector<8xf32>
// CHECK-NOT:     vector.scatter
// CHECK-NOT:     breg.sparse_conv2d
func.func @flipped_strided(%dy: tensor<1x2x4x4xf32>, %p: tensor<4xi32>, %c: tensor<54xi32>, %v: tensor<54xf32>) -> tensor<1x3x7x8xf32> {
  %dx = breg.sparse_conv2d %dy, %p, %c, %v kernel [3, 3] strides [2, 2] padding [1, 1, 1, 2] dilations [1, 1] flip true
    : tensor<1x2x4x4xf32>, tensor<4xi32>, tensor<54xi32>, tensor<54xf32> -> tensor<1x3x7x8xf32>
  return %dx : tensor<1x3x7x8xf32>
}

// A 1×1 kernel's input gradient at strides [2, 2] (a shortcut's): only
// phase (0, 0) is reached, so the result is zero-filled and one phase's
// plane (4×4 outputs: four scatters) is computed.
// CHECK-LABEL: func.func @flipped_shortcut
// CHECK:         %[[DX:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x2x8x8xf32>
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%[[DX]] : memref<1x2x8x8xf32>)
// CHECK:         scf.parallel
// CHECK-COUNT-4:   vector.scatter {{.*}} : memref<128xf32>, vector<8xi32>, vector<8xi1>, vector<8xf32>
// CHECK-NOT:     vector.scatter
func.func @flipped_shortcut(%dy: tensor<1x3x4x4xf32>, %p: tensor<3xi32>, %c: tensor<6xi32>, %v: tensor<6xf32>) -> tensor<1x2x8x8xf32> {
  %dx = breg.sparse_conv2d %dy, %p, %c, %v kernel [1, 1] strides [2, 2] padding [0, 0, 1, 1] dilations [1, 1] flip true
    : tensor<1x3x4x4xf32>, tensor<3xi32>, tensor<6xi32>, tensor<6xf32> -> tensor<1x2x8x8xf32>
  return %dx : tensor<1x2x8x8xf32>
}

// Two groups of two channels: the coordinates name a channel of the row's
// group (clamped to its last tap, 2·9 − 1), and each (sample, row) plane
// reads from its group's first channel on: sample·144 + (row / 2)·72.
// CHECK-LABEL: func.func @grouped
// CHECK:         scf.for
// CHECK:           arith.minsi %{{.*}}, %c17
// CHECK:         scf.parallel (%[[N:.*]], %[[R:.*]]) =
// CHECK:           %[[SAMPLE:.*]] = arith.muli %[[N]], %c144
// CHECK:           %[[GROUP:.*]] = arith.divui %[[R]], %c2
// CHECK:           %[[FIRST:.*]] = arith.muli %[[GROUP]], %c72
// CHECK:           arith.addi %[[SAMPLE]], %[[FIRST]]
func.func @grouped(%x: tensor<2x4x6x6xf32>, %p: tensor<5xi32>, %c: tensor<36xi32>, %v: tensor<36xf32>) -> tensor<2x4x4x4xf32> {
  %y = breg.sparse_conv2d %x, %p, %c, %v kernel [3, 3] groups 2 padding [0, 0, 0, 0] dilations [1, 1] flip false
    : tensor<2x4x6x6xf32>, tensor<5xi32>, tensor<36xi32>, tensor<36xf32> -> tensor<2x4x4x4xf32>
  return %y : tensor<2x4x4x4xf32>
}
