// Round trip of every breg op and regulariser attribute: custom form twice,
// and custom -> generic -> custom.
// RUN: bregman-opt %s -split-input-file | bregman-opt -split-input-file | FileCheck %s
// RUN: bregman-opt %s -split-input-file -mlir-print-op-generic | bregman-opt -split-input-file | FileCheck %s
// RUN: bregman-opt %s -split-input-file -mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// All regulariser attributes parse and print on their own.
// CHECK-LABEL: func.func @attributes()
// CHECK-SAME:    attributes {reg_l1 = #breg.l1, reg_l1_pos = #breg.l1_pos, reg_none = #breg.none}
// GENERIC-LABEL: sym_name = "attributes"
// GENERIC:         }) {reg_l1 = #breg.l1, reg_l1_pos = #breg.l1_pos, reg_none = #breg.none} : () -> ()
func.func @attributes() attributes {reg_none = #breg.none, reg_l1_pos = #breg.l1_pos, reg_l1 = #breg.l1} {
  return
}

// -----

// CHECK-LABEL: func.func @prox_l1(
// CHECK-SAME:    %[[X:.*]]: tensor<200x784xf32>, %[[S:.*]]: f32, %[[L:.*]]: f32)
// CHECK:         %[[Y:.*]] = breg.prox #breg.l1 %[[X]], %[[S]], %[[L]] : tensor<200x784xf32>
// CHECK-NEXT:    return %[[Y]] : tensor<200x784xf32>
// GENERIC-LABEL: sym_name = "prox_l1"
// GENERIC:         "breg.prox"(%{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.l1}> : (tensor<200x784xf32>, f32, f32) -> tensor<200x784xf32>
func.func @prox_l1(%x: tensor<200x784xf32>, %s: f32, %l: f32) -> tensor<200x784xf32> {
  %y = breg.prox #breg.l1 %x, %s, %l : tensor<200x784xf32>
  return %y : tensor<200x784xf32>
}

// -----

// CHECK-LABEL: func.func @prox_none_rank0(
// CHECK-SAME:    %[[X:.*]]: tensor<f32>, %[[S:.*]]: f32, %[[L:.*]]: f32)
// CHECK:         %[[Y:.*]] = breg.prox #breg.none %[[X]], %[[S]], %[[L]] : tensor<f32>
// CHECK-NEXT:    return %[[Y]] : tensor<f32>
// GENERIC-LABEL: sym_name = "prox_none_rank0"
// GENERIC:         "breg.prox"(%{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.none}> : (tensor<f32>, f32, f32) -> tensor<f32>
func.func @prox_none_rank0(%x: tensor<f32>, %s: f32, %l: f32) -> tensor<f32> {
  %y = breg.prox #breg.none %x, %s, %l : tensor<f32>
  return %y : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @prox_dynamic(
// CHECK-SAME:    %[[X:.*]]: tensor<?x8xf32>, %[[S:.*]]: f32, %[[L:.*]]: f32)
// CHECK:         %[[Y:.*]] = breg.prox #breg.l1 %[[X]], %[[S]], %[[L]] {tag = "extra"} : tensor<?x8xf32>
// CHECK-NEXT:    return %[[Y]]
func.func @prox_dynamic(%x: tensor<?x8xf32>, %s: f32, %l: f32) -> tensor<?x8xf32> {
  %y = breg.prox #breg.l1 %x, %s, %l {tag = "extra"} : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// CHECK-LABEL: func.func @subgradient_init(
// CHECK-SAME:    %[[T:.*]]: tensor<10xf32>, %[[T0:.*]]: tensor<f32>, %[[D:.*]]: f32, %[[L:.*]]: f32)
// CHECK:         %[[V:.*]] = breg.subgradient_init #breg.l1 %[[T]], %[[D]], %[[L]] : tensor<10xf32>
// CHECK-NEXT:    %[[V0:.*]] = breg.subgradient_init #breg.none %[[T0]], %[[D]], %[[L]] : tensor<f32>
// CHECK-NEXT:    return %[[V]], %[[V0]] : tensor<10xf32>, tensor<f32>
// GENERIC-LABEL: sym_name = "subgradient_init"
// GENERIC:         "breg.subgradient_init"(%{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.l1}> : (tensor<10xf32>, f32, f32) -> tensor<10xf32>
// GENERIC:         "breg.subgradient_init"(%{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.none}> : (tensor<f32>, f32, f32) -> tensor<f32>
func.func @subgradient_init(%t: tensor<10xf32>, %t0: tensor<f32>, %d: f32, %l: f32) -> (tensor<10xf32>, tensor<f32>) {
  %v = breg.subgradient_init #breg.l1 %t, %d, %l : tensor<10xf32>
  %v0 = breg.subgradient_init #breg.none %t0, %d, %l : tensor<f32>
  return %v, %v0 : tensor<10xf32>, tensor<f32>
}

// -----

// CHECK-LABEL: func.func @linbreg_l1(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<200x784xf32>, %[[V:[^:]*]]: tensor<200x784xf32>, %[[G:[^:]*]]: tensor<200x784xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK:         %[[T1:.*]], %[[V1:.*]] = breg.linbreg_update #breg.l1 %[[T]], %[[V]], %[[G]] lr(%[[LR]]) delta(%[[D]]) lambda(%[[L]]) : tensor<200x784xf32>
// CHECK-NEXT:    return %[[T1]], %[[V1]] : tensor<200x784xf32>, tensor<200x784xf32>
// GENERIC-LABEL: sym_name = "linbreg_l1"
// GENERIC:         %{{.*}}:2 = "breg.linbreg_update"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, reg = #breg.l1}> : (tensor<200x784xf32>, tensor<200x784xf32>, tensor<200x784xf32>, f32, f32, f32) -> (tensor<200x784xf32>, tensor<200x784xf32>)
func.func @linbreg_l1(%t: tensor<200x784xf32>, %v: tensor<200x784xf32>, %g: tensor<200x784xf32>,
                      %lr: f32, %d: f32, %l: f32) -> (tensor<200x784xf32>, tensor<200x784xf32>) {
  %t1, %v1 = breg.linbreg_update #breg.l1 %t, %v, %g lr(%lr) delta(%d) lambda(%l) : tensor<200x784xf32>
  return %t1, %v1 : tensor<200x784xf32>, tensor<200x784xf32>
}

// -----

// CHECK-LABEL: func.func @linbreg_l1_momentum_rank3(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<2x3x4xf32>, %[[V:[^:]*]]: tensor<2x3x4xf32>, %[[G:[^:]*]]: tensor<2x3x4xf32>, %[[M:[^:]*]]: tensor<2x3x4xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32, %[[B:[^:]*]]: f32)
// CHECK:         %[[T1:.*]], %[[V1:.*]], %[[M1:.*]] = breg.linbreg_update #breg.l1 %[[T]], %[[V]], %[[G]] lr(%[[LR]]) delta(%[[D]]) lambda(%[[L]]) momentum(%[[M]], %[[B]] : tensor<2x3x4xf32>) : tensor<2x3x4xf32>
// CHECK-NEXT:    return %[[T1]], %[[V1]], %[[M1]]
// GENERIC-LABEL: sym_name = "linbreg_l1_momentum_rank3"
// GENERIC:         %{{.*}}:3 = "breg.linbreg_update"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1, 0>, reg = #breg.l1}> : (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>, f32, f32, f32, tensor<2x3x4xf32>, f32) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>)
func.func @linbreg_l1_momentum_rank3(%t: tensor<2x3x4xf32>, %v: tensor<2x3x4xf32>, %g: tensor<2x3x4xf32>, %m: tensor<2x3x4xf32>,
                                     %lr: f32, %d: f32, %l: f32, %b: f32)
    -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  %t1, %v1, %m1 = breg.linbreg_update #breg.l1 %t, %v, %g lr(%lr) delta(%d) lambda(%l)
      momentum(%m, %b : tensor<2x3x4xf32>) : tensor<2x3x4xf32>
  return %t1, %v1, %m1 : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @linbreg_none_rank0(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<f32>, %[[V:[^:]*]]: tensor<f32>, %[[G:[^:]*]]: tensor<f32>, %[[M:[^:]*]]: tensor<f32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32, %[[B:[^:]*]]: f32)
// CHECK:         %[[T1:.*]], %[[V1:.*]] = breg.linbreg_update #breg.none %[[T]], %[[V]], %[[G]] lr(%[[LR]]) delta(%[[D]]) lambda(%[[L]]) : tensor<f32>
// CHECK-NEXT:    %[[T2:.*]], %[[V2:.*]], %[[M2:.*]] = breg.linbreg_update #breg.none %[[T1]], %[[V1]], %[[G]] lr(%[[LR]]) delta(%[[D]]) lambda(%[[L]]) momentum(%[[M]], %[[B]] : tensor<f32>) : tensor<f32>
// CHECK-NEXT:    return %[[T2]], %[[V2]], %[[M2]]
// GENERIC-LABEL: sym_name = "linbreg_none_rank0"
// GENERIC:         %[[R:.*]]:2 = "breg.linbreg_update"({{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, reg = #breg.none}> : (tensor<f32>, tensor<f32>, tensor<f32>, f32, f32, f32) -> (tensor<f32>, tensor<f32>)
// GENERIC:         "breg.linbreg_update"(%[[R]]#0, %[[R]]#1, {{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1, 0>, reg = #breg.none}>
func.func @linbreg_none_rank0(%t: tensor<f32>, %v: tensor<f32>, %g: tensor<f32>, %m: tensor<f32>,
                              %lr: f32, %d: f32, %l: f32, %b: f32) -> (tensor<f32>, tensor<f32>, tensor<f32>) {
  %t1, %v1 = breg.linbreg_update #breg.none %t, %v, %g lr(%lr) delta(%d) lambda(%l) : tensor<f32>
  %t2, %v2, %m2 = breg.linbreg_update #breg.none %t1, %v1, %g lr(%lr) delta(%d) lambda(%l)
      momentum(%m, %b : tensor<f32>) : tensor<f32>
  return %t2, %v2, %m2 : tensor<f32>, tensor<f32>, tensor<f32>
}

// -----

// #breg.l1_pos in the ops that take a regulariser.
// CHECK-LABEL: func.func @l1_pos_ops(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<10xf32>, %[[V:[^:]*]]: tensor<10xf32>, %[[G:[^:]*]]: tensor<10xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK:         %[[Y:.*]] = breg.prox #breg.l1_pos %[[T]], %[[D]], %[[L]] : tensor<10xf32>
// CHECK-NEXT:    %[[V0:.*]] = breg.subgradient_init #breg.l1_pos %[[Y]], %[[D]], %[[L]] : tensor<10xf32>
// CHECK-NEXT:    %[[T1:.*]], %[[V1:.*]] = breg.linbreg_update #breg.l1_pos %[[Y]], %[[V0]], %[[G]] lr(%[[LR]]) delta(%[[D]]) lambda(%[[L]]) : tensor<10xf32>
// CHECK-NEXT:    return %[[T1]], %[[V1]] : tensor<10xf32>, tensor<10xf32>
// GENERIC-LABEL: sym_name = "l1_pos_ops"
// GENERIC:         "breg.prox"(%{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.l1_pos}> : (tensor<10xf32>, f32, f32) -> tensor<10xf32>
// GENERIC:         "breg.subgradient_init"(%{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.l1_pos}> : (tensor<10xf32>, f32, f32) -> tensor<10xf32>
// GENERIC:         "breg.linbreg_update"({{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, reg = #breg.l1_pos}> : (tensor<10xf32>, tensor<10xf32>, tensor<10xf32>, f32, f32, f32) -> (tensor<10xf32>, tensor<10xf32>)
func.func @l1_pos_ops(%t: tensor<10xf32>, %v: tensor<10xf32>, %g: tensor<10xf32>,
                      %lr: f32, %d: f32, %l: f32) -> (tensor<10xf32>, tensor<10xf32>) {
  %y = breg.prox #breg.l1_pos %t, %d, %l : tensor<10xf32>
  %v0 = breg.subgradient_init #breg.l1_pos %y, %d, %l : tensor<10xf32>
  %t1, %v1 = breg.linbreg_update #breg.l1_pos %y, %v0, %g lr(%lr) delta(%d) lambda(%l) : tensor<10xf32>
  return %t1, %v1 : tensor<10xf32>, tensor<10xf32>
}

// -----

// CHECK-LABEL: func.func @adabreg_l1(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<200x784xf32>, %[[V:[^:]*]]: tensor<200x784xf32>, %[[G:[^:]*]]: tensor<200x784xf32>, %[[M1:[^:]*]]: tensor<200x784xf32>, %[[M2:[^:]*]]: tensor<200x784xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32, %[[B1:[^:]*]]: f32, %[[B2:[^:]*]]: f32, %[[E:[^:]*]]: f32, %[[S:[^:]*]]: f32)
// CHECK:         %[[T1:.*]], %[[V1:.*]], %[[A1:.*]], %[[A2:.*]] = breg.adabreg_update #breg.l1 %[[T]], %[[V]], %[[G]], %[[M1]], %[[M2]] lr(%[[LR]]) delta(%[[D]]) lambda(%[[L]]) betas(%[[B1]], %[[B2]]) eps(%[[E]]) step(%[[S]]) : tensor<200x784xf32>
// CHECK-NEXT:    return %[[T1]], %[[V1]], %[[A1]], %[[A2]] : tensor<200x784xf32>, tensor<200x784xf32>, tensor<200x784xf32>, tensor<200x784xf32>
// GENERIC-LABEL: sym_name = "adabreg_l1"
// GENERIC:         %{{.*}}:4 = "breg.adabreg_update"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.l1}> : (tensor<200x784xf32>, tensor<200x784xf32>, tensor<200x784xf32>, tensor<200x784xf32>, tensor<200x784xf32>, f32, f32, f32, f32, f32, f32, f32) -> (tensor<200x784xf32>, tensor<200x784xf32>, tensor<200x784xf32>, tensor<200x784xf32>)
func.func @adabreg_l1(%t: tensor<200x784xf32>, %v: tensor<200x784xf32>, %g: tensor<200x784xf32>, %m1: tensor<200x784xf32>, %m2: tensor<200x784xf32>,
                      %lr: f32, %d: f32, %l: f32, %b1: f32, %b2: f32, %eps: f32, %step: f32)
    -> (tensor<200x784xf32>, tensor<200x784xf32>, tensor<200x784xf32>, tensor<200x784xf32>) {
  %t1, %v1, %a1, %a2 = breg.adabreg_update #breg.l1 %t, %v, %g, %m1, %m2
      lr(%lr) delta(%d) lambda(%l) betas(%b1, %b2) eps(%eps) step(%step) : tensor<200x784xf32>
  return %t1, %v1, %a1, %a2 : tensor<200x784xf32>, tensor<200x784xf32>, tensor<200x784xf32>, tensor<200x784xf32>
}

// -----

// CHECK-LABEL: func.func @adabreg_none_l1_pos_rank0(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<f32>, %[[V:[^:]*]]: tensor<f32>, %[[G:[^:]*]]: tensor<f32>, %[[M1:[^:]*]]: tensor<f32>, %[[M2:[^:]*]]: tensor<f32>,
// CHECK-SAME:    %[[X:[^:]*]]: f32)
// CHECK:         %[[T1:[^,]*]], %[[V1:[^,]*]], %[[A1:[^,]*]], %[[B1:[^,]*]] = breg.adabreg_update #breg.none %[[T]], %[[V]], %[[G]], %[[M1]], %[[M2]] lr(%[[X]]) delta(%[[X]]) lambda(%[[X]]) betas(%[[X]], %[[X]]) eps(%[[X]]) step(%[[X]]) {tag = "extra"} : tensor<f32>
// CHECK-NEXT:    %[[T2:[^,]*]], %{{[^,]*}}, %{{[^,]*}}, %[[B2:[^,]*]] = breg.adabreg_update #breg.l1_pos %[[T1]], %[[V1]], %[[G]], %[[A1]], %[[B1]] lr(%[[X]]) delta(%[[X]]) lambda(%[[X]]) betas(%[[X]], %[[X]]) eps(%[[X]]) step(%[[X]]) : tensor<f32>
// CHECK-NEXT:    return %[[T2]], %[[B2]] : tensor<f32>, tensor<f32>
// GENERIC-LABEL: sym_name = "adabreg_none_l1_pos_rank0"
// GENERIC:         %[[R:.*]]:4 = "breg.adabreg_update"({{.*}}) <{reg = #breg.none}> {tag = "extra"} : (tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>, f32, f32, f32, f32, f32, f32, f32) -> (tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>)
// GENERIC:         "breg.adabreg_update"(%[[R]]#0, %[[R]]#1, %{{.*}}, %[[R]]#2, %[[R]]#3, {{.*}}) <{reg = #breg.l1_pos}>
func.func @adabreg_none_l1_pos_rank0(%t: tensor<f32>, %v: tensor<f32>, %g: tensor<f32>, %m1: tensor<f32>, %m2: tensor<f32>,
                                     %x: f32) -> (tensor<f32>, tensor<f32>) {
  %r:4 = breg.adabreg_update #breg.none %t, %v, %g, %m1, %m2
      lr(%x) delta(%x) lambda(%x) betas(%x, %x) eps(%x) step(%x) {tag = "extra"} : tensor<f32>
  %s:4 = breg.adabreg_update #breg.l1_pos %r#0, %r#1, %g, %r#2, %r#3
      lr(%x) delta(%x) lambda(%x) betas(%x, %x) eps(%x) step(%x) : tensor<f32>
  return %s#0, %s#3 : tensor<f32>, tensor<f32>
}

// -----

// CHECK-LABEL: func.func @proxsgd(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<10xf32>, %[[G:[^:]*]]: tensor<10xf32>, %[[LR:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK:         %[[T1:.*]] = breg.proxsgd_update #breg.l1 %[[T]], %[[G]] lr(%[[LR]]) lambda(%[[L]]) : tensor<10xf32>
// CHECK-NEXT:    %[[T2:.*]] = breg.proxsgd_update #breg.l1_pos %[[T1]], %[[G]] lr(%[[LR]]) lambda(%[[L]]) : tensor<10xf32>
// CHECK-NEXT:    %[[T3:.*]] = breg.proxsgd_update #breg.none %[[T2]], %[[G]] lr(%[[LR]]) lambda(%[[L]]) : tensor<10xf32>
// CHECK-NEXT:    return %[[T3]] : tensor<10xf32>
// GENERIC-LABEL: sym_name = "proxsgd"
// GENERIC:         "breg.proxsgd_update"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.l1}> : (tensor<10xf32>, tensor<10xf32>, f32, f32) -> tensor<10xf32>
// GENERIC:         "breg.proxsgd_update"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.l1_pos}> : (tensor<10xf32>, tensor<10xf32>, f32, f32) -> tensor<10xf32>
// GENERIC:         "breg.proxsgd_update"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.none}> : (tensor<10xf32>, tensor<10xf32>, f32, f32) -> tensor<10xf32>
func.func @proxsgd(%t: tensor<10xf32>, %g: tensor<10xf32>, %lr: f32, %l: f32) -> tensor<10xf32> {
  %t1 = breg.proxsgd_update #breg.l1 %t, %g lr(%lr) lambda(%l) : tensor<10xf32>
  %t2 = breg.proxsgd_update #breg.l1_pos %t1, %g lr(%lr) lambda(%l) : tensor<10xf32>
  %t3 = breg.proxsgd_update #breg.none %t2, %g lr(%lr) lambda(%l) : tensor<10xf32>
  return %t3 : tensor<10xf32>
}

// -----

// CHECK-LABEL: func.func @sgd(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<2x3x4xf32>, %[[G:[^:]*]]: tensor<2x3x4xf32>, %[[M:[^:]*]]: tensor<2x3x4xf32>, %[[LR:[^:]*]]: f32, %[[B:[^:]*]]: f32)
// CHECK:         %[[T1:.*]] = breg.sgd_update %[[T]], %[[G]] lr(%[[LR]]) : tensor<2x3x4xf32>
// CHECK-NEXT:    %[[T2:.*]], %[[M2:.*]] = breg.sgd_update %[[T1]], %[[G]] lr(%[[LR]]) momentum(%[[M]], %[[B]] : tensor<2x3x4xf32>) : tensor<2x3x4xf32>
// CHECK-NEXT:    return %[[T2]], %[[M2]] : tensor<2x3x4xf32>, tensor<2x3x4xf32>
// GENERIC-LABEL: sym_name = "sgd"
// GENERIC:         %[[R:.*]] = "breg.sgd_update"(%{{.*}}, %{{.*}}, %{{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0>}> : (tensor<2x3x4xf32>, tensor<2x3x4xf32>, f32) -> tensor<2x3x4xf32>
// GENERIC:         %{{.*}}:2 = "breg.sgd_update"(%[[R]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1>}> : (tensor<2x3x4xf32>, tensor<2x3x4xf32>, f32, tensor<2x3x4xf32>, f32) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>)
func.func @sgd(%t: tensor<2x3x4xf32>, %g: tensor<2x3x4xf32>, %m: tensor<2x3x4xf32>, %lr: f32, %b: f32)
    -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>) {
  %t1 = breg.sgd_update %t, %g lr(%lr) : tensor<2x3x4xf32>
  %t2, %m2 = breg.sgd_update %t1, %g lr(%lr) momentum(%m, %b : tensor<2x3x4xf32>) : tensor<2x3x4xf32>
  return %t2, %m2 : tensor<2x3x4xf32>, tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @sgd_dynamic(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<?x8xf32>, %[[G:[^:]*]]: tensor<?x8xf32>, %[[LR:[^:]*]]: f32)
// CHECK:         %[[T1:.*]] = breg.sgd_update %[[T]], %[[G]] lr(%[[LR]]) : tensor<?x8xf32>
// CHECK-NEXT:    return %[[T1]]
func.func @sgd_dynamic(%t: tensor<?x8xf32>, %g: tensor<?x8xf32>, %lr: f32) -> tensor<?x8xf32> {
  %t1 = breg.sgd_update %t, %g lr(%lr) : tensor<?x8xf32>
  return %t1 : tensor<?x8xf32>
}

// -----

// CHECK-LABEL: func.func @adam(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<4x8xf32>, %[[G:[^:]*]]: tensor<4x8xf32>, %[[M1:[^:]*]]: tensor<4x8xf32>, %[[M2:[^:]*]]: tensor<4x8xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[B1:[^:]*]]: f32, %[[B2:[^:]*]]: f32, %[[E:[^:]*]]: f32, %[[S:[^:]*]]: f32)
// CHECK:         %[[T1:.*]], %[[A1:.*]], %[[A2:.*]] = breg.adam_update %[[T]], %[[G]], %[[M1]], %[[M2]] lr(%[[LR]]) betas(%[[B1]], %[[B2]]) eps(%[[E]]) step(%[[S]]) : tensor<4x8xf32>
// CHECK-NEXT:    return %[[T1]], %[[A1]], %[[A2]] : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
// GENERIC-LABEL: sym_name = "adam"
// GENERIC:         %{{.*}}:3 = "breg.adam_update"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, f32, f32, f32, f32, f32) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>)
func.func @adam(%t: tensor<4x8xf32>, %g: tensor<4x8xf32>, %m1: tensor<4x8xf32>, %m2: tensor<4x8xf32>,
                %lr: f32, %b1: f32, %b2: f32, %eps: f32, %step: f32)
    -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %t1, %a1, %a2 = breg.adam_update %t, %g, %m1, %m2 lr(%lr)
      betas(%b1, %b2) eps(%eps) step(%step) : tensor<4x8xf32>
  return %t1, %a1, %a2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// The group regularisers parse and print on their own as well.
// CHECK-LABEL: func.func @group_attributes()
// CHECK-SAME:    attributes {reg_l1_l2 = #breg.l1_l2, reg_l1_l2_conv = #breg.l1_l2_conv}
// GENERIC-LABEL: sym_name = "group_attributes"
// GENERIC:         }) {reg_l1_l2 = #breg.l1_l2, reg_l1_l2_conv = #breg.l1_l2_conv} : () -> ()
func.func @group_attributes() attributes {reg_l1_l2_conv = #breg.l1_l2_conv, reg_l1_l2 = #breg.l1_l2} {
  return
}

// -----

// #breg.l1_l2 (row groups) on every op that takes a regulariser; only the
// column dimension (the group) has to be static.
// CHECK-LABEL: func.func @l1_l2_ops(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<200x784xf32>, %[[V:[^:]*]]: tensor<200x784xf32>, %[[G:[^:]*]]: tensor<200x784xf32>, %[[M:[^:]*]]: tensor<200x784xf32>,
// CHECK-SAME:    %[[D:[^:]*]]: tensor<?x784xf32>, %[[X:[^:]*]]: f32)
// CHECK:         %[[Y:.*]] = breg.prox #breg.l1_l2 %[[T]], %[[X]], %[[X]] : tensor<200x784xf32>
// CHECK-NEXT:    %[[YD:.*]] = breg.prox #breg.l1_l2 %[[D]], %[[X]], %[[X]] : tensor<?x784xf32>
// CHECK-NEXT:    %[[S:.*]] = breg.subgradient_init #breg.l1_l2 %[[Y]], %[[X]], %[[X]] : tensor<200x784xf32>
// CHECK-NEXT:    %[[T1:[^,]*]], %[[V1:[^,]*]] = breg.linbreg_update #breg.l1_l2 %[[T]], %[[S]], %[[G]] lr(%[[X]]) delta(%[[X]]) lambda(%[[X]]) : tensor<200x784xf32>
// CHECK-NEXT:    %[[T2:[^,]*]], %[[V2:[^,]*]], %[[M2:[^,]*]] = breg.linbreg_update #breg.l1_l2 %[[T1]], %[[V1]], %[[G]] lr(%[[X]]) delta(%[[X]]) lambda(%[[X]]) momentum(%[[M]], %[[X]] : tensor<200x784xf32>) : tensor<200x784xf32>
// CHECK-NEXT:    %[[T3:[^,]*]], %[[V3:[^,]*]], %[[A1:[^,]*]], %[[A2:[^,]*]] = breg.adabreg_update #breg.l1_l2 %[[T2]], %[[V2]], %[[G]], %[[M2]], %[[M]] lr(%[[X]]) delta(%[[X]]) lambda(%[[X]]) betas(%[[X]], %[[X]]) eps(%[[X]]) step(%[[X]]) : tensor<200x784xf32>
// CHECK-NEXT:    %[[T4:.*]] = breg.proxsgd_update #breg.l1_l2 %[[T3]], %[[G]] lr(%[[X]]) lambda(%[[X]]) : tensor<200x784xf32>
// CHECK-NEXT:    return %[[T4]], %[[YD]] : tensor<200x784xf32>, tensor<?x784xf32>
// GENERIC-LABEL: sym_name = "l1_l2_ops"
// GENERIC:         "breg.prox"(%{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.l1_l2}> : (tensor<200x784xf32>, f32, f32) -> tensor<200x784xf32>
// GENERIC:         "breg.prox"(%{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.l1_l2}> : (tensor<?x784xf32>, f32, f32) -> tensor<?x784xf32>
// GENERIC:         "breg.subgradient_init"(%{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.l1_l2}> : (tensor<200x784xf32>, f32, f32) -> tensor<200x784xf32>
// GENERIC:         "breg.linbreg_update"({{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0, 0>, reg = #breg.l1_l2}>
// GENERIC:         "breg.linbreg_update"({{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1, 0>, reg = #breg.l1_l2}>
// GENERIC:         "breg.adabreg_update"({{.*}}) <{reg = #breg.l1_l2}>
// GENERIC:         "breg.proxsgd_update"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.l1_l2}> : (tensor<200x784xf32>, tensor<200x784xf32>, f32, f32) -> tensor<200x784xf32>
func.func @l1_l2_ops(%t: tensor<200x784xf32>, %v: tensor<200x784xf32>, %g: tensor<200x784xf32>, %m: tensor<200x784xf32>,
                     %d: tensor<?x784xf32>, %x: f32) -> (tensor<200x784xf32>, tensor<?x784xf32>) {
  %y = breg.prox #breg.l1_l2 %t, %x, %x : tensor<200x784xf32>
  %yd = breg.prox #breg.l1_l2 %d, %x, %x : tensor<?x784xf32>
  %s = breg.subgradient_init #breg.l1_l2 %y, %x, %x : tensor<200x784xf32>
  %t1, %v1 = breg.linbreg_update #breg.l1_l2 %t, %s, %g lr(%x) delta(%x) lambda(%x) : tensor<200x784xf32>
  %t2, %v2, %m2 = breg.linbreg_update #breg.l1_l2 %t1, %v1, %g lr(%x) delta(%x) lambda(%x)
      momentum(%m, %x : tensor<200x784xf32>) : tensor<200x784xf32>
  %r:4 = breg.adabreg_update #breg.l1_l2 %t2, %v2, %g, %m2, %m
      lr(%x) delta(%x) lambda(%x) betas(%x, %x) eps(%x) step(%x) : tensor<200x784xf32>
  %t4 = breg.proxsgd_update #breg.l1_l2 %r#0, %g lr(%x) lambda(%x) : tensor<200x784xf32>
  return %t4, %yd : tensor<200x784xf32>, tensor<?x784xf32>
}

// -----

// #breg.l1_l2_conv (kernel groups of a conv weight (out, in, kh, kw)) on every
// op that takes a regulariser; the leading dimensions may be dynamic.
// CHECK-LABEL: func.func @l1_l2_conv_ops(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<16x8x3x3xf32>, %[[G:[^:]*]]: tensor<16x8x3x3xf32>, %[[M:[^:]*]]: tensor<16x8x3x3xf32>,
// CHECK-SAME:    %[[D:[^:]*]]: tensor<?x?x5x3xf32>, %[[X:[^:]*]]: f32)
// CHECK:         %[[Y:.*]] = breg.prox #breg.l1_l2_conv %[[T]], %[[X]], %[[X]] {tag = "extra"} : tensor<16x8x3x3xf32>
// CHECK-NEXT:    %[[YD:.*]] = breg.prox #breg.l1_l2_conv %[[D]], %[[X]], %[[X]] : tensor<?x?x5x3xf32>
// CHECK-NEXT:    %[[S:.*]] = breg.subgradient_init #breg.l1_l2_conv %[[Y]], %[[X]], %[[X]] : tensor<16x8x3x3xf32>
// CHECK-NEXT:    %[[T1:[^,]*]], %[[V1:[^,]*]], %[[M1:[^,]*]] = breg.linbreg_update #breg.l1_l2_conv %[[T]], %[[S]], %[[G]] lr(%[[X]]) delta(%[[X]]) lambda(%[[X]]) momentum(%[[M]], %[[X]] : tensor<16x8x3x3xf32>) : tensor<16x8x3x3xf32>
// CHECK-NEXT:    %[[T3:[^,]*]], %[[V3:[^,]*]], %[[A1:[^,]*]], %[[A2:[^,]*]] = breg.adabreg_update #breg.l1_l2_conv %[[T1]], %[[V1]], %[[G]], %[[M1]], %[[M]] lr(%[[X]]) delta(%[[X]]) lambda(%[[X]]) betas(%[[X]], %[[X]]) eps(%[[X]]) step(%[[X]]) : tensor<16x8x3x3xf32>
// CHECK-NEXT:    %[[T4:.*]] = breg.proxsgd_update #breg.l1_l2_conv %[[T3]], %[[G]] lr(%[[X]]) lambda(%[[X]]) : tensor<16x8x3x3xf32>
// CHECK-NEXT:    return %[[T4]], %[[YD]] : tensor<16x8x3x3xf32>, tensor<?x?x5x3xf32>
// GENERIC-LABEL: sym_name = "l1_l2_conv_ops"
// GENERIC:         "breg.prox"(%{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.l1_l2_conv}> {tag = "extra"} : (tensor<16x8x3x3xf32>, f32, f32) -> tensor<16x8x3x3xf32>
// GENERIC:         "breg.prox"(%{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.l1_l2_conv}> : (tensor<?x?x5x3xf32>, f32, f32) -> tensor<?x?x5x3xf32>
// GENERIC:         "breg.subgradient_init"(%{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.l1_l2_conv}> : (tensor<16x8x3x3xf32>, f32, f32) -> tensor<16x8x3x3xf32>
// GENERIC:         "breg.linbreg_update"({{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1, 0>, reg = #breg.l1_l2_conv}>
// GENERIC:         "breg.adabreg_update"({{.*}}) <{reg = #breg.l1_l2_conv}>
// GENERIC:         "breg.proxsgd_update"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{reg = #breg.l1_l2_conv}> : (tensor<16x8x3x3xf32>, tensor<16x8x3x3xf32>, f32, f32) -> tensor<16x8x3x3xf32>
func.func @l1_l2_conv_ops(%t: tensor<16x8x3x3xf32>, %g: tensor<16x8x3x3xf32>, %m: tensor<16x8x3x3xf32>,
                          %d: tensor<?x?x5x3xf32>, %x: f32) -> (tensor<16x8x3x3xf32>, tensor<?x?x5x3xf32>) {
  %y = breg.prox #breg.l1_l2_conv %t, %x, %x {tag = "extra"} : tensor<16x8x3x3xf32>
  %yd = breg.prox #breg.l1_l2_conv %d, %x, %x : tensor<?x?x5x3xf32>
  %s = breg.subgradient_init #breg.l1_l2_conv %y, %x, %x : tensor<16x8x3x3xf32>
  %t1, %v1, %m1 = breg.linbreg_update #breg.l1_l2_conv %t, %s, %g lr(%x) delta(%x) lambda(%x)
      momentum(%m, %x : tensor<16x8x3x3xf32>) : tensor<16x8x3x3xf32>
  %r:4 = breg.adabreg_update #breg.l1_l2_conv %t1, %v1, %g, %m1, %m
      lr(%x) delta(%x) lambda(%x) betas(%x, %x) eps(%x) step(%x) : tensor<16x8x3x3xf32>
  %t4 = breg.proxsgd_update #breg.l1_l2_conv %r#0, %g lr(%x) lambda(%x) : tensor<16x8x3x3xf32>
  return %t4, %yd : tensor<16x8x3x3xf32>, tensor<?x?x5x3xf32>
}
