// End to end on the CPU: breg.compress_rows of W through bregman-cpu-pipeline,
// then its CSR assembled and multiplied as the training step does.
// W [3, 4] = [[1, 0, 2, 0], [0, 0, 0, 0], [0, 3, 0, -0.0]] (row 1 empty, a
// negative zero not stored): positions [0, 2, 2, 3], the first three
// coordinates [0, 2, 1] and values [1, 2, 3];
//   x = [[1, 2, 3, 4], [5, 6, 7, 8]]:  y = x·Wᵀ = [[7, 0, 6], [19, 0, 18]]
// RUN: bregman-opt %s --bregman-cpu-pipeline="bare-ptr-call-conv=0" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s

#CSR = #sparse_tensor.encoding<{map = (i, j) -> (i : dense, j : compressed), posWidth = 32, crdWidth = 32}>

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}
func.func private @printMemrefI32(memref<*xi32>) attributes {llvm.emit_c_interface}

func.func @compress(%w: tensor<3x4xf32>)
    -> (tensor<4xi32>, tensor<12xi32>, tensor<12xf32>) {
  %p, %c, %v = breg.compress_rows %w
      : tensor<3x4xf32> -> tensor<4xi32>, tensor<12xi32>, tensor<12xf32>
  return %p, %c, %v : tensor<4xi32>, tensor<12xi32>, tensor<12xf32>
}

func.func @forward(%x: tensor<2x4xf32>, %pos: tensor<4xi32>, %crd: tensor<12xi32>,
                   %val: tensor<12xf32>) -> tensor<2x3xf32> {
  %w = sparse_tensor.assemble (%pos, %crd), %val
       : (tensor<4xi32>, tensor<12xi32>), tensor<12xf32> to tensor<3x4xf32, #CSR>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3xf32>) -> tensor<2x3xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
       ins(%x, %w : tensor<2x4xf32>, tensor<3x4xf32, #CSR>)
       outs(%init : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

func.func @main() {
  %w = arith.constant dense<[[1.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 3.0, 0.0, -0.0]]> : tensor<3x4xf32>
  %x = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32>
  %p, %c, %v = call @compress(%w) : (tensor<3x4xf32>) -> (tensor<4xi32>, tensor<12xi32>, tensor<12xf32>)
  // CHECK: sizes = [4]
  // CHECK-NEXT: [0,  2,  2,  3]
  %pm = bufferization.to_buffer %p : tensor<4xi32> to memref<4xi32>
  %pu = memref.cast %pm : memref<4xi32> to memref<*xi32>
  call @printMemrefI32(%pu) : (memref<*xi32>) -> ()
  // The first three slots; the rest is unspecified.
  // CHECK: sizes = [3]
  // CHECK-NEXT: [0,  2,  1]
  %cm = bufferization.to_buffer %c : tensor<12xi32> to memref<12xi32>
  %cs = memref.subview %cm[0] [3] [1] : memref<12xi32> to memref<3xi32, strided<[1]>>
  %cu = memref.cast %cs : memref<3xi32, strided<[1]>> to memref<*xi32>
  call @printMemrefI32(%cu) : (memref<*xi32>) -> ()
  // CHECK: sizes = [3]
  // CHECK-NEXT: [1,  2,  3]
  %vm = bufferization.to_buffer %v : tensor<12xf32> to memref<12xf32>
  %vs = memref.subview %vm[0] [3] [1] : memref<12xf32> to memref<3xf32, strided<[1]>>
  %vu = memref.cast %vs : memref<3xf32, strided<[1]>> to memref<*xf32>
  call @printMemrefF32(%vu) : (memref<*xf32>) -> ()
  // CHECK: sizes = [2, 3]
  // CHECK-NEXT: [7,   0,   6]
  // CHECK: [19,   0,   18]
  %y = call @forward(%x, %p, %c, %v) : (tensor<2x4xf32>, tensor<4xi32>, tensor<12xi32>, tensor<12xf32>) -> tensor<2x3xf32>
  %ym = bufferization.to_buffer %y : tensor<2x3xf32> to memref<2x3xf32>
  %yu = memref.cast %ym : memref<2x3xf32> to memref<*xf32>
  call @printMemrefF32(%yu) : (memref<*xf32>) -> ()
  return
}
