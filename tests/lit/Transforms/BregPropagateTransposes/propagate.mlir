// breg-propagate-transposes runs a generic whose full-rank inputs are all
// transposed alike in the layout before the transpose, where a transpose
// goes away; transposes that undo each other cancel.
// RUN: bregman-opt %s -split-input-file -breg-propagate-transposes | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

// Between two feature-major layers: the layer's result [200, 128] transposed
// to batch-major, the bias added along d1, the ReLU, and back. Both generics
// now run on [200, 128] with the bias along d0, and no transpose is left.
// CHECK-DAG:   #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @between_layers(
// CHECK-SAME:    %[[A:.*]]: tensor<200x128xf32>, %[[B:.*]]: tensor<200xf32>)
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<200x128xf32>
// CHECK:         %[[S:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:      ins(%[[A]], %[[B]] : tensor<200x128xf32>, tensor<200xf32>) outs(%[[E]] : tensor<200x128xf32>)
// CHECK:           arith.addf
// CHECK:         %[[R:.*]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:      ins(%[[S]] : tensor<200x128xf32>)
// CHECK:           arith.maximumf
// CHECK-NOT:     linalg.transpose
// CHECK:         return %[[R]] : tensor<200x128xf32>
func.func @between_layers(%a: tensor<200x128xf32>, %b: tensor<200xf32>) -> tensor<200x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<128x200xf32>
  %t = linalg.transpose ins(%a : tensor<200x128xf32>) outs(%e0 : tensor<128x200xf32>) permutation = [1, 0]
  %e1 = tensor.empty() : tensor<128x200xf32>
  %s = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t, %b : tensor<128x200xf32>, tensor<200xf32>) outs(%e1 : tensor<128x200xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<128x200xf32>
  %e2 = tensor.empty() : tensor<128x200xf32>
  %relu = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%s : tensor<128x200xf32>) outs(%e2 : tensor<128x200xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = arith.maximumf %x, %zero : f32
    linalg.yield %r : f32
  } -> tensor<128x200xf32>
  %e3 = tensor.empty() : tensor<200x128xf32>
  %back = linalg.transpose ins(%relu : tensor<128x200xf32>) outs(%e3 : tensor<200x128xf32>) permutation = [1, 0]
  return %back : tensor<200x128xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>

// A bias gradient, the batch summed out of a transposed gradient: it becomes
// a row sum of the untransposed one, the reduction innermost.
// CHECK-DAG:   #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[$ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @bias_gradient(
// CHECK-SAME:    %[[G:.*]]: tensor<200x128xf32>
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[F:.*]] = linalg.fill
// CHECK:         linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME:      ins(%[[G]] : tensor<200x128xf32>) outs(%[[F]] : tensor<200xf32>)
func.func @bias_gradient(%g: tensor<200x128xf32>) -> tensor<200xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<128x200xf32>
  %t = linalg.transpose ins(%g : tensor<200x128xf32>) outs(%e0 : tensor<128x200xf32>) permutation = [1, 0]
  %e1 = tensor.empty() : tensor<200xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e1 : tensor<200xf32>) -> tensor<200xf32>
  %sum = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["reduction", "parallel"]}
      ins(%t : tensor<128x200xf32>) outs(%f : tensor<200xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = arith.addf %x, %o : f32
    linalg.yield %r : f32
  } -> tensor<200xf32>
  return %sum : tensor<200xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#last = affine_map<(d0, d1, d2) -> (d2)>

// Three dimensions, permutation [2, 0, 1]: T[i, j, k] = A[j, k, i], so the
// generic iterates over A's [2, 3, 4], the vector along T's d2 (A's d1) is
// read along d1, and the result is transposed by the same permutation.
// CHECK-DAG:   #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG:   #[[$MID:.*]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-LABEL: func.func @three_dims(
// CHECK-SAME:    %[[A:.*]]: tensor<2x3x4xf32>, %[[V:.*]]: tensor<3xf32>)
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<2x3x4xf32>
// CHECK:         %[[M:.*]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$MID]], #[[$ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:      ins(%[[A]], %[[V]] : tensor<2x3x4xf32>, tensor<3xf32>) outs(%[[E]] : tensor<2x3x4xf32>)
// CHECK:         %[[E2:.*]] = tensor.empty() : tensor<4x2x3xf32>
// CHECK:         %[[T:.*]] = linalg.transpose ins(%[[M]] : tensor<2x3x4xf32>) outs(%[[E2]] : tensor<4x2x3xf32>) permutation = [2, 0, 1]
// CHECK:         return %[[T]]
func.func @three_dims(%a: tensor<2x3x4xf32>, %v: tensor<3xf32>) -> tensor<4x2x3xf32> {
  %e0 = tensor.empty() : tensor<4x2x3xf32>
  %t = linalg.transpose ins(%a : tensor<2x3x4xf32>) outs(%e0 : tensor<4x2x3xf32>) permutation = [2, 0, 1]
  %e1 = tensor.empty() : tensor<4x2x3xf32>
  %m = linalg.generic {indexing_maps = [#id3, #last, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%t, %v : tensor<4x2x3xf32>, tensor<3xf32>) outs(%e1 : tensor<4x2x3xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.mulf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<4x2x3xf32>
  return %m : tensor<4x2x3xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>

// Left alone: the transpose has another reader and the result is not
// transposed back (nothing would go); an input that is not a transpose
// beside one that is; an output the body reads; transposes of different
// permutations.
// CHECK-LABEL: func.func @kept(
// CHECK-COUNT-4: linalg.transpose
// CHECK-NOT:     linalg.transpose
func.func @kept(%a: tensor<8x4xf32>, %b: tensor<4x8xf32>, %acc: tensor<4x8xf32>,
                %c: tensor<2x3x4xf32>)
    -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<3x4x2xf32>) {
  %e0 = tensor.empty() : tensor<4x8xf32>
  %t = linalg.transpose ins(%a : tensor<8x4xf32>) outs(%e0 : tensor<4x8xf32>) permutation = [1, 0]
  %shared = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t : tensor<4x8xf32>) outs(%e0 : tensor<4x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = math.exp %x : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %e1 = tensor.empty() : tensor<4x8xf32>
  %t1 = linalg.transpose ins(%a : tensor<8x4xf32>) outs(%e1 : tensor<4x8xf32>) permutation = [1, 0]
  %mixed = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t1, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e0 : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %r = arith.addf %x, %y : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %e2 = tensor.empty() : tensor<4x8xf32>
  %t2 = linalg.transpose ins(%a : tensor<8x4xf32>) outs(%e2 : tensor<4x8xf32>) permutation = [1, 0]
  %accumulated = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t2 : tensor<4x8xf32>) outs(%acc : tensor<4x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %r = arith.addf %x, %o : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %e3 = tensor.empty() : tensor<3x4x2xf32>
  %t3 = linalg.transpose ins(%c : tensor<2x3x4xf32>) outs(%e3 : tensor<3x4x2xf32>) permutation = [1, 2, 0]
  return %t, %shared, %mixed, %accumulated, %t2, %t3 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<3x4x2xf32>
}

// -----

// A transpose undone by the next one is its input; one that is not undone
// (the same [1, 2, 0] twice) stays.
// CHECK-LABEL: func.func @pairs(
// CHECK-SAME:    %[[A:.*]]: tensor<2x3xf32>, %[[C:.*]]: tensor<2x3x4xf32>)
// CHECK:         %[[T1:.*]] = linalg.transpose ins(%[[C]]
// CHECK:         %[[T2:.*]] = linalg.transpose ins(%[[T1]]
// CHECK:         return %[[A]], %[[T2]]
func.func @pairs(%a: tensor<2x3xf32>, %c: tensor<2x3x4xf32>) -> (tensor<2x3xf32>, tensor<4x2x3xf32>) {
  %e0 = tensor.empty() : tensor<3x2xf32>
  %t = linalg.transpose ins(%a : tensor<2x3xf32>) outs(%e0 : tensor<3x2xf32>) permutation = [1, 0]
  %e1 = tensor.empty() : tensor<2x3xf32>
  %back = linalg.transpose ins(%t : tensor<3x2xf32>) outs(%e1 : tensor<2x3xf32>) permutation = [1, 0]
  %e2 = tensor.empty() : tensor<3x4x2xf32>
  %t1 = linalg.transpose ins(%c : tensor<2x3x4xf32>) outs(%e2 : tensor<3x4x2xf32>) permutation = [1, 2, 0]
  %e3 = tensor.empty() : tensor<4x2x3xf32>
  %t2 = linalg.transpose ins(%t1 : tensor<3x4x2xf32>) outs(%e3 : tensor<4x2x3xf32>) permutation = [1, 2, 0]
  return %back, %t2 : tensor<2x3xf32>, tensor<4x2x3xf32>
}
