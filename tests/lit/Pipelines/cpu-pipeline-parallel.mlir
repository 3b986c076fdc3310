// bregman-cpu-pipeline{parallel-threshold=N}: a large update loop becomes an
// OpenMP worksharing loop (omp.parallel + omp.wsloop, lowered to LLVM
// together with the rest); without the option nothing uses OpenMP.
// RUN: bregman-opt %s --bregman-cpu-pipeline="parallel-threshold=262144" | FileCheck %s
// RUN: bregman-opt %s --bregman-cpu-pipeline | FileCheck %s --check-prefix=SERIAL

// CHECK-LABEL: llvm.func @step(
// CHECK:         omp.parallel {
// CHECK:           omp.wsloop {
// CHECK:             omp.loop_nest (%{{.*}}) : i64 = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK:               llvm.fmul {{.*}} : vector<16xf32>
// CHECK:               omp.yield
// CHECK-NOT:     builtin.unrealized_conversion_cast

// SERIAL-LABEL: llvm.func @step(
// SERIAL-NOT:     omp.
func.func @step(%t: memref<1048576xf32>, %g: memref<1048576xf32>, %lr: f32) {
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> ()>,
                                   affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%g, %lr : memref<1048576xf32>, f32) outs(%t : memref<1048576xf32>) {
  ^bb0(%gi: f32, %l: f32, %ti: f32):
    %s = arith.mulf %l, %gi : f32
    %n = arith.subf %ti, %s : f32
    linalg.yield %n : f32
  }
  return
}
