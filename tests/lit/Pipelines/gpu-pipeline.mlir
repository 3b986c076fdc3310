// The GPU pipeline on a training-step-like function (the fused LinBreg
// update of a 64x40 weight, in place in its argument buffers).
//
// (a) Up to the launch: the update is one flat loop of 2560 elements in
//     blocks of 256 threads (10 blocks), guarded, with the update's body.
// RUN: bregman-opt %s -split-input-file --bregman-gpu-pipeline="stop-at-launch=1" | FileCheck %s --check-prefix=LAUNCH
// (b) The whole pipeline: an outlined kernel compiled to PTX for sm_90, and
//     host code that launches it.
// RUN: %if libdevice %{ bregman-opt %s -split-input-file --bregman-gpu-pipeline | FileCheck %s %}
// (c) Another target.
// RUN: %if libdevice %{ bregman-opt %s -split-input-file --bregman-gpu-pipeline="chip=sm_80" | FileCheck %s --check-prefix=SM80 %}

// LAUNCH-LABEL: func.func @step(
// LAUNCH-SAME:    %[[T:[^:]*]]: memref<64x40xf32>, %[[V:[^:]*]]: memref<64x40xf32>, %[[G:[^:]*]]: memref<64x40xf32>
// LAUNCH-DAG:     %[[C10:.*]] = arith.constant 10 : index
// LAUNCH-DAG:     %[[C256:.*]] = arith.constant 256 : index
// LAUNCH-DAG:     %[[TF:.*]] = memref.collapse_shape %[[T]] {{\[\[}}0, 1]] : memref<64x40xf32> into memref<2560xf32>
// LAUNCH-DAG:     %[[VF:.*]] = memref.collapse_shape %[[V]] {{\[\[}}0, 1]] : memref<64x40xf32> into memref<2560xf32>
// LAUNCH-DAG:     %[[GF:.*]] = memref.collapse_shape %[[G]] {{\[\[}}0, 1]] : memref<64x40xf32> into memref<2560xf32>
// LAUNCH:         gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C10]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]],
// 2560 = 10·256: no bound guard is needed.
// LAUNCH-NOT:       scf.if
// LAUNCH:             memref.load %[[GF]]
// LAUNCH:             memref.load %[[VF]]
// LAUNCH:             arith.mulf
// LAUNCH-NEXT:        arith.subf
// LAUNCH-NEXT:        arith.mulf
// LAUNCH-NEXT:        math.absf
// LAUNCH-NEXT:        arith.subf
// LAUNCH-NEXT:        arith.maximumf
// LAUNCH-NEXT:        math.copysign
// LAUNCH-NEXT:        memref.store %{{.*}}, %[[TF]]
// LAUNCH-NEXT:        memref.store %{{.*}}, %[[VF]]
// LAUNCH-NEXT:      gpu.terminator
// LAUNCH-NOT:     scf.parallel
// LAUNCH:         return

// All work of a call goes on one stream (gpu-async-region), waited for once.
// CHECK-LABEL: llvm.func @step(
// CHECK:         %[[S:.*]] = llvm.call @mgpuStreamCreate()
// CHECK-NEXT:    gpu.launch_func <%[[S]] : !llvm.ptr> @step_kernel::@step_kernel blocks in
// CHECK-NEXT:    llvm.call @mgpuStreamSynchronize(%[[S]])
// The target links CUDA's libdevice (math in kernels calls __nv_* functions).
// CHECK:       gpu.binary @step_kernel [#gpu.object<#nvvm.target<chip = "sm_90", link = ["{{.*}}libdevice.10.bc"]>, {{.*}}assembly = "{{.*}}.target sm_90{{.*}}.entry step_kernel{{.*}}ld.global.{{[a-z0-9]+}}{{.*}}abs.f32{{.*}}copysign.f32{{.*}}st.global.{{[a-z0-9]+}}{{.*}}"

// SM80: #nvvm.target<chip = "sm_80"{{.*}}assembly = "{{.*}}.version 7.0{{.*}}.target sm_80
func.func @step(%theta: memref<64x40xf32>, %v: memref<64x40xf32>, %g: memref<64x40xf32>,
                %lr: f32, %delta: f32, %lambda: f32) {
  %t = bufferization.to_tensor %theta restrict writable : memref<64x40xf32> to tensor<64x40xf32>
  %vv = bufferization.to_tensor %v restrict writable : memref<64x40xf32> to tensor<64x40xf32>
  %gg = bufferization.to_tensor %g restrict : memref<64x40xf32> to tensor<64x40xf32>
  %t1, %v1 = breg.linbreg_update #breg.l1 %t, %vv, %gg lr(%lr) delta(%delta) lambda(%lambda) : tensor<64x40xf32>
  bufferization.materialize_in_destination %t1 in restrict writable %theta : (tensor<64x40xf32>, memref<64x40xf32>) -> ()
  bufferization.materialize_in_destination %v1 in restrict writable %v : (tensor<64x40xf32>, memref<64x40xf32>) -> ()
  return
}

// -----

// 50·40 = 2000 elements: 8 blocks of 256, the last one guarded.
// LAUNCH-LABEL: func.func @odd(
// LAUNCH-DAG:     %[[C8:.*]] = arith.constant 8 : index
// LAUNCH-DAG:     %[[C2000:.*]] = arith.constant 2000 : index
// LAUNCH:         gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C8]],
// LAUNCH:           %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %[[C2000]] : index
// LAUNCH-NEXT:      scf.if %[[IN]] {
// LAUNCH:             math.copysign
// LAUNCH:           gpu.terminator
func.func @odd(%theta: memref<50x40xf32>, %v: memref<50x40xf32>, %g: memref<50x40xf32>,
               %lr: f32, %delta: f32, %lambda: f32) {
  %t = bufferization.to_tensor %theta restrict writable : memref<50x40xf32> to tensor<50x40xf32>
  %vv = bufferization.to_tensor %v restrict writable : memref<50x40xf32> to tensor<50x40xf32>
  %gg = bufferization.to_tensor %g restrict : memref<50x40xf32> to tensor<50x40xf32>
  %t1, %v1 = breg.linbreg_update #breg.l1 %t, %vv, %gg lr(%lr) delta(%delta) lambda(%lambda) : tensor<50x40xf32>
  bufferization.materialize_in_destination %t1 in restrict writable %theta : (tensor<50x40xf32>, memref<50x40xf32>) -> ()
  bufferization.materialize_in_destination %v1 in restrict writable %v : (tensor<50x40xf32>, memref<50x40xf32>) -> ()
  return
}
