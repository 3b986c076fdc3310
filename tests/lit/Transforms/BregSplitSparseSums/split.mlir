// RUN: bregman-opt %s -breg-split-sparse-sums -split-input-file | FileCheck %s
// A second run changes nothing (the loops it made are marked).
// RUN: bregman-opt %s -breg-split-sparse-sums -breg-split-sparse-sums -split-input-file \
// RUN:   | FileCheck %s
// RUN: bregman-opt %s -breg-split-sparse-sums="entries=2" -split-input-file \
// RUN:   | FileCheck %s --check-prefix=TWO
// RUN: not bregman-opt %s -breg-split-sparse-sums="entries=1" -split-input-file 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BAD
// RUN: not bregman-opt %s -breg-split-sparse-sums="entries=17" -split-input-file 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BIG

// BAD: entries must be in [2, 16], got 1
// BIG: entries must be in [2, 16], got 17

// A CSR row's dot product as the sparsifier emits it with scalar loops:
// four entries per iteration of the main loop, their terms added pairwise
// and then into the row's sum, the last (length mod 4) entries in a
// remainder loop that continues the main loop's sum.

// CHECK-LABEL: func.func @row_dot(
// CHECK-SAME:    %[[CRD:.*]]: memref<?xi32>, %[[VAL:.*]]: memref<?xf32>, %[[X:.*]]: memref<8xf32>, %[[LO:.*]]: index, %[[HI:.*]]: index, %[[INIT:.*]]: f32)
// CHECK:         %[[C4:.*]] = arith.constant 4 : index
// CHECK:         %[[LEN:.*]] = arith.subi %[[HI]], %[[LO]] : index
// CHECK:         %[[TAIL:.*]] = arith.remsi %[[LEN]], %[[C4]] : index
// CHECK:         %[[FULL:.*]] = arith.subi %[[LEN]], %[[TAIL]] : index
// CHECK:         %[[MID:.*]] = arith.addi %[[LO]], %[[FULL]] : index
// CHECK:         %[[MAIN:.*]] = scf.for %[[K:.*]] = %[[LO]] to %[[MID]] step %[[C4]] iter_args(%[[S:.*]] = %[[INIT]]) -> (f32) {
// CHECK:           %[[P0:.*]] = arith.mulf
// CHECK:           arith.addi %[[K]], %{{.*}} : index
// CHECK:           %[[P1:.*]] = arith.mulf
// CHECK:           arith.addi %[[K]], %{{.*}} : index
// CHECK:           %[[P2:.*]] = arith.mulf
// CHECK:           arith.addi %[[K]], %{{.*}} : index
// CHECK:           %[[P3:.*]] = arith.mulf
// CHECK:           %[[A:.*]] = arith.addf %[[P0]], %[[P1]] : f32
// CHECK:           %[[B:.*]] = arith.addf %[[P2]], %[[P3]] : f32
// CHECK:           %[[G:.*]] = arith.addf %[[A]], %[[B]] : f32
// CHECK:           %[[N:.*]] = arith.addf %[[S]], %[[G]] : f32
// CHECK:           scf.yield %[[N]] : f32
// CHECK:         } {"Emitted from" = "linalg.generic", breg.split_sum}
// CHECK:         %[[REST:.*]] = scf.for %{{.*}} = %[[MID]] to %[[HI]] step %{{.*}} iter_args(%[[R:.*]] = %[[MAIN]]) -> (f32) {
// CHECK:           %[[P:.*]] = arith.mulf
// CHECK:           %[[RN:.*]] = arith.addf %[[R]], %[[P]] : f32
// CHECK:           scf.yield %[[RN]] : f32
// CHECK:         } {"Emitted from" = "linalg.generic", breg.split_sum}
// CHECK-NOT:     arith.remsi
// CHECK:         return %[[REST]] : f32
// TWO-LABEL: func.func @row_dot(
// TWO:         scf.for %{{.*}} step %c2{{.*}} iter_args
// TWO-COUNT-2:   arith.mulf
// TWO-NOT:       arith.mulf
// TWO:           arith.addf
// TWO:           arith.addf
// TWO-NEXT:      scf.yield
func.func @row_dot(%crd: memref<?xi32>, %val: memref<?xf32>, %x: memref<8xf32>,
                   %lo: index, %hi: index, %init: f32) -> f32 {
  %c1 = arith.constant 1 : index
  %sum = scf.for %k = %lo to %hi step %c1 iter_args(%acc = %init) -> (f32) {
    %c = memref.load %crd[%k] : memref<?xi32>
    %ci = arith.index_cast %c : i32 to index
    %xv = memref.load %x[%ci] : memref<8xf32>
    %w = memref.load %val[%k] : memref<?xf32>
    %p = arith.mulf %xv, %w : f32
    %s = arith.addf %acc, %p : f32
    scf.yield %s : f32
  } {"Emitted from" = "linalg.generic"}
  return %sum : f32
}

// -----

// The sum may be the add's second operand too; its fast-math flags stay on
// every addition.

// CHECK-LABEL: func.func @sum_second(
// CHECK:         scf.for {{.*}} step %c4
// CHECK-COUNT-4:   arith.addf {{.*}} fastmath<contract> : f32
// CHECK:         scf.for
// CHECK:           arith.addf {{.*}} fastmath<contract> : f32
func.func @sum_second(%val: memref<?xf32>, %lo: index, %hi: index) -> f32 {
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %sum = scf.for %k = %lo to %hi step %c1 iter_args(%acc = %zero) -> (f32) {
    %w = memref.load %val[%k] : memref<?xf32>
    %s = arith.addf %w, %acc fastmath<contract> : f32
    scf.yield %s : f32
  } {"Emitted from" = "linalg.generic"}
  return %sum : f32
}

// -----

// An i32 induction variable: the remainder is computed in i32.

// CHECK-LABEL: func.func @i32_bounds(
// CHECK:         arith.remsi %{{.*}}, %{{.*}} : i32
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (f32)  : i32
func.func @i32_bounds(%val: memref<?xf32>, %lo: i32, %hi: i32) -> f32 {
  %c1 = arith.constant 1 : i32
  %zero = arith.constant 0.0 : f32
  %sum = scf.for %k = %lo to %hi step %c1 iter_args(%acc = %zero) -> (f32) : i32 {
    %i = arith.index_cast %k : i32 to index
    %w = memref.load %val[%i] : memref<?xf32>
    %s = arith.addf %acc, %w : f32
    scf.yield %s : f32
  } {"Emitted from" = "linalg.generic"}
  return %sum : f32
}

// -----

// Left alone: a loop not from the sparsifier (its order may be the point), a
// body that writes, a sum that is read twice, a step other than 1, two sums,
// a body with a region, and unsigned bounds.

// CHECK-LABEL: func.func @left_alone(
// CHECK-NOT:     arith.remsi
// CHECK-NOT:     step %c4
// CHECK:         return
func.func @left_alone(%val: memref<?xf32>, %out: memref<?xf32>, %lo: index,
                      %hi: index) -> (f32, f32, f32, f32, f32, f32, f32, f32) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %zero = arith.constant 0.0 : f32
  %plain = scf.for %k = %lo to %hi step %c1 iter_args(%acc = %zero) -> (f32) {
    %w = memref.load %val[%k] : memref<?xf32>
    %s = arith.addf %acc, %w : f32
    scf.yield %s : f32
  }
  %writes = scf.for %k = %lo to %hi step %c1 iter_args(%acc = %zero) -> (f32) {
    %w = memref.load %val[%k] : memref<?xf32>
    memref.store %w, %out[%k] : memref<?xf32>
    %s = arith.addf %acc, %w : f32
    scf.yield %s : f32
  } {"Emitted from" = "linalg.generic"}
  %twice = scf.for %k = %lo to %hi step %c1 iter_args(%acc = %zero) -> (f32) {
    %w = memref.load %val[%k] : memref<?xf32>
    %m = arith.mulf %acc, %w : f32
    %s = arith.addf %acc, %m : f32
    scf.yield %s : f32
  } {"Emitted from" = "linalg.generic"}
  %stepped = scf.for %k = %lo to %hi step %c2 iter_args(%acc = %zero) -> (f32) {
    %w = memref.load %val[%k] : memref<?xf32>
    %s = arith.addf %acc, %w : f32
    scf.yield %s : f32
  } {"Emitted from" = "linalg.generic"}
  %a, %b = scf.for %k = %lo to %hi step %c1 iter_args(%x = %zero, %y = %zero) -> (f32, f32) {
    %w = memref.load %val[%k] : memref<?xf32>
    %s = arith.addf %x, %w : f32
    %t = arith.addf %y, %w : f32
    scf.yield %s, %t : f32, f32
  } {"Emitted from" = "linalg.generic"}
  %cond = arith.cmpi slt, %lo, %hi : index
  %region = scf.for %k = %lo to %hi step %c1 iter_args(%acc = %zero) -> (f32) {
    %w = scf.if %cond -> (f32) {
      %v = memref.load %val[%k] : memref<?xf32>
      scf.yield %v : f32
    } else {
      scf.yield %zero : f32
    }
    %s = arith.addf %acc, %w : f32
    scf.yield %s : f32
  } {"Emitted from" = "linalg.generic"}
  %unsigned = scf.for unsigned %k = %lo to %hi step %c1 iter_args(%acc = %zero) -> (f32) {
    %w = memref.load %val[%k] : memref<?xf32>
    %s = arith.addf %acc, %w : f32
    scf.yield %s : f32
  } {"Emitted from" = "linalg.generic"}
  return %plain, %writes, %twice, %stepped, %a, %b, %region, %unsigned
      : f32, f32, f32, f32, f32, f32, f32, f32
}
