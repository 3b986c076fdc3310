// RUN: bregman-opt %s -split-input-file -canonicalize | FileCheck %s

// prox of J = 0 is the identity: the op folds to its operand.
// CHECK-LABEL: func.func @prox_none_folds(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4x8xf32>
// CHECK-NOT:     breg.prox
// CHECK:         return %[[X]] : tensor<4x8xf32>
func.func @prox_none_folds(%x: tensor<4x8xf32>, %s: f32, %l: f32) -> tensor<4x8xf32> {
  %y = breg.prox #breg.none %x, %s, %l : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A chain of identities folds away as well.
// CHECK-LABEL: func.func @prox_none_chain_rank0(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<f32>
// CHECK-NOT:     breg.prox
// CHECK:         return %[[X]] : tensor<f32>
func.func @prox_none_chain_rank0(%x: tensor<f32>, %s: f32, %l: f32) -> tensor<f32> {
  %y = breg.prox #breg.none %x, %s, %l : tensor<f32>
  %z = breg.prox #breg.none %y, %l, %s : tensor<f32>
  return %z : tensor<f32>
}

// -----

// The soft threshold of l1 does not fold.
// CHECK-LABEL: func.func @prox_l1_stays(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4xf32>, %[[S:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK:         %[[Y:.*]] = breg.prox #breg.l1 %[[X]], %[[S]], %[[L]] : tensor<4xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @prox_l1_stays(%x: tensor<4xf32>, %s: f32, %l: f32) -> tensor<4xf32> {
  %y = breg.prox #breg.l1 %x, %s, %l : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// An unused update is Pure, so it is erased.
// CHECK-LABEL: func.func @dead_update_erased(
// CHECK-NOT:     breg.
// CHECK:         return
func.func @dead_update_erased(%t: tensor<4xf32>, %lr: f32) {
  %t1, %v1 = breg.linbreg_update #breg.l1 %t, %t, %t lr(%lr) delta(%lr) lambda(%lr) : tensor<4xf32>
  %v = breg.subgradient_init #breg.l1 %t, %lr, %lr : tensor<4xf32>
  return
}

// -----

// A zero threshold s·λ makes every prox but l1_pos's the identity: λ = 0 ...
// CHECK-LABEL: func.func @prox_zero_lambda_folds(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4x8xf32>, %[[C:[^:]*]]: tensor<2x3x3x3xf32>, %[[S:[^:]*]]: f32)
// CHECK-NOT:     breg.prox
// CHECK:         return %[[X]], %[[X]], %[[C]] : tensor<4x8xf32>, tensor<4x8xf32>, tensor<2x3x3x3xf32>
func.func @prox_zero_lambda_folds(%x: tensor<4x8xf32>, %c: tensor<2x3x3x3xf32>, %s: f32)
    -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<2x3x3x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %y1 = breg.prox #breg.l1 %x, %s, %zero : tensor<4x8xf32>
  %y2 = breg.prox #breg.l1_l2 %x, %s, %zero : tensor<4x8xf32>
  %y3 = breg.prox #breg.l1_l2_conv %c, %s, %zero : tensor<2x3x3x3xf32>
  return %y1, %y2, %y3 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<2x3x3x3xf32>
}

// -----

// ... or scale = 0, +0 or -0 alike.
// CHECK-LABEL: func.func @prox_zero_scale_folds(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4x8xf32>, %[[C:[^:]*]]: tensor<2x3x3x3xf32>, %[[L:[^:]*]]: f32)
// CHECK-NOT:     breg.prox
// CHECK:         return %[[X]], %[[X]], %[[C]] : tensor<4x8xf32>, tensor<4x8xf32>, tensor<2x3x3x3xf32>
func.func @prox_zero_scale_folds(%x: tensor<4x8xf32>, %c: tensor<2x3x3x3xf32>, %l: f32)
    -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<2x3x3x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %nzero = arith.constant -0.0 : f32
  %y1 = breg.prox #breg.l1 %x, %zero, %l : tensor<4x8xf32>
  %y2 = breg.prox #breg.l1_l2 %x, %nzero, %l : tensor<4x8xf32>
  %y3 = breg.prox #breg.l1_l2_conv %c, %zero, %l : tensor<2x3x3x3xf32>
  return %y1, %y2, %y3 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<2x3x3x3xf32>
}

// -----

// l1_pos keeps its indicator ι(θ ≥ 0): prox with a zero threshold is max(x, 0),
// not the identity, whether λ or the scale is zero.
// CHECK-LABEL: func.func @prox_l1_pos_zero_stays(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4xf32>, %[[S:[^:]*]]: f32)
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[Y1:.*]] = breg.prox #breg.l1_pos %[[X]], %[[S]], %[[ZERO]] : tensor<4xf32>
// CHECK-NEXT:    %[[Y2:.*]] = breg.prox #breg.l1_pos %[[Y1]], %[[ZERO]], %[[S]] : tensor<4xf32>
// CHECK-NEXT:    return %[[Y2]] : tensor<4xf32>
func.func @prox_l1_pos_zero_stays(%x: tensor<4xf32>, %s: f32) -> tensor<4xf32> {
  %zero = arith.constant 0.0 : f32
  %y1 = breg.prox #breg.l1_pos %x, %s, %zero : tensor<4xf32>
  %y2 = breg.prox #breg.l1_pos %y1, %zero, %s : tensor<4xf32>
  return %y2 : tensor<4xf32>
}

// -----

// A non-zero constant, or a λ only known at run time, does not fold.
// CHECK-LABEL: func.func @prox_group_nonzero_stays(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4x8xf32>, %[[C:[^:]*]]: tensor<2x3x3x3xf32>, %[[S:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK:         %[[TINY:.*]] = arith.constant 1.000000e-30 : f32
// CHECK-NEXT:    %[[Y1:.*]] = breg.prox #breg.l1_l2 %[[X]], %[[S]], %[[L]] : tensor<4x8xf32>
// CHECK-NEXT:    %[[Y2:.*]] = breg.prox #breg.l1_l2 %[[Y1]], %[[S]], %[[TINY]] : tensor<4x8xf32>
// CHECK-NEXT:    %[[Y3:.*]] = breg.prox #breg.l1_l2_conv %[[C]], %[[TINY]], %[[L]] : tensor<2x3x3x3xf32>
// CHECK-NEXT:    return %[[Y2]], %[[Y3]]
func.func @prox_group_nonzero_stays(%x: tensor<4x8xf32>, %c: tensor<2x3x3x3xf32>, %s: f32, %l: f32)
    -> (tensor<4x8xf32>, tensor<2x3x3x3xf32>) {
  %tiny = arith.constant 1.0e-30 : f32
  %y1 = breg.prox #breg.l1_l2 %x, %s, %l : tensor<4x8xf32>
  %y2 = breg.prox #breg.l1_l2 %y1, %s, %tiny : tensor<4x8xf32>
  %y3 = breg.prox #breg.l1_l2_conv %c, %tiny, %l : tensor<2x3x3x3xf32>
  return %y2, %y3 : tensor<4x8xf32>, tensor<2x3x3x3xf32>
}

// -----

// λ = 0 turns l1, l1_l2 and l1_l2_conv into #breg.none on subgradient_init
// (v = θ/δ). l1_pos keeps its regulariser, and so does a non-constant λ.
// CHECK-LABEL: func.func @subgradient_init_zero_lambda(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<4x8xf32>, %[[C:[^:]*]]: tensor<2x3x3x3xf32>, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[V1:.*]] = breg.subgradient_init #breg.none %[[T]], %[[D]], %[[ZERO]] : tensor<4x8xf32>
// CHECK-NEXT:    %[[V2:.*]] = breg.subgradient_init #breg.none %[[T]], %[[D]], %[[ZERO]] : tensor<4x8xf32>
// CHECK-NEXT:    %[[V3:.*]] = breg.subgradient_init #breg.none %[[C]], %[[D]], %[[ZERO]] : tensor<2x3x3x3xf32>
// CHECK-NEXT:    %[[V4:.*]] = breg.subgradient_init #breg.l1_pos %[[T]], %[[D]], %[[ZERO]] : tensor<4x8xf32>
// CHECK-NEXT:    %[[V5:.*]] = breg.subgradient_init #breg.l1_l2 %[[T]], %[[D]], %[[L]] : tensor<4x8xf32>
// CHECK-NEXT:    %[[V6:.*]] = breg.subgradient_init #breg.l1_l2_conv %[[C]], %[[D]], %[[L]] : tensor<2x3x3x3xf32>
// CHECK-NEXT:    return %[[V1]], %[[V2]], %[[V3]], %[[V4]], %[[V5]], %[[V6]] :
func.func @subgradient_init_zero_lambda(%t: tensor<4x8xf32>, %c: tensor<2x3x3x3xf32>, %d: f32, %l: f32)
    -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<2x3x3x3xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<2x3x3x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %v1 = breg.subgradient_init #breg.l1 %t, %d, %zero : tensor<4x8xf32>
  %v2 = breg.subgradient_init #breg.l1_l2 %t, %d, %zero : tensor<4x8xf32>
  %v3 = breg.subgradient_init #breg.l1_l2_conv %c, %d, %zero : tensor<2x3x3x3xf32>
  %v4 = breg.subgradient_init #breg.l1_pos %t, %d, %zero : tensor<4x8xf32>
  %v5 = breg.subgradient_init #breg.l1_l2 %t, %d, %l : tensor<4x8xf32>
  %v6 = breg.subgradient_init #breg.l1_l2_conv %c, %d, %l : tensor<2x3x3x3xf32>
  return %v1, %v2, %v3, %v4, %v5, %v6
      : tensor<4x8xf32>, tensor<4x8xf32>, tensor<2x3x3x3xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<2x3x3x3xf32>
}

// -----

// LinBreg with λ = 0 (-0 counts too) is SGD on v: #breg.none, with and
// without momentum. l1_pos with λ = 0 and a non-constant λ stay.
// CHECK-LABEL: func.func @linbreg_zero_lambda(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<4x8xf32>, %[[M:[^:]*]]: tensor<4x8xf32>, %[[X:[^:]*]]: f32)
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[NZERO:.*]] = arith.constant -0.000000e+00 : f32
// CHECK:         %[[A0:[^,]*]], %[[A1:[^,]*]] = breg.linbreg_update #breg.none %[[T]], %[[T]], %[[T]] lr(%[[X]]) delta(%[[X]]) lambda(%[[ZERO]]) : tensor<4x8xf32>
// CHECK-NEXT:    %[[B0:[^,]*]], %[[B1:[^,]*]], %[[B2:[^,]*]] = breg.linbreg_update #breg.none %[[A0]], %[[A1]], %[[T]] lr(%[[X]]) delta(%[[X]]) lambda(%[[NZERO]]) momentum(%[[M]], %[[X]] : tensor<4x8xf32>) : tensor<4x8xf32>
// CHECK-NEXT:    %[[C0:[^,]*]], %[[C1:[^,]*]] = breg.linbreg_update #breg.none %[[B0]], %[[B1]], %[[T]] lr(%[[X]]) delta(%[[X]]) lambda(%[[ZERO]]) : tensor<4x8xf32>
// CHECK-NEXT:    %[[D0:[^,]*]], %[[D1:[^,]*]] = breg.linbreg_update #breg.l1_pos %[[C0]], %[[C1]], %[[T]] lr(%[[X]]) delta(%[[X]]) lambda(%[[ZERO]]) : tensor<4x8xf32>
// CHECK-NEXT:    %[[E0:[^,]*]], %[[E1:[^,]*]] = breg.linbreg_update #breg.l1_l2 %[[D0]], %[[D1]], %[[T]] lr(%[[X]]) delta(%[[X]]) lambda(%[[X]]) : tensor<4x8xf32>
// CHECK-NEXT:    return %[[E0]], %[[E1]], %[[B2]] :
func.func @linbreg_zero_lambda(%t: tensor<4x8xf32>, %m: tensor<4x8xf32>, %x: f32)
    -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %nzero = arith.constant -0.0 : f32
  %a:2 = breg.linbreg_update #breg.l1_l2 %t, %t, %t lr(%x) delta(%x) lambda(%zero) : tensor<4x8xf32>
  %b:3 = breg.linbreg_update #breg.l1_l2 %a#0, %a#1, %t lr(%x) delta(%x) lambda(%nzero)
      momentum(%m, %x : tensor<4x8xf32>) : tensor<4x8xf32>
  %c:2 = breg.linbreg_update #breg.l1 %b#0, %b#1, %t lr(%x) delta(%x) lambda(%zero) : tensor<4x8xf32>
  %d:2 = breg.linbreg_update #breg.l1_pos %c#0, %c#1, %t lr(%x) delta(%x) lambda(%zero) : tensor<4x8xf32>
  %e:2 = breg.linbreg_update #breg.l1_l2 %d#0, %d#1, %t lr(%x) delta(%x) lambda(%x) : tensor<4x8xf32>
  return %e#0, %e#1, %b#2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// AdaBreg: the same rule (conv groups here).
// CHECK-LABEL: func.func @adabreg_zero_lambda(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<2x3x3x3xf32>, %[[X:[^:]*]]: f32)
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[A0:[^,]*]], %[[A1:[^,]*]], %[[A2:[^,]*]], %[[A3:[^,]*]] = breg.adabreg_update #breg.none %[[T]], %[[T]], %[[T]], %[[T]], %[[T]] lr(%[[X]]) delta(%[[X]]) lambda(%[[ZERO]]) betas(%[[X]], %[[X]]) eps(%[[X]]) step(%[[X]]) : tensor<2x3x3x3xf32>
// CHECK-NEXT:    %[[B0:[^,]*]], %[[B1:[^,]*]], %[[B2:[^,]*]], %[[B3:[^,]*]] = breg.adabreg_update #breg.l1_pos %[[A0]], %[[A1]], %[[T]], %[[A2]], %[[A3]] lr(%[[X]]) delta(%[[X]]) lambda(%[[ZERO]]) betas(%[[X]], %[[X]]) eps(%[[X]]) step(%[[X]]) : tensor<2x3x3x3xf32>
// CHECK-NEXT:    %[[C0:[^,]*]], %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}} = breg.adabreg_update #breg.l1_l2_conv %[[B0]], %[[B1]], %[[T]], %[[B2]], %[[B3]] lr(%[[X]]) delta(%[[X]]) lambda(%[[X]]) betas(%[[X]], %[[X]]) eps(%[[X]]) step(%[[X]]) : tensor<2x3x3x3xf32>
// CHECK-NEXT:    return %[[C0]] :
func.func @adabreg_zero_lambda(%t: tensor<2x3x3x3xf32>, %x: f32) -> tensor<2x3x3x3xf32> {
  %zero = arith.constant 0.0 : f32
  %a:4 = breg.adabreg_update #breg.l1_l2_conv %t, %t, %t, %t, %t
      lr(%x) delta(%x) lambda(%zero) betas(%x, %x) eps(%x) step(%x) : tensor<2x3x3x3xf32>
  %b:4 = breg.adabreg_update #breg.l1_pos %a#0, %a#1, %t, %a#2, %a#3
      lr(%x) delta(%x) lambda(%zero) betas(%x, %x) eps(%x) step(%x) : tensor<2x3x3x3xf32>
  %c:4 = breg.adabreg_update #breg.l1_l2_conv %b#0, %b#1, %t, %b#2, %b#3
      lr(%x) delta(%x) lambda(%x) betas(%x, %x) eps(%x) step(%x) : tensor<2x3x3x3xf32>
  return %c#0 : tensor<2x3x3x3xf32>
}

// -----

// ProxSGD with λ = 0 is plain SGD.
// CHECK-LABEL: func.func @proxsgd_zero_lambda(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<4x8xf32>, %[[C:[^:]*]]: tensor<2x3x3x3xf32>, %[[X:[^:]*]]: f32)
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[T1:.*]] = breg.proxsgd_update #breg.none %[[T]], %[[T]] lr(%[[X]]) lambda(%[[ZERO]]) : tensor<4x8xf32>
// CHECK-NEXT:    %[[T2:.*]] = breg.proxsgd_update #breg.none %[[T1]], %[[T]] lr(%[[X]]) lambda(%[[ZERO]]) : tensor<4x8xf32>
// CHECK-NEXT:    %[[T3:.*]] = breg.proxsgd_update #breg.l1_pos %[[T2]], %[[T]] lr(%[[X]]) lambda(%[[ZERO]]) : tensor<4x8xf32>
// CHECK-NEXT:    %[[C1:.*]] = breg.proxsgd_update #breg.none %[[C]], %[[C]] lr(%[[X]]) lambda(%[[ZERO]]) : tensor<2x3x3x3xf32>
// CHECK-NEXT:    %[[T4:.*]] = breg.proxsgd_update #breg.l1 %[[T3]], %[[T]] lr(%[[X]]) lambda(%[[X]]) : tensor<4x8xf32>
// CHECK-NEXT:    return %[[T4]], %[[C1]] :
func.func @proxsgd_zero_lambda(%t: tensor<4x8xf32>, %c: tensor<2x3x3x3xf32>, %x: f32)
    -> (tensor<4x8xf32>, tensor<2x3x3x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %t1 = breg.proxsgd_update #breg.l1 %t, %t lr(%x) lambda(%zero) : tensor<4x8xf32>
  %t2 = breg.proxsgd_update #breg.l1_l2 %t1, %t lr(%x) lambda(%zero) : tensor<4x8xf32>
  %t3 = breg.proxsgd_update #breg.l1_pos %t2, %t lr(%x) lambda(%zero) : tensor<4x8xf32>
  %c1 = breg.proxsgd_update #breg.l1_l2_conv %c, %c lr(%x) lambda(%zero) : tensor<2x3x3x3xf32>
  %t4 = breg.proxsgd_update #breg.l1 %t3, %t lr(%x) lambda(%x) : tensor<4x8xf32>
  return %t4, %c1 : tensor<4x8xf32>, tensor<2x3x3x3xf32>
}
