// Round trip of every breg op and regulariser attribute: custom form twice,
// and custom -> generic -> custom.
// RUN: bregman-opt %s -split-input-file | bregman-opt -split-input-file | FileCheck %s
// RUN: bregman-opt %s -split-input-file -mlir-print-op-generic | bregman-opt -split-input-file | FileCheck %s
// RUN: bregman-opt %s -split-input-file -mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// Both regulariser attributes parse and print on their own.
// CHECK-LABEL: func.func @attributes()
// CHECK-SAME:    reg_l1 = #breg.l1
// CHECK-SAME:    reg_none = #breg.none
// GENERIC-LABEL: sym_name = "attributes"
// GENERIC:         }) {reg_l1 = #breg.l1, reg_none = #breg.none} : () -> ()
func.func @attributes() attributes {reg_none = #breg.none, reg_l1 = #breg.l1} {
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
// GENERIC:         %{{.*}}:2 = "breg.linbreg_update"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0>, reg = #breg.l1}> : (tensor<200x784xf32>, tensor<200x784xf32>, tensor<200x784xf32>, f32, f32, f32) -> (tensor<200x784xf32>, tensor<200x784xf32>)
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
// GENERIC:         %{{.*}}:3 = "breg.linbreg_update"(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1>, reg = #breg.l1}> : (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>, f32, f32, f32, tensor<2x3x4xf32>, f32) -> (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>)
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
// GENERIC:         %[[R:.*]]:2 = "breg.linbreg_update"({{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 0>, reg = #breg.none}> : (tensor<f32>, tensor<f32>, tensor<f32>, f32, f32, f32) -> (tensor<f32>, tensor<f32>)
// GENERIC:         "breg.linbreg_update"(%[[R]]#0, %[[R]]#1, {{.*}}) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 1, 1>, reg = #breg.none}>
func.func @linbreg_none_rank0(%t: tensor<f32>, %v: tensor<f32>, %g: tensor<f32>, %m: tensor<f32>,
                              %lr: f32, %d: f32, %l: f32, %b: f32) -> (tensor<f32>, tensor<f32>, tensor<f32>) {
  %t1, %v1 = breg.linbreg_update #breg.none %t, %v, %g lr(%lr) delta(%d) lambda(%l) : tensor<f32>
  %t2, %v2, %m2 = breg.linbreg_update #breg.none %t1, %v1, %g lr(%lr) delta(%d) lambda(%l)
      momentum(%m, %b : tensor<f32>) : tensor<f32>
  return %t2, %v2, %m2 : tensor<f32>, tensor<f32>, tensor<f32>
}
