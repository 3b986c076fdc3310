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
