// End to end on the CPU for the optimizers besides LinBreg: adabreg_update,
// adam_update, proxsgd_update (l1 and l1_pos) and sgd_update with momentum,
// each for two steps that update θ and the state buffers in place (t = 1 then
// t = 2, so that Adam's bias corrections are exercised). Expected values were
// computed by hand from ALGORITHMS.md §2-3 and the ops' descriptions, and
// cross-checked in float64 and in step-by-step f32 arithmetic (printMemrefF32
// prints 6 significant digits; none of the values is near a rounding edge).
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

func.func @print(%m: memref<5xf32>) {
  %u = memref.cast %m : memref<5xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

// A fresh buffer holding a copy of `src`.
func.func @copy_of(%src: memref<5xf32>) -> memref<5xf32> {
  %b = memref.alloc() : memref<5xf32>
  memref.copy %src, %b : memref<5xf32> to memref<5xf32>
  return %b : memref<5xf32>
}

//===----------------------------------------------------------------------===//
// In-place training steps
//===----------------------------------------------------------------------===//

func.func @adam_step(%theta: memref<5xf32>, %m1: memref<5xf32>, %m2: memref<5xf32>, %g: memref<5xf32>,
                     %lr: f32, %b1: f32, %b2: f32, %eps: f32, %step: f32) {
  %tt = bufferization.to_tensor %theta restrict writable : memref<5xf32> to tensor<5xf32>
  %at = bufferization.to_tensor %m1 restrict writable : memref<5xf32> to tensor<5xf32>
  %bt = bufferization.to_tensor %m2 restrict writable : memref<5xf32> to tensor<5xf32>
  %gt = bufferization.to_tensor %g restrict : memref<5xf32> to tensor<5xf32>
  %t1, %a1, %b1n = breg.adam_update %tt, %gt, %at, %bt lr(%lr) betas(%b1, %b2) eps(%eps) step(%step) : tensor<5xf32>
  bufferization.materialize_in_destination %t1 in restrict writable %theta : (tensor<5xf32>, memref<5xf32>) -> ()
  bufferization.materialize_in_destination %a1 in restrict writable %m1 : (tensor<5xf32>, memref<5xf32>) -> ()
  bufferization.materialize_in_destination %b1n in restrict writable %m2 : (tensor<5xf32>, memref<5xf32>) -> ()
  return
}

func.func @adabreg_step(%theta: memref<5xf32>, %v: memref<5xf32>, %m1: memref<5xf32>, %m2: memref<5xf32>, %g: memref<5xf32>,
                        %lr: f32, %delta: f32, %lambda: f32, %b1: f32, %b2: f32, %eps: f32, %step: f32) {
  %tt = bufferization.to_tensor %theta restrict writable : memref<5xf32> to tensor<5xf32>
  %vt = bufferization.to_tensor %v restrict writable : memref<5xf32> to tensor<5xf32>
  %at = bufferization.to_tensor %m1 restrict writable : memref<5xf32> to tensor<5xf32>
  %bt = bufferization.to_tensor %m2 restrict writable : memref<5xf32> to tensor<5xf32>
  %gt = bufferization.to_tensor %g restrict : memref<5xf32> to tensor<5xf32>
  %t1, %v1, %a1, %b1n = breg.adabreg_update #breg.l1 %tt, %vt, %gt, %at, %bt
      lr(%lr) delta(%delta) lambda(%lambda) betas(%b1, %b2) eps(%eps) step(%step) : tensor<5xf32>
  bufferization.materialize_in_destination %t1 in restrict writable %theta : (tensor<5xf32>, memref<5xf32>) -> ()
  bufferization.materialize_in_destination %v1 in restrict writable %v : (tensor<5xf32>, memref<5xf32>) -> ()
  bufferization.materialize_in_destination %a1 in restrict writable %m1 : (tensor<5xf32>, memref<5xf32>) -> ()
  bufferization.materialize_in_destination %b1n in restrict writable %m2 : (tensor<5xf32>, memref<5xf32>) -> ()
  return
}

func.func @proxsgd_l1_step(%theta: memref<5xf32>, %g: memref<5xf32>, %lr: f32, %lambda: f32) {
  %tt = bufferization.to_tensor %theta restrict writable : memref<5xf32> to tensor<5xf32>
  %gt = bufferization.to_tensor %g restrict : memref<5xf32> to tensor<5xf32>
  %t1 = breg.proxsgd_update #breg.l1 %tt, %gt lr(%lr) lambda(%lambda) : tensor<5xf32>
  bufferization.materialize_in_destination %t1 in restrict writable %theta : (tensor<5xf32>, memref<5xf32>) -> ()
  return
}

func.func @proxsgd_l1_pos_step(%theta: memref<5xf32>, %g: memref<5xf32>, %lr: f32, %lambda: f32) {
  %tt = bufferization.to_tensor %theta restrict writable : memref<5xf32> to tensor<5xf32>
  %gt = bufferization.to_tensor %g restrict : memref<5xf32> to tensor<5xf32>
  %t1 = breg.proxsgd_update #breg.l1_pos %tt, %gt lr(%lr) lambda(%lambda) : tensor<5xf32>
  bufferization.materialize_in_destination %t1 in restrict writable %theta : (tensor<5xf32>, memref<5xf32>) -> ()
  return
}

func.func @sgd_step(%theta: memref<5xf32>, %m: memref<5xf32>, %g: memref<5xf32>, %lr: f32, %beta: f32) {
  %tt = bufferization.to_tensor %theta restrict writable : memref<5xf32> to tensor<5xf32>
  %mt = bufferization.to_tensor %m restrict writable : memref<5xf32> to tensor<5xf32>
  %gt = bufferization.to_tensor %g restrict : memref<5xf32> to tensor<5xf32>
  %t1, %m1 = breg.sgd_update %tt, %gt lr(%lr) momentum(%mt, %beta : tensor<5xf32>) : tensor<5xf32>
  bufferization.materialize_in_destination %t1 in restrict writable %theta : (tensor<5xf32>, memref<5xf32>) -> ()
  bufferization.materialize_in_destination %m1 in restrict writable %m : (tensor<5xf32>, memref<5xf32>) -> ()
  return
}

//===----------------------------------------------------------------------===//
// Data
//===----------------------------------------------------------------------===//

memref.global "private" constant @zeros : memref<5xf32> = dense<0.0>
memref.global "private" constant @nines : memref<5xf32> = dense<9.0>
// θ₀ of Adam and SGD; the two gradients g₁, g₂ of Adam, AdaBreg and SGD.
memref.global "private" constant @theta0 : memref<5xf32> = dense<[1.0, -1.0, 0.5, 2.0, 0.0]>
memref.global "private" constant @g1 : memref<5xf32> = dense<[0.5, -2.0, 1.0, 0.0, -1.0]>
memref.global "private" constant @g2 : memref<5xf32> = dense<[1.0, 1.0, 0.5, 2.0, -3.0]>
// v₀ of AdaBreg.
memref.global "private" constant @v0 : memref<5xf32> = dense<[0.25, -1.0, 0.5, 0.0, 1.0]>
// θ₀ and g of ProxSGD.
memref.global "private" constant @ptheta0 : memref<5xf32> = dense<[3.0, -3.0, 1.0, -0.25, 0.5]>
memref.global "private" constant @pg : memref<5xf32> = dense<[1.0, -1.0, 0.5, -0.5, 1.0]>

func.func @main() {
  %c_zeros = memref.get_global @zeros : memref<5xf32>
  %c_nines = memref.get_global @nines : memref<5xf32>
  %c_theta0 = memref.get_global @theta0 : memref<5xf32>
  %c_v0 = memref.get_global @v0 : memref<5xf32>
  %c_ptheta0 = memref.get_global @ptheta0 : memref<5xf32>
  %g1 = memref.get_global @g1 : memref<5xf32>
  %g2 = memref.get_global @g2 : memref<5xf32>
  %pg = memref.get_global @pg : memref<5xf32>

  %quarter = arith.constant 0.25 : f32
  %half = arith.constant 0.5 : f32
  %threeq = arith.constant 0.75 : f32
  %one = arith.constant 1.0 : f32
  %two = arith.constant 2.0 : f32

  //===--------------------------------------------------------------------===//
  // Adam: lr = 0.5, β₁ = 0.5, β₂ = 0.75, ε = 0.25 (large on purpose, so that
  // ε's place, outside the square root, shows). m1 = m2 = 0.
  //===--------------------------------------------------------------------===//
  %at = call @copy_of(%c_theta0) : (memref<5xf32>) -> memref<5xf32>
  %am1 = call @copy_of(%c_zeros) : (memref<5xf32>) -> memref<5xf32>
  %am2 = call @copy_of(%c_zeros) : (memref<5xf32>) -> memref<5xf32>
  // t = 1: lr/(1−β₁) = 1, √(1−β₂) = 0.5.
  //   m1' = 0.5·g₁ = [0.25, -1, 0.5, 0, -0.5];  m2' = 0.25·g₁² = [0.0625, 1, 0.25, 0, 0.25]
  //   √m2'/0.5 = |g₁|, so the step is 0.5·g₁/(|g₁| + 0.25) = [1/3, -4/9, 0.4, 0, -0.4]
  //   (g = 0 gives m1' = m2' = 0 and step 0/ε = 0)
  //   θ' = [1, -1, 0.5, 2, 0] − step = [2/3, -5/9, 0.1, 2, 0.4]
  call @adam_step(%at, %am1, %am2, %g1, %half, %half, %threeq, %quarter, %one)
      : (memref<5xf32>, memref<5xf32>, memref<5xf32>, memref<5xf32>, f32, f32, f32, f32, f32) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [0.666667,  -0.555556,  0.1,  2,  0.4]
  call @print(%at) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [0.25,  -1,  0.5,  0,  -0.5]
  call @print(%am1) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [0.0625,  1,  0.25,  0,  0.25]
  call @print(%am2) : (memref<5xf32>) -> ()
  // t = 2 with g₂: lr/(1−β₁²) = 0.5/0.75 = 2/3, √(1−β₂²) = √0.4375 = √7/4.
  //   m1'' = 0.5·m1' + 0.5·g₂    = [0.625, 0, 0.5, 1, -1.75]
  //   m2'' = 0.75·m2' + 0.25·g₂² = [0.296875, 1, 0.25, 1, 2.4375]
  //   step = (2/3)·m1'' / (√m2''·4/√7 + 0.25)
  //        = [0.388046, 0, 0.331369, 0.378388, -0.446932]
  //   θ''  = θ' − step = [0.27862, -0.555556, -0.231369, 1.62161, 0.846932]
  // (With the t = 1 corrections reused, θ''[0] would be
  // 0.666667 − 0.625/(√0.296875/0.5 + 0.25) = 0.200153; without any correction
  // 0.666667 − 0.5·0.625/(√0.296875 + 0.25) = 0.273: the first column pins t.)
  call @adam_step(%at, %am1, %am2, %g2, %half, %half, %threeq, %quarter, %two)
      : (memref<5xf32>, memref<5xf32>, memref<5xf32>, memref<5xf32>, f32, f32, f32, f32, f32) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [0.27862,  -0.555556,  -0.231369,  1.62161,  0.846932]
  call @print(%at) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [0.625,  0,  0.5,  1,  -1.75]
  call @print(%am1) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [0.296875,  1,  0.25,  1,  2.4375]
  call @print(%am2) : (memref<5xf32>) -> ()

  //===--------------------------------------------------------------------===//
  // AdaBreg, l1: the same Adam direction on v; lr = 0.5, β₁ = 0.5,
  // β₂ = 0.75, ε = 0.25, δ = 2, λ = 0.5 (threshold δλ = 1). θ starts at 9 (the
  // old θ is never read), v₀ = [0.25, -1, 0.5, 0, 1], m1 = m2 = 0.
  //===--------------------------------------------------------------------===//
  %bt = call @copy_of(%c_nines) : (memref<5xf32>) -> memref<5xf32>
  %bv = call @copy_of(%c_v0) : (memref<5xf32>) -> memref<5xf32>
  %bm1 = call @copy_of(%c_zeros) : (memref<5xf32>) -> memref<5xf32>
  %bm2 = call @copy_of(%c_zeros) : (memref<5xf32>) -> memref<5xf32>
  // t = 1: v' = v₀ − [1/3, -4/9, 0.4, 0, -0.4] = [-1/12, -5/9, 0.1, 0, 1.4]
  //   θ' = S₁(2·v') = S₁([-1/6, -10/9, 0.2, 0, 2.8]) = [-0, -1/9, 0, 0, 1.8]
  call @adabreg_step(%bt, %bv, %bm1, %bm2, %g1, %half, %two, %half, %half, %threeq, %quarter, %one)
      : (memref<5xf32>, memref<5xf32>, memref<5xf32>, memref<5xf32>, memref<5xf32>, f32, f32, f32, f32, f32, f32, f32) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [-0,  -0.111111,  0,  0,  1.8]
  call @print(%bt) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [-0.0833333,  -0.555556,  0.1,  0,  1.4]
  call @print(%bv) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [0.25,  -1,  0.5,  0,  -0.5]
  call @print(%bm1) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [0.0625,  1,  0.25,  0,  0.25]
  call @print(%bm2) : (memref<5xf32>) -> ()
  // t = 2 with g₂: v'' = v' − [0.388046, 0, 0.331369, 0.378388, -0.446932]
  //                    = [-0.47138, -0.555556, -0.231369, -0.378388, 1.84693]
  //   θ'' = S₁(2·v'') = S₁([-0.94276, -1.11111, -0.462737, -0.756777, 3.69386])
  //       = [-0, -0.111111, -0, -0, 2.69386]
  call @adabreg_step(%bt, %bv, %bm1, %bm2, %g2, %half, %two, %half, %half, %threeq, %quarter, %two)
      : (memref<5xf32>, memref<5xf32>, memref<5xf32>, memref<5xf32>, memref<5xf32>, f32, f32, f32, f32, f32, f32, f32) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [-0,  -0.111111,  -0,  -0,  2.69386]
  call @print(%bt) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [-0.47138,  -0.555556,  -0.231369,  -0.378388,  1.84693]
  call @print(%bv) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [0.625,  0,  0.5,  1,  -1.75]
  call @print(%bm1) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [0.296875,  1,  0.25,  1,  2.4375]
  call @print(%bm2) : (memref<5xf32>) -> ()

  //===--------------------------------------------------------------------===//
  // ProxSGD: θ' = prox_{lr·J}(θ − lr·g), lr = 0.5, λ = 1 (threshold 0.5),
  // θ₀ = [3, -3, 1, -0.25, 0.5], g = [1, -1, 0.5, -0.5, 1] both steps.
  //===--------------------------------------------------------------------===//
  // l1, step 1: θ − lr·g = [2.5, -2.5, 0.75, 0, 0]  -> S_0.5: [2, -2, 0.25, 0, 0]
  //     step 2: θ − lr·g = [1.5, -1.5, 0, 0.25, -0.5] -> S_0.5: [1, -1, 0, 0, -0]
  %pt = call @copy_of(%c_ptheta0) : (memref<5xf32>) -> memref<5xf32>
  call @proxsgd_l1_step(%pt, %pg, %half, %one) : (memref<5xf32>, memref<5xf32>, f32, f32) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [2,  -2,  0.25,  0,  0]
  call @print(%pt) : (memref<5xf32>) -> ()
  call @proxsgd_l1_step(%pt, %pg, %half, %one) : (memref<5xf32>, memref<5xf32>, f32, f32) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [1,  -1,  0,  0,  -0]
  call @print(%pt) : (memref<5xf32>) -> ()
  // l1_pos, max(x − 0.5, 0):
  //     step 1: θ − lr·g = [2.5, -2.5, 0.75, 0, 0] -> [2, 0, 0.25, 0, 0]
  //     step 2: θ − lr·g = [1.5, 0.5, 0, 0.25, -0.5] -> [1, 0, 0, 0, 0]
  %qt = call @copy_of(%c_ptheta0) : (memref<5xf32>) -> memref<5xf32>
  call @proxsgd_l1_pos_step(%qt, %pg, %half, %one) : (memref<5xf32>, memref<5xf32>, f32, f32) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [2,  0,  0.25,  0,  0]
  call @print(%qt) : (memref<5xf32>) -> ()
  call @proxsgd_l1_pos_step(%qt, %pg, %half, %one) : (memref<5xf32>, memref<5xf32>, f32, f32) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [1,  0,  0,  0,  0]
  call @print(%qt) : (memref<5xf32>) -> ()

  //===--------------------------------------------------------------------===//
  // SGD with momentum (PyTorch): m' = β·m + g, θ' = θ − lr·m'; lr = 0.5,
  // β = 0.5, m = 0, θ₀ = [1, -1, 0.5, 2, 0].
  //===--------------------------------------------------------------------===//
  // step 1 (g₁): m' = g₁ = [0.5, -2, 1, 0, -1];  θ' = θ₀ − 0.5·m' = [0.75, 0, 0, 2, 0.5]
  // step 2 (g₂): m'' = 0.5·m' + g₂ = [1.25, 0, 1, 2, -3.5]
  //              θ'' = θ' − 0.5·m'' = [0.125, 0, -0.5, 1, 2.25]
  %st = call @copy_of(%c_theta0) : (memref<5xf32>) -> memref<5xf32>
  %sm = call @copy_of(%c_zeros) : (memref<5xf32>) -> memref<5xf32>
  call @sgd_step(%st, %sm, %g1, %half, %half) : (memref<5xf32>, memref<5xf32>, memref<5xf32>, f32, f32) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [0.75,  0,  0,  2,  0.5]
  call @print(%st) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [0.5,  -2,  1,  0,  -1]
  call @print(%sm) : (memref<5xf32>) -> ()
  call @sgd_step(%st, %sm, %g2, %half, %half) : (memref<5xf32>, memref<5xf32>, memref<5xf32>, f32, f32) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [0.125,  0,  -0.5,  1,  2.25]
  call @print(%st) : (memref<5xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [1.25,  0,  1,  2,  -3.5]
  call @print(%sm) : (memref<5xf32>) -> ()
  return
}
