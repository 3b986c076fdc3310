// breg.compress_rows round-trips through its assembly format.
// RUN: bregman-opt %s | bregman-opt | FileCheck %s

// CHECK-LABEL: func.func @compress
// CHECK:         %positions, %coordinates, %values = breg.compress_rows %{{.*}} : tensor<200x784xf32> -> tensor<201xi32>, tensor<156800xi32>, tensor<156800xf32>
func.func @compress(%m: tensor<200x784xf32>)
    -> (tensor<201xi32>, tensor<156800xi32>, tensor<156800xf32>) {
  %p, %c, %v = breg.compress_rows %m
      : tensor<200x784xf32> -> tensor<201xi32>, tensor<156800xi32>, tensor<156800xf32>
  return %p, %c, %v : tensor<201xi32>, tensor<156800xi32>, tensor<156800xf32>
}

// CHECK-LABEL: func.func @into
// CHECK:         breg.compress_rows %{{.*}} into(%{{.*}}, %{{.*}}, %{{.*}} : tensor<3xi32>, tensor<10xi32>, tensor<10xf32>) : tensor<2x5xf32> -> tensor<3xi32>, tensor<10xi32>, tensor<10xf32>
func.func @into(%m: tensor<2x5xf32>, %p0: tensor<3xi32>, %c0: tensor<10xi32>,
                %v0: tensor<10xf32>)
    -> (tensor<3xi32>, tensor<10xi32>, tensor<10xf32>) {
  %p, %c, %v = breg.compress_rows %m into(%p0, %c0, %v0
      : tensor<3xi32>, tensor<10xi32>, tensor<10xf32>)
      : tensor<2x5xf32> -> tensor<3xi32>, tensor<10xi32>, tensor<10xf32>
  return %p, %c, %v : tensor<3xi32>, tensor<10xi32>, tensor<10xf32>
}
