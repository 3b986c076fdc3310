// The CPU pipeline runs a generic on transposed inputs in their untransposed
// layout (breg-propagate-transposes): the values must be those of the
// program as written. A 3-D transpose by [2, 0, 1] scaled by a vector along
// its last dimension, and a bias gradient (a column sum of a transposed
// matrix, which becomes a row sum), and an argmax over a transposed matrix
// (its body reads the loop index, which must follow its loop).
// RUN: bregman-opt %s --bregman-cpu-pipeline="bare-ptr-call-conv=0" -mlir-print-ir-after=breg-propagate-transposes -o /dev/null 2>&1 \
// RUN: | FileCheck %s --check-prefix=IR
// RUN: bregman-opt %s --bregman-cpu-pipeline="bare-ptr-call-conv=0" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s

// IR-LABEL: func.func @scaled(
// IR:         linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x3x4xf32>, tensor<3xf32>)
// IR:         linalg.transpose {{.*}} permutation = [2, 0, 1]
// IR-LABEL: func.func @column_sums(
// IR-NOT:     linalg.transpose
// IR:         iterator_types = ["parallel", "reduction"]
// IR-LABEL: func.func @column_argmax(
// IR-NOT:     linalg.transpose
// IR:         linalg.index 0 : index
// IR-LABEL: func.func @weighted_sums(
// IR-NOT:     linalg.transpose
// IR:         iterator_types = ["reduction", "parallel", "parallel"]
// IR:         linalg.index 0 : index

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#last = affine_map<(d0, d1, d2) -> (d2)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

// T[i, j, k] = A[j, k, i]; out[i, j, k] = T[i, j, k] * v[k].
func.func @scaled(%a: tensor<2x3x4xf32>, %v: tensor<3xf32>) -> tensor<4x2x3xf32> {
  %e0 = tensor.empty() : tensor<4x2x3xf32>
  %t = linalg.transpose ins(%a : tensor<2x3x4xf32>) outs(%e0 : tensor<4x2x3xf32>) permutation = [2, 0, 1]
  %e1 = tensor.empty() : tensor<4x2x3xf32>
  %m = linalg.generic {indexing_maps = [#id3, #last, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%t, %v : tensor<4x2x3xf32>, tensor<3xf32>) outs(%e1 : tensor<4x2x3xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.mulf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<4x2x3xf32>
  return %m : tensor<4x2x3xf32>
}

// s[j] = sum_i G^T[i, j] = sum_i G[j, i].
func.func @column_sums(%g: tensor<3x4xf32>) -> tensor<3xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<4x3xf32>
  %t = linalg.transpose ins(%g : tensor<3x4xf32>) outs(%e0 : tensor<4x3xf32>) permutation = [1, 0]
  %e1 = tensor.empty() : tensor<3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e1 : tensor<3xf32>) -> tensor<3xf32>
  %s = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["reduction", "parallel"]}
      ins(%t : tensor<4x3xf32>) outs(%f : tensor<3xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = arith.addf %x, %o : f32
    linalg.yield %r : f32
  } -> tensor<3xf32>
  return %s : tensor<3xf32>
}

// The row of the largest entry in each column of G.
func.func @column_argmax(%g: tensor<3x4xf32>) -> tensor<4xi32> {
  %e0 = tensor.empty() : tensor<4x3xf32>
  %t = linalg.transpose ins(%g : tensor<3x4xf32>) outs(%e0 : tensor<4x3xf32>) permutation = [1, 0]
  %i = breg.argmax %t : tensor<4x3xf32> -> tensor<4xi32>
  return %i : tensor<4xi32>
}

// T = transpose(A, [1, 2, 0]), T[i, j, k] = A[k, i, j] (a permutation that
// is not its own inverse); out[i, j] = sum_k T[i, j, k] * (k + 1), the
// weight computed from linalg.index inside an scf.if of the body:
// re-indexed, the reduction loop comes first and the index must follow it.
func.func @weighted_sums(%a: tensor<2x3x4xf32>) -> tensor<3x4xf32> {
  %zero = arith.constant 0.0 : f32
  %floor = arith.constant -1.0e30 : f32
  %e0 = tensor.empty() : tensor<3x4x2xf32>
  %t = linalg.transpose ins(%a : tensor<2x3x4xf32>) outs(%e0 : tensor<3x4x2xf32>) permutation = [1, 2, 0]
  %e1 = tensor.empty() : tensor<3x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e1 : tensor<3x4xf32>) -> tensor<3x4xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%t : tensor<3x4x2xf32>) outs(%f : tensor<3x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %real = arith.cmpf oge, %x, %floor : f32
    %k = linalg.index 2 : index
    %w = scf.if %real -> f32 {
      %ki = arith.index_cast %k : index to i64
      %kf = arith.sitofp %ki : i64 to f32
      %one = arith.constant 1.0 : f32
      %wk = arith.addf %kf, %one : f32
      scf.yield %wk : f32
    } else {
      scf.yield %zero : f32
    }
    %p = arith.mulf %x, %w : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<3x4xf32>
  return %s : tensor<3x4xf32>
}

func.func private @printMemrefI32(memref<*xi32>) attributes {llvm.emit_c_interface}

func.func @main() {
  %a = arith.constant dense<[[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]],
                             [[12.0, 13.0, 14.0, 15.0], [16.0, 17.0, 18.0, 19.0], [20.0, 21.0, 22.0, 23.0]]]> : tensor<2x3x4xf32>
  %v = arith.constant dense<[1.0, 10.0, 100.0]> : tensor<3xf32>
  %m = call @scaled(%a, %v) : (tensor<2x3x4xf32>, tensor<3xf32>) -> tensor<4x2x3xf32>
  // out[i, j, k] = A[j, k, i] * v[k]
  // CHECK: sizes = [4, 2, 3]
  // CHECK-NEXT: [0,    40,    800],
  // CHECK-NEXT: [12,    160,    2000]
  // CHECK-NEXT: [1,    50,    900],
  // CHECK-NEXT: [13,    170,    2100]
  // CHECK-NEXT: [2,    60,    1000],
  // CHECK-NEXT: [14,    180,    2200]
  // CHECK-NEXT: [3,    70,    1100],
  // CHECK-NEXT: [15,    190,    2300]
  %mm = bufferization.to_buffer %m : tensor<4x2x3xf32> to memref<4x2x3xf32>
  %mu = memref.cast %mm : memref<4x2x3xf32> to memref<*xf32>
  call @printMemrefF32(%mu) : (memref<*xf32>) -> ()
  %g = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0], [-1.0, 0.5, 0.25, 0.125]]> : tensor<3x4xf32>
  %s = call @column_sums(%g) : (tensor<3x4xf32>) -> tensor<3xf32>
  // CHECK: sizes = [3]
  // CHECK-NEXT: [10,  100,  -0.125]
  %sm = bufferization.to_buffer %s : tensor<3xf32> to memref<3xf32>
  %su = memref.cast %sm : memref<3xf32> to memref<*xf32>
  call @printMemrefF32(%su) : (memref<*xf32>) -> ()
  // A[a, b, c] = 12a + 4b + c: out[i, j] = A[0, i, j] + 2 A[1, i, j] = 24 + 12i + 3j.
  %ws = call @weighted_sums(%a) : (tensor<2x3x4xf32>) -> tensor<3x4xf32>
  // CHECK: sizes = [3, 4]
  // CHECK-NEXT: [24,   27,   30,   33],
  // CHECK-NEXT: [36,   39,   42,   45],
  // CHECK-NEXT: [48,   51,   54,   57]
  %wm = bufferization.to_buffer %ws : tensor<3x4xf32> to memref<3x4xf32>
  %wu = memref.cast %wm : memref<3x4xf32> to memref<*xf32>
  call @printMemrefF32(%wu) : (memref<*xf32>) -> ()
  %h = arith.constant dense<[[1.0, 20.0, -3.0, 4.0], [10.0, 2.0, -30.0, 4.0], [-1.0, 0.5, -0.25, 40.0]]> : tensor<3x4xf32>
  %i = call @column_argmax(%h) : (tensor<3x4xf32>) -> tensor<4xi32>
  // CHECK: sizes = [4]
  // CHECK-NEXT: [1,  0,  2,  2]
  %im = bufferization.to_buffer %i : tensor<4xi32> to memref<4xi32>
  %iu = memref.cast %im : memref<4xi32> to memref<*xi32>
  call @printMemrefI32(%iu) : (memref<*xi32>) -> ()
  return
}
