// breg-vectorize-windows: an all-parallel generic that reads pooling windows
// through maps with constant indices becomes vector code. The lanes are a row
// of outputs (or, for a short innermost loop, the loop whole with a chunk of
// the loop outside it); each operand's lanes are one contiguous span of its
// flattened buffer, loaded and shuffled into lane order (a constant innermost
// index widens the span to whole windows, so a window's columns share one
// load); the output is stored contiguously. Large nests run their outermost
// loop as an scf.forall. Generics without constant indices, with maps that
// are not linear, or with buffers that are not contiguous are left alone.
// RUN: bregman-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(breg-vectorize-windows),canonicalize,cse)" | FileCheck %s
// RUN: bregman-opt %s -split-input-file -pass-pipeline="builtin.module(func.func(breg-vectorize-windows{parallel-threshold=4096}),canonicalize,cse)" | FileCheck %s --check-prefix=PAR

#window00 = affine_map<(n, c, i, j) -> (n, c, i, 0, j, 0)>
#window01 = affine_map<(n, c, i, j) -> (n, c, i, 0, j, 1)>
#window10 = affine_map<(n, c, i, j) -> (n, c, i, 1, j, 0)>
#window11 = affine_map<(n, c, i, j) -> (n, c, i, 1, j, 1)>
#id4 = affine_map<(n, c, i, j) -> (n, c, i, j)>

// Max pooling 2×2 over 24×24: a row of 12 outputs per vector; the two
// columns of each window row come from one 24-element span, even and odd
// lanes.
// CHECK-LABEL: func.func @max_pool_forward(
// CHECK-SAME:      %[[X:.*]]: memref<2x3x12x2x12x2xf32>, %[[Y:.*]]: memref<2x3x12x12xf32>)
// CHECK-DAG:     %[[XF:.*]] = memref.collapse_shape %[[X]] {{\[}}[0, 1, 2, 3, 4, 5]] : memref<2x3x12x2x12x2xf32> into memref<3456xf32>
// CHECK-DAG:     %[[YF:.*]] = memref.collapse_shape %[[Y]] {{\[}}[0, 1, 2, 3]] : memref<2x3x12x12xf32> into memref<864xf32>
// CHECK:         scf.for %[[N:.*]] =
// CHECK:           scf.for %[[C:.*]] =
// CHECK:             scf.for %[[I:.*]] =
// CHECK:               %[[AT0:.*]] = affine.apply {{.*}}(%[[N]], %[[C]], %[[I]])
// CHECK:               %[[ROW0:.*]] = vector.load %[[XF]][%[[AT0]]] : memref<3456xf32>, vector<24xf32>
// CHECK:               %[[EVEN0:.*]] = vector.shuffle %[[ROW0]], %[[ROW0]] [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22]
// CHECK:               %[[ODD0:.*]] = vector.shuffle %[[ROW0]], %[[ROW0]] [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23]
// CHECK:               %[[ROW1:.*]] = vector.load %[[XF]][%{{.*}}] : memref<3456xf32>, vector<24xf32>
// CHECK:               %[[M0:.*]] = arith.maximumf %[[EVEN0]], %[[ODD0]] : vector<12xf32>
// CHECK:               arith.maximumf %[[M0]], %{{.*}} : vector<12xf32>
// CHECK:               %[[M:.*]] = arith.maximumf %{{.*}}, %{{.*}} : vector<12xf32>
// CHECK:               vector.store %[[M]], %[[YF]][%{{.*}}] : memref<864xf32>, vector<12xf32>
// CHECK-NOT:     linalg.generic
// PAR-LABEL: func.func @max_pool_forward(
// PAR-NOT:       scf.forall
func.func @max_pool_forward(%x: memref<2x3x12x2x12x2xf32>, %y: memref<2x3x12x12xf32>) {
  linalg.generic {indexing_maps = [#window00, #window01, #window10, #window11, #id4],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %x, %x, %x : memref<2x3x12x2x12x2xf32>, memref<2x3x12x2x12x2xf32>, memref<2x3x12x2x12x2xf32>, memref<2x3x12x2x12x2xf32>)
      outs(%y : memref<2x3x12x12xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %d: f32, %out: f32):
    %0 = arith.maximumf %a, %b : f32
    %1 = arith.maximumf %0, %c : f32
    %2 = arith.maximumf %1, %d : f32
    linalg.yield %2 : f32
  }
  return
}

// -----

#dyOf = affine_map<(n, c, i, a, j, b) -> (n, c, i, j)>
#x00 = affine_map<(n, c, i, a, j, b) -> (n, c, i, 0, j, 0)>
#x01 = affine_map<(n, c, i, a, j, b) -> (n, c, i, 0, j, 1)>
#id6 = affine_map<(n, c, i, a, j, b) -> (n, c, i, a, j, b)>

// The gradient of a 1×2 window's maximum: lanes are (j, b), 8 windows × 2
// columns; dy repeats each value twice, the window's columns come from one
// 16-element span (one load for both), and linalg.index of b is the lane
// pattern 0, 1, 0, 1, … (folded with its cast to i32).
// CHECK-LABEL: func.func @max_pool_gradient(
// CHECK-DAG:     %[[STEPS:.*]] = arith.constant dense<[0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]> : vector<16xi32>
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             scf.for
// CHECK:               %[[DY:.*]] = vector.load %{{.*}} : memref<192xf32>, vector<8xf32>
// CHECK:               vector.shuffle %[[DY]], %[[DY]] [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7] : vector<8xf32>, vector<8xf32>
// CHECK:               %[[SPAN:.*]] = vector.load %{{.*}} : memref<384xf32>, vector<16xf32>
// CHECK:               %[[X0:.*]] = vector.shuffle %[[SPAN]], %[[SPAN]] [0, 0, 2, 2, 4, 4, 6, 6, 8, 8, 10, 10, 12, 12, 14, 14]
// CHECK-NOT:           vector.load
// CHECK:               %[[X1:.*]] = vector.shuffle %[[SPAN]], %[[SPAN]] [1, 1, 3, 3, 5, 5, 7, 7, 9, 9, 11, 11, 13, 13, 15, 15]
// CHECK:               %[[SECOND:.*]] = arith.cmpf ogt, %[[X1]], %[[X0]] : vector<16xf32>
// CHECK:               %[[BEST:.*]] = arith.extui %[[SECOND]] : vector<16xi1> to vector<16xi32>
// CHECK:               arith.cmpi eq, %[[BEST]], %[[STEPS]] : vector<16xi32>
// CHECK:               vector.store %{{.*}} : memref<384xf32>, vector<16xf32>
// CHECK-NOT:     linalg.generic
func.func @max_pool_gradient(%dy: memref<2x3x4x8xf32>, %x: memref<2x3x4x1x8x2xf32>, %dx: memref<2x3x4x1x8x2xf32>) {
  %c1 = arith.constant 1 : i32
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#dyOf, #x00, #x01, #id6],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%dy, %x, %x : memref<2x3x4x8xf32>, memref<2x3x4x1x8x2xf32>, memref<2x3x4x1x8x2xf32>)
      outs(%dx : memref<2x3x4x1x8x2xf32>) {
  ^bb0(%g: f32, %x0: f32, %x1: f32, %out: f32):
    %second = arith.cmpf ogt, %x1, %x0 : f32
    %best = arith.extui %second : i1 to i32
    %b = linalg.index 5 : index
    %me = arith.index_cast %b : index to i32
    %hit = arith.cmpi eq, %me, %best : i32
    %r = arith.select %hit, %g, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

#y00 = affine_map<(n, c, i, j) -> (n, c, i, 0, j, 0)>
#y11 = affine_map<(n, c, i, j) -> (n, c, i, 1, j, 1)>
#out4 = affine_map<(n, c, i, j) -> (n, c, i, j)>

// 8·16·12·12 = 18432 outputs, above the threshold of 4096: the batch loop
// runs as an scf.forall.
// PAR-LABEL: func.func @large_pool(
// PAR:         scf.forall (%{{.*}}) in (8) {
// PAR:           vector.load {{.*}} vector<24xf32>
// PAR:           vector.store {{.*}} vector<12xf32>
// CHECK-LABEL: func.func @large_pool(
// CHECK-NOT:     scf.forall
func.func @large_pool(%x: memref<8x16x12x2x12x2xf32>, %y: memref<8x16x12x12xf32>) {
  linalg.generic {indexing_maps = [#y00, #y11, #out4],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %x : memref<8x16x12x2x12x2xf32>, memref<8x16x12x2x12x2xf32>)
      outs(%y : memref<8x16x12x12xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %0 = arith.addf %a, %b : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

#plain = affine_map<(i, j) -> (i, j)>
#strided = affine_map<(i, j) -> (i, 0, j)>
#mod = affine_map<(i, j) -> (i, 0, j mod 4)>

#dropsI = affine_map<(i, j) -> (j)>

// Left alone: no constant index (linalg's own vectorizer's case); a map that
// is not linear; a buffer that is not contiguous; i1 elements (a byte each
// in a buffer, a bit each in a vector); an output map that drops a loop (a
// sum over it in disguise: lanes or threads would race); a loop of extent 0
// (canonicalize then erases that one).
// CHECK-LABEL: func.func @left_alone(
// CHECK-COUNT-5: linalg.generic
// CHECK-NOT:     vector.load
func.func @left_alone(%a: memref<16x16xf32>, %b: memref<16x2x16xf32>,
                      %c: memref<16x2x16xf32, strided<[64, 32, 1]>>,
                      %out: memref<16x16xf32>, %bits: memref<16x2x16xi1>,
                      %bitsOut: memref<16x16xi1>, %row: memref<16xf32>,
                      %empty: memref<4x0xf32>, %e: memref<4x2x0xf32>) {
  linalg.generic {indexing_maps = [#strided, #plain], iterator_types = ["parallel", "parallel"]}
      ins(%bits : memref<16x2x16xi1>) outs(%bitsOut : memref<16x16xi1>) {
  ^bb0(%v: i1, %o: i1):
    linalg.yield %v : i1
  }
  linalg.generic {indexing_maps = [#strided, #dropsI], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<16x2x16xf32>) outs(%row : memref<16xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = arith.addf %v, %o : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#strided, #plain], iterator_types = ["parallel", "parallel"]}
      ins(%e : memref<4x2x0xf32>) outs(%empty : memref<4x0xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#plain, #plain], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<16x16xf32>) outs(%out : memref<16x16xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#mod, #plain], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<16x2x16xf32>) outs(%out : memref<16x16xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#strided, #plain], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<16x2x16xf32, strided<[64, 32, 1]>>) outs(%out : memref<16x16xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  return
}
