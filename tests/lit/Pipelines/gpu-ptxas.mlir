// The PTX of the fused updates is accepted by the CUDA toolkit's assembler
// for sm_90, sm_80 and sm_120, each with the lowest PTX ISA version that has
// the chip (no +ptxNN feature is sent: LLVM chooses); and the pipeline itself can produce a cubin through
// ptxas (format=bin). Unsupported where ptxas is absent.
// REQUIRES: ptxas, libdevice
// RUN: bregman-opt %s --bregman-gpu-pipeline | %extract_ptx %t.sm90 | FileCheck %s --check-prefix=COUNT
// RUN: %ptxas -arch=sm_90 -v %t.sm90.0.ptx -o %t.sm90.0.cubin > %t.0.log 2>&1
// RUN: FileCheck %s --check-prefix=CHECK --input-file=%t.0.log
// RUN: %ptxas -arch=sm_90 -v %t.sm90.1.ptx -o %t.sm90.1.cubin > %t.1.log 2>&1
// RUN: FileCheck %s --check-prefix=CHECK --input-file=%t.1.log
// RUN: FileCheck %s --check-prefix=SM90 --input-file=%t.sm90.0.ptx
// RUN: bregman-opt %s --bregman-gpu-pipeline="chip=sm_80" | %extract_ptx %t.sm80
// RUN: %ptxas -arch=sm_80 %t.sm80.0.ptx -o %t.sm80.0.cubin
// RUN: %ptxas -arch=sm_80 %t.sm80.1.ptx -o %t.sm80.1.cubin
// RUN: FileCheck %s --check-prefix=SM80 --input-file=%t.sm80.0.ptx
// sm_120 (consumer Blackwell): a fixed +ptx86 made LLVM abort there.
// RUN: bregman-opt %s --bregman-gpu-pipeline="chip=sm_120" | %extract_ptx %t.sm120
// RUN: %ptxas -arch=sm_120 %t.sm120.0.ptx -o %t.sm120.0.cubin
// RUN: %ptxas -arch=sm_120 %t.sm120.1.ptx -o %t.sm120.1.cubin
// RUN: FileCheck %s --check-prefix=SM120 --input-file=%t.sm120.0.ptx
// RUN: bregman-opt %s --bregman-gpu-pipeline="format=bin" | FileCheck %s --check-prefix=CUBIN

// One kernel per update (LinBreg with momentum, AdaBreg), each assembled by
// ptxas without spills.
// COUNT: extracted 2 PTX modules
// CHECK: Compiling entry function '{{step_kernel(_0)?}}' for 'sm_90'
// CHECK: 0 bytes spill stores, 0 bytes spill loads
// SM90: .version 7.8
// SM90: .target sm_90
// SM80: .version 7.0
// SM80: .target sm_80
// SM120: .version 8.7
// SM120: .target sm_120
// CUBIN: gpu.binary @step_kernel [#gpu.object<#nvvm.target<chip = "sm_90"{{.*}}>, {{.*}}bin = "
func.func @step(%theta: memref<1000xf32>, %v: memref<1000xf32>, %m: memref<1000xf32>,
                %g: memref<1000xf32>, %m1: memref<1000xf32>, %m2: memref<1000xf32>,
                %w: memref<1000xf32>, %u: memref<1000xf32>,
                %lr: f32, %delta: f32, %lambda: f32, %beta: f32, %eps: f32, %s: f32) {
  %t = bufferization.to_tensor %theta restrict writable : memref<1000xf32> to tensor<1000xf32>
  %vv = bufferization.to_tensor %v restrict writable : memref<1000xf32> to tensor<1000xf32>
  %mm = bufferization.to_tensor %m restrict writable : memref<1000xf32> to tensor<1000xf32>
  %gg = bufferization.to_tensor %g restrict : memref<1000xf32> to tensor<1000xf32>
  %a = bufferization.to_tensor %m1 restrict writable : memref<1000xf32> to tensor<1000xf32>
  %b = bufferization.to_tensor %m2 restrict writable : memref<1000xf32> to tensor<1000xf32>
  %ww = bufferization.to_tensor %w restrict writable : memref<1000xf32> to tensor<1000xf32>
  %uu = bufferization.to_tensor %u restrict writable : memref<1000xf32> to tensor<1000xf32>
  %t1, %v1, %m1n = breg.linbreg_update #breg.l1 %t, %vv, %gg lr(%lr) delta(%delta) lambda(%lambda)
      momentum(%mm, %beta : tensor<1000xf32>) : tensor<1000xf32>
  %w1, %u1, %a1, %b1 = breg.adabreg_update #breg.l1 %ww, %uu, %gg, %a, %b lr(%lr) delta(%delta)
      lambda(%lambda) betas(%beta, %beta) eps(%eps) step(%s) : tensor<1000xf32>
  bufferization.materialize_in_destination %t1 in restrict writable %theta : (tensor<1000xf32>, memref<1000xf32>) -> ()
  bufferization.materialize_in_destination %v1 in restrict writable %v : (tensor<1000xf32>, memref<1000xf32>) -> ()
  bufferization.materialize_in_destination %m1n in restrict writable %m : (tensor<1000xf32>, memref<1000xf32>) -> ()
  bufferization.materialize_in_destination %w1 in restrict writable %w : (tensor<1000xf32>, memref<1000xf32>) -> ()
  bufferization.materialize_in_destination %u1 in restrict writable %u : (tensor<1000xf32>, memref<1000xf32>) -> ()
  bufferization.materialize_in_destination %a1 in restrict writable %m1 : (tensor<1000xf32>, memref<1000xf32>) -> ()
  bufferization.materialize_in_destination %b1 in restrict writable %m2 : (tensor<1000xf32>, memref<1000xf32>) -> ()
  return
}
