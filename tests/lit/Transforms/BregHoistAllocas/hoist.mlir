// RUN: bregman-opt %s -split-input-file -pass-pipeline="builtin.module(llvm.func(breg-hoist-allocas))" | FileCheck %s

// A fixed-size alloca after a loop (a stack buffer between two loop nests)
// moves to the start of the entry block with a copy of its count; the one
// in the loop's body stays (each iteration has its own), as does one whose
// count is known only at run time.
// CHECK-LABEL: llvm.func @between_loops
// CHECK-NEXT:    %[[SIX:.*]] = llvm.mlir.constant(6 : i64) : i64
// CHECK-NEXT:    %[[HOISTED:.*]] = llvm.alloca %[[SIX]] x f32 {alignment = 64 : i64} : (i64) -> !llvm.ptr
// CHECK-NEXT:    llvm.mlir.constant(0 : i64)
// CHECK:       ^[[BODY:.*]]:
// CHECK:         llvm.alloca %{{.*}} x f32 : (i64) -> !llvm.ptr
// CHECK:       ^[[EXIT:.*]]:
// CHECK-NOT:     llvm.alloca %{{.*}} x f32 {alignment = 64 : i64}
// CHECK:         llvm.alloca %arg0 x f32 : (i64) -> !llvm.ptr
// CHECK:         llvm.store %{{.*}}, %[[HOISTED]]
llvm.func @between_loops(%n: i64) {
  %zero = llvm.mlir.constant(0 : i64) : i64
  %one = llvm.mlir.constant(1 : i64) : i64
  %f = llvm.mlir.constant(1.0 : f32) : f32
  llvm.br ^head(%zero : i64)
^head(%i: i64):
  %c = llvm.icmp "slt" %i, %n : i64
  llvm.cond_br %c, ^body, ^exit
^body:
  %two = llvm.mlir.constant(2 : i64) : i64
  %inLoop = llvm.alloca %two x f32 : (i64) -> !llvm.ptr
  llvm.store %f, %inLoop : f32, !llvm.ptr
  %next = llvm.add %i, %one : i64
  llvm.br ^head(%next : i64)
^exit:
  %six = llvm.mlir.constant(6 : i64) : i64
  %buffer = llvm.alloca %six x f32 {alignment = 64 : i64} : (i64) -> !llvm.ptr
  %dynamic = llvm.alloca %n x f32 : (i64) -> !llvm.ptr
  llvm.store %f, %buffer : f32, !llvm.ptr
  llvm.store %f, %dynamic : f32, !llvm.ptr
  llvm.return
}

// -----

// In a single-block function every fixed-size alloca moves up, in order.
// CHECK-LABEL: llvm.func @one_block
// CHECK-NEXT:    llvm.mlir.constant(2 : i64)
// CHECK-NEXT:    %[[A:.*]] = llvm.alloca {{.*}} x f32
// CHECK-NEXT:    llvm.mlir.constant(4 : i64)
// CHECK-NEXT:    %[[B:.*]] = llvm.alloca {{.*}} x i32
// CHECK:         llvm.store %{{.*}}, %[[A]]
// CHECK:         llvm.store %{{.*}}, %[[B]]
llvm.func @one_block(%x: f32, %y: i32) {
  %a = llvm.fadd %x, %x : f32
  %two = llvm.mlir.constant(2 : i64) : i64
  %pa = llvm.alloca %two x f32 : (i64) -> !llvm.ptr
  llvm.store %a, %pa : f32, !llvm.ptr
  %four = llvm.mlir.constant(4 : i64) : i64
  %pb = llvm.alloca %four x i32 : (i64) -> !llvm.ptr
  llvm.store %y, %pb : i32, !llvm.ptr
  llvm.return
}

// -----

// An alloca inside an OpenMP parallel region is per thread: it stays.
// CHECK-LABEL: llvm.func @parallel
// CHECK-NEXT:    omp.parallel
// CHECK-NEXT:      llvm.mlir.constant(8 : i64)
// CHECK-NEXT:      llvm.alloca
llvm.func @parallel(%x: f32) {
  omp.parallel {
    %eight = llvm.mlir.constant(8 : i64) : i64
    %p = llvm.alloca %eight x f32 : (i64) -> !llvm.ptr
    llvm.store %x, %p : f32, !llvm.ptr
    omp.terminator
  }
  llvm.return
}
