// End to end on the CPU: max pooling and its gradient (to the FIRST maximum
// of each window, never split between ties) through the tiled form (2×2,
// stride 2) and the general one (2×2, stride 1: overlapping windows), and
// padded sum pooling with its gradient; bregman-cpu-pipeline, then
// mlir-runner. The image, with ties inside windows:
//   x = [[1, 5, 2, 2], [3, 5, 0, 1], [7, 6, 4, 9], [8, 8, 9, 4]]
// RUN: bregman-opt %s --bregman-cpu-pipeline="use-blas=0 bare-ptr-call-conv=0" \
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
  %x = arith.constant dense<[[[[1.0, 5.0, 2.0, 2.0], [3.0, 5.0, 0.0, 1.0],
                               [7.0, 6.0, 4.0, 9.0], [8.0, 8.0, 9.0, 4.0]]]]> : tensor<1x1x4x4xf32>
  %dy = arith.constant dense<[[[[1.0, 2.0], [3.0, 4.0]]]]> : tensor<1x1x2x2xf32>
  %ones3 = arith.constant dense<1.0> : tensor<1x1x3x3xf32>
  %ones2 = arith.constant dense<1.0> : tensor<1x1x2x2xf32>

  // Tiled: y = [[5, 2], [8, 9]]; dy lands on the first 5 (0,1), the first
  // 2 (0,2), the first 8 (3,0) and the first 9 (2,3).
  %y = breg.max_pool2d %x kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<1x1x4x4xf32> -> tensor<1x1x2x2xf32>
  %dx = breg.max_pool2d_grad %x, %dy kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<1x1x4x4xf32>, tensor<1x1x2x2xf32> -> tensor<1x1x4x4xf32>
  // CHECK: [5,     2]
  // CHECK: [8,     9]
  %y2 = tensor.cast %y : tensor<1x1x2x2xf32> to tensor<1x1x?x?xf32>
  call @print(%y2) : (tensor<1x1x?x?xf32>) -> ()
  // CHECK: [0,     1,     2,     0]
  // CHECK: [0,     0,     0,     0]
  // CHECK: [0,     0,     0,     4]
  // CHECK: [3,     0,     0,     0]
  %dx2 = tensor.cast %dx : tensor<1x1x4x4xf32> to tensor<1x1x?x?xf32>
  call @print(%dx2) : (tensor<1x1x?x?xf32>) -> ()

  // Overlapping: nine windows; each sends its 1 to its first maximum.
  %yo = breg.max_pool2d %x kernel [2, 2] strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<1x1x4x4xf32> -> tensor<1x1x3x3xf32>
  %dxo = breg.max_pool2d_grad %x, %ones3 kernel [2, 2] strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<1x1x4x4xf32>, tensor<1x1x3x3xf32> -> tensor<1x1x4x4xf32>
  // CHECK: [5,     5,     2]
  // CHECK: [7,     6,     9]
  // CHECK: [8,     9,     9]
  %yo2 = tensor.cast %yo : tensor<1x1x3x3xf32> to tensor<1x1x?x?xf32>
  call @print(%yo2) : (tensor<1x1x?x?xf32>) -> ()
  // CHECK: [0,     2,     1,     0]
  // CHECK: [0,     0,     0,     0]
  // CHECK: [1,     1,     0,     2]
  // CHECK: [1,     0,     1,     0]
  %dxo2 = tensor.cast %dxo : tensor<1x1x4x4xf32> to tensor<1x1x?x?xf32>
  call @print(%dxo2) : (tensor<1x1x?x?xf32>) -> ()

  // Sum pooling 3×3, stride 2, padding 1 (the border adds 0): window rows
  // and columns {0, 1} and {1, 2, 3}; the gradient counts the windows that
  // contain each element.
  %s = breg.sum_pool2d %x kernel [3, 3] strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1]
      : tensor<1x1x4x4xf32> -> tensor<1x1x2x2xf32>
  %ds = breg.sum_pool2d_grad %ones2 kernel [3, 3] strides [2, 2] padding [1, 1, 1, 1] dilations [1, 1]
      : tensor<1x1x2x2xf32> -> tensor<1x1x4x4xf32>
  // CHECK: [14,     15]
  // CHECK: [37,     46]
  %s2 = tensor.cast %s : tensor<1x1x2x2xf32> to tensor<1x1x?x?xf32>
  call @print(%s2) : (tensor<1x1x?x?xf32>) -> ()
  // CHECK: [1,     2,     1,     1]
  // CHECK: [2,     4,     2,     2]
  // CHECK: [1,     2,     1,     1]
  // CHECK: [1,     2,     1,     1]
  %ds2 = tensor.cast %ds : tensor<1x1x4x4xf32> to tensor<1x1x?x?xf32>
  call @print(%ds2) : (tensor<1x1x?x?xf32>) -> ()
  return
}
