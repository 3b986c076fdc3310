// End to end on the CPU for the group regularisers #breg.l1_l2 (rows) and
// #breg.l1_l2_conv (kernels): bregman-cpu-pipeline (descriptor calling
// convention), then mlir-runner. ALGORITHMS.md §3:
//   prox_{tJ}(x)_g = x_g·max(0, 1 − t√n/‖x_g‖₂)   (a zero group stays 0)
//   p_g = λ√n·θ_g/‖θ_g‖                          (0 for a zero group)
// Expected values computed by hand and checked in python float64; the inputs
// are chosen so that every norm is exact (3-4-5 rows, n = 4 so √n = 2) and
// every printed number is exact in f32, except 2.1 and -2.8 (printed with 6
// significant digits).
// RUN: bregman-opt %s --bregman-cpu-pipeline="bare-ptr-call-conv=0" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print2(%t: tensor<3x4xf32>) {
  %m = bufferization.to_buffer %t : tensor<3x4xf32> to memref<3x4xf32>
  %u = memref.cast %m : memref<3x4xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @print4(%t: tensor<1x2x2x2xf32>) {
  %m = bufferization.to_buffer %t : tensor<1x2x2x2xf32> to memref<1x2x2x2xf32>
  %u = memref.cast %m : memref<1x2x2x2xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

// Not inlined, so a zero threshold stays a run-time value (no fold).
func.func @prox_rows(%x: tensor<3x4xf32>, %s: f32, %l: f32) -> tensor<3x4xf32> {
  %y = breg.prox #breg.l1_l2 %x, %s, %l : tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

func.func @main() {
  // LinBreg, l1_l2 on a 3x4 weight (rows of n = 4, √n = 2);
  // lr = 0.5, δ = 2, λ = 0.625: t = δλ = 1.25, t·√n = 2.5.
  //   v' = v − lr·g = [[-1.5, 2, 0, 0], [0.5, -0.5, 0.5, -0.5], [0, 0, 0, 0]]
  //   x  = δ·v'     = [[-3, 4, 0, 0],   [1, -1, 1, -1],         [0, 0, 0, 0]]
  //   ‖x_i‖         = 5, 2, 0
  //   row 0: factor 1 − 2.5/5 = 0.5  -> [-1.5, 2, 0, 0]   (shrunk, survives)
  //   row 1: 1 − 2.5/2 < 0 -> 0      -> [0, -0, 0, -0]    (norm below t√n: dead neuron)
  //   row 2: zero group stays zero   -> [0, 0, 0, 0]      (no 0/0, no NaN)
  // The old θ (9) is never read.
  %lr = arith.constant 0.5 : f32
  %delta = arith.constant 2.0 : f32
  %lambda = arith.constant 0.625 : f32
  %theta = arith.constant dense<9.0> : tensor<3x4xf32>
  %v = arith.constant dense<[[-1.0, 1.0, 0.5, 0.0], [0.0, 0.0, 1.0, -1.0], [0.5, -1.0, 0.0, 2.0]]> : tensor<3x4xf32>
  %g = arith.constant dense<[[1.0, -2.0, 1.0, 0.0], [-1.0, 1.0, 1.0, -1.0], [1.0, -2.0, 0.0, 4.0]]> : tensor<3x4xf32>
  %t1, %v1 = breg.linbreg_update #breg.l1_l2 %theta, %v, %g lr(%lr) delta(%delta) lambda(%lambda) : tensor<3x4xf32>
  // CHECK-LABEL: Unranked Memref
  // CHECK-SAME:  sizes = [3, 4]
  // CHECK-NEXT:  {{\[}}[-1.5,   2,   0,   0],
  // CHECK-NEXT:  [0,   -0,   0,   -0],
  // CHECK-NEXT:  [0,   0,   0,   0]]
  call @print2(%t1) : (tensor<3x4xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-SAME:  sizes = [3, 4]
  // CHECK-NEXT:  {{\[}}[-1.5,   2,   0,   0],
  // CHECK-NEXT:  [0.5,   -0.5,   0.5,   -0.5],
  // CHECK-NEXT:  [0,   0,   0,   0]]
  call @print2(%v1) : (tensor<3x4xf32>) -> ()

  // prox, l1_l2_conv on a 1x2x2x2 conv weight: two 2x2 kernels (n = 4,
  // √n = 2); s = 1.25, λ = 1: t = 1.25, t·√n = 2.5. Each kernel has its own
  // factor:
  //   kernel 0: [[3, 0], [0, -4]], norm 5  -> × (1 − 2.5/5)  = × 0.5  -> [[1.5, 0], [0, -2]]
  //   kernel 1: [[6, 0], [0, 8]],  norm 10 -> × (1 − 2.5/10) = × 0.75 -> [[4.5, 0], [0, 6]]
  %s = arith.constant 1.25 : f32
  %one = arith.constant 1.0 : f32
  %k = arith.constant dense<[[[[3.0, 0.0], [0.0, -4.0]], [[6.0, 0.0], [0.0, 8.0]]]]> : tensor<1x2x2x2xf32>
  %kp = breg.prox #breg.l1_l2_conv %k, %s, %one : tensor<1x2x2x2xf32>
  // CHECK-LABEL: Unranked Memref
  // CHECK-SAME:  sizes = [1, 2, 2, 2]
  // CHECK-NEXT:  {{\[}}[{{\[}}[1.5,    0],
  // CHECK-NEXT:     [0,    -2]],
  // CHECK-NEXT:    {{\[}}[4.5,    0],
  // CHECK-NEXT:     [0,    6]]]]
  call @print4(%kp) : (tensor<1x2x2x2xf32>) -> ()

  // subgradient_init, l1_l2 on a 3x4 weight; δ = 2, λ = 0.5: λ√n = 1.
  //   v = θ/δ + θ_i/‖θ_i‖
  //   row 0: [3, 0, -4, 0], norm 5 -> [1.5, 0, -2, 0] + [0.6, 0, -0.8, 0] = [2.1, 0, -2.8, 0]
  //   row 1: [0, -0, 0, 0],  zero  -> θ/δ + 0 = [0, 0, 0, 0] (-0/2 + 0 = +0; no 0/0 NaN)
  //   row 2: [2, -2, 2, 2],  norm 4 -> [1, -1, 1, 1] + [0.5, -0.5, 0.5, 0.5] = [1.5, -1.5, 1.5, 1.5]
  %half = arith.constant 0.5 : f32
  %ts = arith.constant dense<[[3.0, 0.0, -4.0, 0.0], [0.0, -0.0, 0.0, 0.0], [2.0, -2.0, 2.0, 2.0]]> : tensor<3x4xf32>
  %vs = breg.subgradient_init #breg.l1_l2 %ts, %delta, %half : tensor<3x4xf32>
  // CHECK-LABEL: Unranked Memref
  // CHECK-SAME:  sizes = [3, 4]
  // CHECK-NEXT:  {{\[}}[2.1,   0,   -2.8,   0],
  // CHECK-NEXT:  [0,   0,   0,   0],
  // CHECK-NEXT:  [1.5,   -1.5,   1.5,   1.5]]
  call @print2(%vs) : (tensor<3x4xf32>) -> ()

  // prox, l1_l2 with a run-time threshold t = s·λ = 0: every row passes
  // unchanged (factor 1 − 0/‖x_i‖ = 1) and the zero row, where t√n/‖x_i‖ is
  // 0/0 = NaN, is still 0 (the ‖x_i‖² > 0 select), NaN-free.
  %zero = arith.constant 0.0 : f32
  %y0 = call @prox_rows(%ts, %zero, %one) : (tensor<3x4xf32>, f32, f32) -> tensor<3x4xf32>
  // CHECK-LABEL: Unranked Memref
  // CHECK-SAME:  sizes = [3, 4]
  // CHECK-NEXT:  {{\[}}[3,   0,   -4,   0],
  // CHECK-NEXT:  [0,   -0,   0,   0],
  // CHECK-NEXT:  [2,   -2,   2,   2]]
  // CHECK-NOT:   nan
  call @print2(%y0) : (tensor<3x4xf32>) -> ()
  return
}
