// With runtime-allocator (what the JIT uses), temporaries are allocated and
// freed through the runtime's block cache; by default through malloc/free.
// RUN: bregman-opt %s --bregman-cpu-pipeline="runtime-allocator=1" | FileCheck %s --check-prefix=CACHE
// RUN: bregman-opt %s --bregman-cpu-pipeline | FileCheck %s --check-prefix=MALLOC

// CACHE-NOT: @malloc
// CACHE: llvm.func @_mlir_memref_to_llvm_alloc(i64) -> !llvm.ptr
// CACHE-LABEL: llvm.func @temporary(
// CACHE: llvm.call @_mlir_memref_to_llvm_alloc
// MALLOC-LABEL: llvm.func @temporary(
// MALLOC: llvm.call @malloc
func.func @temporary(%a: tensor<100000xf32>, %b: tensor<100000xf32>) -> tensor<100000xf32> {
  %e = tensor.empty() : tensor<100000xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                         iterator_types = ["parallel"]}
      ins(%a, %b : tensor<100000xf32>, tensor<100000xf32>) outs(%e : tensor<100000xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<100000xf32>
  %init = arith.constant dense<0.0> : tensor<f32>
  %total = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>],
                           iterator_types = ["reduction"]}
      ins(%sum : tensor<100000xf32>) outs(%init : tensor<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %x, %acc : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %scaled = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>, affine_map<(d0) -> (d0)>],
                            iterator_types = ["parallel"]}
      ins(%sum, %total : tensor<100000xf32>, tensor<f32>) outs(%e : tensor<100000xf32>) {
  ^bb0(%x: f32, %t: f32, %o: f32):
    %r = arith.mulf %x, %t : f32
    linalg.yield %r : f32
  } -> tensor<100000xf32>
  return %scaled : tensor<100000xf32>
}
