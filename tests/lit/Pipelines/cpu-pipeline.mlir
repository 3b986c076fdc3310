// The CPU pipeline on a training-step-like function whose state lives in
// memref arguments.
//
// (a) The passes of bregman-cpu-pipeline up to one-shot bufferization: the
//     update is in place, one linalg.generic reads g and writes θ and v where
//     they live. One-shot bufferization itself leaves a self-copy per
//     materialize_in_destination (memref.copy %θ, %θ); the canonicalize that
//     follows it in the pipeline removes them.
// RUN: bregman-opt %s -split-input-file --pass-pipeline="builtin.module(canonicalize,breg-fuse-elementwise,canonicalize,cse,convert-breg-to-linalg,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map})" \
// RUN:   | FileCheck %s --check-prefix=BUF
// RUN: bregman-opt %s -split-input-file --pass-pipeline="builtin.module(canonicalize,breg-fuse-elementwise,canonicalize,cse,convert-breg-to-linalg,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},canonicalize)" \
// RUN:   | FileCheck %s --check-prefix=INPLACE
//
// (b) The whole pipeline: only the llvm dialect is left.
// RUN: bregman-opt %s -split-input-file --bregman-cpu-pipeline | FileCheck %s --check-prefix=CHECK
// RUN: bregman-opt %s -split-input-file --bregman-cpu-pipeline | bregman-opt -split-input-file -cse | FileCheck %s --check-prefix=GEMM
// RUN: bregman-opt %s -split-input-file --bregman-cpu-pipeline="bare-ptr-call-conv=0" | FileCheck %s --check-prefix=DESC
// RUN: bregman-opt %s -split-input-file --bregman-cpu-pipeline="use-blas=0" | FileCheck %s --check-prefix=NOBLAS

// BUF-DAG:       #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// BUF-DAG:       #[[$SC:.*]] = affine_map<(d0, d1) -> ()>
// BUF-LABEL:     func.func @step(
// BUF-SAME:        %[[T:[^:]*]]: memref<64x32xf32>, %[[V:[^:]*]]: memref<64x32xf32>, %[[G:[^:]*]]: memref<64x32xf32>,
// BUF-SAME:        %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// BUF-NOT:         memref.alloc
// BUF-NOT:         bufferization.
// BUF:             linalg.generic
// BUF-SAME:          indexing_maps = [#[[$ID]], #[[$SC]], #[[$SC]], #[[$SC]], #[[$ID]], #[[$ID]]]
// BUF-SAME:          ins(%[[G]], %[[LR]], %[[D]], %{{.*}} : memref<64x32xf32>, f32, f32, f32)
// BUF-SAME:          outs(%[[T]], %[[V]] : memref<64x32xf32>, memref<64x32xf32>)
// BUF:               linalg.yield
// BUF-NEXT:        }
// BUF-NOT:         memref.alloc
// BUF-NEXT:        memref.copy %[[T]], %[[T]] : memref<64x32xf32> to memref<64x32xf32>
// BUF-NEXT:        memref.copy %[[V]], %[[V]] : memref<64x32xf32> to memref<64x32xf32>
// BUF-NEXT:        return

// INPLACE-LABEL: func.func @step(
// INPLACE-SAME:    %[[T:[^:]*]]: memref<64x32xf32>, %[[V:[^:]*]]: memref<64x32xf32>, %[[G:[^:]*]]: memref<64x32xf32>,
// INPLACE-NOT:     memref.alloc
// INPLACE-NOT:     memref.copy
// INPLACE:         linalg.generic
// INPLACE-SAME:      ins(%[[G]], {{.*}} : memref<64x32xf32>, f32, f32, f32)
// INPLACE-SAME:      outs(%[[T]], %[[V]] : memref<64x32xf32>, memref<64x32xf32>)
// INPLACE-NOT:     memref.alloc
// INPLACE-NOT:     memref.copy
// INPLACE:         return

// CHECK-LABEL:    llvm.func @step(
// CHECK-SAME:       %[[T:[^:]*]]: !llvm.ptr, %[[V:[^:]*]]: !llvm.ptr, %[[G:[^:]*]]: !llvm.ptr, %[[LR:[^:]*]]: f32, %[[D:[^:]*]]: f32, %[[L:[^:]*]]: f32)
// CHECK-NOT:        {{linalg|memref|scf|arith|math|cf|func|affine|bufferization|tensor|breg}}.
// The update is one loop of 16-wide vector code over the 64·32 elements.
// CHECK:            llvm.fmul {{.*}} : vector<16xf32>
// CHECK-NOT:        {{linalg|memref|scf|arith|math|cf|func|affine|bufferization|tensor|breg}}.
// CHECK:            llvm.intr.copysign({{.*}}) : (vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// CHECK-NOT:        {{linalg|memref|scf|arith|math|cf|func|affine|bufferization|tensor|breg}}.
// CHECK:            llvm.store {{.*}} : vector<16xf32>, !llvm.ptr
// CHECK-NOT:        {{linalg|memref|scf|arith|math|cf|func|affine|bufferization|tensor|breg}}.
// CHECK:            llvm.store {{.*}} : vector<16xf32>, !llvm.ptr
// CHECK-NOT:        {{linalg|memref|scf|arith|math|cf|func|affine|bufferization|tensor|breg}}.
// CHECK:            llvm.return
// CHECK-NOT:        {{linalg|memref|scf|arith|math|cf|func|affine|bufferization|tensor|breg}}.
// CHECK:          }

// Without the bare-pointer convention each memref is a full descriptor.
// DESC-LABEL:    llvm.func @step(
// DESC-SAME:       %{{[^:]*}}: !llvm.ptr, %{{[^:]*}}: !llvm.ptr, %{{[^:]*}}: i64, %{{[^:]*}}: i64, %{{[^:]*}}: i64, %{{[^:]*}}: i64, %{{[^:]*}}: i64,
// DESC-NOT:        {{linalg|memref|scf|arith|func}}.
// DESC:            llvm.return

// NOBLAS-LABEL:  llvm.func @step(
// NOBLAS-SAME:     !llvm.ptr
// NOBLAS-NOT:      {{linalg|memref|scf|arith|func}}.
// NOBLAS:          llvm.return
func.func @step(%theta: memref<64x32xf32>, %v: memref<64x32xf32>, %g: memref<64x32xf32>,
                %lr: f32, %delta: f32, %lambda: f32) {
  %t = bufferization.to_tensor %theta restrict writable : memref<64x32xf32> to tensor<64x32xf32>
  %vt = bufferization.to_tensor %v restrict writable : memref<64x32xf32> to tensor<64x32xf32>
  %gt = bufferization.to_tensor %g restrict : memref<64x32xf32> to tensor<64x32xf32>
  %t1, %v1 = breg.linbreg_update #breg.l1 %t, %vt, %gt lr(%lr) delta(%delta) lambda(%lambda) : tensor<64x32xf32>
  bufferization.materialize_in_destination %t1 in restrict writable %theta
      : (tensor<64x32xf32>, memref<64x32xf32>) -> ()
  bufferization.materialize_in_destination %v1 in restrict writable %v
      : (tensor<64x32xf32>, memref<64x32xf32>) -> ()
  return
}

// -----

// Momentum: θ, v and m are all updated in place by one generic.
// BUF-LABEL:     func.func @step_momentum(
// BUF-SAME:        %[[T:[^:]*]]: memref<128xf32>, %[[V:[^:]*]]: memref<128xf32>, %[[M:[^:]*]]: memref<128xf32>, %[[G:[^:]*]]: memref<128xf32>,
// BUF-NOT:         memref.alloc
// BUF:             linalg.generic
// BUF-SAME:          ins(%[[G]], {{.*}} : memref<128xf32>, f32, f32, f32, f32, f32)
// BUF-SAME:          outs(%[[T]], %[[V]], %[[M]] : memref<128xf32>, memref<128xf32>, memref<128xf32>)
// BUF-NOT:         memref.alloc
// BUF:             return

// INPLACE-LABEL: func.func @step_momentum(
// INPLACE-SAME:    %[[T:[^:]*]]: memref<128xf32>, %[[V:[^:]*]]: memref<128xf32>, %[[M:[^:]*]]: memref<128xf32>, %[[G:[^:]*]]: memref<128xf32>,
// INPLACE-NOT:     memref.alloc
// INPLACE-NOT:     memref.copy
// INPLACE:         linalg.generic
// INPLACE-SAME:      outs(%[[T]], %[[V]], %[[M]] : memref<128xf32>, memref<128xf32>, memref<128xf32>)
// INPLACE-NOT:     memref.alloc
// INPLACE-NOT:     memref.copy
// INPLACE:         return

// CHECK-LABEL:    llvm.func @step_momentum(
// CHECK-SAME:       !llvm.ptr, %{{[^:]*}}: !llvm.ptr, %{{[^:]*}}: !llvm.ptr, %{{[^:]*}}: !llvm.ptr, %{{[^:]*}}: f32
// CHECK-NOT:        {{linalg|memref|scf|arith|math|cf|func|affine|bufferization|tensor|breg}}.
// LLVM-COUNT-3:    llvm.store
// CHECK-NOT:        {{linalg|memref|scf|arith|math|cf|func|affine|bufferization|tensor|breg}}.
// CHECK:            llvm.return

// DESC-LABEL:    llvm.func @step_momentum(
// DESC:            llvm.return
// NOBLAS-LABEL:  llvm.func @step_momentum(
// NOBLAS:          llvm.return
func.func @step_momentum(%theta: memref<128xf32>, %v: memref<128xf32>, %m: memref<128xf32>, %g: memref<128xf32>,
                         %lr: f32, %delta: f32, %lambda: f32, %beta: f32) {
  %t = bufferization.to_tensor %theta restrict writable : memref<128xf32> to tensor<128xf32>
  %vt = bufferization.to_tensor %v restrict writable : memref<128xf32> to tensor<128xf32>
  %mt = bufferization.to_tensor %m restrict writable : memref<128xf32> to tensor<128xf32>
  %gt = bufferization.to_tensor %g restrict : memref<128xf32> to tensor<128xf32>
  %t1, %v1, %m1 = breg.linbreg_update #breg.l1 %t, %vt, %gt lr(%lr) delta(%delta) lambda(%lambda)
      momentum(%mt, %beta : tensor<128xf32>) : tensor<128xf32>
  bufferization.materialize_in_destination %t1 in restrict writable %theta : (tensor<128xf32>, memref<128xf32>) -> ()
  bufferization.materialize_in_destination %v1 in restrict writable %v : (tensor<128xf32>, memref<128xf32>) -> ()
  bufferization.materialize_in_destination %m1 in restrict writable %m : (tensor<128xf32>, memref<128xf32>) -> ()
  return
}

// -----

// A dense layer y = relu(x·Wᵀ + b): the matmul reaches the runtime's GEMM
// (transB = 1, M = 32, N = 200, K = 784, beta = 0 from the zero fill), the
// bias + relu stay generated code.
// BUF-LABEL:     func.func @dense(
// BUF:             linalg.fill
// BUF:             linalg.matmul
// BUF:             linalg.generic

// CHECK:          llvm.func @bregman_cpu_sgemm(i32, i32, i64, i64, i64, f32, i64, i64, i64)
// CHECK-LABEL:    llvm.func @dense(
// CHECK-SAME:       %{{[^:]*}}: !llvm.ptr, %{{[^:]*}}: !llvm.ptr, %{{[^:]*}}: !llvm.ptr, %{{[^:]*}}: !llvm.ptr)
// CHECK-NOT:        {{linalg|memref|scf|arith|math|cf|func|affine|bufferization|tensor|breg}}.
// CHECK:            llvm.call @bregman_cpu_sgemm({{.*}}) : (i32, i32, i64, i64, i64, f32, i64, i64, i64) -> ()
// CHECK-NOT:        {{linalg|memref|scf|arith|math|cf|func|affine|bufferization|tensor|breg}}.
// CHECK:            llvm.intr.maximum
// CHECK-NOT:        {{linalg|memref|scf|arith|math|cf|func|affine|bufferization|tensor|breg}}.
// CHECK:            llvm.return

// The call's constant arguments (after -cse each constant is defined once).
// GEMM-LABEL:    llvm.func @dense(
// GEMM-DAG:        %[[TA:.*]] = llvm.mlir.constant(0 : i32) : i32
// GEMM-DAG:        %[[TB:.*]] = llvm.mlir.constant(1 : i32) : i32
// GEMM-DAG:        %[[M:.*]] = llvm.mlir.constant(32 : index) : i64
// GEMM-DAG:        %[[N:.*]] = llvm.mlir.constant(200 : index) : i64
// GEMM-DAG:        %[[K:.*]] = llvm.mlir.constant(784 : index) : i64
// GEMM-DAG:        %[[BETA:.*]] = llvm.mlir.constant(0.000000e+00 : f32) : f32
// GEMM:            llvm.call @bregman_cpu_sgemm(%[[TA]], %[[TB]], %[[M]], %[[N]], %[[K]], %[[BETA]], %{{.*}}, %{{.*}}, %{{.*}})

// Without BLAS the matmul is a loop nest and nothing calls the library.
// NOBLAS-NOT:    bregman_cpu_sgemm
// NOBLAS-LABEL:  llvm.func @dense(
// NOBLAS-NOT:      bregman_cpu_sgemm
// NOBLAS:          llvm.fmul
// NOBLAS-NEXT:     llvm.fadd
// NOBLAS-NOT:      bregman_cpu_sgemm
// NOBLAS:          llvm.return
func.func @dense(%x: memref<32x784xf32>, %w: memref<200x784xf32>, %b: memref<200xf32>, %y: memref<32x200xf32>) {
  %xt = bufferization.to_tensor %x restrict : memref<32x784xf32> to tensor<32x784xf32>
  %wt = bufferization.to_tensor %w restrict : memref<200x784xf32> to tensor<200x784xf32>
  %bt = bufferization.to_tensor %b restrict : memref<200xf32> to tensor<200xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<32x200xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<32x200xf32>) -> tensor<32x200xf32>
  %mm = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                       affine_map<(m, n, k) -> (n, k)>,
                                       affine_map<(m, n, k) -> (m, n)>]
      ins(%xt, %wt : tensor<32x784xf32>, tensor<200x784xf32>)
      outs(%c : tensor<32x200xf32>) -> tensor<32x200xf32>
  %e2 = tensor.empty() : tensor<32x200xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>,
                                        affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%mm, %bt : tensor<32x200xf32>, tensor<200xf32>) outs(%e2 : tensor<32x200xf32>) {
  ^bb0(%a: f32, %bias: f32, %o: f32):
    %s = arith.addf %a, %bias : f32
    %relu = arith.maximumf %s, %zero : f32
    linalg.yield %relu : f32
  } -> tensor<32x200xf32>
  bufferization.materialize_in_destination %r in restrict writable %y
      : (tensor<32x200xf32>, memref<32x200xf32>) -> ()
  return
}
