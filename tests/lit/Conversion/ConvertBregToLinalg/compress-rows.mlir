// breg.compress_rows, scalar form (compress-vector-length=0, the GPU
// pipeline's) -> two scf.for loops on tensors (rows, then columns)
// carrying positions, coordinates, values and the count of non-zeros. Every
// element is written to slot `count` (column as i32, value) and the count
// grows by (x != 0, unordered: NaN counts), with no branch; after each row
// positions[row + 1] = count. positions[0] = 0 before the loops. The loops
// start from tensor.empty, or from the `into` operands when there are some.
// The vector form (the default) is in compress-rows-vector.mlir.
// RUN: bregman-opt %s -convert-breg-to-linalg="compress-vector-length=0" | FileCheck %s

// CHECK-LABEL: func.func @compress(
// CHECK-SAME:    %[[M:.*]]: tensor<3x4xf32>)
// CHECK-DAG:     %[[ZF:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[Z32:.*]] = arith.constant 0 : i32
// CHECK:         %[[P0:.*]] = tensor.empty() : tensor<4xi32>
// CHECK:         %[[CE:.*]] = tensor.empty() : tensor<12xi32>
// CHECK:         %[[VE:.*]] = tensor.empty() : tensor<12xf32>
// CHECK:         %[[P1:.*]] = tensor.insert %[[Z32]] into %[[P0]][%[[C0]]] : tensor<4xi32>
// CHECK:         %[[R:.*]]:4 = scf.for %[[I:.*]] = %[[C0]] to %[[C3]] step %[[C1]]
// CHECK-SAME:        iter_args(%[[P:.*]] = %[[P1]], %[[CR:.*]] = %[[CE]], %[[VA:.*]] = %[[VE]], %[[N:.*]] = %[[C0]])
// CHECK:           %[[IN:.*]]:3 = scf.for %[[J:.*]] = %[[C0]] to %[[C4]] step %[[C1]]
// CHECK-SAME:          iter_args(%[[CR2:.*]] = %[[CR]], %[[VA2:.*]] = %[[VA]], %[[N2:.*]] = %[[N]])
// CHECK:             %[[X:.*]] = tensor.extract %[[M]][%[[I]], %[[J]]] : tensor<3x4xf32>
// CHECK:             %[[J32:.*]] = arith.index_cast %[[J]] : index to i32
// CHECK:             %[[CR3:.*]] = tensor.insert %[[J32]] into %[[CR2]][%[[N2]]] : tensor<12xi32>
// CHECK:             %[[VA3:.*]] = tensor.insert %[[X]] into %[[VA2]][%[[N2]]] : tensor<12xf32>
// CHECK:             %[[NZ:.*]] = arith.cmpf une, %[[X]], %[[ZF]] : f32
// CHECK:             %[[STEP:.*]] = arith.select %[[NZ]], %[[C1]], %[[C0]] : index
// CHECK:             %[[N3:.*]] = arith.addi %[[N2]], %[[STEP]] : index
// CHECK:             scf.yield %[[CR3]], %[[VA3]], %[[N3]]
// CHECK:           %[[NEXT:.*]] = arith.addi %[[I]], %[[C1]] : index
// CHECK:           %[[CNT:.*]] = arith.index_cast %[[IN]]#2 : index to i32
// CHECK:           %[[P2:.*]] = tensor.insert %[[CNT]] into %[[P]][%[[NEXT]]] : tensor<4xi32>
// CHECK:           scf.yield %[[P2]], %[[IN]]#0, %[[IN]]#1, %[[IN]]#2
// CHECK:         return %[[R]]#0, %[[R]]#1, %[[R]]#2
// CHECK-NOT:     breg.compress_rows
func.func @compress(%m: tensor<3x4xf32>)
    -> (tensor<4xi32>, tensor<12xi32>, tensor<12xf32>) {
  %p, %c, %v = breg.compress_rows %m
      : tensor<3x4xf32> -> tensor<4xi32>, tensor<12xi32>, tensor<12xf32>
  return %p, %c, %v : tensor<4xi32>, tensor<12xi32>, tensor<12xf32>
}

// With `into` operands the loops start from them (no tensor.empty).
// CHECK-LABEL: func.func @into(
// CHECK-SAME:    %[[M:.*]]: tensor<3x4xf32>, %[[PI:.*]]: tensor<4xi32>, %[[CI:.*]]: tensor<12xi32>, %[[VI:.*]]: tensor<12xf32>)
// CHECK-NOT:     tensor.empty
// CHECK:         %[[P1:.*]] = tensor.insert %{{.*}} into %[[PI]][%{{.*}}] : tensor<4xi32>
// CHECK:         scf.for
// CHECK-SAME:        iter_args(%{{.*}} = %[[P1]], %{{.*}} = %[[CI]], %{{.*}} = %[[VI]], %{{.*}} = %{{.*}})
func.func @into(%m: tensor<3x4xf32>, %p0: tensor<4xi32>, %c0: tensor<12xi32>,
                %v0: tensor<12xf32>)
    -> (tensor<4xi32>, tensor<12xi32>, tensor<12xf32>) {
  %p, %c, %v = breg.compress_rows %m into(%p0, %c0, %v0
      : tensor<4xi32>, tensor<12xi32>, tensor<12xf32>)
      : tensor<3x4xf32> -> tensor<4xi32>, tensor<12xi32>, tensor<12xf32>
  return %p, %c, %v : tensor<4xi32>, tensor<12xi32>, tensor<12xf32>
}
