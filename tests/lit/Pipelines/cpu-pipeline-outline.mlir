// A large function's loop nests reach LLVM as internal, noinline functions,
// one per distinct nest: the two nests that differ only in their buffers
// share one. (A `no_inline` attribute on a func.func would be dropped by
// convert-func-to-llvm, and a private func.func would keep external
// linkage.) The calls are in a chunk of breg-outline-chunks, itself
// internal and noinline, called by @step.
// RUN: bregman-opt %s --bregman-cpu-pipeline="outline-max-ops=8 outline-nests-min-ops=8" \
// RUN: | mlir-translate --mlir-to-llvmir | FileCheck %s

// CHECK-LABEL: define void @step(
// CHECK:       call void @[[CHUNK:step_part[_0-9]*]](ptr
// CHECK:       define internal void @[[CHUNK]]({{.*}}) #[[ATTRS:[0-9]+]]
// CHECK:       call void @[[TWICE:step_nest[_0-9]*]](ptr
// CHECK:       call void @[[TWICE]](ptr
// CHECK:       call void @[[THRICE:step_nest[_0-9]*]](ptr
// CHECK:       call void @[[SHORT:step_nest[_0-9]*]](ptr
// CHECK-DAG:   define internal void @[[TWICE]](ptr %0, ptr %1) #[[ATTRS]]
// CHECK-DAG:   define internal void @[[THRICE]](ptr %0, ptr %1) #[[ATTRS]]
// CHECK-DAG:   define internal void @[[SHORT]](ptr %0, ptr %1) #[[ATTRS]]
// CHECK:       attributes #[[ATTRS]] = { noinline }
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
