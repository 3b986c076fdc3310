// A function that updates its tensor argument in place and returns it:
// buffer deallocation keeps a bufferization.clone for the returned view of
// the argument, which the CPU pipeline lowers to an allocation and a copy
// (convert-bufferization-to-memref) instead of leaving it in the LLVM
// dialect, where mlir-runner cannot read it.
// RUN: bregman-opt %s --bregman-cpu-pipeline="bare-ptr-call-conv=0" \
// RUN: | FileCheck %s --check-prefix=IR
// RUN: bregman-opt %s --bregman-cpu-pipeline="bare-ptr-call-conv=0" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s

// IR-NOT: bufferization.

#id = affine_map<(d0) -> (d0)>

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @twice(%t: tensor<4xf32>) -> tensor<4xf32> {
  %b = linalg.generic {indexing_maps = [#id], iterator_types = ["parallel"]}
      outs(%t : tensor<4xf32>) {
  ^bb0(%o: f32):
    %y = arith.addf %o, %o : f32
    linalg.yield %y : f32
  } -> tensor<4xf32>
  return %b : tensor<4xf32>
}

func.func @main() {
  %x = arith.constant dense<[1.0, 2.0, 3.0, -4.5]> : tensor<4xf32>
  %y = call @twice(%x) : (tensor<4xf32>) -> tensor<4xf32>
  // CHECK: sizes = [4]
  // CHECK-NEXT: [2,  4,  6,  -9]
  %m = bufferization.to_buffer %y : tensor<4xf32> to memref<4xf32>
  %u = memref.cast %m : memref<4xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}
