//===- CudaMath.cpp - The TF32 switch of cuBLAS and cuDNN calls -----------===//

#include "bregman/runtime/CudaMath.h"
#include "bregman/runtime/Environment.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace bregman::runtime {

namespace {
// -1: never set (the environment decides), else 0 or 1.
std::atomic<int> tf32Setting{-1};
} // namespace

void setCudaTf32(bool allowed) { tf32Setting = allowed ? 1 : 0; }

void resetCudaTf32() { tf32Setting = -1; }

bool cudaTf32() {
  int setting = tf32Setting.load();
  if (setting >= 0)
    return setting == 1;
  return switchSetting("BREGMAN_TF32", false);
}

} // namespace bregman::runtime
