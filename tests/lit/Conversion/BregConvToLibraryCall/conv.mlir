// f32 convolutions -> calls of the convolution library, on tensors (before
// bufferization): operands leave through to_buffer read_only, the result
// comes back from a fresh 64-byte aligned buffer through to_tensor restrict.
// The geometry travels as 16 index values: N, C, H, W, F, KH, KW, OH, OW,
// stride H/W, padding top/left, dilation H/W, groups.
// RUN: bregman-opt %s -split-input-file -breg-conv-to-library-call -cse | FileCheck %s

// CHECK-DAG:   func.func private @bregman_cpu_conv2d_forward(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
// CHECK-DAG:   func.func private @bregman_cpu_conv2d_grad_input(index,
// CHECK-DAG:   func.func private @bregman_cpu_conv2d_grad_filter(index,
// CHECK-LABEL: func.func @all_three(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<2x6x9x8xf32>, %[[W:[^:]*]]: tensor<4x3x3x3xf32>, %[[DY:[^:]*]]: tensor<2x4x4x7xf32>)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[C6:.*]] = arith.constant 6 : index
// CHECK-DAG:     %[[C7:.*]] = arith.constant 7 : index
// CHECK-DAG:     %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG:     %[[C9:.*]] = arith.constant 9 : index
// CHECK:         %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<2x6x9x8xf32> to memref<2x6x9x8xf32>
// CHECK:         %[[XP:.*]] = memref.extract_aligned_pointer_as_index %[[XB]]
// CHECK:         %[[WB:.*]] = bufferization.to_buffer %[[W]] read_only
// CHECK:         %[[WP:.*]] = memref.extract_aligned_pointer_as_index %[[WB]]
// CHECK:         %[[YB:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x4x4x7xf32>
// CHECK:         %[[YP:.*]] = memref.extract_aligned_pointer_as_index %[[YB]]
// CHECK:         call @bregman_cpu_conv2d_forward(%[[C2]], %[[C6]], %[[C9]], %[[C8]], %[[C4]], %[[C3]], %[[C3]], %[[C4]], %[[C7]], %[[C2]], %[[C1]], %[[C1]], %[[C0]], %[[C1]], %[[C1]], %[[C2]], %[[XP]], %[[WP]], %[[YP]])
// CHECK:         %[[Y:.*]] = bufferization.to_tensor %[[YB]] restrict writable : memref<2x4x4x7xf32> to tensor<2x4x4x7xf32>
// CHECK:         %[[DYB:.*]] = bufferization.to_buffer %[[DY]] read_only
// CHECK:         %[[DYP:.*]] = memref.extract_aligned_pointer_as_index %[[DYB]]
// CHECK:         %[[DXB:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x6x9x8xf32>
// CHECK:         %[[DXP:.*]] = memref.extract_aligned_pointer_as_index %[[DXB]]
// CHECK:         call @bregman_cpu_conv2d_grad_input({{.*}}, %[[DYP]], %[[WP]], %[[DXP]])
// CHECK:         %[[DX:.*]] = bufferization.to_tensor %[[DXB]] restrict writable
// CHECK:         %[[DWB:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x3x3x3xf32>
// CHECK:         %[[DWP:.*]] = memref.extract_aligned_pointer_as_index %[[DWB]]
// CHECK:         call @bregman_cpu_conv2d_grad_filter({{.*}}, %[[XP]], %[[DYP]], %[[DWP]])
// CHECK:         %[[DW:.*]] = bufferization.to_tensor %[[DWB]] restrict writable
// CHECK:         return %[[Y]], %[[DX]], %[[DW]]
func.func @all_three(%x: tensor<2x6x9x8xf32>, %w: tensor<4x3x3x3xf32>, %dy: tensor<2x4x4x7xf32>)
    -> (tensor<2x4x4x7xf32>, tensor<2x6x9x8xf32>, tensor<4x3x3x3xf32>) {
  %y = breg.conv2d %x, %w strides [2, 1] padding [1, 0, 0, 1] dilations [1, 1] groups 2
      : tensor<2x6x9x8xf32>, tensor<4x3x3x3xf32> -> tensor<2x4x4x7xf32>
  %dx = breg.conv2d_grad_input %dy, %w strides [2, 1] padding [1, 0, 0, 1] dilations [1, 1] groups 2
      : tensor<2x4x4x7xf32>, tensor<4x3x3x3xf32> -> tensor<2x6x9x8xf32>
  %dw = breg.conv2d_grad_filter %x, %dy strides [2, 1] padding [1, 0, 0, 1] dilations [1, 1] groups 2
      : tensor<2x6x9x8xf32>, tensor<2x4x4x7xf32> -> tensor<4x3x3x3xf32>
  return %y, %dx, %dw : tensor<2x4x4x7xf32>, tensor<2x6x9x8xf32>, tensor<4x3x3x3xf32>
}

// -----

// f64 has no library call: the op stays for convert-breg-to-linalg.
// CHECK-LABEL: func.func @f64_stays(
// CHECK-NOT:     call
// CHECK:         breg.conv2d
func.func @f64_stays(%x: tensor<1x1x4x4xf64>, %w: tensor<1x1x3x3xf64>) -> tensor<1x1x2x2xf64> {
  %y = breg.conv2d %x, %w strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1
      : tensor<1x1x4x4xf64>, tensor<1x1x3x3xf64> -> tensor<1x1x2x2xf64>
  return %y : tensor<1x1x2x2xf64>
}
