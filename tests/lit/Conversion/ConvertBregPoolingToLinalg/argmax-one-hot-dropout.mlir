// argmax, one-hot and the dropout mask as linalg generics
// (ConvertBregPoolingToLinalg.cpp).
// RUN: bregman-opt %s -split-input-file -convert-breg-pooling-to-linalg | FileCheck %s

// argmax: a reduction along the last axis carrying (best value, index) from
// (−∞, 0); a strict comparison keeps the first maximum, and NaN wins over any
// number (ugt) unless the best so far is NaN (ord): the first NaN is kept.
// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @argmax(
// CHECK-SAME:    %[[X:.*]]: tensor<4x10xf32>)
// CHECK:         %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK:         %[[BEST:.*]] = linalg.fill ins(%[[NEGINF]] : f32) {{.*}} -> tensor<4xf32>
// CHECK:         %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK:         %[[IDX:.*]] = linalg.fill ins(%[[ZERO]] : i32) {{.*}} -> tensor<4xi32>
// CHECK:         %[[R:.*]]:2 = linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<4x10xf32>) outs(%[[BEST]], %[[IDX]] : tensor<4xf32>, tensor<4xi32>)
// CHECK-NEXT:    ^bb0(%[[IN:.*]]: f32, %[[B:.*]]: f32, %[[I:.*]]: i32):
// CHECK-NEXT:      %[[K:.*]] = linalg.index 1
// CHECK-NEXT:      %[[K32:.*]] = arith.index_cast %[[K]] : index to i32
// CHECK-NEXT:      %[[UGT:.*]] = arith.cmpf ugt, %[[IN]], %[[B]] : f32
// CHECK-NEXT:      %[[ORD:.*]] = arith.cmpf ord, %[[B]], %[[B]] : f32
// CHECK-NEXT:      %[[GT:.*]] = arith.andi %[[UGT]], %[[ORD]] : i1
// CHECK-NEXT:      %[[NB:.*]] = arith.select %[[GT]], %[[IN]], %[[B]] : f32
// CHECK-NEXT:      %[[NI:.*]] = arith.select %[[GT]], %[[K32]], %[[I]] : i32
// CHECK-NEXT:      linalg.yield %[[NB]], %[[NI]]
// CHECK:         return %[[R]]#1
func.func @argmax(%x: tensor<4x10xf32>) -> tensor<4xi32> {
  %i = breg.argmax %x : tensor<4x10xf32> -> tensor<4xi32>
  return %i : tensor<4xi32>
}

// -----

// CHECK-DAG: #[[$LABEL:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @one_hot(
// CHECK-SAME:    %[[L:.*]]: tensor<4xi32>)
// CHECK:         linalg.generic {indexing_maps = [#[[$LABEL]], #[[$ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[L]] : tensor<4xi32>) outs(%{{.*}} : tensor<4x10xf64>)
// CHECK:           %[[K:.*]] = linalg.index 1
// CHECK:           %[[K32:.*]] = arith.index_cast %[[K]] : index to i32
// CHECK:           %[[HIT:.*]] = arith.cmpi eq, %[[K32]], %{{.*}} : i32
// CHECK:           arith.select %[[HIT]], %{{.*}}, %{{.*}} : f64
func.func @one_hot(%labels: tensor<4xi32>) -> tensor<4x10xf64> {
  %h = breg.one_hot %labels : tensor<4xi32> -> tensor<4x10xf64>
  return %h : tensor<4x10xf64>
}

// -----

// The dropout mask: murmur3's finalizer of (row-major index ^ seed ·
// 0x9E3779B9) mod 2³², kept when ≥ rate·2³² (0.25 · 2³² = 1073741824), as
// 1/(1 − rate).
// CHECK-LABEL: func.func @dropout(
// CHECK-SAME:    %[[SEED:.*]]: i32)
// CHECK:         linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3xf32>)
// CHECK:           arith.extui %[[SEED]] : i32 to i64
// CHECK:           arith.constant 2654435769 : i64
// CHECK:           arith.xori
// CHECK:           arith.constant 4294967295 : i64
// CHECK:           arith.constant 16 : i64
// CHECK:           arith.constant 2246822507 : i64
// CHECK:           arith.constant 13 : i64
// CHECK:           arith.constant 3266489909 : i64
// CHECK:           arith.constant 16 : i64
// CHECK:           %[[T:.*]] = arith.constant 1073741824 : i64
// CHECK:           %[[KEEP:.*]] = arith.cmpi uge, %{{.*}}, %[[T]] : i64
// CHECK:           %[[SCALE:.*]] = arith.constant 1.33333337 : f32
// CHECK:           arith.select %[[KEEP]], %[[SCALE]], %{{.*}} : f32
func.func @dropout(%seed: i32) -> tensor<2x3xf32> {
  %m = breg.dropout_mask %seed rate 0.25 : tensor<2x3xf32>
  return %m : tensor<2x3xf32>
}
