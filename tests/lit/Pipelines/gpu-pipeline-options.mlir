// bregman-gpu-pipeline checks its options before building: an unknown chip
// aborted LLVM, block-size -1 launched grids of -998 blocks, and an unknown
// format wrote nothing with exit 0. Chips before sm_70 get PTX 6.0, whose
// shfl.sync the block reductions use (LLVM's lowest PTX for them lacks it:
// "Cannot select").
// REQUIRES: libdevice
// RUN: not bregman-opt %s --bregman-gpu-pipeline="chip=bogus" 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: not bregman-opt %s --bregman-gpu-pipeline="block-size=-1" 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not bregman-opt %s --bregman-gpu-pipeline="format=bogus" 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: bregman-opt %s --bregman-gpu-pipeline="chip=sm_60" | FileCheck %s --check-prefix=SM60

// CHIP: bregman-gpu-pipeline: chip 'bogus': expected sm_<number> of a CUDA GPU
// BLOCK: bregman-gpu-pipeline: block-size -1: expected threads per block in [1, 1024]
// FORMAT: bregman-gpu-pipeline: format 'bogus': expected isa, bin or fatbin
// SM60: gpu.binary @{{.*}} [#gpu.object<#nvvm.target<chip = "sm_60", features = "+ptx60"
func.func @sum(%x: tensor<4096xf32>) -> tensor<f32> {
  %zero = arith.constant 0.0 : f32
  %init = tensor.empty() : tensor<f32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<f32>) -> tensor<f32>
  %s = linalg.reduce ins(%x : tensor<4096xf32>) outs(%acc : tensor<f32>) dimensions = [0]
    (%a: f32, %b: f32) {
      %r = arith.addf %a, %b : f32
      linalg.yield %r : f32
    }
  return %s : tensor<f32>
}
