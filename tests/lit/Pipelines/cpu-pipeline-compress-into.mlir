// The training step's compaction as the emitter writes it (Emit.cpp): the CSR
// of the new weights goes into the step's output buffers. With `into` those
// buffers (to_tensor restrict writable of the output arguments), one-shot
// bufferization compresses straight into them: no allocation and no copy in
// the function. Without `into` the compaction fills new buffers, which are
// then copied into the outputs at their full capacity (rows·cols entries).
// RUN: bregman-opt %s --bregman-cpu-pipeline | FileCheck %s

// CHECK-LABEL: llvm.func @into_outputs(
// CHECK-NOT:     llvm.call @malloc
// CHECK-NOT:     llvm.intr.memcpy
// CHECK:         llvm.return
func.func @into_outputs(%w: memref<4x37xf32>, %p: memref<5xi32>,
                        %c: memref<148xi32>, %v: memref<148xf32>) {
  %wt = bufferization.to_tensor %w restrict : memref<4x37xf32> to tensor<4x37xf32>
  %p0 = bufferization.to_tensor %p restrict writable : memref<5xi32> to tensor<5xi32>
  %c0 = bufferization.to_tensor %c restrict writable : memref<148xi32> to tensor<148xi32>
  %v0 = bufferization.to_tensor %v restrict writable : memref<148xf32> to tensor<148xf32>
  %p1, %c1, %v1 = breg.compress_rows %wt into(%p0, %c0, %v0
      : tensor<5xi32>, tensor<148xi32>, tensor<148xf32>)
      : tensor<4x37xf32> -> tensor<5xi32>, tensor<148xi32>, tensor<148xf32>
  bufferization.materialize_in_destination %p1 in restrict writable %p : (tensor<5xi32>, memref<5xi32>) -> ()
  bufferization.materialize_in_destination %c1 in restrict writable %c : (tensor<148xi32>, memref<148xi32>) -> ()
  bufferization.materialize_in_destination %v1 in restrict writable %v : (tensor<148xf32>, memref<148xf32>) -> ()
  return
}

// CHECK-LABEL: llvm.func @new_buffers(
// CHECK:         llvm.call @malloc
// CHECK:         "llvm.intr.memcpy"
func.func @new_buffers(%w: memref<4x37xf32>, %p: memref<5xi32>,
                       %c: memref<148xi32>, %v: memref<148xf32>) {
  %wt = bufferization.to_tensor %w restrict : memref<4x37xf32> to tensor<4x37xf32>
  %p1, %c1, %v1 = breg.compress_rows %wt
      : tensor<4x37xf32> -> tensor<5xi32>, tensor<148xi32>, tensor<148xf32>
  bufferization.materialize_in_destination %p1 in restrict writable %p : (tensor<5xi32>, memref<5xi32>) -> ()
  bufferization.materialize_in_destination %c1 in restrict writable %c : (tensor<148xi32>, memref<148xi32>) -> ()
  bufferization.materialize_in_destination %v1 in restrict writable %v : (tensor<148xf32>, memref<148xf32>) -> ()
  return
}
