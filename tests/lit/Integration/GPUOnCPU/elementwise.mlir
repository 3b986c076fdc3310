// The GPU kernel IR executed on the CPU (DESIGN.md, "Verifying GPU code
// without a GPU"): an elementwise LinBreg update is tiled into blocks of 4
// threads and mapped to a gpu.launch as the GPU pipeline does, then
// breg-gpu-launch-to-loops turns the launch into loops over block and thread
// ids and the CPU pipeline runs it. The same CHECK lines are checked against
// the plain CPU path. 10 elements in blocks of 4: the last block has 2 idle
// threads, whose bounds guard keeps them from writing the sentinels (7) that
// follow the 10 elements in each buffer.
//
// RUN: bregman-opt %s --pass-pipeline="builtin.module(func.func(convert-linalg-to-parallel-loops,scf-parallel-loop-tiling{parallel-loop-tile-sizes=4 no-min-max-bounds=true},gpu-map-parallel-loops,convert-parallel-loops-to-gpu),lower-affine,canonicalize)" \
// RUN: | FileCheck %s --check-prefix=LAUNCH
// RUN: bregman-opt %s --pass-pipeline="builtin.module(func.func(convert-linalg-to-parallel-loops,scf-parallel-loop-tiling{parallel-loop-tile-sizes=4 no-min-max-bounds=true},gpu-map-parallel-loops,convert-parallel-loops-to-gpu),lower-affine,canonicalize,breg-gpu-launch-to-loops)" \
// RUN: | FileCheck %s --check-prefix=LOOPS
// RUN: bregman-opt %s --pass-pipeline="builtin.module(func.func(convert-linalg-to-parallel-loops,scf-parallel-loop-tiling{parallel-loop-tile-sizes=4 no-min-max-bounds=true},gpu-map-parallel-loops,convert-parallel-loops-to-gpu),lower-affine,canonicalize,breg-gpu-launch-to-loops)" \
// RUN: | bregman-opt --bregman-cpu-pipeline="bare-ptr-call-conv=0" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s
// RUN: bregman-opt %s --bregman-cpu-pipeline="bare-ptr-call-conv=0" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s

// After mapping: one launch of ceil(10/4) = 3 blocks of 4 threads, whose
// body guards the last block's idle threads (the loop tiled with
// no-min-max-bounds, as in the GPU pipeline: with min bounds the inner loop
// size is not a constant and convert-parallel-loops-to-gpu leaves it alone).
// LAUNCH-LABEL: func.func @linbreg_step
// LAUNCH-DAG:     %[[C1:.*]] = arith.constant 1 : index
// LAUNCH-DAG:     %[[C3:.*]] = arith.constant 3 : index
// LAUNCH-DAG:     %[[C4:.*]] = arith.constant 4 : index
// LAUNCH-DAG:     %[[C10:.*]] = arith.constant 10 : index
// LAUNCH:         gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C3]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C4]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]])
// LAUNCH:           %[[BASE:.*]] = arith.muli %[[BX]], %[[C4]]
// LAUNCH:           arith.addi %[[TX]], %[[BASE]]
// LAUNCH:           %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %[[C10]]
// LAUNCH:           scf.if %[[IN]]
// LAUNCH:             math.copysign
// LAUNCH:           gpu.terminator
// LAUNCH-LABEL: func.func @main

// After breg-gpu-launch-to-loops: the grid and block loops, no GPU op left.
// LOOPS-LABEL: func.func @linbreg_step
// LOOPS-NOT:     gpu.
// LOOPS:         scf.parallel ({{.*}}) = ({{.*}}) to ({{.*}})
// LOOPS-NOT:     gpu.
// LOOPS:           scf.parallel ({{.*}}) = ({{.*}}) to ({{.*}})
// LOOPS-NOT:     gpu.
// LOOPS:             scf.if
// LOOPS-NOT:     gpu.
// LOOPS:               math.copysign
// LOOPS-NOT:     gpu.
// LOOPS-LABEL: func.func @main
// LOOPS-NOT:     gpu.

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

#id = affine_map<(i) -> (i)>

// LinBreg with J = λ‖·‖₁ (ALGORITHMS.md §2), in place on buffers:
//   v' = v − lr·g,  θ' = S_{δλ}(δ·v') = sign(x)·max(|x| − δλ, 0), x = δ·v'.
func.func @linbreg_step(%theta: memref<10xf32>, %v: memref<10xf32>, %g: memref<10xf32>,
                        %lr: f32, %delta: f32, %lambda: f32) {
  %t = arith.mulf %delta, %lambda : f32
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#id, #id, #id, #id],
                  iterator_types = ["parallel"]}
      ins(%v, %g : memref<10xf32>, memref<10xf32>)
      outs(%theta, %v : memref<10xf32>, memref<10xf32>) {
  ^bb0(%vi: f32, %gi: f32, %ti: f32, %vo: f32):
    %step = arith.mulf %lr, %gi : f32
    %vn = arith.subf %vi, %step : f32
    %x = arith.mulf %delta, %vn : f32
    %ax = math.absf %x : f32
    %s = arith.subf %ax, %t : f32
    %m = arith.maximumf %s, %zero : f32
    %tn = math.copysign %m, %x : f32
    linalg.yield %tn, %vn : f32, f32
  }
  return
}

memref.global "private" constant @v0 : memref<12xf32> =
    dense<[1.0, 0.5, -3.0, -1.0, 2.0, 0.0, 3.25, -0.25, 1.5, -2.0, 7.0, 7.0]>
memref.global "private" constant @g0 : memref<12xf32> =
    dense<[-2.0, 0.5, -2.0, 0.0, 4.0, 1.0, 2.0, 0.5, -1.0, -4.0, 7.0, 7.0]>

func.func @main() {
  %lr = arith.constant 0.5 : f32
  %delta = arith.constant 2.0 : f32
  %lambda = arith.constant 1.0 : f32
  %nine = arith.constant 9.0 : f32
  %seven = arith.constant 7.0 : f32
  %c10 = arith.constant 10 : index
  %c11 = arith.constant 11 : index
  // Buffers of 12 whose first 10 elements are the parameter; the last two
  // are sentinels that no thread may touch. (No memref.dealloc: the CPU
  // pipeline's buffer-deallocation-pipeline inserts them.)
  %tb = memref.alloc() : memref<12xf32>
  %vb = memref.alloc() : memref<12xf32>
  %gb = memref.alloc() : memref<12xf32>
  linalg.fill ins(%nine : f32) outs(%tb : memref<12xf32>)
  memref.store %seven, %tb[%c10] : memref<12xf32>
  memref.store %seven, %tb[%c11] : memref<12xf32>
  %c_v = memref.get_global @v0 : memref<12xf32>
  %c_g = memref.get_global @g0 : memref<12xf32>
  memref.copy %c_v, %vb : memref<12xf32> to memref<12xf32>
  memref.copy %c_g, %gb : memref<12xf32> to memref<12xf32>
  %ts = memref.subview %tb[0] [10] [1] : memref<12xf32> to memref<10xf32, strided<[1]>>
  %vs = memref.subview %vb[0] [10] [1] : memref<12xf32> to memref<10xf32, strided<[1]>>
  %gs = memref.subview %gb[0] [10] [1] : memref<12xf32> to memref<10xf32, strided<[1]>>
  %tc = memref.cast %ts : memref<10xf32, strided<[1]>> to memref<10xf32>
  %vc = memref.cast %vs : memref<10xf32, strided<[1]>> to memref<10xf32>
  %gc = memref.cast %gs : memref<10xf32, strided<[1]>> to memref<10xf32>
  // lr = 0.5, δ = 2, λ = 1 (threshold δλ = 2); the old θ (9) is never read.
  //   v  = [1, 0.5, -3, -1, 2, 0, 3.25, -0.25, 1.5, -2]
  //   g  = [-2, 0.5, -2, 0, 4, 1, 2, 0.5, -1, -4]
  //   v' = v − 0.5·g = [2, 0.25, -2, -1, 0, -0.5, 2.25, -0.5, 2, 0]
  //   x  = 2·v'      = [4, 0.5, -4, -2, 0, -1, 4.5, -1, 4, 0]
  //   θ' = S_2(x)    = [2, 0, -2, -0, 0, -0, 2.5, -0, 2, 0]
  // |x| ≤ 2 gives copysign(0, x): -0 for negative x, -2 exactly on the
  // threshold among them. The sentinels stay 7.
  call @linbreg_step(%tc, %vc, %gc, %lr, %delta, %lambda)
      : (memref<10xf32>, memref<10xf32>, memref<10xf32>, f32, f32, f32) -> ()
  %tu = memref.cast %tb : memref<12xf32> to memref<*xf32>
  %vu = memref.cast %vb : memref<12xf32> to memref<*xf32>
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [2,  0,  -2,  -0,  0,  -0,  2.5,  -0,  2,  0,  7,  7]
  call @printMemrefF32(%tu) : (memref<*xf32>) -> ()
  // CHECK-LABEL: Unranked Memref
  // CHECK-NEXT:  [2,  0.25,  -2,  -1,  0,  -0.5,  2.25,  -0.5,  2,  0,  7,  7]
  call @printMemrefF32(%vu) : (memref<*xf32>) -> ()
  return
}
