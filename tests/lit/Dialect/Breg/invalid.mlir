// One case per verifier rule of the breg ops; the messages are pinned.
// RUN: bregman-opt %s -split-input-file -verify-diagnostics

// Parameter tensors must hold f32.
func.func @prox_f64_tensor(%x: tensor<4xf64>, %s: f32, %l: f32) -> tensor<4xf64> {
  // expected-error @+1 {{'breg.prox' op operand #0 must be ranked tensor of 32-bit float values, but got 'tensor<4xf64>'}}
  %y = breg.prox #breg.l1 %x, %s, %l : tensor<4xf64>
  return %y : tensor<4xf64>
}

// -----

func.func @linbreg_f64_tensor(%t: tensor<4xf64>, %lr: f32) {
  // expected-error @+1 {{'breg.linbreg_update' op operand #0 must be ranked tensor of 32-bit float values, but got 'tensor<4xf64>'}}
  %t1, %v1 = breg.linbreg_update #breg.l1 %t, %t, %t lr(%lr) delta(%lr) lambda(%lr) : tensor<4xf64>
  return
}

// -----

// ... and they must be ranked tensors, not buffers.
func.func @prox_memref(%x: memref<4xf32>, %s: f32) {
  // expected-error @+1 {{'breg.prox' op operand #0 must be ranked tensor of 32-bit float values, but got 'memref<4xf32>'}}
  %y = "breg.prox"(%x, %s, %s) <{reg = #breg.l1}> : (memref<4xf32>, f32, f32) -> memref<4xf32>
  return
}

// -----

// Hyper-parameters are f32 scalars (only the generic form can spell another type).
func.func @prox_scalar_f64(%x: tensor<4xf32>, %s: f64, %l: f32) {
  // expected-error @+1 {{'breg.prox' op operand #1 must be 32-bit float, but got 'f64'}}
  %y = "breg.prox"(%x, %s, %l) <{reg = #breg.l1}> : (tensor<4xf32>, f64, f32) -> tensor<4xf32>
  return
}

// -----

func.func @subgradient_init_scalar_f16(%t: tensor<4xf32>, %d: f32, %l: f16) {
  // expected-error @+1 {{'breg.subgradient_init' op operand #2 must be 32-bit float, but got 'f16'}}
  %v = "breg.subgradient_init"(%t, %d, %l) <{reg = #breg.l1}> : (tensor<4xf32>, f32, f16) -> tensor<4xf32>
  return
}

// -----

func.func @linbreg_beta_f64(%t: tensor<4xf32>, %lr: f32, %b: f64) {
  // expected-error @+1 {{'breg.linbreg_update' op operand #7 must be 32-bit float, but got 'f64'}}
  %r:3 = "breg.linbreg_update"(%t, %t, %t, %lr, %lr, %lr, %t, %b) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1, 0>, reg = #breg.l1}> : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, f32, f32, f32, tensor<4xf32>, f64) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

// θ, v and g share one type (AllTypesMatch).
func.func @linbreg_v_shape(%t: tensor<4xf32>, %v: tensor<5xf32>, %g: tensor<4xf32>, %lr: f32) {
  // expected-error @+1 {{'breg.linbreg_update' op failed to verify that all of {theta, v, grad} have same type}}
  %r:2 = "breg.linbreg_update"(%t, %v, %g, %lr, %lr, %lr) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, reg = #breg.l1}> : (tensor<4xf32>, tensor<5xf32>, tensor<4xf32>, f32, f32, f32) -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @linbreg_grad_rank(%t: tensor<4xf32>, %g: tensor<4x1xf32>, %lr: f32) {
  // expected-error @+1 {{'breg.linbreg_update' op failed to verify that all of {theta, v, grad} have same type}}
  %r:2 = "breg.linbreg_update"(%t, %t, %g, %lr, %lr, %lr) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, reg = #breg.l1}> : (tensor<4xf32>, tensor<4xf32>, tensor<4x1xf32>, f32, f32, f32) -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

// The results of linbreg_update are inferred from θ.
func.func @linbreg_result_type(%t: tensor<4xf32>, %lr: f32) {
  // expected-error @+2 {{'breg.linbreg_update' op inferred type(s) 'tensor<4xf32>', 'tensor<4xf32>' are incompatible with return type(s) of operation 'tensor<4xf32>', 'tensor<8xf32>'}}
  // expected-error @+1 {{'breg.linbreg_update' op failed to infer returned types}}
  %r:2 = "breg.linbreg_update"(%t, %t, %t, %lr, %lr, %lr) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, reg = #breg.l1}> : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, f32, f32, f32) -> (tensor<4xf32>, tensor<8xf32>)
  return
}

// -----

// prox and subgradient_init keep the type of their tensor operand.
func.func @prox_result_type(%x: tensor<4xf32>, %s: f32) {
  // expected-error @+1 {{'breg.prox' op failed to verify that all of {x, result} have same type}}
  %y = "breg.prox"(%x, %s, %s) <{reg = #breg.l1}> : (tensor<4xf32>, f32, f32) -> tensor<8xf32>
  return
}

// -----

func.func @subgradient_init_result_type(%t: tensor<4xf32>, %s: f32) {
  // expected-error @+1 {{'breg.subgradient_init' op failed to verify that all of {theta, v} have same type}}
  %v = "breg.subgradient_init"(%t, %s, %s) <{reg = #breg.none}> : (tensor<4xf32>, f32, f32) -> tensor<2x2xf32>
  return
}

// -----

// Momentum buffer and β come together or not at all.
func.func @momentum_without_beta(%t: tensor<4xf32>, %m: tensor<4xf32>, %lr: f32) {
  // expected-error @+1 {{'breg.linbreg_update' op momentum buffer and beta must be given together, but beta is missing}}
  %r:3 = "breg.linbreg_update"(%t, %t, %t, %lr, %lr, %lr, %m) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 0, 0>, reg = #breg.l1}> : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, f32, f32, f32, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @beta_without_momentum(%t: tensor<4xf32>, %lr: f32, %b: f32) {
  // expected-error @+1 {{'breg.linbreg_update' op momentum buffer and beta must be given together, but the momentum buffer is missing}}
  %r:2 = "breg.linbreg_update"(%t, %t, %t, %lr, %lr, %lr, %b) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 1, 0>, reg = #breg.none}> : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, f32, f32, f32, f32) -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

// The momentum buffer has the parameter's type.
func.func @momentum_type(%t: tensor<4xf32>, %m: tensor<8xf32>, %lr: f32, %b: f32) {
  // expected-error @+1 {{'breg.linbreg_update' op momentum buffer type 'tensor<8xf32>' does not match parameter type 'tensor<4xf32>'}}
  %r:3 = breg.linbreg_update #breg.l1 %t, %t, %t lr(%lr) delta(%lr) lambda(%lr) momentum(%m, %b : tensor<8xf32>) : tensor<4xf32>
  return
}

// -----

// Only the registered regulariser attributes exist ...
func.func @unknown_regularizer(%x: tensor<4xf32>, %s: f32) {
  // expected-error @+1 {{unknown attribute `l2` in dialect `breg`}}
  %y = breg.prox #breg.l2 %x, %s, %s : tensor<4xf32>
  return
}

// -----

// ... and the reg slot takes nothing else, in the custom form ...
func.func @non_regularizer_custom(%x: tensor<4xf32>, %s: f32) {
  // expected-error @+1 {{custom op 'breg.prox' invalid kind of attribute specified}}
  %y = breg.prox "l1" %x, %s, %s : tensor<4xf32>
  return
}

// -----

// ... nor in the generic form ...
func.func @non_regularizer_generic(%t: tensor<4xf32>, %s: f32) {
  // expected-error @+1 {{invalid properties {reg = 1 : i32} for op breg.subgradient_init: Invalid attribute `reg` in property conversion: 1 : i32}}
  %v = "breg.subgradient_init"(%t, %s, %s) <{reg = 1 : i32}> : (tensor<4xf32>, f32, f32) -> tensor<4xf32>
  return
}

// -----

// ... and it cannot be left out.
func.func @missing_regularizer(%x: tensor<4xf32>, %s: f32) {
  // expected-error @+1 {{'breg.prox' op requires attribute 'reg'}}
  %y = "breg.prox"(%x, %s, %s) : (tensor<4xf32>, f32, f32) -> tensor<4xf32>
  return
}

// -----

// Unranked tensors are rejected by the custom parser.
func.func @unranked(%x: tensor<*xf32>, %s: f32) {
  // expected-error @+1 {{custom op 'breg.prox' invalid kind of type specified: expected builtin.tensor, but found 'tensor<*xf32>'}}
  %y = breg.prox #breg.l1 %x, %s, %s : tensor<*xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// adabreg_update
//===----------------------------------------------------------------------===//

// Parameter and state tensors must hold f32.
func.func @adabreg_f64_tensor(%t: tensor<4xf64>, %lr: f32) {
  // expected-error @+1 {{'breg.adabreg_update' op operand #0 must be ranked tensor of 32-bit float values, but got 'tensor<4xf64>'}}
  %r:4 = breg.adabreg_update #breg.l1 %t, %t, %t, %t, %t lr(%lr) delta(%lr) lambda(%lr) betas(%lr, %lr) eps(%lr) step(%lr) : tensor<4xf64>
  return
}

// -----

func.func @adabreg_m2_f16(%t: tensor<4xf32>, %m2: tensor<4xf16>, %lr: f32) {
  // expected-error @+1 {{'breg.adabreg_update' op operand #4 must be ranked tensor of 32-bit float values, but got 'tensor<4xf16>'}}
  %r:4 = "breg.adabreg_update"(%t, %t, %t, %t, %m2, %lr, %lr, %lr, %lr, %lr, %lr, %lr) <{reg = #breg.l1}> : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf16>, f32, f32, f32, f32, f32, f32, f32) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

// The step count is an f32 scalar like every other hyper-parameter.
func.func @adabreg_step_f64(%t: tensor<4xf32>, %lr: f32, %s: f64) {
  // expected-error @+1 {{'breg.adabreg_update' op operand #11 must be 32-bit float, but got 'f64'}}
  %r:4 = "breg.adabreg_update"(%t, %t, %t, %t, %t, %lr, %lr, %lr, %lr, %lr, %lr, %s) <{reg = #breg.l1}> : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, f32, f32, f32, f32, f32, f32, f64) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @adabreg_beta1_i32(%t: tensor<4xf32>, %lr: f32, %b: i32) {
  // expected-error @+1 {{'breg.adabreg_update' op operand #8 must be 32-bit float, but got 'i32'}}
  %r:4 = "breg.adabreg_update"(%t, %t, %t, %t, %t, %lr, %lr, %lr, %b, %lr, %lr, %lr) <{reg = #breg.l1_pos}> : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, f32, f32, f32, i32, f32, f32, f32) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

// θ, v, g, m1 and m2 share one type (AllTypesMatch).
func.func @adabreg_m2_shape(%t: tensor<4xf32>, %m2: tensor<5xf32>, %lr: f32) {
  // expected-error @+1 {{'breg.adabreg_update' op failed to verify that all of {theta, v, grad, m1, m2} have same type}}
  %r:4 = "breg.adabreg_update"(%t, %t, %t, %t, %m2, %lr, %lr, %lr, %lr, %lr, %lr, %lr) <{reg = #breg.l1}> : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<5xf32>, f32, f32, f32, f32, f32, f32, f32) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @adabreg_v_rank(%t: tensor<4xf32>, %v: tensor<4x1xf32>, %lr: f32) {
  // expected-error @+1 {{'breg.adabreg_update' op failed to verify that all of {theta, v, grad, m1, m2} have same type}}
  %r:4 = "breg.adabreg_update"(%t, %v, %t, %t, %t, %lr, %lr, %lr, %lr, %lr, %lr, %lr) <{reg = #breg.none}> : (tensor<4xf32>, tensor<4x1xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, f32, f32, f32, f32, f32, f32, f32) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

// The four results are inferred from θ.
func.func @adabreg_result_type(%t: tensor<4xf32>, %lr: f32) {
  // expected-error @+2 {{'breg.adabreg_update' op inferred type(s) 'tensor<4xf32>', 'tensor<4xf32>', 'tensor<4xf32>', 'tensor<4xf32>' are incompatible with return type(s) of operation 'tensor<4xf32>', 'tensor<4xf32>', 'tensor<4xf32>', 'tensor<2x2xf32>'}}
  // expected-error @+1 {{'breg.adabreg_update' op failed to infer returned types}}
  %r:4 = "breg.adabreg_update"(%t, %t, %t, %t, %t, %lr, %lr, %lr, %lr, %lr, %lr, %lr) <{reg = #breg.l1}> : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, f32, f32, f32, f32, f32, f32, f32) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x2xf32>)
  return
}

// -----

func.func @adabreg_missing_regularizer(%t: tensor<4xf32>, %lr: f32) {
  // expected-error @+1 {{'breg.adabreg_update' op requires attribute 'reg'}}
  %r:4 = "breg.adabreg_update"(%t, %t, %t, %t, %t, %lr, %lr, %lr, %lr, %lr, %lr, %lr) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, f32, f32, f32, f32, f32, f32, f32) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// proxsgd_update
//===----------------------------------------------------------------------===//

func.func @proxsgd_f64_tensor(%t: tensor<4xf64>, %lr: f32) {
  // expected-error @+1 {{'breg.proxsgd_update' op operand #0 must be ranked tensor of 32-bit float values, but got 'tensor<4xf64>'}}
  %r = breg.proxsgd_update #breg.l1 %t, %t lr(%lr) lambda(%lr) : tensor<4xf64>
  return
}

// -----

func.func @proxsgd_grad_f64(%t: tensor<4xf32>, %g: tensor<4xf64>, %lr: f32) {
  // expected-error @+1 {{'breg.proxsgd_update' op operand #1 must be ranked tensor of 32-bit float values, but got 'tensor<4xf64>'}}
  %r = "breg.proxsgd_update"(%t, %g, %lr, %lr) <{reg = #breg.l1}> : (tensor<4xf32>, tensor<4xf64>, f32, f32) -> tensor<4xf32>
  return
}

// -----

func.func @proxsgd_lambda_bf16(%t: tensor<4xf32>, %lr: f32, %l: bf16) {
  // expected-error @+1 {{'breg.proxsgd_update' op operand #3 must be 32-bit float, but got 'bf16'}}
  %r = "breg.proxsgd_update"(%t, %t, %lr, %l) <{reg = #breg.l1_pos}> : (tensor<4xf32>, tensor<4xf32>, f32, bf16) -> tensor<4xf32>
  return
}

// -----

// θ, g and θ' share one type (AllTypesMatch) ...
func.func @proxsgd_grad_shape(%t: tensor<4xf32>, %g: tensor<3xf32>, %lr: f32) {
  // expected-error @+1 {{'breg.proxsgd_update' op failed to verify that all of {theta, grad, new_theta} have same type}}
  %r = "breg.proxsgd_update"(%t, %g, %lr, %lr) <{reg = #breg.l1}> : (tensor<4xf32>, tensor<3xf32>, f32, f32) -> tensor<4xf32>
  return
}

// -----

// ... the result included.
func.func @proxsgd_result_type(%t: tensor<4xf32>, %lr: f32) {
  // expected-error @+1 {{'breg.proxsgd_update' op failed to verify that all of {theta, grad, new_theta} have same type}}
  %r = "breg.proxsgd_update"(%t, %t, %lr, %lr) <{reg = #breg.l1}> : (tensor<4xf32>, tensor<4xf32>, f32, f32) -> tensor<1x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// sgd_update
//===----------------------------------------------------------------------===//

func.func @sgd_f64_tensor(%t: tensor<4xf64>, %lr: f32) {
  // expected-error @+1 {{'breg.sgd_update' op operand #0 must be ranked tensor of 32-bit float values, but got 'tensor<4xf64>'}}
  %r = breg.sgd_update %t, %t lr(%lr) : tensor<4xf64>
  return
}

// -----

func.func @sgd_lr_f64(%t: tensor<4xf32>, %lr: f64) {
  // expected-error @+1 {{'breg.sgd_update' op operand #2 must be 32-bit float, but got 'f64'}}
  %r = "breg.sgd_update"(%t, %t, %lr) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0>}> : (tensor<4xf32>, tensor<4xf32>, f64) -> tensor<4xf32>
  return
}

// -----

func.func @sgd_beta_f64(%t: tensor<4xf32>, %lr: f32, %b: f64) {
  // expected-error @+1 {{'breg.sgd_update' op operand #4 must be 32-bit float, but got 'f64'}}
  %r:2 = "breg.sgd_update"(%t, %t, %lr, %t, %b) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1>}> : (tensor<4xf32>, tensor<4xf32>, f32, tensor<4xf32>, f64) -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

// The momentum buffer must be an f32 tensor as well.
func.func @sgd_momentum_f64(%t: tensor<4xf32>, %m: tensor<4xf64>, %lr: f32) {
  // expected-error @+1 {{'breg.sgd_update' op operand #3 must be ranked tensor of 32-bit float values, but got 'tensor<4xf64>'}}
  %r:2 = breg.sgd_update %t, %t lr(%lr) momentum(%m, %lr : tensor<4xf64>) : tensor<4xf32>
  return
}

// -----

// θ and g share one type (AllTypesMatch).
func.func @sgd_grad_shape(%t: tensor<4xf32>, %g: tensor<8xf32>, %lr: f32) {
  // expected-error @+1 {{'breg.sgd_update' op failed to verify that all of {theta, grad} have same type}}
  %r = "breg.sgd_update"(%t, %g, %lr) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0>}> : (tensor<4xf32>, tensor<8xf32>, f32) -> tensor<4xf32>
  return
}

// -----

// Momentum buffer and β come together or not at all.
func.func @sgd_momentum_without_beta(%t: tensor<4xf32>, %m: tensor<4xf32>, %lr: f32) {
  // expected-error @+1 {{'breg.sgd_update' op momentum buffer and beta must be given together, but beta is missing}}
  %r:2 = "breg.sgd_update"(%t, %t, %lr, %m) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0>}> : (tensor<4xf32>, tensor<4xf32>, f32, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @sgd_beta_without_momentum(%t: tensor<4xf32>, %lr: f32, %b: f32) {
  // expected-error @+1 {{'breg.sgd_update' op momentum buffer and beta must be given together, but the momentum buffer is missing}}
  %r = "breg.sgd_update"(%t, %t, %lr, %b) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 1>}> : (tensor<4xf32>, tensor<4xf32>, f32, f32) -> tensor<4xf32>
  return
}

// -----

// The momentum buffer has the parameter's type.
func.func @sgd_momentum_type(%t: tensor<4xf32>, %m: tensor<2x2xf32>, %lr: f32, %b: f32) {
  // expected-error @+1 {{'breg.sgd_update' op momentum buffer type 'tensor<2x2xf32>' does not match parameter type 'tensor<4xf32>'}}
  %r:2 = breg.sgd_update %t, %t lr(%lr) momentum(%m, %b : tensor<2x2xf32>) : tensor<4xf32>
  return
}

// -----

// Without momentum there is one result, θ'.
func.func @sgd_result_count(%t: tensor<4xf32>, %lr: f32) {
  // expected-error @+2 {{'breg.sgd_update' op inferred type(s) 'tensor<4xf32>' are incompatible with return type(s) of operation 'tensor<4xf32>', 'tensor<4xf32>'}}
  // expected-error @+1 {{'breg.sgd_update' op failed to infer returned types}}
  %r:2 = "breg.sgd_update"(%t, %t, %lr) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0>}> : (tensor<4xf32>, tensor<4xf32>, f32) -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// adam_update
//===----------------------------------------------------------------------===//

func.func @adam_f64_tensor(%t: tensor<4xf64>, %lr: f32) {
  // expected-error @+1 {{'breg.adam_update' op operand #0 must be ranked tensor of 32-bit float values, but got 'tensor<4xf64>'}}
  %r:3 = breg.adam_update %t, %t, %t, %t lr(%lr) betas(%lr, %lr) eps(%lr) step(%lr) : tensor<4xf64>
  return
}

// -----

func.func @adam_m1_i32(%t: tensor<4xf32>, %m1: tensor<4xi32>, %lr: f32) {
  // expected-error @+1 {{'breg.adam_update' op operand #2 must be ranked tensor of 32-bit float values, but got 'tensor<4xi32>'}}
  %r:3 = "breg.adam_update"(%t, %t, %m1, %t, %lr, %lr, %lr, %lr, %lr) : (tensor<4xf32>, tensor<4xf32>, tensor<4xi32>, tensor<4xf32>, f32, f32, f32, f32, f32) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @adam_eps_f64(%t: tensor<4xf32>, %lr: f32, %e: f64) {
  // expected-error @+1 {{'breg.adam_update' op operand #7 must be 32-bit float, but got 'f64'}}
  %r:3 = "breg.adam_update"(%t, %t, %t, %t, %lr, %lr, %lr, %e, %lr) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, f32, f32, f32, f64, f32) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

// The step count is an f32, not an integer.
func.func @adam_step_i32(%t: tensor<4xf32>, %lr: f32, %s: i32) {
  // expected-error @+1 {{'breg.adam_update' op operand #8 must be 32-bit float, but got 'i32'}}
  %r:3 = "breg.adam_update"(%t, %t, %t, %t, %lr, %lr, %lr, %lr, %s) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, f32, f32, f32, f32, i32) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

// θ, g, m1 and m2 share one type (AllTypesMatch).
func.func @adam_m1_shape(%t: tensor<4xf32>, %m1: tensor<4x1xf32>, %lr: f32) {
  // expected-error @+1 {{'breg.adam_update' op failed to verify that all of {theta, grad, m1, m2} have same type}}
  %r:3 = "breg.adam_update"(%t, %t, %m1, %t, %lr, %lr, %lr, %lr, %lr) : (tensor<4xf32>, tensor<4xf32>, tensor<4x1xf32>, tensor<4xf32>, f32, f32, f32, f32, f32) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

// The three results are inferred from θ.
func.func @adam_result_type(%t: tensor<4xf32>, %lr: f32) {
  // expected-error @+2 {{'breg.adam_update' op inferred type(s) 'tensor<4xf32>', 'tensor<4xf32>', 'tensor<4xf32>' are incompatible with return type(s) of operation 'tensor<4xf32>', 'tensor<4xf32>', 'tensor<8xf32>'}}
  // expected-error @+1 {{'breg.adam_update' op failed to infer returned types}}
  %r:3 = "breg.adam_update"(%t, %t, %t, %t, %lr, %lr, %lr, %lr, %lr) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, f32, f32, f32, f32, f32) -> (tensor<4xf32>, tensor<4xf32>, tensor<8xf32>)
  return
}

// -----

// #breg.l1_l2 groups the rows of a rank-2 weight: rank 1 is rejected ...
func.func @l1_l2_rank1(%x: tensor<4xf32>, %s: f32) {
  // expected-error @+1 {{'breg.prox' op regularizer 'l1_l2' needs a rank-2 parameter whose rows are the groups, got 'tensor<4xf32>'}}
  %y = breg.prox #breg.l1_l2 %x, %s, %s : tensor<4xf32>
  return
}

// -----

// ... and so is rank 3 (on an update, the rule is the same).
func.func @l1_l2_rank3(%t: tensor<2x3x4xf32>, %lr: f32) {
  // expected-error @+1 {{'breg.linbreg_update' op regularizer 'l1_l2' needs a rank-2 parameter whose rows are the groups, got 'tensor<2x3x4xf32>'}}
  %t1, %v1 = breg.linbreg_update #breg.l1_l2 %t, %t, %t lr(%lr) delta(%lr) lambda(%lr) : tensor<2x3x4xf32>
  return
}

// -----

// A rank-0 parameter has no rows either.
func.func @l1_l2_rank0(%t: tensor<f32>, %d: f32) {
  // expected-error @+1 {{'breg.subgradient_init' op regularizer 'l1_l2' needs a rank-2 parameter whose rows are the groups, got 'tensor<f32>'}}
  %v = breg.subgradient_init #breg.l1_l2 %t, %d, %d : tensor<f32>
  return
}

// -----

// #breg.l1_l2_conv groups the kernels (last two dims) of a rank-4 weight.
func.func @l1_l2_conv_rank2(%t: tensor<3x3xf32>, %lr: f32) {
  // expected-error @+1 {{'breg.proxsgd_update' op regularizer 'l1_l2_conv' needs a rank-4 parameter whose kernels (last two dimensions) are the groups, got 'tensor<3x3xf32>'}}
  %t1 = breg.proxsgd_update #breg.l1_l2_conv %t, %t lr(%lr) lambda(%lr) : tensor<3x3xf32>
  return
}

// -----

func.func @l1_l2_conv_rank3(%x: tensor<8x3x3xf32>, %s: f32) {
  // expected-error @+1 {{'breg.prox' op regularizer 'l1_l2_conv' needs a rank-4 parameter whose kernels (last two dimensions) are the groups, got 'tensor<8x3x3xf32>'}}
  %y = breg.prox #breg.l1_l2_conv %x, %s, %s : tensor<8x3x3xf32>
  return
}

// -----

// The group size n (√n is a compile-time constant) must be static: the row
// length for l1_l2 ...
func.func @l1_l2_dynamic_row(%x: tensor<4x?xf32>, %s: f32) {
  // expected-error @+1 {{'breg.prox' op regularizer 'l1_l2' needs static group dimensions, got 'tensor<4x?xf32>'}}
  %y = breg.prox #breg.l1_l2 %x, %s, %s : tensor<4x?xf32>
  return
}

// -----

func.func @l1_l2_dynamic_row_subgradient(%t: tensor<?x?xf32>, %d: f32) {
  // expected-error @+1 {{'breg.subgradient_init' op regularizer 'l1_l2' needs static group dimensions, got 'tensor<?x?xf32>'}}
  %v = breg.subgradient_init #breg.l1_l2 %t, %d, %d : tensor<?x?xf32>
  return
}

// -----

// ... and both kernel dimensions for l1_l2_conv.
func.func @l1_l2_conv_dynamic_kh(%x: tensor<2x3x?x3xf32>, %s: f32) {
  // expected-error @+1 {{'breg.prox' op regularizer 'l1_l2_conv' needs static group dimensions, got 'tensor<2x3x?x3xf32>'}}
  %y = breg.prox #breg.l1_l2_conv %x, %s, %s : tensor<2x3x?x3xf32>
  return
}

// -----

func.func @l1_l2_conv_dynamic_kw(%t: tensor<2x2x3x?xf32>, %x: f32) {
  // expected-error @+1 {{'breg.adabreg_update' op regularizer 'l1_l2_conv' needs static group dimensions, got 'tensor<2x2x3x?xf32>'}}
  %r:4 = breg.adabreg_update #breg.l1_l2_conv %t, %t, %t, %t, %t
      lr(%x) delta(%x) lambda(%x) betas(%x, %x) eps(%x) step(%x) : tensor<2x2x3x?xf32>
  return
}

// -----

// The generic form goes through the same verifier.
func.func @l1_l2_generic_rank1(%x: tensor<4xf32>, %s: f32) {
  // expected-error @+1 {{'breg.prox' op regularizer 'l1_l2' needs a rank-2 parameter whose rows are the groups, got 'tensor<4xf32>'}}
  %y = "breg.prox"(%x, %s, %s) <{reg = #breg.l1_l2}> : (tensor<4xf32>, f32, f32) -> tensor<4xf32>
  return
}

// -----

// #breg.l1_l2_heads groups the heads (first dim) of a rank-3 projection.
func.func @l1_l2_heads_rank2(%x: tensor<8x8xf32>, %s: f32) {
  // expected-error @+1 {{'breg.prox' op regularizer 'l1_l2_heads' needs a rank-3 parameter whose heads (first dimension) are the groups, got 'tensor<8x8xf32>'}}
  %y = breg.prox #breg.l1_l2_heads %x, %s, %s : tensor<8x8xf32>
  return
}

// -----

func.func @l1_l2_heads_dynamic_width(%x: tensor<2x4x?xf32>, %s: f32) {
  // expected-error @+1 {{'breg.prox' op regularizer 'l1_l2_heads' needs static group dimensions, got 'tensor<2x4x?xf32>'}}
  %y = breg.prox #breg.l1_l2_heads %x, %s, %s : tensor<2x4x?xf32>
  return
}

// -----

// The regularisers take no parameters (`<5>` was read past and dropped).
// expected-error @+1 {{#breg.l1 takes no parameters}}
func.func @regularizer_with_parameters() attributes {reg = #breg.l1<5>} {
  return
}
