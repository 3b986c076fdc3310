// breg.compress_rows, vector form (compress-vector-length=16, the default
// and the CPU pipeline's): the matrix read through a read-only to_buffer,
// the outputs tensors carried by the loops (from tensor.empty, or from the
// `into` operands), written by vector.transfer_write and tensor.insert so
// that bufferization can put them in place. Per row, a loop over
// the full chunks of 16 columns: the non-zero lanes (cmpf une: NaN counts,
// -0.0 does not) of the values and of the column indices (iota + column)
// are packed to the front of a register by an always-inlined llvm.func
// around LLVM's vector.compress, stored whole at slot `count` (in bounds:
// count <= row·cols + col), and count grows by the popcount of the mask
// (bitcast to i16, ctpop). Then the last 20 % 16 = 4 columns as one masked
// chunk whose packed lanes are stored under create_mask(popcount);
// positions[row + 1] = count.
// RUN: bregman-opt %s -convert-breg-to-linalg | FileCheck %s
// RUN: bregman-opt %s -convert-breg-to-linalg="compress-vector-length=16" | FileCheck %s
// RUN: bregman-opt %s -convert-breg-to-linalg="compress-vector-length=8" | FileCheck %s --check-prefix=V8
// RUN: not bregman-opt %s -convert-breg-to-linalg="compress-vector-length=-1" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not bregman-opt %s -convert-breg-to-linalg="compress-vector-length=65" 2>&1 | FileCheck %s --check-prefix=BAD65

// One helper per element type, shared by both functions.
// CHECK:       llvm.func internal @breg_vector_compress_v16i32(%[[A:.*]]: vector<16xi32>, %[[K:.*]]: vector<16xi1>) -> vector<16xi32> attributes {always_inline}
// CHECK-NEXT:    %[[R:.*]] = llvm.call_intrinsic "llvm.experimental.vector.compress"(%[[A]], %[[K]], %[[A]]) : (vector<16xi32>, vector<16xi1>, vector<16xi32>) -> vector<16xi32>
// CHECK-NEXT:    llvm.return %[[R]] : vector<16xi32>
// CHECK:       llvm.func internal @breg_vector_compress_v16f32(%{{.*}}: vector<16xf32>, %{{.*}}: vector<16xi1>) -> vector<16xf32> attributes {always_inline}
// CHECK-NEXT:    llvm.call_intrinsic "llvm.experimental.vector.compress"
// CHECK-NOT:   llvm.func

// CHECK-LABEL: func.func @compress(
// CHECK-SAME:    %[[M:.*]]: tensor<3x20xf32>)
// CHECK-DAG:     %[[TAILCOLS:.*]] = arith.constant dense<[16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]> : vector<16xi32>
// CHECK-DAG:     %[[ZV:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK-DAG:     %[[LANES:.*]] = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]> : vector<16xi32>
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG:     %[[Z32:.*]] = arith.constant 0 : i32
// CHECK:         %[[MB:.*]] = bufferization.to_buffer %[[M]] read_only : tensor<3x20xf32> to memref<3x20xf32>
// CHECK:         %[[PE:.*]] = tensor.empty() : tensor<4xi32>
// CHECK:         %[[CE:.*]] = tensor.empty() : tensor<60xi32>
// CHECK:         %[[VE:.*]] = tensor.empty() : tensor<60xf32>
// CHECK:         %[[P0:.*]] = tensor.insert %[[Z32]] into %[[PE]][%[[C0]]] : tensor<4xi32>
// CHECK:         %[[R:.*]]:4 = scf.for %[[I:.*]] = %[[C0]] to %[[C3]] step %[[C1]] iter_args(%[[P:.*]] = %[[P0]], %[[CR:.*]] = %[[CE]], %[[VA:.*]] = %[[VE]], %[[N:.*]] = %[[C0]]) -> (tensor<4xi32>, tensor<60xi32>, tensor<60xf32>, index) {
// CHECK:           %[[FULL:.*]]:3 = scf.for %[[J:.*]] = %[[C0]] to %[[C16]] step %[[C16]] iter_args(%[[CR2:.*]] = %[[CR]], %[[VA2:.*]] = %[[VA]], %[[N2:.*]] = %[[N]]) -> (tensor<60xi32>, tensor<60xf32>, index) {
// CHECK:             %[[X:.*]] = vector.load %[[MB]][%[[I]], %[[J]]] : memref<3x20xf32>, vector<16xf32>
// CHECK:             %[[NZ:.*]] = arith.cmpf une, %[[X]], %[[ZV]] : vector<16xf32>
// CHECK:             %[[J32:.*]] = arith.index_cast %[[J]] : index to i32
// CHECK:             %[[JB:.*]] = vector.broadcast %[[J32]] : i32 to vector<16xi32>
// CHECK:             %[[COLS:.*]] = arith.addi %[[JB]], %[[LANES]] : vector<16xi32>
// CHECK:             %[[PX:.*]] = llvm.call @breg_vector_compress_v16f32(%[[X]], %[[NZ]]) : (vector<16xf32>, vector<16xi1>) -> vector<16xf32>
// CHECK:             %[[PC:.*]] = llvm.call @breg_vector_compress_v16i32(%[[COLS]], %[[NZ]]) : (vector<16xi32>, vector<16xi1>) -> vector<16xi32>
// CHECK:             %[[W:.*]] = vector.bitcast %[[NZ]] : vector<16xi1> to vector<1xi16>
// CHECK:             %[[WS:.*]] = vector.extract %[[W]][0] : i16 from vector<1xi16>
// CHECK:             %[[POP:.*]] = math.ctpop %[[WS]] : i16
// CHECK:             %[[POP64:.*]] = arith.extui %[[POP]] : i16 to i64
// CHECK:             %[[POPI:.*]] = arith.index_castui %[[POP64]] : i64 to index
// CHECK:             %[[VA3:.*]] = vector.transfer_write %[[PX]], %[[VA2]][%[[N2]]] {in_bounds = [true]} : vector<16xf32>, tensor<60xf32>
// CHECK:             %[[CR3:.*]] = vector.transfer_write %[[PC]], %[[CR2]][%[[N2]]] {in_bounds = [true]} : vector<16xi32>, tensor<60xi32>
// CHECK:             %[[N3:.*]] = arith.addi %[[N2]], %[[POPI]] : index
// CHECK:             scf.yield %[[CR3]], %[[VA3]], %[[N3]] : tensor<60xi32>, tensor<60xf32>, index
// CHECK:           %[[IN:.*]] = vector.constant_mask [4] : vector<16xi1>
// CHECK:           %[[XT:.*]] = vector.maskedload %[[MB]][%[[I]], %[[C16]]], %[[IN]], %[[ZV]]
// CHECK:           %[[NZT:.*]] = arith.cmpf une, %[[XT]], %[[ZV]] : vector<16xf32>
// CHECK:           %[[KEEP:.*]] = arith.andi %[[IN]], %[[NZT]] : vector<16xi1>
// CHECK:           %[[PXT:.*]] = llvm.call @breg_vector_compress_v16f32(%[[XT]], %[[KEEP]])
// CHECK:           %[[PCT:.*]] = llvm.call @breg_vector_compress_v16i32(%[[TAILCOLS]], %[[KEEP]])
// CHECK:           %[[POPT:.*]] = math.ctpop
// CHECK:           %[[POPTI:.*]] = arith.index_castui
// CHECK:           %[[STORED:.*]] = vector.create_mask %[[POPTI]] : vector<16xi1>
// CHECK:           %[[VAT:.*]] = vector.transfer_write %[[PXT]], %[[FULL]]#1[%[[FULL]]#2], %[[STORED]] {in_bounds = [true]} : vector<16xf32>, tensor<60xf32>
// CHECK:           %[[CRT:.*]] = vector.transfer_write %[[PCT]], %[[FULL]]#0[%[[FULL]]#2], %[[STORED]] {in_bounds = [true]} : vector<16xi32>, tensor<60xi32>
// CHECK:           %[[NT:.*]] = arith.addi %[[FULL]]#2, %[[POPTI]] : index
// CHECK:           %[[NEXT:.*]] = arith.addi %[[I]], %[[C1]] : index
// CHECK:           %[[CNT:.*]] = arith.index_cast %[[NT]] : index to i32
// CHECK:           %[[P2:.*]] = tensor.insert %[[CNT]] into %[[P]][%[[NEXT]]] : tensor<4xi32>
// CHECK:           scf.yield %[[P2]], %[[CRT]], %[[VAT]], %[[NT]] : tensor<4xi32>, tensor<60xi32>, tensor<60xf32>, index
// CHECK:         return %[[R]]#0, %[[R]]#1, %[[R]]#2
// CHECK-NOT:     breg.compress_rows

// 8 lanes: two full chunks (0 and 8), then a tail of 4 at 16.
// V8:         llvm.func internal @breg_vector_compress_v8i32({{.*}}: vector<8xi32>, {{.*}}: vector<8xi1>) -> vector<8xi32>
// V8:         llvm.func internal @breg_vector_compress_v8f32({{.*}}: vector<8xf32>, {{.*}}: vector<8xi1>) -> vector<8xf32>
// V8-LABEL: func.func @compress(
// V8:         scf.for %{{.*}} = %{{.*}} to %c16 step %c8
// V8:           vector.load {{.*}} : memref<3x20xf32>, vector<8xf32>
// V8:           llvm.call @breg_vector_compress_v8f32
// V8:           vector.bitcast {{.*}} : vector<8xi1> to vector<1xi8>
// V8:           vector.transfer_write {{.*}} : vector<8xf32>, tensor<60xf32>
// V8:         vector.constant_mask [4] : vector<8xi1>

// BAD: compress-vector-length must be in [0, 64], got -1
// BAD65: compress-vector-length must be in [0, 64], got 65
func.func @compress(%m: tensor<3x20xf32>)
    -> (tensor<4xi32>, tensor<60xi32>, tensor<60xf32>) {
  %p, %c, %v = breg.compress_rows %m
      : tensor<3x20xf32> -> tensor<4xi32>, tensor<60xi32>, tensor<60xf32>
  return %p, %c, %v : tensor<4xi32>, tensor<60xi32>, tensor<60xf32>
}

// Narrower than one vector: no full chunk, only the masked one.
// CHECK-LABEL: func.func @narrow(
// CHECK:         scf.for
// CHECK:           scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c16
// CHECK:           vector.constant_mask [5] : vector<16xi1>
// CHECK:           vector.maskedload {{.*}} : memref<2x5xf32>, vector<16xi1>, vector<16xf32> into vector<16xf32>
func.func @narrow(%m: tensor<2x5xf32>)
    -> (tensor<3xi32>, tensor<10xi32>, tensor<10xf32>) {
  %p, %c, %v = breg.compress_rows %m
      : tensor<2x5xf32> -> tensor<3xi32>, tensor<10xi32>, tensor<10xf32>
  return %p, %c, %v : tensor<3xi32>, tensor<10xi32>, tensor<10xf32>
}

// With `into` operands the loops start from them (no tensor.empty).
// CHECK-LABEL: func.func @into(
// CHECK-SAME:    %[[M:.*]]: tensor<2x5xf32>, %[[PI:.*]]: tensor<3xi32>, %[[CI:.*]]: tensor<10xi32>, %[[VI:.*]]: tensor<10xf32>)
// CHECK-NOT:     tensor.empty
// CHECK:         %[[P1:.*]] = tensor.insert %{{.*}} into %[[PI]][%{{.*}}] : tensor<3xi32>
// CHECK:         scf.for
// CHECK-SAME:        iter_args(%{{.*}} = %[[P1]], %{{.*}} = %[[CI]], %{{.*}} = %[[VI]], %{{.*}} = %{{.*}})
func.func @into(%m: tensor<2x5xf32>, %p0: tensor<3xi32>, %c0: tensor<10xi32>,
                %v0: tensor<10xf32>)
    -> (tensor<3xi32>, tensor<10xi32>, tensor<10xf32>) {
  %p, %c, %v = breg.compress_rows %m into(%p0, %c0, %v0
      : tensor<3xi32>, tensor<10xi32>, tensor<10xf32>)
      : tensor<2x5xf32> -> tensor<3xi32>, tensor<10xi32>, tensor<10xf32>
  return %p, %c, %v : tensor<3xi32>, tensor<10xi32>, tensor<10xf32>
}
