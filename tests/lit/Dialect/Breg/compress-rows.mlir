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
