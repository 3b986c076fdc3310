// The pooling, argmax, one-hot and dropout-mask ops parse, verify and print
// back (round trip).
// RUN: bregman-opt %s | bregman-opt | FileCheck %s

// CHECK-LABEL: func.func @convnet_pool
// CHECK:  breg.max_pool2d %{{.*}} kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1] : tensor<128x64x24x24xf32> -> tensor<128x64x12x12xf32>
// CHECK:  breg.max_pool2d_grad %{{.*}}, %{{.*}} kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1] : tensor<128x64x24x24xf32>, tensor<128x64x12x12xf32> -> tensor<128x64x24x24xf32>
func.func @convnet_pool(%x: tensor<128x64x24x24xf32>, %dy: tensor<128x64x12x12xf32>)
    -> (tensor<128x64x12x12xf32>, tensor<128x64x24x24xf32>) {
  %y = breg.max_pool2d %x kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<128x64x24x24xf32> -> tensor<128x64x12x12xf32>
  %dx = breg.max_pool2d_grad %x, %dy kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1]
      : tensor<128x64x24x24xf32>, tensor<128x64x12x12xf32> -> tensor<128x64x24x24xf32>
  return %y, %dx : tensor<128x64x12x12xf32>, tensor<128x64x24x24xf32>
}

// Overlapping, padded (asymmetric), dilated, in f64:
// OH = (9 + 1 + 2 − 2·2 − 1)/2 + 1 = 4, OW = (7 + 0 + 1 − 1·2 − 1)/1 + 1 = 6.
// CHECK-LABEL: func.func @sum_geometry
// CHECK:  breg.sum_pool2d %{{.*}} kernel [3, 3] strides [2, 1] padding [1, 0, 2, 1] dilations [2, 1] : tensor<1x2x9x7xf64> -> tensor<1x2x4x6xf64>
// CHECK:  breg.sum_pool2d_grad %{{.*}} kernel [3, 3] strides [2, 1] padding [1, 0, 2, 1] dilations [2, 1] : tensor<1x2x4x6xf64> -> tensor<1x2x9x7xf64>
func.func @sum_geometry(%x: tensor<1x2x9x7xf64>, %dy: tensor<1x2x4x6xf64>)
    -> (tensor<1x2x4x6xf64>, tensor<1x2x9x7xf64>) {
  %y = breg.sum_pool2d %x kernel [3, 3] strides [2, 1] padding [1, 0, 2, 1] dilations [2, 1]
      : tensor<1x2x9x7xf64> -> tensor<1x2x4x6xf64>
  %dx = breg.sum_pool2d_grad %dy kernel [3, 3] strides [2, 1] padding [1, 0, 2, 1] dilations [2, 1]
      : tensor<1x2x4x6xf64> -> tensor<1x2x9x7xf64>
  return %y, %dx : tensor<1x2x4x6xf64>, tensor<1x2x9x7xf64>
}

// CHECK-LABEL: func.func @classifier
// CHECK:  breg.argmax %{{.*}} : tensor<128x10xf32> -> tensor<128xi32>
// CHECK:  breg.argmax %{{.*}} : tensor<7xf64> -> tensor<i32>
// CHECK:  breg.one_hot %{{.*}} : tensor<128xi32> -> tensor<128x10xf32>
// CHECK:  breg.dropout_mask %{{.*}} rate 5.000000e-01 : tensor<128x200xf32>
func.func @classifier(%logits: tensor<128x10xf32>, %v: tensor<7xf64>,
                      %labels: tensor<128xi32>, %seed: i32)
    -> (tensor<128xi32>, tensor<i32>, tensor<128x10xf32>, tensor<128x200xf32>) {
  %i = breg.argmax %logits : tensor<128x10xf32> -> tensor<128xi32>
  %j = breg.argmax %v : tensor<7xf64> -> tensor<i32>
  %h = breg.one_hot %labels : tensor<128xi32> -> tensor<128x10xf32>
  %m = breg.dropout_mask %seed rate 0.5 : tensor<128x200xf32>
  return %i, %j, %h, %m : tensor<128xi32>, tensor<i32>, tensor<128x10xf32>, tensor<128x200xf32>
}
