// breg.adabreg_update -> ONE elementwise linalg.generic whose outs are the
// state tensors θ, v, m1, m2 (updated in place after bufferization); the
// bias corrections and the threshold are scalar work done once, before the
// loop. ALGORITHMS.md §2 (AdaBreg), with t = `step` already incremented:
//   m1' = β₁·m1 + (1 − β₁)·g ;  m2' = β₂·m2 + (1 − β₂)·g²
//   d   = √m2' / √(1 − β₂ᵗ) + ε
//   v'  = v − (lr / (1 − β₁ᵗ))·m1' / d
//   θ'  = prox_{δJ}(δ·v')   (l1: sign(x)·max(|x| − δλ, 0); l1_pos: max(x − δλ, 0); none: x)
// RUN: bregman-opt %s -split-input-file -convert-breg-to-linalg | FileCheck %s

// CHECK-DAG:   #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$SCALAR2:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @adabreg_l1(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<4x8xf32>, %[[V:[^:]*]]: tensor<4x8xf32>, %[[G:[^:]*]]: tensor<4x8xf32>, %[[M1:[^:]*]]: tensor<4x8xf32>, %[[M2:[^:]*]]: tensor<4x8xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32, %[[B1:[^:]*]]: f32, %[[B2:[^:]*]]: f32, %[[EPS:[^:]*]]: f32, %[[S:[^:]*]]: f32)
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[ONED:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// Scalar prelude: 1 − β₁, 1 − β₂, β₁ᵗ, β₂ᵗ, lr/(1 − β₁ᵗ), √(1 − β₂ᵗ), δ·λ.
// CHECK:         %[[OMB1:.*]] = arith.subf %[[ONE]], %[[B1]] : f32
// CHECK-NEXT:    %[[OMB2:.*]] = arith.subf %[[ONE]], %[[B2]] : f32
// The bias corrections are computed in f64, then rounded once.
// CHECK-NEXT:    %[[SD:.*]] = arith.extf %[[S]] : f32 to f64
// CHECK-NEXT:    %[[B1D:.*]] = arith.extf %[[B1]] : f32 to f64
// CHECK-NEXT:    %[[B1T:.*]] = math.powf %[[B1D]], %[[SD]] : f64
// CHECK-NEXT:    %[[B2D:.*]] = arith.extf %[[B2]] : f32 to f64
// CHECK-NEXT:    %[[B2T:.*]] = math.powf %[[B2D]], %[[SD]] : f64
// CHECK-NEXT:    %[[LRD:.*]] = arith.extf %[[LR]] : f32 to f64
// CHECK-NEXT:    %[[C1:.*]] = arith.subf %[[ONED]], %[[B1T]] : f64
// CHECK-NEXT:    %[[SSD:.*]] = arith.divf %[[LRD]], %[[C1]] : f64
// CHECK-NEXT:    %[[STEPSIZE:.*]] = arith.truncf %[[SSD]] : f64 to f32
// CHECK-NEXT:    %[[C2SQ:.*]] = arith.subf %[[ONED]], %[[B2T]] : f64
// CHECK-NEXT:    %[[C2SQRT:.*]] = math.sqrt %[[C2SQ]] : f64
// CHECK-NEXT:    %[[C2:.*]] = arith.truncf %[[C2SQRT]] : f64 to f32
// CHECK-NEXT:    %[[THR:.*]] = arith.mulf %[[D]], %[[L]] : f32
// CHECK-NOT:     tensor.empty
// CHECK-NEXT:    %[[R:.*]]:4 = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$ID2]], #[[$ID2]], #[[$ID2]], #[[$ID2]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel"]
// CHECK-SAME:      ins(%[[G]], %[[B1]], %[[OMB1]], %[[B2]], %[[OMB2]], %[[EPS]], %[[STEPSIZE]], %[[C2]], %[[D]], %[[THR]] : tensor<4x8xf32>, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-SAME:      outs(%[[T]], %[[V]], %[[M1]], %[[M2]] : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[B1E:[^:]*]]: f32, %[[OMB1E:[^:]*]]: f32, %[[B2E:[^:]*]]: f32, %[[OMB2E:[^:]*]]: f32, %[[EPSE:[^:]*]]: f32, %[[STEPSIZEE:[^:]*]]: f32, %[[C2E:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %[[THRE:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VE:[^:]*]]: f32, %[[M1E:[^:]*]]: f32, %[[M2E:[^:]*]]: f32):
// m1' = β₁·m1 + (1 − β₁)·g
// CHECK-NEXT:      %[[BM1:.*]] = arith.mulf %[[B1E]], %[[M1E]] : f32
// CHECK-NEXT:      %[[OG:.*]] = arith.mulf %[[OMB1E]], %[[GE]] : f32
// CHECK-NEXT:      %[[NM1:.*]] = arith.addf %[[BM1]], %[[OG]] : f32
// m2' = β₂·m2 + (1 − β₂)·g²
// CHECK-NEXT:      %[[G2:.*]] = arith.mulf %[[GE]], %[[GE]] : f32
// CHECK-NEXT:      %[[BM2:.*]] = arith.mulf %[[B2E]], %[[M2E]] : f32
// CHECK-NEXT:      %[[OG2:.*]] = arith.mulf %[[OMB2E]], %[[G2]] : f32
// CHECK-NEXT:      %[[NM2:.*]] = arith.addf %[[BM2]], %[[OG2]] : f32
// d = √m2' / √(1 − β₂ᵗ) + ε
// CHECK-NEXT:      %[[SQ:.*]] = math.sqrt %[[NM2]] : f32
// CHECK-NEXT:      %[[HAT:.*]] = arith.divf %[[SQ]], %[[C2E]] : f32
// CHECK-NEXT:      %[[DEN:.*]] = arith.addf %[[HAT]], %[[EPSE]] : f32
// v' = v − (lr / (1 − β₁ᵗ))·m1' / d
// CHECK-NEXT:      %[[NUM:.*]] = arith.mulf %[[STEPSIZEE]], %[[NM1]] : f32
// CHECK-NEXT:      %[[STEP:.*]] = arith.divf %[[NUM]], %[[DEN]] : f32
// CHECK-NEXT:      %[[NV:.*]] = arith.subf %[[VE]], %[[STEP]] : f32
// θ' = sign(δv')·max(|δv'| − δλ, 0)
// CHECK-NEXT:      %[[DV:.*]] = arith.mulf %[[DE]], %[[NV]] : f32
// CHECK-NEXT:      %[[ABS:.*]] = math.absf %[[DV]] : f32
// CHECK-NEXT:      %[[SH:.*]] = arith.subf %[[ABS]], %[[THRE]] : f32
// CHECK-NEXT:      %[[MAG:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:      %[[NT:.*]] = math.copysign %[[MAG]], %[[DV]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]], %[[NV]], %[[NM1]], %[[NM2]] : f32, f32, f32, f32
// CHECK-NEXT:    } -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>)
// CHECK-NEXT:    return %[[R]]#0, %[[R]]#1, %[[R]]#2, %[[R]]#3 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
func.func @adabreg_l1(%t: tensor<4x8xf32>, %v: tensor<4x8xf32>, %g: tensor<4x8xf32>, %m1: tensor<4x8xf32>, %m2: tensor<4x8xf32>,
                      %lr: f32, %d: f32, %l: f32, %b1: f32, %b2: f32, %eps: f32, %step: f32)
    -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %t1, %v1, %a1, %a2 = breg.adabreg_update #breg.l1 %t, %v, %g, %m1, %m2
      lr(%lr) delta(%d) lambda(%l) betas(%b1, %b2) eps(%eps) step(%step) : tensor<4x8xf32>
  return %t1, %v1, %a1, %a2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// J = 0: θ' = δ·v' (no threshold and no zero constant; λ is not used).
// CHECK-DAG:   #[[$ID1:.*]] = affine_map<(d0) -> (d0)>
// CHECK-DAG:   #[[$SCALAR1:.*]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @adabreg_none(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<16xf32>, %[[V:[^:]*]]: tensor<16xf32>, %[[G:[^:]*]]: tensor<16xf32>, %[[M1:[^:]*]]: tensor<16xf32>, %[[M2:[^:]*]]: tensor<16xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32, %[[B1:[^:]*]]: f32, %[[B2:[^:]*]]: f32, %[[EPS:[^:]*]]: f32, %[[S:[^:]*]]: f32)
// CHECK-NOT:     arith.constant 0.0
// CHECK-DAG:     %[[ONED:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT:    %[[OMB1:.*]] = arith.subf %[[ONE]], %[[B1]] : f32
// CHECK-NEXT:    %[[OMB2:.*]] = arith.subf %[[ONE]], %[[B2]] : f32
// The bias corrections are computed in f64, then rounded once.
// CHECK-NEXT:    %[[SD:.*]] = arith.extf %[[S]] : f32 to f64
// CHECK-NEXT:    %[[B1D:.*]] = arith.extf %[[B1]] : f32 to f64
// CHECK-NEXT:    %[[B1T:.*]] = math.powf %[[B1D]], %[[SD]] : f64
// CHECK-NEXT:    %[[B2D:.*]] = arith.extf %[[B2]] : f32 to f64
// CHECK-NEXT:    %[[B2T:.*]] = math.powf %[[B2D]], %[[SD]] : f64
// CHECK-NEXT:    %[[LRD:.*]] = arith.extf %[[LR]] : f32 to f64
// CHECK-NEXT:    %[[C1:.*]] = arith.subf %[[ONED]], %[[B1T]] : f64
// CHECK-NEXT:    %[[SSD:.*]] = arith.divf %[[LRD]], %[[C1]] : f64
// CHECK-NEXT:    %[[STEPSIZE:.*]] = arith.truncf %[[SSD]] : f64 to f32
// CHECK-NEXT:    %[[C2SQ:.*]] = arith.subf %[[ONED]], %[[B2T]] : f64
// CHECK-NEXT:    %[[C2SQRT:.*]] = math.sqrt %[[C2SQ]] : f64
// CHECK-NEXT:    %[[C2:.*]] = arith.truncf %[[C2SQRT]] : f64 to f32
// CHECK-NEXT:    %[[R:.*]]:4 = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$SCALAR1]], #[[$ID1]], #[[$ID1]], #[[$ID1]], #[[$ID1]]]
// CHECK-SAME:      iterator_types = ["parallel"]
// CHECK-SAME:      ins(%[[G]], %[[B1]], %[[OMB1]], %[[B2]], %[[OMB2]], %[[EPS]], %[[STEPSIZE]], %[[C2]], %[[D]] : tensor<16xf32>, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-SAME:      outs(%[[T]], %[[V]], %[[M1]], %[[M2]] : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[B1E:[^:]*]]: f32, %[[OMB1E:[^:]*]]: f32, %[[B2E:[^:]*]]: f32, %[[OMB2E:[^:]*]]: f32, %[[EPSE:[^:]*]]: f32, %[[STEPSIZEE:[^:]*]]: f32, %[[C2E:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VE:[^:]*]]: f32, %[[M1E:[^:]*]]: f32, %[[M2E:[^:]*]]: f32):
// CHECK-NEXT:      %[[BM1:.*]] = arith.mulf %[[B1E]], %[[M1E]] : f32
// CHECK-NEXT:      %[[OG:.*]] = arith.mulf %[[OMB1E]], %[[GE]] : f32
// CHECK-NEXT:      %[[NM1:.*]] = arith.addf %[[BM1]], %[[OG]] : f32
// CHECK-NEXT:      %[[G2:.*]] = arith.mulf %[[GE]], %[[GE]] : f32
// CHECK-NEXT:      %[[BM2:.*]] = arith.mulf %[[B2E]], %[[M2E]] : f32
// CHECK-NEXT:      %[[OG2:.*]] = arith.mulf %[[OMB2E]], %[[G2]] : f32
// CHECK-NEXT:      %[[NM2:.*]] = arith.addf %[[BM2]], %[[OG2]] : f32
// CHECK-NEXT:      %[[SQ:.*]] = math.sqrt %[[NM2]] : f32
// CHECK-NEXT:      %[[HAT:.*]] = arith.divf %[[SQ]], %[[C2E]] : f32
// CHECK-NEXT:      %[[DEN:.*]] = arith.addf %[[HAT]], %[[EPSE]] : f32
// CHECK-NEXT:      %[[NUM:.*]] = arith.mulf %[[STEPSIZEE]], %[[NM1]] : f32
// CHECK-NEXT:      %[[STEP:.*]] = arith.divf %[[NUM]], %[[DEN]] : f32
// CHECK-NEXT:      %[[NV:.*]] = arith.subf %[[VE]], %[[STEP]] : f32
// CHECK-NEXT:      %[[NT:.*]] = arith.mulf %[[DE]], %[[NV]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]], %[[NV]], %[[NM1]], %[[NM2]] : f32, f32, f32, f32
// CHECK-NEXT:    } -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
func.func @adabreg_none(%t: tensor<16xf32>, %v: tensor<16xf32>, %g: tensor<16xf32>, %m1: tensor<16xf32>, %m2: tensor<16xf32>,
                        %lr: f32, %d: f32, %l: f32, %b1: f32, %b2: f32, %eps: f32, %step: f32)
    -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) {
  %t1, %v1, %a1, %a2 = breg.adabreg_update #breg.none %t, %v, %g, %m1, %m2
      lr(%lr) delta(%d) lambda(%l) betas(%b1, %b2) eps(%eps) step(%step) : tensor<16xf32>
  return %t1, %v1, %a1, %a2 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
}

// -----

// l1_pos on a rank-0 parameter (all maps are `() -> ()`): θ' = max(δ·v' − δλ, 0).
// CHECK-DAG:   #[[$MAP0:.*]] = affine_map<() -> ()>
// CHECK-LABEL: func.func @adabreg_l1_pos_rank0(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<f32>, %[[V:[^:]*]]: tensor<f32>, %[[G:[^:]*]]: tensor<f32>, %[[M1:[^:]*]]: tensor<f32>, %[[M2:[^:]*]]: tensor<f32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32, %[[B1:[^:]*]]: f32, %[[B2:[^:]*]]: f32, %[[EPS:[^:]*]]: f32, %[[S:[^:]*]]: f32)
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[ONED:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK:         %[[OMB1:.*]] = arith.subf %[[ONE]], %[[B1]] : f32
// CHECK-NEXT:    %[[OMB2:.*]] = arith.subf %[[ONE]], %[[B2]] : f32
// The bias corrections are computed in f64, then rounded once.
// CHECK-NEXT:    %[[SD:.*]] = arith.extf %[[S]] : f32 to f64
// CHECK-NEXT:    %[[B1D:.*]] = arith.extf %[[B1]] : f32 to f64
// CHECK-NEXT:    %[[B1T:.*]] = math.powf %[[B1D]], %[[SD]] : f64
// CHECK-NEXT:    %[[B2D:.*]] = arith.extf %[[B2]] : f32 to f64
// CHECK-NEXT:    %[[B2T:.*]] = math.powf %[[B2D]], %[[SD]] : f64
// CHECK-NEXT:    %[[LRD:.*]] = arith.extf %[[LR]] : f32 to f64
// CHECK-NEXT:    %[[C1:.*]] = arith.subf %[[ONED]], %[[B1T]] : f64
// CHECK-NEXT:    %[[SSD:.*]] = arith.divf %[[LRD]], %[[C1]] : f64
// CHECK-NEXT:    %[[STEPSIZE:.*]] = arith.truncf %[[SSD]] : f64 to f32
// CHECK-NEXT:    %[[C2SQ:.*]] = arith.subf %[[ONED]], %[[B2T]] : f64
// CHECK-NEXT:    %[[C2SQRT:.*]] = math.sqrt %[[C2SQ]] : f64
// CHECK-NEXT:    %[[C2:.*]] = arith.truncf %[[C2SQRT]] : f64 to f32
// CHECK-NEXT:    %[[THR:.*]] = arith.mulf %[[D]], %[[L]] : f32
// CHECK-NEXT:    %[[R:.*]]:4 = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]]]
// CHECK-SAME:      iterator_types = []
// CHECK-SAME:      ins(%[[G]], %[[B1]], %[[OMB1]], %[[B2]], %[[OMB2]], %[[EPS]], %[[STEPSIZE]], %[[C2]], %[[D]], %[[THR]] : tensor<f32>, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-SAME:      outs(%[[T]], %[[V]], %[[M1]], %[[M2]] : tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[B1E:[^:]*]]: f32, %[[OMB1E:[^:]*]]: f32, %[[B2E:[^:]*]]: f32, %[[OMB2E:[^:]*]]: f32, %[[EPSE:[^:]*]]: f32, %[[STEPSIZEE:[^:]*]]: f32, %[[C2E:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %[[THRE:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VE:[^:]*]]: f32, %[[M1E:[^:]*]]: f32, %[[M2E:[^:]*]]: f32):
// CHECK-NEXT:      %[[BM1:.*]] = arith.mulf %[[B1E]], %[[M1E]] : f32
// CHECK-NEXT:      %[[OG:.*]] = arith.mulf %[[OMB1E]], %[[GE]] : f32
// CHECK-NEXT:      %[[NM1:.*]] = arith.addf %[[BM1]], %[[OG]] : f32
// CHECK-NEXT:      %[[G2:.*]] = arith.mulf %[[GE]], %[[GE]] : f32
// CHECK-NEXT:      %[[BM2:.*]] = arith.mulf %[[B2E]], %[[M2E]] : f32
// CHECK-NEXT:      %[[OG2:.*]] = arith.mulf %[[OMB2E]], %[[G2]] : f32
// CHECK-NEXT:      %[[NM2:.*]] = arith.addf %[[BM2]], %[[OG2]] : f32
// CHECK-NEXT:      %[[SQ:.*]] = math.sqrt %[[NM2]] : f32
// CHECK-NEXT:      %[[HAT:.*]] = arith.divf %[[SQ]], %[[C2E]] : f32
// CHECK-NEXT:      %[[DEN:.*]] = arith.addf %[[HAT]], %[[EPSE]] : f32
// CHECK-NEXT:      %[[NUM:.*]] = arith.mulf %[[STEPSIZEE]], %[[NM1]] : f32
// CHECK-NEXT:      %[[STEP:.*]] = arith.divf %[[NUM]], %[[DEN]] : f32
// CHECK-NEXT:      %[[NV:.*]] = arith.subf %[[VE]], %[[STEP]] : f32
// CHECK-NEXT:      %[[DV:.*]] = arith.mulf %[[DE]], %[[NV]] : f32
// CHECK-NEXT:      %[[SH:.*]] = arith.subf %[[DV]], %[[THRE]] : f32
// CHECK-NEXT:      %[[NT:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]], %[[NV]], %[[NM1]], %[[NM2]] : f32, f32, f32, f32
// CHECK-NEXT:    } -> (tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>)
func.func @adabreg_l1_pos_rank0(%t: tensor<f32>, %v: tensor<f32>, %g: tensor<f32>, %m1: tensor<f32>, %m2: tensor<f32>,
                                %lr: f32, %d: f32, %l: f32, %b1: f32, %b2: f32, %eps: f32, %step: f32)
    -> (tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>) {
  %t1, %v1, %a1, %a2 = breg.adabreg_update #breg.l1_pos %t, %v, %g, %m1, %m2
      lr(%lr) delta(%d) lambda(%l) betas(%b1, %b2) eps(%eps) step(%step) : tensor<f32>
  return %t1, %v1, %a1, %a2 : tensor<f32>, tensor<f32>, tensor<f32>, tensor<f32>
}
