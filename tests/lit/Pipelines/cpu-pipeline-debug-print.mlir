// debugPrint's call (frontend/lib/Emit.cpp, emitDebugPrint) through the CPU
// pipeline, as jit emits it for
//   debugPrint("x {}", x); debugPrint("sum {}", sum(x)); return x * 2
// with x donated: each print reads its value's buffer where it lives, before
// the step overwrites x in place; the call is kept (nothing uses its
// result) and the printed sum is computed although no output needs it.
//
// RUN: bregman-opt %s --pass-pipeline="builtin.module(canonicalize,breg-fuse-elementwise,canonicalize,cse,convert-breg-to-linalg,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},canonicalize)" \
// RUN:   | FileCheck %s --check-prefix=BUF
// RUN: bregman-opt %s --bregman-cpu-pipeline | FileCheck %s

// After one-shot bufferization: the first print reads x in the argument's
// buffer (no copy), the sum is computed into a buffer of its own for the
// second print alone, and x is overwritten only after both prints.
// BUF-LABEL: func.func @step(
// BUF-SAME:      %[[ARG:[a-z0-9]+]]: memref<2xf32>
// BUF:         memref.extract_aligned_pointer_as_index %[[ARG]]
// BUF:         call @bregman_debug_print(
// BUF:         %[[SUM:.*]] = memref.alloc() {{.*}} : memref<f32>
// BUF:         linalg.generic {{.*}}iterator_types = ["reduction"]{{.*}} outs(%[[SUM]]
// BUF:         memref.extract_aligned_pointer_as_index %[[SUM]]
// BUF:         call @bregman_debug_print(
// BUF:         memref.copy %{{.*}}, %[[ARG]]
// BUF-NOT:     call @bregman_debug_print
// BUF:         return

// In the llvm dialect: the descriptors are constants, both calls are there.
// CHECK:       llvm.mlir.global private constant @__bregman_debug_print_0(dense<[120, 32, 123, 125, 0, 102, 51, 50, 32, 49, 32, 50, 0]>
// CHECK:       llvm.func @bregman_debug_print(i64, i64, i64)
// CHECK-LABEL: llvm.func @step(
// CHECK-COUNT-2: llvm.call @bregman_debug_print(
// CHECK-NOT:   llvm.call @bregman_debug_print(

#id = affine_map<(d0) -> (d0)>
#scalar = affine_map<(d0) -> ()>
module {
  memref.global "private" constant @__bregman_debug_print_0 : memref<13xi8> = dense<[120, 32, 123, 125, 0, 102, 51, 50, 32, 49, 32, 50, 0]>
  memref.global "private" constant @__bregman_debug_print_1 : memref<13xi8> = dense<[115, 117, 109, 32, 123, 125, 0, 102, 51, 50, 32, 48, 0]>
  func.func private @bregman_debug_print(index, index, index)
  func.func @step(%arg0: memref<2xf32>) {
    %x = bufferization.to_tensor %arg0 restrict writable : memref<2xf32> to tensor<2xf32>
    %text0 = memref.get_global @__bregman_debug_print_0 : memref<13xi8>
    %values0 = memref.alloca() : memref<1xindex>
    %xbuf = bufferization.to_buffer %x read_only : tensor<2xf32> to memref<2xf32>
    %xptr = memref.extract_aligned_pointer_as_index %xbuf : memref<2xf32> -> index
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    memref.store %xptr, %values0[%c0] : memref<1xindex>
    %t0 = memref.extract_aligned_pointer_as_index %text0 : memref<13xi8> -> index
    %v0 = memref.extract_aligned_pointer_as_index %values0 : memref<1xindex> -> index
    call @bregman_debug_print(%t0, %c1, %v0) : (index, index, index) -> ()

    %init = bufferization.alloc_tensor() : tensor<f32>
    %zero = arith.constant 0.0 : f32
    %filled = linalg.fill ins(%zero : f32) outs(%init : tensor<f32>) -> tensor<f32>
    %sum = linalg.generic {indexing_maps = [#id, #scalar], iterator_types = ["reduction"]}
        ins(%x : tensor<2xf32>) outs(%filled : tensor<f32>) {
    ^bb0(%in: f32, %acc: f32):
      %a = arith.addf %in, %acc : f32
      linalg.yield %a : f32
    } -> tensor<f32>
    %text1 = memref.get_global @__bregman_debug_print_1 : memref<13xi8>
    %values1 = memref.alloca() : memref<1xindex>
    %sbuf = bufferization.to_buffer %sum read_only : tensor<f32> to memref<f32>
    %sptr = memref.extract_aligned_pointer_as_index %sbuf : memref<f32> -> index
    memref.store %sptr, %values1[%c0] : memref<1xindex>
    %t1 = memref.extract_aligned_pointer_as_index %text1 : memref<13xi8> -> index
    %v1 = memref.extract_aligned_pointer_as_index %values1 : memref<1xindex> -> index
    call @bregman_debug_print(%t1, %c1, %v1) : (index, index, index) -> ()

    %two = arith.constant 2.0 : f32
    %empty = tensor.empty() : tensor<2xf32>
    %y = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
        ins(%x : tensor<2xf32>) outs(%empty : tensor<2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %m = arith.mulf %in, %two : f32
      linalg.yield %m : f32
    } -> tensor<2xf32>
    bufferization.materialize_in_destination %y in restrict writable %arg0 : (tensor<2xf32>, memref<2xf32>) -> ()
    return
  }
}
