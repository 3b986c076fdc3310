// End to end on the CPU through the generated (library-free) form of the
// convolution ops: bregman-cpu-pipeline with use-blas=0, then mlir-runner.
// x = 1..9 as a 3×3 image, w = [[1, 0], [0, 1]], dy = ones (2×2):
//   y[i][j]  = x[i][j] + x[i+1][j+1]                 = [[6, 8], [12, 14]]
//   dx       = w placed at every window, summed      = [[1, 1, 0], [1, 2, 1], [0, 1, 1]]
//   dw[p][q] = Σ_ij x[i+p][j+q]                      = [[12, 16], [24, 28]]
// RUN: bregman-opt %s --bregman-cpu-pipeline="use-blas=0 bare-ptr-call-conv=0" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s
// The same, cut into functions of about 8 operations (breg-outline-chunks).
// RUN: bregman-opt %s --bregman-cpu-pipeline="use-blas=0 bare-ptr-call-conv=0 outline-max-ops=8 outline-nests-min-ops=8" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print(%t: tensor<1x1x?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<1x1x?x?xf32> to memref<1x1x?x?xf32>
  %u = memref.cast %m : memref<1x1x?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @main() {
  %x = arith.constant dense<[[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]]]> : tensor<1x1x3x3xf32>
  %w = arith.constant dense<[[[[1.0, 0.0], [0.0, 1.0]]]]> : tensor<1x1x2x2xf32>
  %dy = arith.constant dense<1.0> : tensor<1x1x2x2xf32>
  %y = breg.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<1x1x3x3xf32>, tensor<1x1x2x2xf32> -> tensor<1x1x2x2xf32>
  %dx = breg.conv2d_grad_input %dy, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32> -> tensor<1x1x3x3xf32>
  %dw = breg.conv2d_grad_filter %x, %dy strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<1x1x3x3xf32>, tensor<1x1x2x2xf32> -> tensor<1x1x2x2xf32>
  // CHECK: [6,     8]
  // CHECK: [12,     14]
  %y2 = tensor.cast %y : tensor<1x1x2x2xf32> to tensor<1x1x?x?xf32>
  call @print(%y2) : (tensor<1x1x?x?xf32>) -> ()
  // CHECK: [1,     1,     0]
  // CHECK: [1,     2,     1]
  // CHECK: [0,     1,     1]
  %dx2 = tensor.cast %dx : tensor<1x1x3x3xf32> to tensor<1x1x?x?xf32>
  call @print(%dx2) : (tensor<1x1x?x?xf32>) -> ()
  // CHECK: [12,     16]
  // CHECK: [24,     28]
  %dw2 = tensor.cast %dw : tensor<1x1x2x2xf32> to tensor<1x1x?x?xf32>
  call @print(%dw2) : (tensor<1x1x?x?xf32>) -> ()
  return
}
