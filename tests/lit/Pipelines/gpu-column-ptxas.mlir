// Column reductions (the reduced dimension outer: breg-map-linalg-to-gpu's
// column plan, see GPU/BregMapLinalgToGpu/map-linalg.mlir) through the whole
// pipeline: a long f32 column sum split over blocks (65536 x 8: 8 columns by
// 32 row lanes, 5 tree barriers, then the partials by a second kernel of the
// same shape), an f64 one (4096 x 3: 4 columns by 64 lanes, 6 barriers; the
// second pass is one lane per column, no barrier) and a max (1000 x 10: 16
// by 16, 4 barriers; second pass without barriers). No shuffles, no integer
// div/rem by a parameter; every kernel is accepted by ptxas for sm_90, sm_80
// and sm_120, and uses no more than the workgroup memory of its lanes
// (256 values).
// REQUIRES: ptxas, libdevice
// RUN: bregman-opt %s --bregman-gpu-pipeline | %extract_ptx %t --summary | FileCheck %s --check-prefix=SHAPE
// SHAPE:      module 0: 12 parameters, 5 barriers, 0 shuffles, 0 vector loads, 0 integer div/rem
// SHAPE-NEXT: module 1: 10 parameters, 5 barriers, 0 shuffles, 0 vector loads, 0 integer div/rem
// SHAPE-NEXT: module 2: 12 parameters, 6 barriers, 0 shuffles, 0 vector loads, 0 integer div/rem
// SHAPE-NEXT: module 3: 10 parameters, 0 barriers, 0 shuffles, 0 vector loads, 0 integer div/rem
// SHAPE-NEXT: module 4: 12 parameters, 4 barriers, 0 shuffles, 0 vector loads, 0 integer div/rem
// SHAPE-NEXT: module 5: 10 parameters, 0 barriers, 0 shuffles, 0 vector loads, 0 integer div/rem
// SHAPE-NEXT: extracted 6 PTX modules
// RUN: bregman-opt %s --bregman-gpu-pipeline \
// RUN: | %extract_ptx %t.sm90 --assemble %ptxas sm_90 | FileCheck %s --check-prefix=SM90
// SM90: assembled 6 PTX modules for sm_90
// RUN: %ptxas -arch=sm_90 -v %t.sm90.0.ptx -o %t.sm90.0.cubin > %t.0.log 2>&1
// RUN: FileCheck %s --check-prefix=SPILLS --input-file=%t.0.log
// SPILLS: 0 bytes spill stores, 0 bytes spill loads
// SPILLS: 1024 bytes smem
// RUN: bregman-opt %s --bregman-gpu-pipeline="chip=sm_80" \
// RUN: | %extract_ptx %t.sm80 --assemble %ptxas sm_80 | FileCheck %s --check-prefix=SM80
// SM80: assembled 6 PTX modules for sm_80
// RUN: bregman-opt %s --bregman-gpu-pipeline="chip=sm_120" \
// RUN: | %extract_ptx %t.sm120 --assemble %ptxas sm_120 | FileCheck %s --check-prefix=SM120
// SM120: assembled 6 PTX modules for sm_120
func.func @columns(%x: memref<65536x8xf32>, %sum: memref<8xf32>,
                   %y: memref<4096x3xf64>, %sum64: memref<3xf64>,
                   %z: memref<1000x10xf32>, %max: memref<10xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<65536x8xf32>) outs(%sum : memref<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%y : memref<4096x3xf64>) outs(%sum64 : memref<3xf64>) {
  ^bb0(%a: f64, %acc: f64):
    %s = arith.addf %a, %acc : f64
    linalg.yield %s : f64
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%z : memref<1000x10xf32>) outs(%max : memref<10xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %a, %acc : f32
    linalg.yield %m : f32
  }
  return
}
