// Vector exp, erf and erfc become polynomials (no math.exp / math.erf /
// math.erfc left, so no
// libm call per lane); exp's overflow is restored by a select on x >
// 88.72283 (the largest float whose exp is finite); scalars and f64 keep
// their math ops (libm).
// RUN: bregman-opt %s -breg-approximate-math | FileCheck %s

// CHECK-LABEL: func.func @vector_exp
// CHECK-SAME:    (%[[X:.*]]: vector<16xf32>)
// CHECK-NOT:     math.exp
// CHECK:         math.fma
// CHECK:         %[[LIMIT:.*]] = arith.constant dense<88.7228317> : vector<16xf32>
// CHECK:         %[[OVER:.*]] = arith.cmpf ogt, %[[X]], %[[LIMIT]]
// CHECK:         %[[INF:.*]] = arith.constant dense<0x7F800000> : vector<16xf32>
// CHECK:         %[[R:.*]] = arith.select %[[OVER]], %[[INF]], %{{.*}}
// CHECK:         return %[[R]]
func.func @vector_exp(%x: vector<16xf32>) -> vector<16xf32> {
  %y = math.exp %x : vector<16xf32>
  return %y : vector<16xf32>
}

// CHECK-LABEL: func.func @vector_erf
// CHECK-NOT:     math.erf
// CHECK:         arith.divf
// CHECK:         return
func.func @vector_erf(%x: vector<16xf32>) -> vector<16xf32> {
  %y = math.erf %x : vector<16xf32>
  return %y : vector<16xf32>
}

// erfc's own exp(−x²) is approximated too.
// CHECK-LABEL: func.func @vector_erfc
// CHECK-NOT:     math.erfc
// CHECK-NOT:     math.exp
// CHECK:         return
func.func @vector_erfc(%x: vector<16xf32>) -> vector<16xf32> {
  %y = math.erfc %x : vector<16xf32>
  return %y : vector<16xf32>
}

// CHECK-LABEL: func.func @scalars_and_f64
// CHECK:         math.exp %{{.*}} : f32
// CHECK:         math.erf %{{.*}} : f32
// CHECK:         math.erfc %{{.*}} : f32
// CHECK:         math.exp %{{.*}} : vector<4xf64>
func.func @scalars_and_f64(%x: f32, %v: vector<4xf64>) -> (f32, f32, f32, vector<4xf64>) {
  %a = math.exp %x : f32
  %b = math.erf %x : f32
  %e = math.erfc %x : f32
  %c = math.exp %v : vector<4xf64>
  return %a, %b, %e, %c : f32, f32, f32, vector<4xf64>
}
