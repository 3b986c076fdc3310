// breg-accumulate-in-registers: a CSR row's output chunks are carried
// through the loop over its entries (loaded before it, stored after it, under
// a guard for an empty row) where nothing else in the loop touches the output;
// every product accumulated into the output becomes a fused multiply-add.
// RUN: bregman-opt %s -split-input-file -breg-accumulate-in-registers | FileCheck %s

// The sparsifier's feature-major row: 64 batch columns, 4 chunks.
// CHECK-LABEL: func.func @row(
// CHECK-SAME:    %[[LO:[a-z0-9]+]]: index, %[[HI:[a-z0-9]+]]: index
// CHECK:         %[[OUT:.*]] = memref.alloc() : memref<8x64xf32>
// CHECK:         %[[NONEMPTY:.*]] = arith.cmpi slt, %[[LO]], %[[HI]] : index
// CHECK:         scf.if %[[NONEMPTY]] {
// CHECK:           %[[C0:.*]] = arith.constant 0 : index
// CHECK:           %[[A0:.*]] = vector.load %[[OUT]][%{{.*}}, %[[C0]]]
// CHECK-COUNT-3:   vector.load %[[OUT]]
// CHECK:           %[[SUMS:.*]]:4 = scf.for %[[K:.*]] = %[[LO]] to %[[HI]] step %{{.*}} iter_args(%[[S0:.*]] = %[[A0]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK:             memref.load %{{.*}}[%[[K]]] : memref<100xi32>
// CHECK:             memref.load %{{.*}}[%[[K]]] : memref<100xf32>
// CHECK-NOT:         vector.load %[[OUT]]
// CHECK:             vector.fma %{{.*}}, %{{.*}}, %[[S0]] : vector<16xf32>
// CHECK-COUNT-3:     vector.fma
// CHECK-NOT:         vector.store
// CHECK:             scf.yield
// CHECK:           vector.store %[[SUMS]]#0, %[[OUT]][%{{.*}}, %[[C0]]]
// CHECK:           vector.store %[[SUMS]]#3, %[[OUT]]
// CHECK:         }
// CHECK-NOT:     scf.for
func.func @row(%lo: index, %hi: index, %i: index, %crd: memref<100xi32>,
               %val: memref<100xf32>, %b: memref<50x64xf32>) -> memref<8x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %out = memref.alloc() : memref<8x64xf32>
  scf.for %k = %lo to %hi step %c1 {
    %c = memref.load %crd[%k] : memref<100xi32>
    %ci = arith.index_cast %c : i32 to index
    %w = memref.load %val[%k] : memref<100xf32>
    scf.for %j = %c0 to %c64 step %c16 {
      %o = vector.load %out[%i, %j] : memref<8x64xf32>, vector<16xf32>
      %wv = vector.broadcast %w : f32 to vector<16xf32>
      %x = vector.load %b[%ci, %j] : memref<50x64xf32>, vector<16xf32>
      %p = arith.mulf %wv, %x : vector<16xf32>
      %s = arith.addf %o, %p : vector<16xf32>
      vector.store %s, %out[%i, %j] : memref<8x64xf32>, vector<16xf32>
    }
  }
  return %out : memref<8x64xf32>
}

// -----

// Not carried, but fused multiply-adds: the output is an argument (it may
// alias %b); the output is also read at another place in the loop; the
// chunk index is not the last; the entry scatters into another row (the
// input gradient).
// CHECK-LABEL: func.func @kept(
// CHECK-NOT:     scf.if
// CHECK-COUNT-4: vector.fma
// CHECK-NOT:     scf.if
func.func @kept(%lo: index, %hi: index, %i: index, %crd: memref<100xi32>,
                %val: memref<100xf32>, %b: memref<64x64xf32>, %arg: memref<64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %out = memref.alloc() : memref<64x64xf32>
  %out2 = memref.alloc() : memref<64x64xf32>
  %out3 = memref.alloc() : memref<64x64xf32>
  scf.for %k = %lo to %hi step %c1 {
    %w = memref.load %val[%k] : memref<100xf32>
    scf.for %j = %c0 to %c64 step %c16 {
      %o = vector.load %arg[%i, %j] : memref<64x64xf32>, vector<16xf32>
      %wv = vector.broadcast %w : f32 to vector<16xf32>
      %x = vector.load %b[%i, %j] : memref<64x64xf32>, vector<16xf32>
      %p = arith.mulf %wv, %x : vector<16xf32>
      %s = arith.addf %o, %p : vector<16xf32>
      vector.store %s, %arg[%i, %j] : memref<64x64xf32>, vector<16xf32>
    }
  }
  scf.for %k = %lo to %hi step %c1 {
    %w = memref.load %val[%k] : memref<100xf32>
    %first = memref.load %out[%i, %c0] : memref<64x64xf32>
    %wf = arith.addf %w, %first : f32
    scf.for %j = %c0 to %c64 step %c16 {
      %o = vector.load %out[%i, %j] : memref<64x64xf32>, vector<16xf32>
      %wv = vector.broadcast %wf : f32 to vector<16xf32>
      %x = vector.load %b[%i, %j] : memref<64x64xf32>, vector<16xf32>
      %p = arith.mulf %wv, %x : vector<16xf32>
      %s = arith.addf %o, %p : vector<16xf32>
      vector.store %s, %out[%i, %j] : memref<64x64xf32>, vector<16xf32>
    }
  }
  scf.for %k = %lo to %hi step %c1 {
    %w = memref.load %val[%k] : memref<100xf32>
    scf.for %j = %c0 to %c64 step %c16 {
      %o = vector.load %out2[%j, %i] : memref<64x64xf32>, vector<16xf32>
      %wv = vector.broadcast %w : f32 to vector<16xf32>
      %x = vector.load %b[%i, %j] : memref<64x64xf32>, vector<16xf32>
      %p = arith.mulf %wv, %x : vector<16xf32>
      %s = arith.addf %o, %p : vector<16xf32>
      vector.store %s, %out2[%j, %i] : memref<64x64xf32>, vector<16xf32>
    }
  }
  scf.for %k = %lo to %hi step %c1 {
    %c = memref.load %crd[%k] : memref<100xi32>
    %ci = arith.index_cast %c : i32 to index
    %w = memref.load %val[%k] : memref<100xf32>
    scf.for %j = %c0 to %c64 step %c16 {
      %o = vector.load %out3[%ci, %j] : memref<64x64xf32>, vector<16xf32>
      %wv = vector.broadcast %w : f32 to vector<16xf32>
      %x = vector.load %b[%i, %j] : memref<64x64xf32>, vector<16xf32>
      %p = arith.mulf %wv, %x : vector<16xf32>
      %s = arith.addf %p, %o : vector<16xf32>
      vector.store %s, %out3[%ci, %j] : memref<64x64xf32>, vector<16xf32>
    }
  }
  return
}

// -----

// Not carried either: an entry loop that compares unsigned (the guard would
// not), and one that also reads the output through a memref.transpose (a
// view the chunk's load and store do not account for).
// CHECK-LABEL: func.func @unseen(
// CHECK-NOT:     scf.if
func.func @unseen(%lo: index, %hi: index, %i: index, %val: memref<100xf32>,
                  %b: memref<64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %out = memref.alloc() : memref<64x64xf32>
  %out2 = memref.alloc() : memref<64x64xf32>
  scf.for unsigned %k = %lo to %hi step %c1 {
    %w = memref.load %val[%k] : memref<100xf32>
    scf.for %j = %c0 to %c64 step %c16 {
      %o = vector.load %out[%i, %j] : memref<64x64xf32>, vector<16xf32>
      %wv = vector.broadcast %w : f32 to vector<16xf32>
      %s = arith.addf %o, %wv : vector<16xf32>
      vector.store %s, %out[%i, %j] : memref<64x64xf32>, vector<16xf32>
    }
  }
  scf.for %k = %lo to %hi step %c1 {
    %w = memref.load %val[%k] : memref<100xf32>
    %view = memref.transpose %out2 (d0, d1) -> (d1, d0) : memref<64x64xf32> to memref<64x64xf32, strided<[1, 64]>>
    %first = memref.load %view[%c0, %i] : memref<64x64xf32, strided<[1, 64]>>
    %wf = arith.addf %w, %first : f32
    scf.for %j = %c0 to %c64 step %c16 {
      %o = vector.load %out2[%i, %j] : memref<64x64xf32>, vector<16xf32>
      %wv = vector.broadcast %wf : f32 to vector<16xf32>
      %s = arith.addf %o, %wv : vector<16xf32>
      vector.store %s, %out2[%i, %j] : memref<64x64xf32>, vector<16xf32>
    }
  }
  return
}
