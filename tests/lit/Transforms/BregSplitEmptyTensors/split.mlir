// RUN: bregman-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(breg-split-empty-tensors{max-uses=1}))" | FileCheck %s
// RUN: bregman-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(breg-split-empty-tensors{max-uses=2}))" | FileCheck %s --check-prefix=RUNS

// Three ops writing into one (CSE-merged) tensor.empty: with max-uses=1
// each gets its own, created right before it, and the shared one goes; with
// max-uses=2 the first two share one (the second writes the first's buffer
// in place), the third gets its own.
// CHECK-LABEL: func.func @chain
// CHECK-NEXT:    %[[E0:.*]] = tensor.empty() : tensor<64xf32>
// CHECK-NEXT:    %[[R0:.*]] = linalg.generic {{.*}} outs(%[[E0]] : tensor<64xf32>)
// CHECK:         %[[E1:.*]] = tensor.empty() : tensor<64xf32>
// CHECK-NEXT:    %[[R1:.*]] = linalg.generic {{.*}} ins(%[[R0]] : tensor<64xf32>) outs(%[[E1]] : tensor<64xf32>)
// CHECK:         %[[E2:.*]] = tensor.empty() : tensor<64xf32>
// CHECK-NEXT:    linalg.generic {{.*}} ins(%[[R1]] : tensor<64xf32>) outs(%[[E2]] : tensor<64xf32>)
// RUNS-LABEL: func.func @chain
// RUNS-NEXT:    %[[E0:.*]] = tensor.empty() : tensor<64xf32>
// RUNS-NEXT:    %[[R0:.*]] = linalg.generic {{.*}} outs(%[[E0]] : tensor<64xf32>)
// RUNS:         %[[R1:.*]] = linalg.generic {{.*}} ins(%[[R0]] : tensor<64xf32>) outs(%[[E0]] : tensor<64xf32>)
// RUNS:         %[[E1:.*]] = tensor.empty() : tensor<64xf32>
// RUNS-NEXT:    linalg.generic {{.*}} ins(%[[R1]] : tensor<64xf32>) outs(%[[E1]] : tensor<64xf32>)
// RUNS-NOT:     tensor.empty
#id = affine_map<(d0) -> (d0)>
func.func @chain(%x: tensor<64xf32>) -> tensor<64xf32> {
  %e = tensor.empty() : tensor<64xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<64xf32>) outs(%e : tensor<64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %a : f32
    linalg.yield %s : f32
  } -> tensor<64xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%0 : tensor<64xf32>) outs(%e : tensor<64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.mulf %a, %a : f32
    linalg.yield %s : f32
  } -> tensor<64xf32>
  %2 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%1 : tensor<64xf32>) outs(%e : tensor<64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.subf %a, %a : f32
    linalg.yield %s : f32
  } -> tensor<64xf32>
  return %2 : tensor<64xf32>
}

// -----

// Dynamic sizes: each copy takes the same size operand; an empty used once
// is left alone.
// CHECK-LABEL: func.func @dynamic
// CHECK-SAME:    (%[[N:.*]]: index)
// CHECK:         %[[B:.*]] = tensor.empty(%[[N]]) : tensor<?xf32>
// CHECK-NEXT:    %[[F0:.*]] = linalg.fill {{.*}} outs(%[[B]] : tensor<?xf32>)
// CHECK-NEXT:    %[[C:.*]] = tensor.empty(%[[N]]) : tensor<?xf32>
// CHECK-NEXT:    %[[F1:.*]] = linalg.fill {{.*}} outs(%[[C]] : tensor<?xf32>)
// CHECK-NEXT:    %[[ONCE:.*]] = tensor.empty(%[[N]]) : tensor<?xf32>
// CHECK-NEXT:    linalg.fill {{.*}} outs(%[[ONCE]] : tensor<?xf32>)
// CHECK-NOT:     tensor.empty
// With max-uses=2 neither empty has too many uses: both stay.
// RUNS-LABEL: func.func @dynamic
// RUNS:         %[[B:.*]] = tensor.empty(%{{.*}}) : tensor<?xf32>
// RUNS-NEXT:    linalg.fill {{.*}} outs(%[[B]] : tensor<?xf32>)
// RUNS-NEXT:    linalg.fill {{.*}} outs(%[[B]] : tensor<?xf32>)
func.func @dynamic(%n: index) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) {
  %c0 = arith.constant 0.0 : f32
  %c1 = arith.constant 1.0 : f32
  %e = tensor.empty(%n) : tensor<?xf32>
  %a = linalg.fill ins(%c0 : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %b = linalg.fill ins(%c1 : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %once = tensor.empty(%n) : tensor<?xf32>
  %c = linalg.fill ins(%c1 : f32) outs(%once : tensor<?xf32>) -> tensor<?xf32>
  return %a, %b, %c : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
}

// -----

// A use inside a region counts at the place of the op holding it, in the
// block of the tensor.empty: the run's copy goes before that op.
// CHECK-LABEL: func.func @nested
// RUNS-LABEL: func.func @nested
// RUNS:         %[[E0:.*]] = tensor.empty(%[[N:.*]]) : tensor<?xf32>
// RUNS-NEXT:    tensor.insert {{.*}} into %[[E0]]
// RUNS-NEXT:    tensor.insert {{.*}} into %[[E0]]
// RUNS-NEXT:    %[[E1:.*]] = tensor.empty(%[[N]]) : tensor<?xf32>
// RUNS-NEXT:    scf.if
// RUNS-NEXT:      tensor.insert {{.*}} into %[[E1]]
func.func @nested(%n: index, %v: f32, %cond: i1) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) {
  %c0 = arith.constant 0 : index
  %e = tensor.empty(%n) : tensor<?xf32>
  %a = tensor.insert %v into %e[%c0] : tensor<?xf32>
  %b = tensor.insert %v into %e[%c0] : tensor<?xf32>
  %c = scf.if %cond -> tensor<?xf32> {
    %i = tensor.insert %v into %e[%c0] : tensor<?xf32>
    scf.yield %i : tensor<?xf32>
  } else {
    scf.yield %a : tensor<?xf32>
  }
  return %a, %b, %c : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
}
