// End to end on the CPU: a LinBreg update (l1, lr 1, δ 1, λ 0.5, zero
// gradient) whose θ' is compressed in the same function, so that
// convert-breg-to-linalg lowers the two as one loop nest (chunks of 16
// columns, then a masked chunk of 37 % 16 = 5). v = w + sign(w)·0.5 where
// w != 0 (NaN stays NaN, -0.0 stays -0.0), so θ' = prox(v) is w itself: the
// matrix of compress-rows-vector-run.mlir, whose CSR this must print too.
// Row 0: all 37 non-zero; row 1: empty (zeros and -0.0: not stored); row
// 2: NaN at 3 (stored), -0.0 at 5 (not), 2.5 -1 4 5 -7 at 15, 16, 31, 32,
// 36; row 3: 8 at 36 only. positions [0, 37, 37, 43, 44].
// Then a generic that is not an update, θ' = a + 1 on [2, 5] (one masked
// chunk per row): its zero padding lanes compute 1, which must be neither
// counted nor stored. a = [[-1, 0, -1, 2, -1], [-1, -1, -1, -1, -1]]:
// θ' = [[0, 1, 0, 3, 0], [0, 0, 0, 0, 0]], positions [0, 2, 2], entries
// (1, 1.0) and (3, 3.0).
// RUN: bregman-opt %s --bregman-cpu-pipeline="bare-ptr-call-conv=0" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s
// The same lowered in two passes (update generic, then the plain
// compaction): the GPU pipeline's scalar form.
// RUN: bregman-opt %s -convert-breg-to-linalg="compress-vector-length=0" \
// RUN:     --bregman-cpu-pipeline="bare-ptr-call-conv=0" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}
func.func private @printMemrefI32(memref<*xi32>) attributes {llvm.emit_c_interface}

func.func @step(%t: tensor<4x37xf32>, %v: tensor<4x37xf32>, %g: tensor<4x37xf32>)
    -> (tensor<5xi32>, tensor<148xi32>, tensor<148xf32>) {
  %one = arith.constant 1.0 : f32
  %half = arith.constant 0.5 : f32
  %t1, %v1 = breg.linbreg_update #breg.l1 %t, %v, %g
      lr(%one) delta(%one) lambda(%half) : tensor<4x37xf32>
  %p, %c, %x = breg.compress_rows %t1
      : tensor<4x37xf32> -> tensor<5xi32>, tensor<148xi32>, tensor<148xf32>
  return %p, %c, %x : tensor<5xi32>, tensor<148xi32>, tensor<148xf32>
}

func.func @plus_one(%a: tensor<2x5xf32>)
    -> (tensor<3xi32>, tensor<10xi32>, tensor<10xf32>) {
  %one = arith.constant 1.0 : f32
  %empty = tensor.empty() : tensor<2x5xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<2x5xf32>) outs(%empty : tensor<2x5xf32>) {
  ^bb0(%x: f32, %o: f32):
    %y = arith.addf %x, %one : f32
    linalg.yield %y : f32
  } -> tensor<2x5xf32>
  %p, %c, %v = breg.compress_rows %b
      : tensor<2x5xf32> -> tensor<3xi32>, tensor<10xi32>, tensor<10xf32>
  return %p, %c, %v : tensor<3xi32>, tensor<10xi32>, tensor<10xf32>
}

func.func @main() {
  %w = arith.constant dense<[[0x3F800000, 0x40000000, 0x40400000, 0x40800000, 0x40A00000, 0x40C00000, 0x40E00000, 0x41000000, 0x41100000, 0x41200000, 0x41300000, 0x41400000, 0x41500000, 0x41600000, 0x41700000, 0x41800000, 0x41880000, 0x41900000, 0x41980000, 0x41A00000, 0x41A80000, 0x41B00000, 0x41B80000, 0x41C00000, 0x41C80000, 0x41D00000, 0x41D80000, 0x41E00000, 0x41E80000, 0x41F00000, 0x41F80000, 0x42000000, 0x42040000, 0x42080000, 0x420C0000, 0x42100000, 0x42140000], [0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x80000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x80000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x80000000], [0x00000000, 0x00000000, 0x00000000, 0x7FC00000, 0x00000000, 0x80000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x40200000, 0xBF800000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x40800000, 0x40A00000, 0x00000000, 0x00000000, 0x00000000, 0xC0E00000], [0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x41000000]]> : tensor<4x37xf32>
  %zero = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %empty = tensor.empty() : tensor<4x37xf32>
  %v = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<4x37xf32>) outs(%empty : tensor<4x37xf32>) {
  ^bb0(%x: f32, %o: f32):
    %nz = arith.cmpf une, %x, %zero : f32
    %s = math.copysign %half, %x : f32
    %shifted = arith.addf %x, %s : f32
    %r = arith.select %nz, %shifted, %x : f32
    linalg.yield %r : f32
  } -> tensor<4x37xf32>
  %g = arith.constant dense<0.0> : tensor<4x37xf32>
  %t = arith.constant dense<1.0> : tensor<4x37xf32>
  %p, %c, %x = call @step(%t, %v, %g)
      : (tensor<4x37xf32>, tensor<4x37xf32>, tensor<4x37xf32>) -> (tensor<5xi32>, tensor<148xi32>, tensor<148xf32>)
  // CHECK: sizes = [5]
  // CHECK-NEXT: [0,  37,  37,  43,  44]
  %pm = bufferization.to_buffer %p : tensor<5xi32> to memref<5xi32>
  %pu = memref.cast %pm : memref<5xi32> to memref<*xi32>
  call @printMemrefI32(%pu) : (memref<*xi32>) -> ()
  // The first 44 slots; the rest is unspecified.
  // CHECK: sizes = [44]
  // CHECK-NEXT: [0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,  11,  12,  13,  14,  15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  3,  15,  16,  31,  32,  36,  36]
  %cm = bufferization.to_buffer %c : tensor<148xi32> to memref<148xi32>
  %cs = memref.subview %cm[0] [44] [1] : memref<148xi32> to memref<44xi32, strided<[1]>>
  %cu = memref.cast %cs : memref<44xi32, strided<[1]>> to memref<*xi32>
  call @printMemrefI32(%cu) : (memref<*xi32>) -> ()
  // CHECK: sizes = [44]
  // CHECK-NEXT: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, nan, 2.5, -1, 4, 5, -7, 8]
  %vm = bufferization.to_buffer %x : tensor<148xf32> to memref<148xf32>
  %vs = memref.subview %vm[0] [44] [1] : memref<148xf32> to memref<44xf32, strided<[1]>>
  %vu = memref.cast %vs : memref<44xf32, strided<[1]>> to memref<*xf32>
  call @printMemrefF32(%vu) : (memref<*xf32>) -> ()

  %a = arith.constant dense<[[-1.0, 0.0, -1.0, 2.0, -1.0], [-1.0, -1.0, -1.0, -1.0, -1.0]]> : tensor<2x5xf32>
  %p2, %c2, %x2 = call @plus_one(%a)
      : (tensor<2x5xf32>) -> (tensor<3xi32>, tensor<10xi32>, tensor<10xf32>)
  // CHECK: sizes = [3]
  // CHECK-NEXT: [0,  2,  2]
  %pm2 = bufferization.to_buffer %p2 : tensor<3xi32> to memref<3xi32>
  %pu2 = memref.cast %pm2 : memref<3xi32> to memref<*xi32>
  call @printMemrefI32(%pu2) : (memref<*xi32>) -> ()
  // CHECK: sizes = [2]
  // CHECK-NEXT: [1,  3]
  %cm2 = bufferization.to_buffer %c2 : tensor<10xi32> to memref<10xi32>
  %cs2 = memref.subview %cm2[0] [2] [1] : memref<10xi32> to memref<2xi32, strided<[1]>>
  %cu2 = memref.cast %cs2 : memref<2xi32, strided<[1]>> to memref<*xi32>
  call @printMemrefI32(%cu2) : (memref<*xi32>) -> ()
  // CHECK: sizes = [2]
  // CHECK-NEXT: [1,  3]
  %vm2 = bufferization.to_buffer %x2 : tensor<10xf32> to memref<10xf32>
  %vs2 = memref.subview %vm2[0] [2] [1] : memref<10xf32> to memref<2xf32, strided<[1]>>
  %vu2 = memref.cast %vs2 : memref<2xf32, strided<[1]>> to memref<*xf32>
  call @printMemrefF32(%vu2) : (memref<*xf32>) -> ()
  return
}
