// End to end on the CPU: bregman-cpu-pipeline (descriptor calling convention,
// no matmul so no runtime GEMM symbol is needed), then mlir-runner. Every
// number below was computed by hand from ALGORITHMS.md §2-3; all inputs are
// dyadic so the f32 results are exact.
// RUN: bregman-opt %s --bregman-cpu-pipeline="bare-ptr-call-conv=0" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s
// The same, cut into functions of about 8 operations (breg-outline-chunks).
// RUN: bregman-opt %s --bregman-cpu-pipeline="bare-ptr-call-conv=0 outline-max-ops=8 outline-nests-min-ops=8" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print(%t: tensor<5xf32>) {
  %m = bufferization.to_buffer %t : tensor<5xf32> to memref<5xf32>
  %u = memref.cast %m : memref<5xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @print_buffer(%m: memref<5xf32>) {
  %u = memref.cast %m : memref<5xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

// A training step with momentum that updates θ, v, m in their buffers.
func.func @step_momentum(%theta: memref<5xf32>, %v: memref<5xf32>, %m: memref<5xf32>, %g: memref<5xf32>,
                         %lr: f32, %delta: f32, %lambda: f32, %beta: f32) {
  %tt = bufferization.to_tensor %theta restrict writable : memref<5xf32> to tensor<5xf32>
  %vt = bufferization.to_tensor %v restrict writable : memref<5xf32> to tensor<5xf32>
  %mt = bufferization.to_tensor %m restrict writable : memref<5xf32> to tensor<5xf32>
  %gt = bufferization.to_tensor %g restrict : memref<5xf32> to tensor<5xf32>
  %t1, %v1, %m1 = breg.linbreg_update #breg.l1 %tt, %vt, %gt lr(%lr) delta(%delta) lambda(%lambda)
      momentum(%mt, %beta : tensor<5xf32>) : tensor<5xf32>
  bufferization.materialize_in_destination %t1 in restrict writable %theta : (tensor<5xf32>, memref<5xf32>) -> ()
  bufferization.materialize_in_destination %v1 in restrict writable %v : (tensor<5xf32>, memref<5xf32>) -> ()
  bufferization.materialize_in_destination %m1 in restrict writable %m : (tensor<5xf32>, memref<5xf32>) -> ()
  return
}

memref.global "private" constant @theta0 : memref<5xf32> = dense<[7.0, 7.0, 7.0, 7.0, 7.0]>
memref.global "private" constant @v0 : memref<5xf32> = dense<[3.0, 0.0, 1.0, -1.0, 0.25]>
memref.global "private" constant @m0 : memref<5xf32> = dense<[1.0, -1.0, 0.0, 2.0, 0.5]>
memref.global "private" constant @g0 : memref<5xf32> = dense<[2.0, 2.0, -4.0, 0.0, -1.0]>

func.func @main() {
  %lr = arith.constant 0.5 : f32
  %delta = arith.constant 2.0 : f32
  %lambda = arith.constant 1.0 : f32
  %half = arith.constant 0.5 : f32

  // LinBreg, l1, no momentum; lr = 0.5, δ = 2, λ = 1 (threshold δλ = 2).
  //   v' = v − lr·g           = [2, 0.25, -2, -1, 0]
  //   θ' = S_2(δ·v') = S_2([4, 0.5, -4, -2, 0]) = [2, 0, -2, -0, 0]
  // 0.5 is soft-thresholded to 0; -2 lands exactly on the threshold and gives
  // copysign(0, -2) = -0. The old θ (9) is never read.
  %theta = arith.constant dense<9.0> : tensor<5xf32>
  %v = arith.constant dense<[1.0, 0.5, -3.0, -1.0, 2.0]> : tensor<5xf32>
  %g = arith.constant dense<[-2.0, 0.5, -2.0, 0.0, 4.0]> : tensor<5xf32>
  %t1, %v1 = breg.linbreg_update #breg.l1 %theta, %v, %g lr(%lr) delta(%delta) lambda(%lambda) : tensor<5xf32>
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [2,  0,  -2,  -0,  0]
  call @print(%t1) : (tensor<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [2,  0.25,  -2,  -1,  0]
  call @print(%v1) : (tensor<5xf32>) -> ()

  // LinBreg, J = none (SGD on v): v' = v − lr·g, θ' = δ·v', λ ignored.
  //   v' = [1, -2, 0, 0.25, -0.5] − 0.5·[1, 1, -1, 0.5, -1] = [0.5, -2.5, 0.5, 0, 0]
  //   θ' = 2·v'                                          = [1, -5, 1, 0, 0]
  %vn = arith.constant dense<[1.0, -2.0, 0.0, 0.25, -0.5]> : tensor<5xf32>
  %gn = arith.constant dense<[1.0, 1.0, -1.0, 0.5, -1.0]> : tensor<5xf32>
  %t2, %v2 = breg.linbreg_update #breg.none %theta, %vn, %gn lr(%lr) delta(%delta) lambda(%lambda) : tensor<5xf32>
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [1,  -5,  1,  0,  0]
  call @print(%t2) : (tensor<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [0.5,  -2.5,  0.5,  0,  0]
  call @print(%v2) : (tensor<5xf32>) -> ()

  // LinBreg with momentum β = 0.5, in place on buffers; lr = 0.5, δ = 2, λ = 1.
  //   m' = β·m + (1−β)·lr·g = 0.5·[1, -1, 0, 2, 0.5] + 0.25·[2, 2, -4, 0, -1]
  //                         = [1, 0, -1, 1, 0]
  //   v' = v − m'           = [3, 0, 1, -1, 0.25] − m' = [2, 0, 2, -2, 0.25]
  //   θ' = S_2(2·v') = S_2([4, 0, 4, -4, 0.5]) = [2, 0, 2, -2, 0]
  // (No memref.dealloc: buffer-deallocation-pipeline rejects input IR that
  // frees memory itself and inserts the deallocations on its own.)
  %tb = memref.alloc() : memref<5xf32>
  %vb = memref.alloc() : memref<5xf32>
  %mb = memref.alloc() : memref<5xf32>
  %gb = memref.alloc() : memref<5xf32>
  %c_t = memref.get_global @theta0 : memref<5xf32>
  %c_v = memref.get_global @v0 : memref<5xf32>
  %c_m = memref.get_global @m0 : memref<5xf32>
  %c_g = memref.get_global @g0 : memref<5xf32>
  memref.copy %c_t, %tb : memref<5xf32> to memref<5xf32>
  memref.copy %c_v, %vb : memref<5xf32> to memref<5xf32>
  memref.copy %c_m, %mb : memref<5xf32> to memref<5xf32>
  memref.copy %c_g, %gb : memref<5xf32> to memref<5xf32>
  call @step_momentum(%tb, %vb, %mb, %gb, %lr, %delta, %lambda, %half)
      : (memref<5xf32>, memref<5xf32>, memref<5xf32>, memref<5xf32>, f32, f32, f32, f32) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [2,  0,  2,  -2,  0]
  call @print_buffer(%tb) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [2,  0,  2,  -2,  0.25]
  call @print_buffer(%vb) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [1,  0,  -1,  1,  0]
  call @print_buffer(%mb) : (memref<5xf32>) -> ()
  // A second step from the updated state (g unchanged):
  //   m'' = 0.5·[1, 0, -1, 1, 0] + 0.25·[2, 2, -4, 0, -1] = [1, 0.5, -1.5, 0.5, -0.25]
  //   v'' = [2, 0, 2, -2, 0.25] − m''                    = [1, -0.5, 3.5, -2.5, 0.5]
  //   θ'' = S_2([2, -1, 7, -5, 1])                        = [0, -0, 5, -3, 0]
  call @step_momentum(%tb, %vb, %mb, %gb, %lr, %delta, %lambda, %half)
      : (memref<5xf32>, memref<5xf32>, memref<5xf32>, memref<5xf32>, f32, f32, f32, f32) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [0,  -0,  5,  -3,  0]
  call @print_buffer(%tb) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [1,  -0.5,  3.5,  -2.5,  0.5]
  call @print_buffer(%vb) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [1,  0.5,  -1.5,  0.5,  -0.25]
  call @print_buffer(%mb) : (memref<5xf32>) -> ()

  // subgradient_init, l1, δ = 2, λ = 0.5: v = θ/δ + λ·sign(θ), sign(±0) = 0.
  //   θ = [2, 0, -1, -0, 4] -> [1.5, 0, -1, 0, 2.5]   (-0/2 + 0 = +0)
  %ts = arith.constant dense<[2.0, 0.0, -1.0, -0.0, 4.0]> : tensor<5xf32>
  %vs = breg.subgradient_init #breg.l1 %ts, %delta, %half : tensor<5xf32>
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [1.5,  0,  -1,  0,  2.5]
  call @print(%vs) : (tensor<5xf32>) -> ()

  // prox, l1, s = 0.5, λ = 2 (threshold 1): sign(x)·max(|x| − 1, 0).
  //   x = [3, -0.5, -2.5, 1, 0] -> [2, -0, -1.5, 0, 0]
  %two = arith.constant 2.0 : f32
  %x = arith.constant dense<[3.0, -0.5, -2.5, 1.0, 0.0]> : tensor<5xf32>
  %y = breg.prox #breg.l1 %x, %half, %two : tensor<5xf32>
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [2,  -0,  -1.5,  0,  0]
  call @print(%y) : (tensor<5xf32>) -> ()
  return
}
