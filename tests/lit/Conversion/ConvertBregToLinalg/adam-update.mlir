// breg.adam_update -> ONE elementwise linalg.generic whose outs are the state
// tensors θ, m1, m2; the bias corrections are scalar work done once, before
// the loop. Adam (Kingma & Ba) with t = `step` already incremented:
//   m1' = β₁·m1 + (1 − β₁)·g ;  m2' = β₂·m2 + (1 − β₂)·g²
//   θ'  = θ − (lr / (1 − β₁ᵗ))·m1' / (√m2' / √(1 − β₂ᵗ) + ε)
// RUN: bregman-opt %s -split-input-file -convert-breg-to-linalg | FileCheck %s

// CHECK-DAG:   #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$SCALAR2:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @adam(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<4x8xf32>, %[[G:[^:]*]]: tensor<4x8xf32>, %[[M1:[^:]*]]: tensor<4x8xf32>, %[[M2:[^:]*]]: tensor<4x8xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[B1:[^:]*]]: f32, %[[B2:[^:]*]]: f32, %[[EPS:[^:]*]]: f32, %[[S:[^:]*]]: f32)
// CHECK-DAG:     %[[ONED:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// Scalar prelude: 1 − β₁, 1 − β₂, β₁ᵗ, β₂ᵗ, lr/(1 − β₁ᵗ), √(1 − β₂ᵗ).
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
// CHECK-NOT:     tensor.empty
// CHECK-NEXT:    %[[R:.*]]:3 = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$SCALAR2]], #[[$ID2]], #[[$ID2]], #[[$ID2]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel"]
// CHECK-SAME:      ins(%[[G]], %[[B1]], %[[OMB1]], %[[B2]], %[[OMB2]], %[[EPS]], %[[STEPSIZE]], %[[C2]] : tensor<4x8xf32>, f32, f32, f32, f32, f32, f32, f32)
// CHECK-SAME:      outs(%[[T]], %[[M1]], %[[M2]] : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>)
// CHECK-NEXT:    ^bb0(%[[GE:[^:]*]]: f32, %[[B1E:[^:]*]]: f32, %[[OMB1E:[^:]*]]: f32, %[[B2E:[^:]*]]: f32, %[[OMB2E:[^:]*]]: f32, %[[EPSE:[^:]*]]: f32, %[[STEPSIZEE:[^:]*]]: f32, %[[C2E:[^:]*]]: f32, %[[TE:[^:]*]]: f32, %[[M1E:[^:]*]]: f32, %[[M2E:[^:]*]]: f32):
// m1' = β₁·m1 + (1 − β₁)·g
// CHECK-NEXT:      %[[BM1:.*]] = arith.mulf %[[B1E]], %[[M1E]] : f32
// CHECK-NEXT:      %[[OG:.*]] = arith.mulf %[[OMB1E]], %[[GE]] : f32
// CHECK-NEXT:      %[[NM1:.*]] = arith.addf %[[BM1]], %[[OG]] : f32
// m2' = β₂·m2 + (1 − β₂)·g²
// CHECK-NEXT:      %[[G2:.*]] = arith.mulf %[[GE]], %[[GE]] : f32
// CHECK-NEXT:      %[[BM2:.*]] = arith.mulf %[[B2E]], %[[M2E]] : f32
// CHECK-NEXT:      %[[OG2:.*]] = arith.mulf %[[OMB2E]], %[[G2]] : f32
// CHECK-NEXT:      %[[NM2:.*]] = arith.addf %[[BM2]], %[[OG2]] : f32
// √m2' / √(1 − β₂ᵗ) + ε
// CHECK-NEXT:      %[[SQ:.*]] = math.sqrt %[[NM2]] : f32
// CHECK-NEXT:      %[[HAT:.*]] = arith.divf %[[SQ]], %[[C2E]] : f32
// CHECK-NEXT:      %[[DEN:.*]] = arith.addf %[[HAT]], %[[EPSE]] : f32
// θ' = θ − (lr / (1 − β₁ᵗ))·m1' / den  (here the old θ IS read)
// CHECK-NEXT:      %[[NUM:.*]] = arith.mulf %[[STEPSIZEE]], %[[NM1]] : f32
// CHECK-NEXT:      %[[STEP:.*]] = arith.divf %[[NUM]], %[[DEN]] : f32
// CHECK-NEXT:      %[[NT:.*]] = arith.subf %[[TE]], %[[STEP]] : f32
// CHECK-NEXT:      linalg.yield %[[NT]], %[[NM1]], %[[NM2]] : f32, f32, f32
// CHECK-NEXT:    } -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>)
// CHECK-NEXT:    return %[[R]]#0, %[[R]]#1, %[[R]]#2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
func.func @adam(%t: tensor<4x8xf32>, %g: tensor<4x8xf32>, %m1: tensor<4x8xf32>, %m2: tensor<4x8xf32>,
                %lr: f32, %b1: f32, %b2: f32, %eps: f32, %step: f32)
    -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %t1, %a1, %a2 = breg.adam_update %t, %g, %m1, %m2 lr(%lr)
      betas(%b1, %b2) eps(%eps) step(%step) : tensor<4x8xf32>
  return %t1, %a1, %a2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Rank 0: every map is `() -> ()` and there are no loops.
// CHECK-DAG:   #[[$MAP0:.*]] = affine_map<() -> ()>
// CHECK-LABEL: func.func @adam_rank0(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<f32>, %[[G:[^:]*]]: tensor<f32>, %[[M1:[^:]*]]: tensor<f32>, %[[M2:[^:]*]]: tensor<f32>,
// CHECK:         %[[R:.*]]:3 = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]], #[[$MAP0]]]
// CHECK-SAME:      iterator_types = []
// CHECK-SAME:      ins(%[[G]], %{{.*}} : tensor<f32>, f32, f32, f32, f32, f32, f32, f32)
// CHECK-SAME:      outs(%[[T]], %[[M1]], %[[M2]] : tensor<f32>, tensor<f32>, tensor<f32>)
// CHECK:           linalg.yield
// CHECK-NEXT:    } -> (tensor<f32>, tensor<f32>, tensor<f32>)
func.func @adam_rank0(%t: tensor<f32>, %g: tensor<f32>, %m1: tensor<f32>, %m2: tensor<f32>, %x: f32)
    -> (tensor<f32>, tensor<f32>, tensor<f32>) {
  %t1, %a1, %a2 = breg.adam_update %t, %g, %m1, %m2 lr(%x) betas(%x, %x) eps(%x) step(%x) : tensor<f32>
  return %t1, %a1, %a2 : tensor<f32>, tensor<f32>, tensor<f32>
}
