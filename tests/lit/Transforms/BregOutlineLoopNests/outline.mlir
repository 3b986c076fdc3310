// RUN: bregman-opt %s -split-input-file -breg-outline-loop-nests="min-function-ops=8" | FileCheck %s
// RUN: bregman-opt %s -split-input-file -breg-outline-loop-nests="min-function-ops=1000" | FileCheck %s --check-prefix=SMALL

// Each loop nest of a large function becomes a private function called in
// its place: the constants it uses are cloned inside (a loop bound stays
// known to LLVM), the buffers are its arguments. The nests that differ only
// in their buffers become one function; another constant or another shape
// gives a function of its own.
// CHECK-LABEL: func.func @step
// CHECK-SAME:    (%[[A:.*]]: memref<16xf32>, %[[B:.*]]: memref<16xf32>, %[[C:.*]]: memref<8xf32>, %[[D:.*]]: memref<8xf32>)
// CHECK-NOT:     scf.for
// CHECK:         call @[[TWICE:step_nest[_0-9]*]](%[[A]], %[[B]]) : (memref<16xf32>, memref<16xf32>) -> ()
// CHECK-NEXT:    call @[[TWICE]](%[[B]], %[[A]])
// CHECK-NEXT:    call @[[THRICE:step_nest[_0-9]*]](%[[A]], %[[B]])
// CHECK-NEXT:    call @[[SHORT:step_nest[_0-9]*]](%[[C]], %[[D]]) : (memref<8xf32>, memref<8xf32>) -> ()
// CHECK-NEXT:    return
// CHECK-DAG:   func.func private @[[TWICE]](%{{.*}}: memref<16xf32>, %{{.*}}: memref<16xf32>) attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]}
// CHECK-DAG:   func.func private @[[THRICE]](%{{.*}}: memref<16xf32>, %{{.*}}: memref<16xf32>) attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]}
// CHECK-DAG:   func.func private @[[SHORT]](%{{.*}}: memref<8xf32>, %{{.*}}: memref<8xf32>) attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]}
// CHECK-DAG:     arith.constant 3.000000e+00 : f32
// CHECK-DAG:     arith.constant 8 : index

// SMALL-LABEL: func.func @step
// SMALL-COUNT-4: scf.for
// SMALL-NOT:   call
func.func @step(%a: memref<16xf32>, %b: memref<16xf32>, %c: memref<8xf32>, %d: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %two = arith.constant 2.0 : f32
  %three = arith.constant 3.0 : f32
  scf.for %i = %c0 to %c16 step %c1 {
    %x = memref.load %a[%i] : memref<16xf32>
    %y = arith.mulf %x, %two : f32
    memref.store %y, %b[%i] : memref<16xf32>
  }
  scf.for %i = %c0 to %c16 step %c1 {
    %x = memref.load %b[%i] : memref<16xf32>
    %y = arith.mulf %x, %two : f32
    memref.store %y, %a[%i] : memref<16xf32>
  }
  scf.for %i = %c0 to %c16 step %c1 {
    %x = memref.load %a[%i] : memref<16xf32>
    %y = arith.mulf %x, %three : f32
    memref.store %y, %b[%i] : memref<16xf32>
  }
  scf.for %i = %c0 to %c8 step %c1 {
    %x = memref.load %c[%i] : memref<8xf32>
    %y = arith.mulf %x, %two : f32
    memref.store %y, %d[%i] : memref<8xf32>
  }
  return
}

// -----

// A scalar the caller computes is an argument; a nest that returns a buffer,
// frees one it did not allocate (directly, or through the base buffer of
// extract_strided_metadata), or uses one of dynamic shape (no bare pointer)
// stays where it is.
// CHECK-LABEL: func.func @kept
// CHECK-SAME:    (%[[A:.*]]: memref<16xf32>, %[[B:.*]]: memref<16xf32>, %[[DYN:.*]]: memref<?xf32>, %[[S:.*]]: f32, %[[COND:.*]]: i1)
// CHECK:         %[[T:.*]] = arith.addf %[[S]], %[[S]] : f32
// CHECK:         %[[SUM:.*]] = call @[[SCALED:kept_nest[_0-9]*]](%[[A]], %[[T]]) : (memref<16xf32>, f32) -> f32
// CHECK:         scf.for
// CHECK:           memref.load %[[DYN]]
// CHECK:         scf.if %[[COND]] -> (memref<16xf32>)
// CHECK:         scf.if %[[COND]] {
// CHECK-NEXT:      memref.dealloc %[[OWNED:.*]] : memref<16xf32>
// CHECK:         scf.if %[[COND]] {
// CHECK-NEXT:      memref.extract_strided_metadata
// CHECK-NEXT:      memref.dealloc
// CHECK:         return %[[SUM]]
// CHECK:       func.func private @[[SCALED]](%{{.*}}: memref<16xf32>, %{{.*}}: f32) -> f32
// CHECK:         arith.constant 16 : index
// CHECK:         scf.for
func.func @kept(%a: memref<16xf32>, %b: memref<16xf32>, %dyn: memref<?xf32>, %s: f32, %cond: i1) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0.0 : f32
  %t = arith.addf %s, %s : f32
  %sum = scf.for %i = %c0 to %c16 step %c1 iter_args(%acc = %zero) -> f32 {
    %x = memref.load %a[%i] : memref<16xf32>
    %y = arith.mulf %x, %t : f32
    %next = arith.addf %acc, %y : f32
    scf.yield %next : f32
  }
  scf.for %i = %c0 to %c16 step %c1 {
    %x = memref.load %dyn[%i] : memref<?xf32>
    memref.store %x, %b[%i] : memref<16xf32>
  }
  %chosen = scf.if %cond -> (memref<16xf32>) {
    scf.yield %a : memref<16xf32>
  } else {
    scf.yield %b : memref<16xf32>
  }
  memref.store %sum, %chosen[%c0] : memref<16xf32>
  %owned = memref.alloc() : memref<16xf32>
  memref.store %sum, %owned[%c0] : memref<16xf32>
  scf.if %cond {
    memref.dealloc %owned : memref<16xf32>
  }
  %viewed = memref.alloc() : memref<16xf32>
  memref.store %sum, %viewed[%c0] : memref<16xf32>
  scf.if %cond {
    %base, %offset, %size, %stride = memref.extract_strided_metadata %viewed
        : memref<16xf32> -> memref<f32>, index, index, index
    memref.dealloc %base : memref<f32>
  }
  return %sum : f32
}
