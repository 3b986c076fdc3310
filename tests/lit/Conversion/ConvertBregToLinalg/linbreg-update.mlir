// breg.linbreg_update -> ONE elementwise linalg.generic whose outs are the
// state tensors θ, v (and m), so that bufferization updates them in place.
// ALGORITHMS.md §2 (LinBreg):
//   β = 0:  v' = v − lr·g
//   β > 0:  m' = β·m + (1 − β)·lr·g ;  v' = v − m'
//   then    θ' = prox_{δJ}(δ·v')  (l1: sign(δv')·max(|δv'| − δλ, 0);
//                                   l1_pos: max(δv' − δλ, 0); none: δv')
// RUN: bregman-opt %s -split-input-file -convert-breg-to-linalg | FileCheck %s

// CHECK-DAG:   #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$SCALAR2:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @linbreg_l1(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<20x30xf32>, %[[V:[^:]*]]: tensor<20x30xf32>, %[[G:[^:]*]]: tensor<20x30xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// The threshold δ·λ is computed once, outside the loop.
// CHECK-NEXT:    %[[THR:.*]] = arith.mulf %[[D]], %[[L]] : f32
// CHECK-NOT:     tensor.empty
// CHECK-NEXT:    %[[R:.*]]:2 = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$ID2]], #[[$ID2]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel"]
// CHECK-SAME:      ins(%[[G]], %[[LR]], %[[D]], %[[THR]] : tensor<20x30xf32>, f32, f32, f32)
// CHECK-SAME:      outs(%[[T]], %[[V]] : tensor<20x30xf32>, tensor<20x30xf32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %[[THRE:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VE:[^:]*]]: f32):
// CHECK-NEXT:      %[[STEP:.*]] = arith.mulf %[[LRE]], %[[GE]] : f32
// CHECK-NEXT:      %[[NV:.*]] = arith.subf %[[VE]], %[[STEP]] : f32
// CHECK-NEXT:      %[[DV:.*]] = arith.mulf %[[DE]], %[[NV]] : f32
// CHECK-NEXT:      %[[ABS:.*]] = math.absf %[[DV]] : f32
// CHECK-NEXT:      %[[SH:.*]] = arith.subf %[[ABS]], %[[THRE]] : f32
// CHECK-NEXT:      %[[MAG:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:      %[[NT:.*]] = math.copysign %[[MAG]], %[[DV]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]], %[[NV]] : f32, f32
// CHECK-NEXT:    } -> (tensor<20x30xf32>, tensor<20x30xf32>)
// CHECK-NEXT:    return %[[R]]#0, %[[R]]#1 : tensor<20x30xf32>, tensor<20x30xf32>
func.func @linbreg_l1(%t: tensor<20x30xf32>, %v: tensor<20x30xf32>, %g: tensor<20x30xf32>,
                      %lr: f32, %d: f32, %l: f32) -> (tensor<20x30xf32>, tensor<20x30xf32>) {
  %t1, %v1 = breg.linbreg_update #breg.l1 %t, %v, %g lr(%lr) delta(%d) lambda(%l) : tensor<20x30xf32>
  return %t1, %v1 : tensor<20x30xf32>, tensor<20x30xf32>
}

// -----

// CHECK-DAG:   #[[$ID1:.*]] = affine_map<(d0) -> (d0)>
// CHECK-DAG:   #[[$SCALAR1:.*]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @linbreg_l1_momentum(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<16xf32>, %[[V:[^:]*]]: tensor<16xf32>, %[[G:[^:]*]]: tensor<16xf32>, %[[M:[^:]*]]: tensor<16xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32, %[[B:[^:]*]]: f32)
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[THR:.*]] = arith.mulf %[[D]], %[[L]] : f32
// CHECK-DAG:     %[[OMB:.*]] = arith.subf %[[ONE]], %[[B]] : f32
// CHECK:         %[[R:.*]]:3 = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$ID1]], #[[$ID1]], #[[$ID1]]]
// CHECK-SAME:      iterator_types = ["parallel"]
// CHECK-SAME:      ins(%[[G]], %[[LR]], %[[D]], %[[THR]], %[[B]], %[[OMB]] : tensor<16xf32>, f32, f32, f32, f32, f32)
// CHECK-SAME:      outs(%[[T]], %[[V]], %[[M]] : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %[[THRE:[^:]*]]: f32, %[[BE:[^:]*]]: f32, %[[OMBE:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VE:[^:]*]]: f32, %[[ME:[^:]*]]: f32):
// CHECK-NEXT:      %[[STEP:.*]] = arith.mulf %[[LRE]], %[[GE]] : f32
// CHECK-NEXT:      %[[BM:.*]] = arith.mulf %[[BE]], %[[ME]] : f32
// CHECK-NEXT:      %[[OMBS:.*]] = arith.mulf %[[OMBE]], %[[STEP]] : f32
// CHECK-NEXT:      %[[NM:.*]] = arith.addf %[[BM]], %[[OMBS]] : f32
// CHECK-NEXT:      %[[NV:.*]] = arith.subf %[[VE]], %[[NM]] : f32
// CHECK-NEXT:      %[[DV:.*]] = arith.mulf %[[DE]], %[[NV]] : f32
// CHECK-NEXT:      %[[ABS:.*]] = math.absf %[[DV]] : f32
// CHECK-NEXT:      %[[SH:.*]] = arith.subf %[[ABS]], %[[THRE]] : f32
// CHECK-NEXT:      %[[MAG:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:      %[[NT:.*]] = math.copysign %[[MAG]], %[[DV]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]], %[[NV]], %[[NM]] : f32, f32, f32
// CHECK-NEXT:    } -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
// CHECK-NEXT:    return %[[R]]#0, %[[R]]#1, %[[R]]#2 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
func.func @linbreg_l1_momentum(%t: tensor<16xf32>, %v: tensor<16xf32>, %g: tensor<16xf32>, %m: tensor<16xf32>,
                               %lr: f32, %d: f32, %l: f32, %b: f32)
    -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) {
  %t1, %v1, %m1 = breg.linbreg_update #breg.l1 %t, %v, %g lr(%lr) delta(%d) lambda(%l)
      momentum(%m, %b : tensor<16xf32>) : tensor<16xf32>
  return %t1, %v1, %m1 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
}

// -----

// J = 0 is plain SGD on v: exactly v' = v − lr·g, θ' = δ·v' (no threshold, no
// constants; λ is not used).
// CHECK-DAG:   #[[$ID1:.*]] = affine_map<(d0) -> (d0)>
// CHECK-DAG:   #[[$SCALAR1:.*]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @linbreg_none(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<16xf32>, %[[V:[^:]*]]: tensor<16xf32>, %[[G:[^:]*]]: tensor<16xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK-NOT:     arith.
// CHECK-NEXT:    %[[R:.*]]:2 = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$ID1]], #[[$ID1]]]
// CHECK-SAME:      iterator_types = ["parallel"]
// CHECK-SAME:      ins(%[[G]], %[[LR]], %[[D]] : tensor<16xf32>, f32, f32)
// CHECK-SAME:      outs(%[[T]], %[[V]] : tensor<16xf32>, tensor<16xf32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VE:[^:]*]]: f32):
// CHECK-NEXT:      %[[STEP:.*]] = arith.mulf %[[LRE]], %[[GE]] : f32
// CHECK-NEXT:      %[[NV:.*]] = arith.subf %[[VE]], %[[STEP]] : f32
// CHECK-NEXT:      %[[NT:.*]] = arith.mulf %[[DE]], %[[NV]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]], %[[NV]] : f32, f32
// CHECK-NEXT:    } -> (tensor<16xf32>, tensor<16xf32>)
// CHECK-NEXT:    return %[[R]]#0, %[[R]]#1 : tensor<16xf32>, tensor<16xf32>
func.func @linbreg_none(%t: tensor<16xf32>, %v: tensor<16xf32>, %g: tensor<16xf32>,
                        %lr: f32, %d: f32, %l: f32) -> (tensor<16xf32>, tensor<16xf32>) {
  %t1, %v1 = breg.linbreg_update #breg.none %t, %v, %g lr(%lr) delta(%d) lambda(%l) : tensor<16xf32>
  return %t1, %v1 : tensor<16xf32>, tensor<16xf32>
}

// -----

// J = 0 with momentum, on a rank-0 parameter (all maps are `() -> ()`).
// CHECK-DAG:   #[[$MAP0:.*]] = affine_map<() -> ()>
// CHECK-LABEL: func.func @linbreg_none_momentum_rank0(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<f32>, %[[V:[^:]*]]: tensor<f32>, %[[G:[^:]*]]: tensor<f32>, %[[M:[^:]*]]: tensor<f32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32, %[[B:[^:]*]]: f32)
// CHECK:         %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:    %[[OMB:.*]] = arith.subf %[[ONE]], %[[B]] : f32
// CHECK-NEXT:    %[[R:.*]]:3 = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]]]
// CHECK-SAME:      iterator_types = []
// CHECK-SAME:      ins(%[[G]], %[[LR]], %[[D]], %[[B]], %[[OMB]] : tensor<f32>, f32, f32, f32, f32)
// CHECK-SAME:      outs(%[[T]], %[[V]], %[[M]] : tensor<f32>, tensor<f32>, tensor<f32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %[[BE:[^:]*]]: f32, %[[OMBE:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VE:[^:]*]]: f32, %[[ME:[^:]*]]: f32):
// CHECK-NEXT:      %[[STEP:.*]] = arith.mulf %[[LRE]], %[[GE]] : f32
// CHECK-NEXT:      %[[BM:.*]] = arith.mulf %[[BE]], %[[ME]] : f32
// CHECK-NEXT:      %[[OMBS:.*]] = arith.mulf %[[OMBE]], %[[STEP]] : f32
// CHECK-NEXT:      %[[NM:.*]] = arith.addf %[[BM]], %[[OMBS]] : f32
// CHECK-NEXT:      %[[NV:.*]] = arith.subf %[[VE]], %[[NM]] : f32
// CHECK-NEXT:      %[[NT:.*]] = arith.mulf %[[DE]], %[[NV]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]], %[[NV]], %[[NM]] : f32, f32, f32
// CHECK-NEXT:    } -> (tensor<f32>, tensor<f32>, tensor<f32>)
func.func @linbreg_none_momentum_rank0(%t: tensor<f32>, %v: tensor<f32>, %g: tensor<f32>, %m: tensor<f32>,
                                       %lr: f32, %d: f32, %l: f32, %b: f32)
    -> (tensor<f32>, tensor<f32>, tensor<f32>) {
  %t1, %v1, %m1 = breg.linbreg_update #breg.none %t, %v, %g lr(%lr) delta(%d) lambda(%l)
      momentum(%m, %b : tensor<f32>) : tensor<f32>
  return %t1, %v1, %m1 : tensor<f32>, tensor<f32>, tensor<f32>
}

// -----

// l1_pos: θ' = max(δ·v' − δλ, 0).
// CHECK-DAG:   #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$SCALAR2:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @linbreg_l1_pos(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<20x30xf32>, %[[V:[^:]*]]: tensor<20x30xf32>, %[[G:[^:]*]]: tensor<20x30xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[THR:.*]] = arith.mulf %[[D]], %[[L]] : f32
// CHECK-NOT:     tensor.empty
// CHECK-NEXT:    %[[R:.*]]:2 = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$ID2]], #[[$ID2]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel"]
// CHECK-SAME:      ins(%[[G]], %[[LR]], %[[D]], %[[THR]] : tensor<20x30xf32>, f32, f32, f32)
// CHECK-SAME:      outs(%[[T]], %[[V]] : tensor<20x30xf32>, tensor<20x30xf32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %[[THRE:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VE:[^:]*]]: f32):
// CHECK-NEXT:      %[[STEP:.*]] = arith.mulf %[[LRE]], %[[GE]] : f32
// CHECK-NEXT:      %[[NV:.*]] = arith.subf %[[VE]], %[[STEP]] : f32
// CHECK-NEXT:      %[[DV:.*]] = arith.mulf %[[DE]], %[[NV]] : f32
// CHECK-NEXT:      %[[SH:.*]] = arith.subf %[[DV]], %[[THRE]] : f32
// CHECK-NEXT:      %[[NT:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]], %[[NV]] : f32, f32
// CHECK-NEXT:    } -> (tensor<20x30xf32>, tensor<20x30xf32>)
// CHECK-NEXT:    return %[[R]]#0, %[[R]]#1 : tensor<20x30xf32>, tensor<20x30xf32>
func.func @linbreg_l1_pos(%t: tensor<20x30xf32>, %v: tensor<20x30xf32>, %g: tensor<20x30xf32>,
                          %lr: f32, %d: f32, %l: f32) -> (tensor<20x30xf32>, tensor<20x30xf32>) {
  %t1, %v1 = breg.linbreg_update #breg.l1_pos %t, %v, %g lr(%lr) delta(%d) lambda(%l) : tensor<20x30xf32>
  return %t1, %v1 : tensor<20x30xf32>, tensor<20x30xf32>
}

// -----

// l1_pos with momentum.
// CHECK-DAG:   #[[$ID1:.*]] = affine_map<(d0) -> (d0)>
// CHECK-DAG:   #[[$SCALAR1:.*]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @linbreg_l1_pos_momentum(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<16xf32>, %[[V:[^:]*]]: tensor<16xf32>, %[[G:[^:]*]]: tensor<16xf32>, %[[M:[^:]*]]: tensor<16xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32, %[[B:[^:]*]]: f32)
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[THR:.*]] = arith.mulf %[[D]], %[[L]] : f32
// CHECK-DAG:     %[[OMB:.*]] = arith.subf %[[ONE]], %[[B]] : f32
// CHECK:         %[[R:.*]]:3 = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$ID1]], #[[$ID1]], #[[$ID1]]]
// CHECK-SAME:      iterator_types = ["parallel"]
// CHECK-SAME:      ins(%[[G]], %[[LR]], %[[D]], %[[THR]], %[[B]], %[[OMB]] : tensor<16xf32>, f32, f32, f32, f32, f32)
// CHECK-SAME:      outs(%[[T]], %[[V]], %[[M]] : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %[[THRE:[^:]*]]: f32, %[[BE:[^:]*]]: f32, %[[OMBE:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VE:[^:]*]]: f32, %[[ME:[^:]*]]: f32):
// CHECK-NEXT:      %[[STEP:.*]] = arith.mulf %[[LRE]], %[[GE]] : f32
// CHECK-NEXT:      %[[BM:.*]] = arith.mulf %[[BE]], %[[ME]] : f32
// CHECK-NEXT:      %[[OMBS:.*]] = arith.mulf %[[OMBE]], %[[STEP]] : f32
// CHECK-NEXT:      %[[NM:.*]] = arith.addf %[[BM]], %[[OMBS]] : f32
// CHECK-NEXT:      %[[NV:.*]] = arith.subf %[[VE]], %[[NM]] : f32
// CHECK-NEXT:      %[[DV:.*]] = arith.mulf %[[DE]], %[[NV]] : f32
// CHECK-NEXT:      %[[SH:.*]] = arith.subf %[[DV]], %[[THRE]] : f32
// CHECK-NEXT:      %[[NT:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]], %[[NV]], %[[NM]] : f32, f32, f32
// CHECK-NEXT:    } -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
// CHECK-NEXT:    return %[[R]]#0, %[[R]]#1, %[[R]]#2 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
func.func @linbreg_l1_pos_momentum(%t: tensor<16xf32>, %v: tensor<16xf32>, %g: tensor<16xf32>, %m: tensor<16xf32>,
                                   %lr: f32, %d: f32, %l: f32, %b: f32)
    -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) {
  %t1, %v1, %m1 = breg.linbreg_update #breg.l1_pos %t, %v, %g lr(%lr) delta(%d) lambda(%l)
      momentum(%m, %b : tensor<16xf32>) : tensor<16xf32>
  return %t1, %v1, %m1 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
}
