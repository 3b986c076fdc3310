// breg-vectorize-row-sums: a generic that adds a contiguous input into an
// output indexed by its leading parallel loops (a convolution's bias
// gradient, [N, C, H, W] summed into [N, C], or into [C] with N summed too)
// sums the rows of each output element into one vector accumulator, reduces
// it once and adds it to the output element; output elements run as an
// scf.forall above the parallel threshold. Other reductions are left.
// RUN: bregman-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(breg-vectorize-row-sums),canonicalize)" | FileCheck %s
// RUN: bregman-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(breg-vectorize-row-sums{parallel-threshold=4096}),canonicalize)" | FileCheck %s --check-prefix=PAR

#in = affine_map<(n, c, h, w) -> (n, c, h, w)>
#out = affine_map<(n, c, h, w) -> (n, c)>

// 24·24 = 576 = 36 vectors of 16 per row, 2·8 = 16 rows.
// CHECK-LABEL: func.func @bias_gradient(
// CHECK-SAME:      %[[DY:.*]]: memref<2x8x24x24xf32>, %[[DB:.*]]: memref<2x8xf32>)
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// CHECK-DAG:     %[[C576:.*]] = arith.constant 576 : index
// CHECK-DAG:     %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG:     %[[IN:.*]] = memref.collapse_shape %[[DY]] {{\[}}[0, 1, 2, 3]] : memref<2x8x24x24xf32> into memref<9216xf32>
// CHECK-DAG:     %[[OUT:.*]] = memref.collapse_shape %[[DB]] {{\[}}[0, 1]] : memref<2x8xf32> into memref<16xf32>
// CHECK:         scf.for %[[ROW:.*]] = %{{.*}} to %[[C16]] step %{{.*}} {
// CHECK:           %[[C:.*]] = arith.remui %[[ROW]], %[[C8:.*]] : index
// CHECK:           %[[N:.*]] = arith.divui %[[ROW]], %[[C8]] : index
// CHECK:           %[[N8:.*]] = arith.muli %[[N]], %[[C8]] : index
// CHECK:           %[[SAME:.*]] = arith.addi %[[N8]], %[[C]] : index
// CHECK:           %[[START:.*]] = arith.muli %[[SAME]], %[[C576]] : index
// CHECK:           %[[ACC:.*]] = scf.for %[[K:.*]] = %{{.*}} to %[[C576]] step %[[C16]] iter_args(%[[A:.*]] = %[[ZERO]]) -> (vector<16xf32>) {
// CHECK:             %[[AT:.*]] = arith.addi %[[START]], %[[K]] : index
// CHECK:             %[[V:.*]] = vector.load %[[IN]][%[[AT]]] : memref<9216xf32>, vector<16xf32>
// CHECK:             %[[NEXT:.*]] = arith.addf %[[A]], %[[V]] : vector<16xf32>
// CHECK:             scf.yield %[[NEXT]] : vector<16xf32>
// CHECK:           %[[TOTAL:.*]] = vector.reduction <add>, %[[ACC]] fastmath<reassoc> : vector<16xf32> into f32
// CHECK:           %[[OLD:.*]] = memref.load %[[OUT]][%[[ROW]]] : memref<16xf32>
// CHECK:           %[[NEW:.*]] = arith.addf %[[OLD]], %[[TOTAL]] : f32
// CHECK:           memref.store %[[NEW]], %[[OUT]][%[[ROW]]] : memref<16xf32>
// CHECK-NOT:     linalg.generic
// PAR-LABEL: func.func @bias_gradient(
// PAR:         scf.forall (%{{.*}}) in (16) {
// PAR:           vector.reduction <add>
func.func @bias_gradient(%dy: memref<2x8x24x24xf32>, %db: memref<2x8xf32>) {
  linalg.generic {indexing_maps = [#in, #out],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%dy : memref<2x8x24x24xf32>) outs(%db : memref<2x8xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#nchw = affine_map<(n, c, h, w) -> (n, c, h, w)>
#channel = affine_map<(n, c, h, w) -> (c)>

// N summed too ([16, 8, 8, 8] into [8]): each output element loops over its
// 16 rows (row n·8 + c) with one accumulator; above the threshold the 8
// output elements run as an scf.forall.
// CHECK-LABEL: func.func @bias_gradient_over_the_batch(
// CHECK-DAG:     %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG:     %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG:     %[[C64:.*]] = arith.constant 64 : index
// CHECK:         scf.for %[[C:.*]] = %{{.*}} to %[[C8]] step %{{.*}} {
// CHECK:           %[[SUM:.*]] = scf.for %[[N:.*]] = %{{.*}} to %[[C16]] step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<16xf32>) {
// CHECK:             %[[NC:.*]] = arith.muli %[[N]], %[[C8]] : index
// CHECK:             %[[ROW:.*]] = arith.addi %[[NC]], %[[C]] : index
// CHECK:             arith.muli %[[ROW]], %[[C64]] : index
// CHECK:             scf.for {{.*}} iter_args(%{{.*}} = %[[ACC]]) -> (vector<16xf32>) {
// CHECK:               vector.load {{.*}} : memref<8192xf32>, vector<16xf32>
// CHECK:           vector.reduction <add>, %[[SUM]] fastmath<reassoc> : vector<16xf32> into f32
// CHECK:           memref.store {{.*}} : memref<8xf32>
// CHECK-NOT:     linalg.generic
// PAR-LABEL: func.func @bias_gradient_over_the_batch(
// PAR:         scf.forall (%{{.*}}) in (8) {
// PAR:           scf.for {{.*}} -> (vector<16xf32>) {
// PAR:           vector.reduction <add>
func.func @bias_gradient_over_the_batch(%dy: memref<16x8x8x8xf32>, %db: memref<8xf32>) {
  linalg.generic {indexing_maps = [#nchw, #channel],
                  iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%dy : memref<16x8x8x8xf32>) outs(%db : memref<8xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %v, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#all = affine_map<(i, j) -> (i, j)>
#none = affine_map<(i, j) -> ()>

// A sum of everything into a 0-D buffer: one row, no output index.
// CHECK-LABEL: func.func @total(
// CHECK-SAME:      %[[X:.*]]: memref<4x32xf32>, %[[S:.*]]: memref<f32>)
// CHECK:         %[[FLAT:.*]] = memref.collapse_shape %[[X]] {{\[}}[0, 1]] : memref<4x32xf32> into memref<128xf32>
// CHECK:         %[[ACC:.*]] = scf.for {{.*}} -> (vector<16xf32>) {
// CHECK:           vector.load %[[FLAT]]
// CHECK:         %[[TOTAL:.*]] = vector.reduction <add>, %[[ACC]] fastmath<reassoc> : vector<16xf32> into f32
// CHECK:         %[[OLD:.*]] = memref.load %[[S]][] : memref<f32>
// CHECK:         %[[NEW:.*]] = arith.addf %[[OLD]], %[[TOTAL]] : f32
// CHECK:         memref.store %[[NEW]], %[[S]][] : memref<f32>
func.func @total(%x: memref<4x32xf32>, %s: memref<f32>) {
  linalg.generic {indexing_maps = [#all, #none], iterator_types = ["reduction", "reduction"]}
      ins(%x : memref<4x32xf32>) outs(%s : memref<f32>) {
  ^bb0(%v: f32, %acc: f32):
    %r = arith.addf %v, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// -----

#in2 = affine_map<(i, j) -> (i, j)>
#out2 = affine_map<(i, j) -> (i)>
#col = affine_map<(i, j) -> (j)>
#t = affine_map<(i, j) -> (j, i)>

// Left alone: a maximum, not a sum; a sum over the leading loop (columns);
// a transposed read; rows of 6 (no divisor of at least 4).
// CHECK-LABEL: func.func @left_alone(
// CHECK-COUNT-4: linalg.generic
// CHECK-NOT:     vector.reduction
func.func @left_alone(%a: memref<4x64xf32>, %b: memref<64x4xf32>, %c: memref<4x6xf32>,
                      %r: memref<4xf32>, %s: memref<64xf32>, %u: memref<4xf32>) {
  linalg.generic {indexing_maps = [#in2, #out2], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<4x64xf32>) outs(%r : memref<4xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %m = arith.maximumf %v, %acc : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [#in2, #col], iterator_types = ["reduction", "parallel"]}
      ins(%a : memref<4x64xf32>) outs(%s : memref<64xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %m = arith.addf %v, %acc : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [#t, #out2], iterator_types = ["parallel", "reduction"]}
      ins(%b : memref<64x4xf32>) outs(%r : memref<4xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %m = arith.addf %v, %acc : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [#in2, #out2], iterator_types = ["parallel", "reduction"]}
      ins(%c : memref<4x6xf32>) outs(%u : memref<4xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %m = arith.addf %v, %acc : f32
    linalg.yield %m : f32
  }
  return
}
