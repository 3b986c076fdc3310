// Group regularisers #breg.l1_l2 (rows of a rank-2 weight, n = row length),
// #breg.l1_l2_conv (kernels = last two dims of a rank-4 weight, n = kh·kw) and
// #breg.l1_l1_l2 (sparse group: the l1 prox, then the row prox).
// ALGORITHMS.md §3: prox_{tJ}(x)_g = x_g·max(0, 1 − t√n/‖x_g‖₂), a zero group
// stays 0; subgradient p_g = λ√n·θ_g/‖θ_g‖ (0 for a zero group).
// Every update op with a group prox is tiled by one group: tile size 1 on each
// non-group parallel dim (rows of a 2-D weight: one scf.for; kernels of a 4-D
// weight: two nested scf.for), the state tensors (θ, v, m…) are the loop's
// iter_args, and inside the loop, on extract_slices of the current group:
//   1. the reduction generic ‖x_g‖² (iterators: parallel over the group index,
//      reduction over the group dims; output map = the non-group dims) recomputes
//      the pre-prox value x from g (a function argument) and the state slices
//      taken from the iter_args, into a slice of the alloc_tensor filled with 0
//      outside the loop;
//   2. the elementwise update generic reads that 1-group norm and applies the
//      group prox with t·√n hoisted outside the loop;
//   3. its results are inserted back into the iter_args and yielded.
// subgradient_init is not fused: a whole reduction generic, then a whole
// elementwise generic.
// RUN: bregman-opt %s -split-input-file -convert-breg-to-linalg | FileCheck %s
// For the GPU (tile-groups=0): no loop over groups, the norms of all groups
// in one reduction, then one elementwise update over the whole weight.
// RUN: bregman-opt %s -split-input-file -convert-breg-to-linalg=tile-groups=0 | FileCheck %s --check-prefix=UNTILED
// UNTILED-LABEL: func.func @linbreg_l1_l2(
// UNTILED-NOT:     scf.for
// UNTILED:         %[[NORMS:.*]] = linalg.generic
// UNTILED-SAME:      iterator_types = ["parallel", "reduction"]
// UNTILED-SAME:      outs(%{{.*}} : tensor<4xf32>)
// UNTILED:         linalg.generic
// UNTILED-SAME:      iterator_types = ["parallel", "parallel"]
// UNTILED-SAME:      ins(%{{.*}}, %[[NORMS]] : {{.*}}tensor<4xf32>)
// UNTILED-SAME:      outs(%{{.*}} : tensor<4x6xf32>, tensor<4x6xf32>)
// UNTILED-NOT:     scf.for
// UNTILED:         return

// LinBreg (β = 0), rows of 6: x = δ·(v − lr·g), t = δλ, √6 = 2.44948983.
// CHECK-DAG:   #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-DAG:   #[[$ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @linbreg_l1_l2(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<4x6xf32>, %[[V:[^:]*]]: tensor<4x6xf32>, %[[G:[^:]*]]: tensor<4x6xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[SQRTN:.*]] = arith.constant 2.44948983 : f32
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[THR:.*]] = arith.mulf %[[D]], %[[L]] : f32
// The norm buffer is allocated and zeroed once, outside the loop; t·√n too.
// CHECK-NEXT:    %[[ALLOC:.*]] = bufferization.alloc_tensor() : tensor<4xf32>
// CHECK-NEXT:    %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[ALLOC]] : tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %[[TSQRTN:.*]] = arith.mulf %[[THR]], %[[SQRTN]] : f32
// CHECK-NEXT:    %[[R:.*]]:2 = scf.for %[[I:[^ ]*]] = %[[C0]] to %[[C4]] step %[[C1]] iter_args(%[[TA:[^ ]*]] = %[[T]], %[[VA:[^ ]*]] = %[[V]]) -> (tensor<4x6xf32>, tensor<4x6xf32>) {
// g is sliced from the function argument, v from the loop-carried tensor.
// CHECK-NEXT:      %[[GS:.*]] = tensor.extract_slice %[[G]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[GSR:.*]] = tensor.extract_slice %[[G]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[VSR:.*]] = tensor.extract_slice %[[VA]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[NS:.*]] = tensor.extract_slice %[[INIT]][%[[I]]] [1] [1] : tensor<4xf32> to tensor<1xf32>
// CHECK-NEXT:      %[[NSQ:.*]] = linalg.generic
// CHECK-SAME:        indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$ID]], #[[$ROW]]]
// CHECK-SAME:        iterator_types = ["parallel", "reduction"]
// CHECK-SAME:        ins(%[[GSR]], %[[LR]], %[[D]], %[[THR]], %[[VSR]] : tensor<1x6xf32>, f32, f32, f32, tensor<1x6xf32>)
// CHECK-SAME:        outs(%[[NS]] : tensor<1xf32>)
// CHECK-NEXT:      ^bb0(%[[GR:[^:]*]]: f32, %[[LRR:[^:]*]]: f32, %[[DR:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VR:[^:]*]]: f32, %[[ACC:[^:]*]]: f32):
// CHECK-NEXT:        %[[STEPR:.*]] = arith.mulf %[[LRR]], %[[GR]] : f32
// CHECK-NEXT:        %[[NVR:.*]] = arith.subf %[[VR]], %[[STEPR]] : f32
// CHECK-NEXT:        %[[XR:.*]] = arith.mulf %[[DR]], %[[NVR]] : f32
// CHECK-NEXT:        %[[SQ:.*]] = arith.mulf %[[XR]], %[[XR]] : f32
// CHECK-NEXT:        %[[SUM:.*]] = arith.addf %[[ACC]], %[[SQ]] fastmath<reassoc> : f32
// CHECK-NEXT:        linalg.yield %[[SUM]] : f32
// CHECK-NEXT:      } -> tensor<1xf32>
// CHECK-NEXT:      %[[TS:.*]] = tensor.extract_slice %[[TA]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[VS:.*]] = tensor.extract_slice %[[VA]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[U:.*]]:2 = linalg.generic
// CHECK-SAME:        indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$ROW]], #[[$ID]], #[[$ID]]]
// CHECK-SAME:        iterator_types = ["parallel", "parallel"]
// CHECK-SAME:        ins(%[[GS]], %[[LR]], %[[D]], %[[TSQRTN]], %[[NSQ]] : tensor<1x6xf32>, f32, f32, f32, tensor<1xf32>)
// CHECK-SAME:        outs(%[[TS]], %[[VS]] : tensor<1x6xf32>, tensor<1x6xf32>)
// CHECK-NEXT:      ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %[[TE:[^:]*]]: f32, %[[NSQE:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VE:[^:]*]]: f32):
// CHECK-NEXT:        %[[STEP:.*]] = arith.mulf %[[LRE]], %[[GE]] : f32
// CHECK-NEXT:        %[[NV:.*]] = arith.subf %[[VE]], %[[STEP]] : f32
// CHECK-NEXT:        %[[X:.*]] = arith.mulf %[[DE]], %[[NV]] : f32
// CHECK-NEXT:        %[[NORM:.*]] = math.sqrt %[[NSQE]] : f32
// CHECK-NEXT:        %[[RATIO:.*]] = arith.divf %[[TE]], %[[NORM]] : f32
// CHECK-NEXT:        %[[SH:.*]] = arith.subf %[[ONE]], %[[RATIO]] : f32
// CHECK-NEXT:        %[[FAC:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[NZ:.*]] = arith.cmpf ogt, %[[NSQE]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[SEL:.*]] = arith.select %[[NZ]], %[[FAC]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[NT:.*]] = arith.mulf %[[X]], %[[SEL]] : f32
// CHECK-NEXT:        linalg.yield %[[NT]], %[[NV]] : f32, f32
// CHECK-NEXT:      } -> (tensor<1x6xf32>, tensor<1x6xf32>)
// CHECK-NEXT:      %[[TI:.*]] = tensor.insert_slice %[[U]]#0 into %[[TA]][%[[I]], 0] [1, 6] [1, 1] : tensor<1x6xf32> into tensor<4x6xf32>
// CHECK-NEXT:      %[[VI:.*]] = tensor.insert_slice %[[U]]#1 into %[[VA]][%[[I]], 0] [1, 6] [1, 1] : tensor<1x6xf32> into tensor<4x6xf32>
// CHECK-NEXT:      scf.yield %[[TI]], %[[VI]] : tensor<4x6xf32>, tensor<4x6xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    return %[[R]]#0, %[[R]]#1 : tensor<4x6xf32>, tensor<4x6xf32>
func.func @linbreg_l1_l2(%t: tensor<4x6xf32>, %v: tensor<4x6xf32>, %g: tensor<4x6xf32>,
                         %lr: f32, %d: f32, %l: f32) -> (tensor<4x6xf32>, tensor<4x6xf32>) {
  %t1, %v1 = breg.linbreg_update #breg.l1_l2 %t, %v, %g lr(%lr) delta(%d) lambda(%l) : tensor<4x6xf32>
  return %t1, %v1 : tensor<4x6xf32>, tensor<4x6xf32>
}

// -----

// LinBreg with momentum: the reduction recomputes m' = β·m + (1−β)·lr·g and
// v' = v − m' from the v and m slices of the iter_args (read only there); the
// update writes the θ, v, m slices.
// CHECK-DAG:   #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-DAG:   #[[$ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @linbreg_l1_l2_momentum(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<4x6xf32>, %[[V:[^:]*]]: tensor<4x6xf32>, %[[G:[^:]*]]: tensor<4x6xf32>, %[[M:[^:]*]]: tensor<4x6xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32, %[[B:[^:]*]]: f32)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[SQRTN:.*]] = arith.constant 2.44948983 : f32
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK:         %[[THR:.*]] = arith.mulf %[[D]], %[[L]] : f32
// CHECK-NEXT:    %[[OMB:.*]] = arith.subf %[[ONE]], %[[B]] : f32
// CHECK-NEXT:    %[[ALLOC:.*]] = bufferization.alloc_tensor() : tensor<4xf32>
// CHECK-NEXT:    %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[ALLOC]] : tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %[[TSQRTN:.*]] = arith.mulf %[[THR]], %[[SQRTN]] : f32
// CHECK-NEXT:    %[[R:.*]]:3 = scf.for %[[I:[^ ]*]] = %[[C0]] to %[[C4]] step %[[C1]] iter_args(%[[TA:[^ ]*]] = %[[T]], %[[VA:[^ ]*]] = %[[V]], %[[MA:[^ ]*]] = %[[M]]) -> (tensor<4x6xf32>, tensor<4x6xf32>, tensor<4x6xf32>) {
// CHECK-NEXT:      %[[GS:.*]] = tensor.extract_slice %[[G]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[GSR:.*]] = tensor.extract_slice %[[G]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[VSR:.*]] = tensor.extract_slice %[[VA]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[MSR:.*]] = tensor.extract_slice %[[MA]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[NS:.*]] = tensor.extract_slice %[[INIT]][%[[I]]] [1] [1] : tensor<4xf32> to tensor<1xf32>
// CHECK-NEXT:      %[[NSQ:.*]] = linalg.generic
// CHECK-SAME:        indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$ID]], #[[$ID]], #[[$ROW]]]
// CHECK-SAME:        iterator_types = ["parallel", "reduction"]
// CHECK-SAME:        ins(%[[GSR]], %[[LR]], %[[D]], %[[THR]], %[[B]], %[[OMB]], %[[VSR]], %[[MSR]] : tensor<1x6xf32>, f32, f32, f32, f32, f32, tensor<1x6xf32>, tensor<1x6xf32>)
// CHECK-SAME:        outs(%[[NS]] : tensor<1xf32>)
// CHECK-NEXT:      ^bb0(%[[GR:[^:]*]]: f32, %[[LRR:[^:]*]]: f32, %[[DR:[^:]*]]: f32, %{{[^:]*}}: f32, %[[BR:[^:]*]]: f32, %[[OMBR:[^:]*]]: f32, %[[VR:[^:]*]]: f32, %[[MR:[^:]*]]: f32, %[[ACC:[^:]*]]: f32):
// CHECK-NEXT:        %[[STEPR:.*]] = arith.mulf %[[LRR]], %[[GR]] : f32
// CHECK-NEXT:        %[[BMR:.*]] = arith.mulf %[[BR]], %[[MR]] : f32
// CHECK-NEXT:        %[[OMBSR:.*]] = arith.mulf %[[OMBR]], %[[STEPR]] : f32
// CHECK-NEXT:        %[[NMR:.*]] = arith.addf %[[BMR]], %[[OMBSR]] : f32
// CHECK-NEXT:        %[[NVR:.*]] = arith.subf %[[VR]], %[[NMR]] : f32
// CHECK-NEXT:        %[[XR:.*]] = arith.mulf %[[DR]], %[[NVR]] : f32
// CHECK-NEXT:        %[[SQ:.*]] = arith.mulf %[[XR]], %[[XR]] : f32
// CHECK-NEXT:        %[[SUM:.*]] = arith.addf %[[ACC]], %[[SQ]] fastmath<reassoc> : f32
// CHECK-NEXT:        linalg.yield %[[SUM]] : f32
// CHECK-NEXT:      } -> tensor<1xf32>
// CHECK-NEXT:      %[[TS:.*]] = tensor.extract_slice %[[TA]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[VS:.*]] = tensor.extract_slice %[[VA]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[MS:.*]] = tensor.extract_slice %[[MA]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[U:.*]]:3 = linalg.generic
// CHECK-SAME:        indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$ROW]], #[[$ID]], #[[$ID]], #[[$ID]]]
// CHECK-SAME:        iterator_types = ["parallel", "parallel"]
// CHECK-SAME:        ins(%[[GS]], %[[LR]], %[[D]], %[[TSQRTN]], %[[B]], %[[OMB]], %[[NSQ]] : tensor<1x6xf32>, f32, f32, f32, f32, f32, tensor<1xf32>)
// CHECK-SAME:        outs(%[[TS]], %[[VS]], %[[MS]] : tensor<1x6xf32>, tensor<1x6xf32>, tensor<1x6xf32>)
// CHECK-NEXT:      ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %[[TE:[^:]*]]: f32, %[[BE:[^:]*]]: f32, %[[OMBE:[^:]*]]: f32, %[[NSQE:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VE:[^:]*]]: f32, %[[ME:[^:]*]]: f32):
// CHECK-NEXT:        %[[STEP:.*]] = arith.mulf %[[LRE]], %[[GE]] : f32
// CHECK-NEXT:        %[[BM:.*]] = arith.mulf %[[BE]], %[[ME]] : f32
// CHECK-NEXT:        %[[OMBS:.*]] = arith.mulf %[[OMBE]], %[[STEP]] : f32
// CHECK-NEXT:        %[[NM:.*]] = arith.addf %[[BM]], %[[OMBS]] : f32
// CHECK-NEXT:        %[[NV:.*]] = arith.subf %[[VE]], %[[NM]] : f32
// CHECK-NEXT:        %[[X:.*]] = arith.mulf %[[DE]], %[[NV]] : f32
// CHECK-NEXT:        %[[NORM:.*]] = math.sqrt %[[NSQE]] : f32
// CHECK-NEXT:        %[[RATIO:.*]] = arith.divf %[[TE]], %[[NORM]] : f32
// CHECK-NEXT:        %[[SH:.*]] = arith.subf %[[ONE]], %[[RATIO]] : f32
// CHECK-NEXT:        %[[FAC:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[NZ:.*]] = arith.cmpf ogt, %[[NSQE]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[SEL:.*]] = arith.select %[[NZ]], %[[FAC]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[NT:.*]] = arith.mulf %[[X]], %[[SEL]] : f32
// CHECK-NEXT:        linalg.yield %[[NT]], %[[NV]], %[[NM]] : f32, f32, f32
// CHECK-NEXT:      } -> (tensor<1x6xf32>, tensor<1x6xf32>, tensor<1x6xf32>)
// CHECK-NEXT:      %[[TI:.*]] = tensor.insert_slice %[[U]]#0 into %[[TA]][%[[I]], 0] [1, 6] [1, 1] : tensor<1x6xf32> into tensor<4x6xf32>
// CHECK-NEXT:      %[[VI:.*]] = tensor.insert_slice %[[U]]#1 into %[[VA]][%[[I]], 0] [1, 6] [1, 1] : tensor<1x6xf32> into tensor<4x6xf32>
// CHECK-NEXT:      %[[MI:.*]] = tensor.insert_slice %[[U]]#2 into %[[MA]][%[[I]], 0] [1, 6] [1, 1] : tensor<1x6xf32> into tensor<4x6xf32>
// CHECK-NEXT:      scf.yield %[[TI]], %[[VI]], %[[MI]] : tensor<4x6xf32>, tensor<4x6xf32>, tensor<4x6xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    return %[[R]]#0, %[[R]]#1, %[[R]]#2 : tensor<4x6xf32>, tensor<4x6xf32>, tensor<4x6xf32>
func.func @linbreg_l1_l2_momentum(%t: tensor<4x6xf32>, %v: tensor<4x6xf32>, %g: tensor<4x6xf32>, %m: tensor<4x6xf32>,
                                  %lr: f32, %d: f32, %l: f32, %b: f32)
    -> (tensor<4x6xf32>, tensor<4x6xf32>, tensor<4x6xf32>) {
  %t1, %v1, %m1 = breg.linbreg_update #breg.l1_l2 %t, %v, %g lr(%lr) delta(%d) lambda(%l)
      momentum(%m, %b : tensor<4x6xf32>) : tensor<4x6xf32>
  return %t1, %v1, %m1 : tensor<4x6xf32>, tensor<4x6xf32>, tensor<4x6xf32>
}

// -----

// Sparse group (#breg.l1_l1_l2), LinBreg, rows of 6: x = δ·(v − lr·g); the l1
// prox with threshold δλ₁ (sign(x)·max(|x| − δλ₁, 0)) comes first, and both the
// norm accumulation and the group prox (t = δλ₂, times √6) act on its result y.
// CHECK-DAG:   #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-DAG:   #[[$ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @linbreg_l1_l1_l2(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<4x6xf32>, %[[V:[^:]*]]: tensor<4x6xf32>, %[[G:[^:]*]]: tensor<4x6xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32, %[[L2:[^:]*]]: f32)
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[SQRTN:.*]] = arith.constant 2.44948983 : f32
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[THR1:.*]] = arith.mulf %[[D]], %[[L]] : f32
// CHECK-NEXT:    %[[THR2:.*]] = arith.mulf %[[D]], %[[L2]] : f32
// CHECK-NEXT:    %[[ALLOC:.*]] = bufferization.alloc_tensor() : tensor<4xf32>
// CHECK-NEXT:    %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[ALLOC]] : tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %[[TSQRTN:.*]] = arith.mulf %[[THR2]], %[[SQRTN]] : f32
// CHECK-NEXT:    %[[R:.*]]:2 = scf.for %[[I:[^ ]*]] = %[[C0]] to %[[C4]] step %[[C1]] iter_args(%[[TA:[^ ]*]] = %[[T]], %[[VA:[^ ]*]] = %[[V]]) -> (tensor<4x6xf32>, tensor<4x6xf32>) {
// CHECK-NEXT:      %[[GS:.*]] = tensor.extract_slice %[[G]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[GSR:.*]] = tensor.extract_slice %[[G]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[VSR:.*]] = tensor.extract_slice %[[VA]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[NS:.*]] = tensor.extract_slice %[[INIT]][%[[I]]] [1] [1] : tensor<4xf32> to tensor<1xf32>
// CHECK-NEXT:      %[[NSQ:.*]] = linalg.generic
// CHECK-SAME:        indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$ID]], #[[$ROW]]]
// CHECK-SAME:        iterator_types = ["parallel", "reduction"]
// CHECK-SAME:        ins(%[[GSR]], %[[LR]], %[[D]], %[[THR1]], %[[THR2]], %[[VSR]] : tensor<1x6xf32>, f32, f32, f32, f32, tensor<1x6xf32>)
// CHECK-SAME:        outs(%[[NS]] : tensor<1xf32>)
// CHECK-NEXT:      ^bb0(%[[GR:[^:]*]]: f32, %[[LRR:[^:]*]]: f32, %[[DR:[^:]*]]: f32, %[[THR1R:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VR:[^:]*]]: f32, %[[ACC:[^:]*]]: f32):
// CHECK-NEXT:        %[[STEPR:.*]] = arith.mulf %[[LRR]], %[[GR]] : f32
// CHECK-NEXT:        %[[NVR:.*]] = arith.subf %[[VR]], %[[STEPR]] : f32
// CHECK-NEXT:        %[[XR:.*]] = arith.mulf %[[DR]], %[[NVR]] : f32
// CHECK-NEXT:        %[[ABSR:.*]] = math.absf %[[XR]] : f32
// CHECK-NEXT:        %[[SHR:.*]] = arith.subf %[[ABSR]], %[[THR1R]] : f32
// CHECK-NEXT:        %[[MAXR:.*]] = arith.maximumf %[[SHR]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[YR:.*]] = math.copysign %[[MAXR]], %[[XR]] : f32
// CHECK-NEXT:        %[[SQ:.*]] = arith.mulf %[[YR]], %[[YR]] : f32
// CHECK-NEXT:        %[[SUM:.*]] = arith.addf %[[ACC]], %[[SQ]] fastmath<reassoc> : f32
// CHECK-NEXT:        linalg.yield %[[SUM]] : f32
// CHECK-NEXT:      } -> tensor<1xf32>
// CHECK-NEXT:      %[[TS:.*]] = tensor.extract_slice %[[TA]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[VS:.*]] = tensor.extract_slice %[[VA]][%[[I]], 0] [1, 6] [1, 1] : tensor<4x6xf32> to tensor<1x6xf32>
// CHECK-NEXT:      %[[U:.*]]:2 = linalg.generic
// CHECK-SAME:        indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$ROW]], #[[$ID]], #[[$ID]]]
// CHECK-SAME:        iterator_types = ["parallel", "parallel"]
// CHECK-SAME:        ins(%[[GS]], %[[LR]], %[[D]], %[[THR1]], %[[TSQRTN]], %[[NSQ]] : tensor<1x6xf32>, f32, f32, f32, f32, tensor<1xf32>)
// CHECK-SAME:        outs(%[[TS]], %[[VS]] : tensor<1x6xf32>, tensor<1x6xf32>)
// CHECK-NEXT:      ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %[[THR1E:[^:]*]]: f32, %[[TE:[^:]*]]: f32, %[[NSQE:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VE:[^:]*]]: f32):
// CHECK-NEXT:        %[[STEP:.*]] = arith.mulf %[[LRE]], %[[GE]] : f32
// CHECK-NEXT:        %[[NV:.*]] = arith.subf %[[VE]], %[[STEP]] : f32
// CHECK-NEXT:        %[[X:.*]] = arith.mulf %[[DE]], %[[NV]] : f32
// CHECK-NEXT:        %[[ABS:.*]] = math.absf %[[X]] : f32
// CHECK-NEXT:        %[[SHL1:.*]] = arith.subf %[[ABS]], %[[THR1E]] : f32
// CHECK-NEXT:        %[[MAX:.*]] = arith.maximumf %[[SHL1]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[Y:.*]] = math.copysign %[[MAX]], %[[X]] : f32
// CHECK-NEXT:        %[[NORM:.*]] = math.sqrt %[[NSQE]] : f32
// CHECK-NEXT:        %[[RATIO:.*]] = arith.divf %[[TE]], %[[NORM]] : f32
// CHECK-NEXT:        %[[SH:.*]] = arith.subf %[[ONE]], %[[RATIO]] : f32
// CHECK-NEXT:        %[[FAC:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[NZ:.*]] = arith.cmpf ogt, %[[NSQE]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[SEL:.*]] = arith.select %[[NZ]], %[[FAC]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[NT:.*]] = arith.mulf %[[Y]], %[[SEL]] : f32
// CHECK-NEXT:        linalg.yield %[[NT]], %[[NV]] : f32, f32
// CHECK-NEXT:      } -> (tensor<1x6xf32>, tensor<1x6xf32>)
// CHECK-NEXT:      %[[TI:.*]] = tensor.insert_slice %[[U]]#0 into %[[TA]][%[[I]], 0] [1, 6] [1, 1] : tensor<1x6xf32> into tensor<4x6xf32>
// CHECK-NEXT:      %[[VI:.*]] = tensor.insert_slice %[[U]]#1 into %[[VA]][%[[I]], 0] [1, 6] [1, 1] : tensor<1x6xf32> into tensor<4x6xf32>
// CHECK-NEXT:      scf.yield %[[TI]], %[[VI]] : tensor<4x6xf32>, tensor<4x6xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    return %[[R]]#0, %[[R]]#1 : tensor<4x6xf32>, tensor<4x6xf32>
func.func @linbreg_l1_l1_l2(%t: tensor<4x6xf32>, %v: tensor<4x6xf32>, %g: tensor<4x6xf32>,
                            %lr: f32, %d: f32, %l: f32, %l2: f32) -> (tensor<4x6xf32>, tensor<4x6xf32>) {
  %t1, %v1 = breg.linbreg_update #breg.l1_l1_l2 %t, %v, %g lr(%lr) delta(%d) lambda(%l) lambda2(%l2) : tensor<4x6xf32>
  return %t1, %v1 : tensor<4x6xf32>, tensor<4x6xf32>
}

// -----

// AdaBreg, rows of 8 (√8 = 2.82842708): the reduction recomputes the Adam step
// from the g slice and the v, m1, m2 slices of the iter_args; t = δλ.
// CHECK-DAG:   #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-DAG:   #[[$ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @adabreg_l1_l2(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<3x8xf32>, %[[V:[^:]*]]: tensor<3x8xf32>, %[[G:[^:]*]]: tensor<3x8xf32>, %[[M1:[^:]*]]: tensor<3x8xf32>, %[[M2:[^:]*]]: tensor<3x8xf32>,
// CHECK-SAME:    %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32, %[[B1:[^:]*]]: f32, %[[B2:[^:]*]]: f32, %[[EPS:[^:]*]]: f32, %[[S:[^:]*]]: f32)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[SQRTN:.*]] = arith.constant 2.82842708 : f32
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[ONED:.*]] = arith.constant 1.000000e+00 : f64
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// Adam's scalar prelude (bias corrections in f64, see adam-update.mlir).
// CHECK:         %[[OMB1:.*]] = arith.subf %[[ONE]], %[[B1]] : f32
// CHECK-NEXT:    %[[OMB2:.*]] = arith.subf %[[ONE]], %[[B2]] : f32
// CHECK-NEXT:    %[[SD:.*]] = arith.extf %[[S]] : f32 to f64
// CHECK-NEXT:    %[[B1D:.*]] = arith.extf %[[B1]] : f32 to f64
// CHECK-NEXT:    %[[B1T:.*]] = math.powf %[[B1D]], %[[SD]] : f64
// CHECK-NEXT:    %[[B2D:.*]] = arith.extf %[[B2]] : f32 to f64
// CHECK-NEXT:    %[[B2T:.*]] = math.powf %[[B2D]], %[[SD]] : f64
// CHECK-NEXT:    %[[LRD:.*]] = arith.extf %[[LR]] : f32 to f64
// CHECK-NEXT:    %[[C1M:.*]] = arith.subf %[[ONED]], %[[B1T]] : f64
// CHECK-NEXT:    %[[SSD:.*]] = arith.divf %[[LRD]], %[[C1M]] : f64
// CHECK-NEXT:    %[[SS:.*]] = arith.truncf %[[SSD]] : f64 to f32
// CHECK-NEXT:    %[[C2M:.*]] = arith.subf %[[ONED]], %[[B2T]] : f64
// CHECK-NEXT:    %[[SC2D:.*]] = math.sqrt %[[C2M]] : f64
// CHECK-NEXT:    %[[SC2:.*]] = arith.truncf %[[SC2D]] : f64 to f32
// CHECK-NEXT:    %[[THR:.*]] = arith.mulf %[[D]], %[[L]] : f32
// CHECK-NEXT:    %[[ALLOC:.*]] = bufferization.alloc_tensor() : tensor<3xf32>
// CHECK-NEXT:    %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[ALLOC]] : tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT:    %[[TSQRTN:.*]] = arith.mulf %[[THR]], %[[SQRTN]] : f32
// CHECK-NEXT:    %[[R:.*]]:4 = scf.for %[[I:[^ ]*]] = %[[C0]] to %[[C3]] step %[[C1]] iter_args(%[[TA:[^ ]*]] = %[[T]], %[[VA:[^ ]*]] = %[[V]], %[[M1A:[^ ]*]] = %[[M1]], %[[M2A:[^ ]*]] = %[[M2]]) -> (tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x8xf32>) {
// CHECK-NEXT:      %[[GS:.*]] = tensor.extract_slice %[[G]][%[[I]], 0] [1, 8] [1, 1] : tensor<3x8xf32> to tensor<1x8xf32>
// CHECK-NEXT:      %[[GSR:.*]] = tensor.extract_slice %[[G]][%[[I]], 0] [1, 8] [1, 1] : tensor<3x8xf32> to tensor<1x8xf32>
// CHECK-NEXT:      %[[VSR:.*]] = tensor.extract_slice %[[VA]][%[[I]], 0] [1, 8] [1, 1] : tensor<3x8xf32> to tensor<1x8xf32>
// CHECK-NEXT:      %[[M1SR:.*]] = tensor.extract_slice %[[M1A]][%[[I]], 0] [1, 8] [1, 1] : tensor<3x8xf32> to tensor<1x8xf32>
// CHECK-NEXT:      %[[M2SR:.*]] = tensor.extract_slice %[[M2A]][%[[I]], 0] [1, 8] [1, 1] : tensor<3x8xf32> to tensor<1x8xf32>
// CHECK-NEXT:      %[[NS:.*]] = tensor.extract_slice %[[INIT]][%[[I]]] [1] [1] : tensor<3xf32> to tensor<1xf32>
// CHECK-NEXT:      %[[NSQ:.*]] = linalg.generic
// CHECK-SAME:        indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$ID]], #[[$ID]], #[[$ID]], #[[$ROW]]]
// CHECK-SAME:        iterator_types = ["parallel", "reduction"]
// CHECK-SAME:        ins(%[[GSR]], %[[B1]], %[[OMB1]], %[[B2]], %[[OMB2]], %[[EPS]], %[[SS]], %[[SC2]], %[[D]], %[[THR]], %[[VSR]], %[[M1SR]], %[[M2SR]] : tensor<1x8xf32>, f32, f32, f32, f32, f32, f32, f32, f32, f32, tensor<1x8xf32>, tensor<1x8xf32>, tensor<1x8xf32>)
// CHECK-SAME:        outs(%[[NS]] : tensor<1xf32>)
// CHECK-NEXT:      ^bb0(%[[GR:[^:]*]]: f32, %[[B1R:[^:]*]]: f32, %[[OMB1R:[^:]*]]: f32, %[[B2R:[^:]*]]: f32, %[[OMB2R:[^:]*]]: f32, %[[EPSR:[^:]*]]: f32, %[[SSR:[^:]*]]: f32, %[[SC2R:[^:]*]]: f32, %[[DR:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VR:[^:]*]]: f32, %[[M1R:[^:]*]]: f32, %[[M2R:[^:]*]]: f32, %[[ACC:[^:]*]]: f32):
// CHECK-NEXT:        %[[A1:.*]] = arith.mulf %[[B1R]], %[[M1R]] : f32
// CHECK-NEXT:        %[[A2:.*]] = arith.mulf %[[OMB1R]], %[[GR]] : f32
// CHECK-NEXT:        %[[NM1R:.*]] = arith.addf %[[A1]], %[[A2]] : f32
// CHECK-NEXT:        %[[G2R:.*]] = arith.mulf %[[GR]], %[[GR]] : f32
// CHECK-NEXT:        %[[A3:.*]] = arith.mulf %[[B2R]], %[[M2R]] : f32
// CHECK-NEXT:        %[[A4:.*]] = arith.mulf %[[OMB2R]], %[[G2R]] : f32
// CHECK-NEXT:        %[[NM2R:.*]] = arith.addf %[[A3]], %[[A4]] : f32
// CHECK-NEXT:        %[[SQM2R:.*]] = math.sqrt %[[NM2R]] : f32
// CHECK-NEXT:        %[[A5:.*]] = arith.divf %[[SQM2R]], %[[SC2R]] : f32
// CHECK-NEXT:        %[[DENR:.*]] = arith.addf %[[A5]], %[[EPSR]] : f32
// CHECK-NEXT:        %[[A6:.*]] = arith.mulf %[[SSR]], %[[NM1R]] : f32
// CHECK-NEXT:        %[[STEPR:.*]] = arith.divf %[[A6]], %[[DENR]] : f32
// CHECK-NEXT:        %[[NVR:.*]] = arith.subf %[[VR]], %[[STEPR]] : f32
// CHECK-NEXT:        %[[XR:.*]] = arith.mulf %[[DR]], %[[NVR]] : f32
// CHECK-NEXT:        %[[SQ:.*]] = arith.mulf %[[XR]], %[[XR]] : f32
// CHECK-NEXT:        %[[SUM:.*]] = arith.addf %[[ACC]], %[[SQ]] fastmath<reassoc> : f32
// CHECK-NEXT:        linalg.yield %[[SUM]] : f32
// CHECK-NEXT:      } -> tensor<1xf32>
// CHECK-NEXT:      %[[TS:.*]] = tensor.extract_slice %[[TA]][%[[I]], 0] [1, 8] [1, 1] : tensor<3x8xf32> to tensor<1x8xf32>
// CHECK-NEXT:      %[[VS:.*]] = tensor.extract_slice %[[VA]][%[[I]], 0] [1, 8] [1, 1] : tensor<3x8xf32> to tensor<1x8xf32>
// CHECK-NEXT:      %[[M1S:.*]] = tensor.extract_slice %[[M1A]][%[[I]], 0] [1, 8] [1, 1] : tensor<3x8xf32> to tensor<1x8xf32>
// CHECK-NEXT:      %[[M2S:.*]] = tensor.extract_slice %[[M2A]][%[[I]], 0] [1, 8] [1, 1] : tensor<3x8xf32> to tensor<1x8xf32>
// CHECK-NEXT:      %[[U:.*]]:4 = linalg.generic
// CHECK-SAME:        indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$SCALAR]], #[[$ROW]], #[[$ID]], #[[$ID]], #[[$ID]], #[[$ID]]]
// CHECK-SAME:        iterator_types = ["parallel", "parallel"]
// CHECK-SAME:        ins(%[[GS]], %[[B1]], %[[OMB1]], %[[B2]], %[[OMB2]], %[[EPS]], %[[SS]], %[[SC2]], %[[D]], %[[TSQRTN]], %[[NSQ]] : tensor<1x8xf32>, f32, f32, f32, f32, f32, f32, f32, f32, f32, tensor<1xf32>)
// CHECK-SAME:        outs(%[[TS]], %[[VS]], %[[M1S]], %[[M2S]] : tensor<1x8xf32>, tensor<1x8xf32>, tensor<1x8xf32>, tensor<1x8xf32>)
// CHECK-NEXT:      ^bb0(%[[GE:[^:]*]]: f32, %[[B1E:[^:]*]]: f32, %[[OMB1E:[^:]*]]: f32, %[[B2E:[^:]*]]: f32, %[[OMB2E:[^:]*]]: f32, %[[EPSE:[^:]*]]: f32, %[[SSE:[^:]*]]: f32, %[[SC2E:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %[[TE:[^:]*]]: f32, %[[NSQE:[^:]*]]: f32, %{{[^:]*}}: f32, %[[VE:[^:]*]]: f32, %[[M1E:[^:]*]]: f32, %[[M2E:[^:]*]]: f32):
// CHECK-NEXT:        %[[E1:.*]] = arith.mulf %[[B1E]], %[[M1E]] : f32
// CHECK-NEXT:        %[[E2:.*]] = arith.mulf %[[OMB1E]], %[[GE]] : f32
// CHECK-NEXT:        %[[NM1:.*]] = arith.addf %[[E1]], %[[E2]] : f32
// CHECK-NEXT:        %[[G2:.*]] = arith.mulf %[[GE]], %[[GE]] : f32
// CHECK-NEXT:        %[[E3:.*]] = arith.mulf %[[B2E]], %[[M2E]] : f32
// CHECK-NEXT:        %[[E4:.*]] = arith.mulf %[[OMB2E]], %[[G2]] : f32
// CHECK-NEXT:        %[[NM2:.*]] = arith.addf %[[E3]], %[[E4]] : f32
// CHECK-NEXT:        %[[SQM2:.*]] = math.sqrt %[[NM2]] : f32
// CHECK-NEXT:        %[[E5:.*]] = arith.divf %[[SQM2]], %[[SC2E]] : f32
// CHECK-NEXT:        %[[DEN:.*]] = arith.addf %[[E5]], %[[EPSE]] : f32
// CHECK-NEXT:        %[[E6:.*]] = arith.mulf %[[SSE]], %[[NM1]] : f32
// CHECK-NEXT:        %[[STEP:.*]] = arith.divf %[[E6]], %[[DEN]] : f32
// CHECK-NEXT:        %[[NV:.*]] = arith.subf %[[VE]], %[[STEP]] : f32
// CHECK-NEXT:        %[[X:.*]] = arith.mulf %[[DE]], %[[NV]] : f32
// CHECK-NEXT:        %[[NORM:.*]] = math.sqrt %[[NSQE]] : f32
// CHECK-NEXT:        %[[RATIO:.*]] = arith.divf %[[TE]], %[[NORM]] : f32
// CHECK-NEXT:        %[[SH:.*]] = arith.subf %[[ONE]], %[[RATIO]] : f32
// CHECK-NEXT:        %[[FAC:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[NZ:.*]] = arith.cmpf ogt, %[[NSQE]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[SEL:.*]] = arith.select %[[NZ]], %[[FAC]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[NT:.*]] = arith.mulf %[[X]], %[[SEL]] : f32
// CHECK-NEXT:        linalg.yield %[[NT]], %[[NV]], %[[NM1]], %[[NM2]] : f32, f32, f32, f32
// CHECK-NEXT:      } -> (tensor<1x8xf32>, tensor<1x8xf32>, tensor<1x8xf32>, tensor<1x8xf32>)
// CHECK-NEXT:      %[[TI:.*]] = tensor.insert_slice %[[U]]#0 into %[[TA]][%[[I]], 0] [1, 8] [1, 1] : tensor<1x8xf32> into tensor<3x8xf32>
// CHECK-NEXT:      %[[VI:.*]] = tensor.insert_slice %[[U]]#1 into %[[VA]][%[[I]], 0] [1, 8] [1, 1] : tensor<1x8xf32> into tensor<3x8xf32>
// CHECK-NEXT:      %[[M1I:.*]] = tensor.insert_slice %[[U]]#2 into %[[M1A]][%[[I]], 0] [1, 8] [1, 1] : tensor<1x8xf32> into tensor<3x8xf32>
// CHECK-NEXT:      %[[M2I:.*]] = tensor.insert_slice %[[U]]#3 into %[[M2A]][%[[I]], 0] [1, 8] [1, 1] : tensor<1x8xf32> into tensor<3x8xf32>
// CHECK-NEXT:      scf.yield %[[TI]], %[[VI]], %[[M1I]], %[[M2I]] : tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x8xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    return %[[R]]#0, %[[R]]#1, %[[R]]#2, %[[R]]#3
func.func @adabreg_l1_l2(%t: tensor<3x8xf32>, %v: tensor<3x8xf32>, %g: tensor<3x8xf32>, %m1: tensor<3x8xf32>, %m2: tensor<3x8xf32>,
                         %lr: f32, %d: f32, %l: f32, %b1: f32, %b2: f32, %eps: f32, %step: f32)
    -> (tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x8xf32>) {
  %r:4 = breg.adabreg_update #breg.l1_l2 %t, %v, %g, %m1, %m2
      lr(%lr) delta(%d) lambda(%l) betas(%b1, %b2) eps(%eps) step(%step) : tensor<3x8xf32>
  return %r#0, %r#1, %r#2, %r#3 : tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x8xf32>, tensor<3x8xf32>
}

// -----

// ProxSGD with 3x3 kernels (n = 9, √9 = 3): x = θ − lr·g, t = lr·λ. One
// scf.for per non-group dim (out = 2, in = 3), nested; the inner loop carries
// the outer one's iter_arg. The reduction reads the θ slice of the inner
// iter_arg and reduces the 1x1x3x3 kernel slice into a 1x1 norm slice.
// CHECK-DAG:   #[[$ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG:   #[[$SCALAR:.*]] = affine_map<(d0, d1, d2, d3) -> ()>
// CHECK-DAG:   #[[$KERNEL:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK-LABEL: func.func @proxsgd_l1_l2_conv(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<2x3x3x3xf32>, %[[G:[^:]*]]: tensor<2x3x3x3xf32>, %[[LR:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[SQRTN:.*]] = arith.constant 3.000000e+00 : f32
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[THR:.*]] = arith.mulf %[[LR]], %[[L]] : f32
// CHECK-NEXT:    %[[ALLOC:.*]] = bufferization.alloc_tensor() : tensor<2x3xf32>
// CHECK-NEXT:    %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[ALLOC]] : tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT:    %[[TSQRTN:.*]] = arith.mulf %[[THR]], %[[SQRTN]] : f32
// CHECK-NEXT:    %[[R:.*]] = scf.for %[[I:[^ ]*]] = %[[C0]] to %[[C2]] step %[[C1]] iter_args(%[[TA:[^ ]*]] = %[[T]]) -> (tensor<2x3x3x3xf32>) {
// CHECK-NEXT:      %[[RI:.*]] = scf.for %[[J:[^ ]*]] = %[[C0]] to %[[C3]] step %[[C1]] iter_args(%[[TB:[^ ]*]] = %[[TA]]) -> (tensor<2x3x3x3xf32>) {
// CHECK-NEXT:        %[[GS:.*]] = tensor.extract_slice %[[G]][%[[I]], %[[J]], 0, 0] [1, 1, 3, 3] [1, 1, 1, 1] : tensor<2x3x3x3xf32> to tensor<1x1x3x3xf32>
// CHECK-NEXT:        %[[GSR:.*]] = tensor.extract_slice %[[G]][%[[I]], %[[J]], 0, 0] [1, 1, 3, 3] [1, 1, 1, 1] : tensor<2x3x3x3xf32> to tensor<1x1x3x3xf32>
// CHECK-NEXT:        %[[TSR:.*]] = tensor.extract_slice %[[TB]][%[[I]], %[[J]], 0, 0] [1, 1, 3, 3] [1, 1, 1, 1] : tensor<2x3x3x3xf32> to tensor<1x1x3x3xf32>
// CHECK-NEXT:        %[[NS:.*]] = tensor.extract_slice %[[INIT]][%[[I]], %[[J]]] [1, 1] [1, 1] : tensor<2x3xf32> to tensor<1x1xf32>
// CHECK-NEXT:        %[[NSQ:.*]] = linalg.generic
// CHECK-SAME:          indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$SCALAR]], #[[$ID]], #[[$KERNEL]]]
// CHECK-SAME:          iterator_types = ["parallel", "parallel", "reduction", "reduction"]
// CHECK-SAME:          ins(%[[GSR]], %[[LR]], %[[THR]], %[[TSR]] : tensor<1x1x3x3xf32>, f32, f32, tensor<1x1x3x3xf32>)
// CHECK-SAME:          outs(%[[NS]] : tensor<1x1xf32>)
// CHECK-NEXT:        ^bb0(%[[GR:[^:]*]]: f32, %[[LRR:[^:]*]]: f32, %{{[^:]*}}: f32, %[[TR:[^:]*]]: f32, %[[ACC:[^:]*]]: f32):
// CHECK-NEXT:          %[[STEPR:.*]] = arith.mulf %[[LRR]], %[[GR]] : f32
// CHECK-NEXT:          %[[XR:.*]] = arith.subf %[[TR]], %[[STEPR]] : f32
// CHECK-NEXT:          %[[SQ:.*]] = arith.mulf %[[XR]], %[[XR]] : f32
// CHECK-NEXT:          %[[SUM:.*]] = arith.addf %[[ACC]], %[[SQ]] fastmath<reassoc> : f32
// CHECK-NEXT:          linalg.yield %[[SUM]] : f32
// CHECK-NEXT:        } -> tensor<1x1xf32>
// CHECK-NEXT:        %[[TS:.*]] = tensor.extract_slice %[[TB]][%[[I]], %[[J]], 0, 0] [1, 1, 3, 3] [1, 1, 1, 1] : tensor<2x3x3x3xf32> to tensor<1x1x3x3xf32>
// CHECK-NEXT:        %[[U:.*]] = linalg.generic
// CHECK-SAME:          indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$SCALAR]], #[[$KERNEL]], #[[$ID]]]
// CHECK-SAME:          iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK-SAME:          ins(%[[GS]], %[[LR]], %[[TSQRTN]], %[[NSQ]] : tensor<1x1x3x3xf32>, f32, f32, tensor<1x1xf32>)
// CHECK-SAME:          outs(%[[TS]] : tensor<1x1x3x3xf32>)
// CHECK-NEXT:        ^bb0(%[[GE:[^:]*]]: f32, %[[LRE:[^:]*]]: f32, %[[TE:[^:]*]]: f32, %[[NSQE:[^:]*]]: f32, %[[TOLD:[^:]*]]: f32):
// CHECK-NEXT:          %[[STEP:.*]] = arith.mulf %[[LRE]], %[[GE]] : f32
// CHECK-NEXT:          %[[X:.*]] = arith.subf %[[TOLD]], %[[STEP]] : f32
// CHECK-NEXT:          %[[NORM:.*]] = math.sqrt %[[NSQE]] : f32
// CHECK-NEXT:          %[[RATIO:.*]] = arith.divf %[[TE]], %[[NORM]] : f32
// CHECK-NEXT:          %[[SH:.*]] = arith.subf %[[ONE]], %[[RATIO]] : f32
// CHECK-NEXT:          %[[FAC:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:          %[[NZ:.*]] = arith.cmpf ogt, %[[NSQE]], %[[ZERO]] : f32
// CHECK-NEXT:          %[[SEL:.*]] = arith.select %[[NZ]], %[[FAC]], %[[ZERO]] : f32
// CHECK-NEXT:          %[[NT:.*]] = arith.mulf %[[X]], %[[SEL]] : f32
// CHECK-NEXT:          linalg.yield %[[NT]] : f32
// CHECK-NEXT:        } -> tensor<1x1x3x3xf32>
// CHECK-NEXT:        %[[TI:.*]] = tensor.insert_slice %[[U]] into %[[TB]][%[[I]], %[[J]], 0, 0] [1, 1, 3, 3] [1, 1, 1, 1] : tensor<1x1x3x3xf32> into tensor<2x3x3x3xf32>
// CHECK-NEXT:        scf.yield %[[TI]] : tensor<2x3x3x3xf32>
// CHECK-NEXT:      }
// CHECK-NEXT:      scf.yield %[[RI]] : tensor<2x3x3x3xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    return %[[R]] : tensor<2x3x3x3xf32>
func.func @proxsgd_l1_l2_conv(%t: tensor<2x3x3x3xf32>, %g: tensor<2x3x3x3xf32>, %lr: f32, %l: f32) -> tensor<2x3x3x3xf32> {
  %t1 = breg.proxsgd_update #breg.l1_l2_conv %t, %g lr(%lr) lambda(%l) : tensor<2x3x3x3xf32>
  return %t1 : tensor<2x3x3x3xf32>
}

// -----

// prox with 5x5 kernels (n = 25, √25 = 5): x is the input itself, t = s·λ;
// the loops carry a fresh tensor.empty, and both the reduction and the update
// read their kernel slices from the input argument.
// CHECK-DAG:   #[[$ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG:   #[[$SCALAR:.*]] = affine_map<(d0, d1, d2, d3) -> ()>
// CHECK-DAG:   #[[$KERNEL:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK-LABEL: func.func @prox_l1_l2_conv(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<4x3x5x5xf32>, %[[S:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[SQRTN:.*]] = arith.constant 5.000000e+00 : f32
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[EMPTY:.*]] = tensor.empty() : tensor<4x3x5x5xf32>
// CHECK-NEXT:    %[[THR:.*]] = arith.mulf %[[S]], %[[L]] : f32
// CHECK-NEXT:    %[[ALLOC:.*]] = bufferization.alloc_tensor() : tensor<4x3xf32>
// CHECK-NEXT:    %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[ALLOC]] : tensor<4x3xf32>) -> tensor<4x3xf32>
// CHECK-NEXT:    %[[TSQRTN:.*]] = arith.mulf %[[THR]], %[[SQRTN]] : f32
// CHECK-NEXT:    %[[R:.*]] = scf.for %[[I:[^ ]*]] = %[[C0]] to %[[C4]] step %[[C1]] iter_args(%[[OA:[^ ]*]] = %[[EMPTY]]) -> (tensor<4x3x5x5xf32>) {
// CHECK-NEXT:      %[[RI:.*]] = scf.for %[[J:[^ ]*]] = %[[C0]] to %[[C3]] step %[[C1]] iter_args(%[[OB:[^ ]*]] = %[[OA]]) -> (tensor<4x3x5x5xf32>) {
// CHECK-NEXT:        %[[XS:.*]] = tensor.extract_slice %[[X]][%[[I]], %[[J]], 0, 0] [1, 1, 5, 5] [1, 1, 1, 1] : tensor<4x3x5x5xf32> to tensor<1x1x5x5xf32>
// CHECK-NEXT:        %[[XSR:.*]] = tensor.extract_slice %[[X]][%[[I]], %[[J]], 0, 0] [1, 1, 5, 5] [1, 1, 1, 1] : tensor<4x3x5x5xf32> to tensor<1x1x5x5xf32>
// CHECK-NEXT:        %[[NS:.*]] = tensor.extract_slice %[[INIT]][%[[I]], %[[J]]] [1, 1] [1, 1] : tensor<4x3xf32> to tensor<1x1xf32>
// CHECK-NEXT:        %[[NSQ:.*]] = linalg.generic
// CHECK-SAME:          indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$KERNEL]]]
// CHECK-SAME:          iterator_types = ["parallel", "parallel", "reduction", "reduction"]
// CHECK-SAME:          ins(%[[XSR]], %[[THR]] : tensor<1x1x5x5xf32>, f32)
// CHECK-SAME:          outs(%[[NS]] : tensor<1x1xf32>)
// CHECK-NEXT:        ^bb0(%[[XR:[^:]*]]: f32, %{{[^:]*}}: f32, %[[ACC:[^:]*]]: f32):
// CHECK-NEXT:          %[[SQ:.*]] = arith.mulf %[[XR]], %[[XR]] : f32
// CHECK-NEXT:          %[[SUM:.*]] = arith.addf %[[ACC]], %[[SQ]] fastmath<reassoc> : f32
// CHECK-NEXT:          linalg.yield %[[SUM]] : f32
// CHECK-NEXT:        } -> tensor<1x1xf32>
// CHECK-NEXT:        %[[OS:.*]] = tensor.extract_slice %[[OB]][%[[I]], %[[J]], 0, 0] [1, 1, 5, 5] [1, 1, 1, 1] : tensor<4x3x5x5xf32> to tensor<1x1x5x5xf32>
// CHECK-NEXT:        %[[U:.*]] = linalg.generic
// CHECK-SAME:          indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$KERNEL]], #[[$ID]]]
// CHECK-SAME:          iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK-SAME:          ins(%[[XS]], %[[TSQRTN]], %[[NSQ]] : tensor<1x1x5x5xf32>, f32, tensor<1x1xf32>)
// CHECK-SAME:          outs(%[[OS]] : tensor<1x1x5x5xf32>)
// CHECK-NEXT:        ^bb0(%[[XE:[^:]*]]: f32, %[[TE:[^:]*]]: f32, %[[NSQE:[^:]*]]: f32, %{{[^:]*}}: f32):
// CHECK-NEXT:          %[[NORM:.*]] = math.sqrt %[[NSQE]] : f32
// CHECK-NEXT:          %[[RATIO:.*]] = arith.divf %[[TE]], %[[NORM]] : f32
// CHECK-NEXT:          %[[SH:.*]] = arith.subf %[[ONE]], %[[RATIO]] : f32
// CHECK-NEXT:          %[[FAC:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:          %[[NZ:.*]] = arith.cmpf ogt, %[[NSQE]], %[[ZERO]] : f32
// CHECK-NEXT:          %[[SEL:.*]] = arith.select %[[NZ]], %[[FAC]], %[[ZERO]] : f32
// CHECK-NEXT:          %[[NT:.*]] = arith.mulf %[[XE]], %[[SEL]] : f32
// CHECK-NEXT:          linalg.yield %[[NT]] : f32
// CHECK-NEXT:        } -> tensor<1x1x5x5xf32>
// CHECK-NEXT:        %[[OI:.*]] = tensor.insert_slice %[[U]] into %[[OB]][%[[I]], %[[J]], 0, 0] [1, 1, 5, 5] [1, 1, 1, 1] : tensor<1x1x5x5xf32> into tensor<4x3x5x5xf32>
// CHECK-NEXT:        scf.yield %[[OI]] : tensor<4x3x5x5xf32>
// CHECK-NEXT:      }
// CHECK-NEXT:      scf.yield %[[RI]] : tensor<4x3x5x5xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    return %[[R]] : tensor<4x3x5x5xf32>
func.func @prox_l1_l2_conv(%x: tensor<4x3x5x5xf32>, %s: f32, %l: f32) -> tensor<4x3x5x5xf32> {
  %y = breg.prox #breg.l1_l2_conv %x, %s, %l : tensor<4x3x5x5xf32>
  return %y : tensor<4x3x5x5xf32>
}

// -----
// subgradient_init, rows of 6: v = θ/δ + λ√6·θ_g/‖θ_g‖ (0 for a zero row);
// λ·√n is computed once. Not tiled: a whole reduction generic, then a whole
// elementwise generic (the CHECK-NEXT chain leaves no room for an scf.for).
// CHECK-DAG:   #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-DAG:   #[[$ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @subgradient_init_l1_l2(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<4x6xf32>, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK-DAG:     %[[SQRTN:.*]] = arith.constant 2.44948983 : f32
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[EMPTY:.*]] = tensor.empty() : tensor<4x6xf32>
// CHECK-NEXT:    %[[ALLOC:.*]] = bufferization.alloc_tensor() : tensor<4xf32>
// CHECK-NEXT:    %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[ALLOC]] : tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT:    %[[NSQ:.*]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID]], #[[$ROW]]]
// CHECK-SAME:      iterator_types = ["parallel", "reduction"]
// CHECK-SAME:      ins(%[[T]] : tensor<4x6xf32>)
// CHECK-SAME:      outs(%[[INIT]] : tensor<4xf32>)
// CHECK-NEXT:    ^bb0(%[[TR:[^:]*]]: f32, %[[ACC:[^:]*]]: f32):
// CHECK-NEXT:      %[[SQ:.*]] = arith.mulf %[[TR]], %[[TR]] : f32
// CHECK-NEXT:      %[[SUM:.*]] = arith.addf %[[ACC]], %[[SQ]] fastmath<reassoc> : f32
// CHECK-NEXT:      linalg.yield %[[SUM]] : f32
// CHECK-NEXT:    } -> tensor<4xf32>
// CHECK-NEXT:    %[[LSQRTN:.*]] = arith.mulf %[[L]], %[[SQRTN]] : f32
// CHECK-NEXT:    %[[R:.*]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$SCALAR]], #[[$ROW]], #[[$ID]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel"]
// CHECK-SAME:      ins(%[[T]], %[[D]], %[[LSQRTN]], %[[NSQ]] : tensor<4x6xf32>, f32, f32, tensor<4xf32>)
// CHECK-SAME:      outs(%[[EMPTY]] : tensor<4x6xf32>)
// CHECK-NEXT:    ^bb0(%[[TE:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %[[LE:[^:]*]]: f32, %[[NSQE:[^:]*]]: f32, %{{[^:]*}}: f32):
// CHECK-NEXT:      %[[TD:.*]] = arith.divf %[[TE]], %[[DE]] : f32
// CHECK-NEXT:      %[[NORM:.*]] = math.sqrt %[[NSQE]] : f32
// CHECK-NEXT:      %[[DIR:.*]] = arith.divf %[[TE]], %[[NORM]] : f32
// CHECK-NEXT:      %[[NZ:.*]] = arith.cmpf ogt, %[[NSQE]], %[[ZERO]] : f32
// CHECK-NEXT:      %[[P:.*]] = arith.mulf %[[LE]], %[[DIR]] : f32
// CHECK-NEXT:      %[[SEL:.*]] = arith.select %[[NZ]], %[[P]], %[[ZERO]] : f32
// CHECK-NEXT:      %[[NV:.*]] = arith.addf %[[TD]], %[[SEL]] : f32
// CHECK-NEXT:      linalg.yield %[[NV]] : f32
// CHECK-NEXT:    } -> tensor<4x6xf32>
// CHECK-NEXT:    return %[[R]] : tensor<4x6xf32>
func.func @subgradient_init_l1_l2(%t: tensor<4x6xf32>, %d: f32, %l: f32) -> tensor<4x6xf32> {
  %v = breg.subgradient_init #breg.l1_l2 %t, %d, %l : tensor<4x6xf32>
  return %v : tensor<4x6xf32>
}

// -----

// subgradient_init, 3x3 kernels of an 8x4 conv weight (√9 = 3).
// CHECK-DAG:   #[[$ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG:   #[[$SCALAR:.*]] = affine_map<(d0, d1, d2, d3) -> ()>
// CHECK-DAG:   #[[$KERNEL:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK-LABEL: func.func @subgradient_init_l1_l2_conv(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<8x4x3x3xf32>, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK-DAG:     %[[SQRTN:.*]] = arith.constant 3.000000e+00 : f32
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[EMPTY:.*]] = tensor.empty() : tensor<8x4x3x3xf32>
// CHECK-NEXT:    %[[ALLOC:.*]] = bufferization.alloc_tensor() : tensor<8x4xf32>
// CHECK-NEXT:    %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[ALLOC]] : tensor<8x4xf32>) -> tensor<8x4xf32>
// CHECK-NEXT:    %[[NSQ:.*]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID]], #[[$KERNEL]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "reduction", "reduction"]
// CHECK-SAME:      ins(%[[T]] : tensor<8x4x3x3xf32>)
// CHECK-SAME:      outs(%[[INIT]] : tensor<8x4xf32>)
// CHECK-NEXT:    ^bb0(%[[TR:[^:]*]]: f32, %[[ACC:[^:]*]]: f32):
// CHECK-NEXT:      %[[SQ:.*]] = arith.mulf %[[TR]], %[[TR]] : f32
// CHECK-NEXT:      %[[SUM:.*]] = arith.addf %[[ACC]], %[[SQ]] fastmath<reassoc> : f32
// CHECK-NEXT:      linalg.yield %[[SUM]] : f32
// CHECK-NEXT:    } -> tensor<8x4xf32>
// CHECK-NEXT:    %[[LSQRTN:.*]] = arith.mulf %[[L]], %[[SQRTN]] : f32
// CHECK-NEXT:    %[[R:.*]] = linalg.generic
// CHECK-SAME:      indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$SCALAR]], #[[$KERNEL]], #[[$ID]]]
// CHECK-SAME:      iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK-SAME:      ins(%[[T]], %[[D]], %[[LSQRTN]], %[[NSQ]] : tensor<8x4x3x3xf32>, f32, f32, tensor<8x4xf32>)
// CHECK-SAME:      outs(%[[EMPTY]] : tensor<8x4x3x3xf32>)
// CHECK-NEXT:    ^bb0(%[[TE:[^:]*]]: f32, %[[DE:[^:]*]]: f32, %[[LE:[^:]*]]: f32, %[[NSQE:[^:]*]]: f32, %{{[^:]*}}: f32):
// CHECK-NEXT:      %[[TD:.*]] = arith.divf %[[TE]], %[[DE]] : f32
// CHECK-NEXT:      %[[NORM:.*]] = math.sqrt %[[NSQE]] : f32
// CHECK-NEXT:      %[[DIR:.*]] = arith.divf %[[TE]], %[[NORM]] : f32
// CHECK-NEXT:      %[[NZ:.*]] = arith.cmpf ogt, %[[NSQE]], %[[ZERO]] : f32
// CHECK-NEXT:      %[[P:.*]] = arith.mulf %[[LE]], %[[DIR]] : f32
// CHECK-NEXT:      %[[SEL:.*]] = arith.select %[[NZ]], %[[P]], %[[ZERO]] : f32
// CHECK-NEXT:      %[[NV:.*]] = arith.addf %[[TD]], %[[SEL]] : f32
// CHECK-NEXT:      linalg.yield %[[NV]] : f32
// CHECK-NEXT:    } -> tensor<8x4x3x3xf32>
// CHECK-NEXT:    return %[[R]] : tensor<8x4x3x3xf32>
func.func @subgradient_init_l1_l2_conv(%t: tensor<8x4x3x3xf32>, %d: f32, %l: f32) -> tensor<8x4x3x3xf32> {
  %v = breg.subgradient_init #breg.l1_l2_conv %t, %d, %l : tensor<8x4x3x3xf32>
  return %v : tensor<8x4x3x3xf32>
}

// -----

// Two group updates in one function each get their own norm buffer
// (alloc_tensor is not CSE'd the way tensor.empty would be) and their own
// loop. Rows of 1 have √1 = 1: t·1 folds, and the update reads the plain
// threshold lr·λ. The second update's θ is %g, so its loop carries %g and
// slices the gradient %t.
// CHECK-LABEL: func.func @two_updates_own_norms(
// CHECK-SAME:    %[[T:[^:]*]]: tensor<5x1xf32>, %[[G:[^:]*]]: tensor<5x1xf32>, %[[LR:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C5:.*]] = arith.constant 5 : index
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK:         %[[THR1:.*]] = arith.mulf %[[LR]], %[[L]] : f32
// CHECK-NEXT:    %[[A1:.*]] = bufferization.alloc_tensor() : tensor<5xf32>
// CHECK-NEXT:    %[[I1:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[A1]] : tensor<5xf32>) -> tensor<5xf32>
// CHECK-NEXT:    %[[R1:.*]] = scf.for %[[K1:[^ ]*]] = %[[C0]] to %[[C5]] step %[[C1]] iter_args(%[[TA1:[^ ]*]] = %[[T]]) -> (tensor<5x1xf32>) {
// CHECK-NEXT:      %[[GS1:.*]] = tensor.extract_slice %[[G]][%[[K1]], 0] [1, 1] [1, 1] : tensor<5x1xf32> to tensor<1x1xf32>
// CHECK-NEXT:      %[[GSR1:.*]] = tensor.extract_slice %[[G]][%[[K1]], 0] [1, 1] [1, 1] : tensor<5x1xf32> to tensor<1x1xf32>
// CHECK-NEXT:      %[[TSR1:.*]] = tensor.extract_slice %[[TA1]][%[[K1]], 0] [1, 1] [1, 1] : tensor<5x1xf32> to tensor<1x1xf32>
// CHECK-NEXT:      %[[NS1:.*]] = tensor.extract_slice %[[I1]][%[[K1]]] [1] [1] : tensor<5xf32> to tensor<1xf32>
// CHECK-NEXT:      %[[N1:.*]] = linalg.generic
// CHECK-SAME:        iterator_types = ["parallel", "reduction"]
// CHECK-SAME:        ins(%[[GSR1]], %[[LR]], %[[THR1]], %[[TSR1]] : tensor<1x1xf32>, f32, f32, tensor<1x1xf32>)
// CHECK-SAME:        outs(%[[NS1]] : tensor<1xf32>)
// CHECK:           arith.addf %{{.*}}, %{{.*}} fastmath<reassoc> : f32
// CHECK:           } -> tensor<1xf32>
// CHECK-NEXT:      %[[TS1:.*]] = tensor.extract_slice %[[TA1]][%[[K1]], 0] [1, 1] [1, 1] : tensor<5x1xf32> to tensor<1x1xf32>
// CHECK-NEXT:      %[[U1:.*]] = linalg.generic
// CHECK-SAME:        iterator_types = ["parallel", "parallel"]
// CHECK-SAME:        ins(%[[GS1]], %[[LR]], %[[THR1]], %[[N1]] : tensor<1x1xf32>, f32, f32, tensor<1xf32>)
// CHECK-SAME:        outs(%[[TS1]] : tensor<1x1xf32>)
// CHECK:           } -> tensor<1x1xf32>
// CHECK-NEXT:      %[[TI1:.*]] = tensor.insert_slice %[[U1]] into %[[TA1]][%[[K1]], 0] [1, 1] [1, 1] : tensor<1x1xf32> into tensor<5x1xf32>
// CHECK-NEXT:      scf.yield %[[TI1]] : tensor<5x1xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    %[[THR2:.*]] = arith.mulf %[[LR]], %[[L]] : f32
// CHECK-NEXT:    %[[A2:.*]] = bufferization.alloc_tensor() : tensor<5xf32>
// CHECK-NEXT:    %[[I2:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[A2]] : tensor<5xf32>) -> tensor<5xf32>
// CHECK-NEXT:    %[[R2:.*]] = scf.for %[[K2:[^ ]*]] = %[[C0]] to %[[C5]] step %[[C1]] iter_args(%[[GA2:[^ ]*]] = %[[G]]) -> (tensor<5x1xf32>) {
// CHECK-NEXT:      %[[TS2:.*]] = tensor.extract_slice %[[T]][%[[K2]], 0] [1, 1] [1, 1] : tensor<5x1xf32> to tensor<1x1xf32>
// CHECK-NEXT:      %[[TSR2:.*]] = tensor.extract_slice %[[T]][%[[K2]], 0] [1, 1] [1, 1] : tensor<5x1xf32> to tensor<1x1xf32>
// CHECK-NEXT:      %[[GSR2:.*]] = tensor.extract_slice %[[GA2]][%[[K2]], 0] [1, 1] [1, 1] : tensor<5x1xf32> to tensor<1x1xf32>
// CHECK-NEXT:      %[[NS2:.*]] = tensor.extract_slice %[[I2]][%[[K2]]] [1] [1] : tensor<5xf32> to tensor<1xf32>
// CHECK-NEXT:      %[[N2:.*]] = linalg.generic
// CHECK-SAME:        iterator_types = ["parallel", "reduction"]
// CHECK-SAME:        ins(%[[TSR2]], %[[LR]], %[[THR2]], %[[GSR2]] : tensor<1x1xf32>, f32, f32, tensor<1x1xf32>)
// CHECK-SAME:        outs(%[[NS2]] : tensor<1xf32>)
// CHECK:           } -> tensor<1xf32>
// CHECK-NEXT:      %[[GS2:.*]] = tensor.extract_slice %[[GA2]][%[[K2]], 0] [1, 1] [1, 1] : tensor<5x1xf32> to tensor<1x1xf32>
// CHECK-NEXT:      %[[U2:.*]] = linalg.generic
// CHECK-SAME:        ins(%[[TS2]], %[[LR]], %[[THR2]], %[[N2]] : tensor<1x1xf32>, f32, f32, tensor<1xf32>)
// CHECK-SAME:        outs(%[[GS2]] : tensor<1x1xf32>)
// CHECK:           } -> tensor<1x1xf32>
// CHECK-NEXT:      %[[GI2:.*]] = tensor.insert_slice %[[U2]] into %[[GA2]][%[[K2]], 0] [1, 1] [1, 1] : tensor<1x1xf32> into tensor<5x1xf32>
// CHECK-NEXT:      scf.yield %[[GI2]] : tensor<5x1xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    return %[[R1]], %[[R2]]
func.func @two_updates_own_norms(%t: tensor<5x1xf32>, %g: tensor<5x1xf32>, %lr: f32, %l: f32)
    -> (tensor<5x1xf32>, tensor<5x1xf32>) {
  %t1 = breg.proxsgd_update #breg.l1_l2 %t, %g lr(%lr) lambda(%l) : tensor<5x1xf32>
  %t2 = breg.proxsgd_update #breg.l1_l2 %g, %t lr(%lr) lambda(%l) : tensor<5x1xf32>
  return %t1, %t2 : tensor<5x1xf32>, tensor<5x1xf32>
}

// -----

// A dynamic number of rows: the norm buffer takes its size from the operand,
// and the loop runs to the (re-queried) row count.
// CHECK-DAG:   #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-DAG:   #[[$ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @prox_l1_l2_dynamic_rows(
// CHECK-SAME:    %[[X:[^:]*]]: tensor<?x8xf32>, %[[S:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[SQRTN:.*]] = arith.constant 2.82842708 : f32
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK:         %[[DE:.*]] = tensor.dim %[[X]], %[[C0]] : tensor<?x8xf32>
// CHECK-NEXT:    %[[EMPTY:.*]] = tensor.empty(%[[DE]]) : tensor<?x8xf32>
// CHECK-NEXT:    %[[THR:.*]] = arith.mulf %[[S]], %[[L]] : f32
// CHECK-NEXT:    %[[N:.*]] = tensor.dim %[[X]], %[[C0]] : tensor<?x8xf32>
// CHECK-NEXT:    %[[ALLOC:.*]] = bufferization.alloc_tensor(%[[N]]) : tensor<?xf32>
// CHECK-NEXT:    %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[ALLOC]] : tensor<?xf32>) -> tensor<?xf32>
// CHECK-NEXT:    %[[TSQRTN:.*]] = arith.mulf %[[THR]], %[[SQRTN]] : f32
// CHECK-NEXT:    %[[UB:.*]] = tensor.dim %[[X]], %[[C0]] : tensor<?x8xf32>
// CHECK-NEXT:    %[[R:.*]] = scf.for %[[I:[^ ]*]] = %[[C0]] to %[[UB]] step %[[C1]] iter_args(%[[OA:[^ ]*]] = %[[EMPTY]]) -> (tensor<?x8xf32>) {
// CHECK-NEXT:      %[[XS:.*]] = tensor.extract_slice %[[X]][%[[I]], 0] [1, 8] [1, 1] : tensor<?x8xf32> to tensor<1x8xf32>
// CHECK-NEXT:      %[[XSR:.*]] = tensor.extract_slice %[[X]][%[[I]], 0] [1, 8] [1, 1] : tensor<?x8xf32> to tensor<1x8xf32>
// CHECK-NEXT:      %[[NS:.*]] = tensor.extract_slice %[[INIT]][%[[I]]] [1] [1] : tensor<?xf32> to tensor<1xf32>
// CHECK-NEXT:      %[[NSQ:.*]] = linalg.generic
// CHECK-SAME:        indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$ROW]]]
// CHECK-SAME:        iterator_types = ["parallel", "reduction"]
// CHECK-SAME:        ins(%[[XSR]], %[[THR]] : tensor<1x8xf32>, f32)
// CHECK-SAME:        outs(%[[NS]] : tensor<1xf32>)
// CHECK-NEXT:      ^bb0(%[[XR:[^:]*]]: f32, %{{[^:]*}}: f32, %[[ACC:[^:]*]]: f32):
// CHECK-NEXT:        %[[SQ:.*]] = arith.mulf %[[XR]], %[[XR]] : f32
// CHECK-NEXT:        %[[SUM:.*]] = arith.addf %[[ACC]], %[[SQ]] fastmath<reassoc> : f32
// CHECK-NEXT:        linalg.yield %[[SUM]] : f32
// CHECK-NEXT:      } -> tensor<1xf32>
// CHECK-NEXT:      %[[OS:.*]] = tensor.extract_slice %[[OA]][%[[I]], 0] [1, 8] [1, 1] : tensor<?x8xf32> to tensor<1x8xf32>
// CHECK-NEXT:      %[[U:.*]] = linalg.generic
// CHECK-SAME:        indexing_maps = [#[[$ID]], #[[$SCALAR]], #[[$ROW]], #[[$ID]]]
// CHECK-SAME:        iterator_types = ["parallel", "parallel"]
// CHECK-SAME:        ins(%[[XS]], %[[TSQRTN]], %[[NSQ]] : tensor<1x8xf32>, f32, tensor<1xf32>)
// CHECK-SAME:        outs(%[[OS]] : tensor<1x8xf32>)
// CHECK-NEXT:      ^bb0(%[[XE:[^:]*]]: f32, %[[TE:[^:]*]]: f32, %[[NSQE:[^:]*]]: f32, %{{[^:]*}}: f32):
// CHECK-NEXT:        %[[NORM:.*]] = math.sqrt %[[NSQE]] : f32
// CHECK-NEXT:        %[[RATIO:.*]] = arith.divf %[[TE]], %[[NORM]] : f32
// CHECK-NEXT:        %[[SH:.*]] = arith.subf %[[ONE]], %[[RATIO]] : f32
// CHECK-NEXT:        %[[FAC:.*]] = arith.maximumf %[[SH]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[NZ:.*]] = arith.cmpf ogt, %[[NSQE]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[SEL:.*]] = arith.select %[[NZ]], %[[FAC]], %[[ZERO]] : f32
// CHECK-NEXT:        %[[NT:.*]] = arith.mulf %[[XE]], %[[SEL]] : f32
// CHECK-NEXT:        linalg.yield %[[NT]] : f32
// CHECK-NEXT:      } -> tensor<1x8xf32>
// CHECK-NEXT:      %[[OI:.*]] = tensor.insert_slice %[[U]] into %[[OA]][%[[I]], 0] [1, 8] [1, 1] : tensor<1x8xf32> into tensor<?x8xf32>
// CHECK-NEXT:      scf.yield %[[OI]] : tensor<?x8xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    return %[[R]] : tensor<?x8xf32>
func.func @prox_l1_l2_dynamic_rows(%x: tensor<?x8xf32>, %s: f32, %l: f32) -> tensor<?x8xf32> {
  %y = breg.prox #breg.l1_l2 %x, %s, %l : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// l1_l2_heads on a [heads, d, E] = 2x4x8 projection: a group is one head
// (n = d·E = 32, √32 = 5.657): one loop over the heads, each iteration a
// 1x4x8 slice, its norm reduced over d and E.
// CHECK-LABEL: func.func @prox_l1_l2_heads(
// CHECK-DAG:     arith.constant 5.65685{{[0-9]*}} : f32
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK:         bufferization.alloc_tensor() : tensor<2xf32>
// CHECK:         scf.for %[[H:[^ ]*]] = %{{.*}} to %[[C2]]
// CHECK-NOT:     scf.for
// CHECK:           tensor.extract_slice %{{.*}}[%[[H]], 0, 0] [1, 4, 8] [1, 1, 1] : tensor<2x4x8xf32> to tensor<1x4x8xf32>
// CHECK:           linalg.generic
// CHECK-SAME:        iterator_types = ["parallel", "reduction", "reduction"]
// CHECK:           linalg.generic
// CHECK-SAME:        iterator_types = ["parallel", "parallel", "parallel"]
// CHECK:         return
// UNTILED-LABEL: func.func @prox_l1_l2_heads(
// UNTILED-NOT:   scf.for
// UNTILED:       linalg.generic
// UNTILED-SAME:    iterator_types = ["parallel", "reduction", "reduction"]
// UNTILED:       linalg.generic
// UNTILED-SAME:    iterator_types = ["parallel", "parallel", "parallel"]
func.func @prox_l1_l2_heads(%x: tensor<2x4x8xf32>, %s: f32, %l: f32) -> tensor<2x4x8xf32> {
  %y = breg.prox #breg.l1_l2_heads %x, %s, %l : tensor<2x4x8xf32>
  return %y : tensor<2x4x8xf32>
}
