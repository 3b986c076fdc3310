//===- CudaMath.h - Whether the GPU's libraries may use TF32 ----*- C++ -*-===//
//
// FP32 GEMMs (cuBLAS) and convolutions (cuDNN) run in plain FP32 by default,
// so that GPU results match the CPU's within rounding. TF32 tensor cores
// (A100 and later) are several times faster but round each operand to a
// 10-bit mantissa (~1e-3 relative), so they are an opt-in: `--tf32` on
// `bregman train|retrain|run` and bregman-run, BREGMAN_TF32=1 in the
// environment, or setCudaTf32 for a program using the library. Only the
// library calls change; generated kernels stay FP32.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_RUNTIME_CUDAMATH_H
#define BREGMAN_RUNTIME_CUDAMATH_H

namespace bregman::runtime {

/// The --tf32 flag's help text (bregman and bregman-run).
inline constexpr const char *kTf32Help =
    "Let cuBLAS GEMMs and cuDNN convolutions on the GPU use TF32 tensor cores "
    "(A100 and later): faster, but each product's operands keep a 10-bit "
    "mantissa (~1e-3 relative), so results no longer match the CPU's within "
    "FP32 rounding. Off by default; also BREGMAN_TF32=1";

/// Allows (or forbids) TF32 in this process's cuBLAS and cuDNN calls from
/// the next call on; overrides BREGMAN_TF32.
void setCudaTf32(bool allowed);
/// setCudaTf32's last setting; before any, whether BREGMAN_TF32 is "1"
/// (read at each call until then).
bool cudaTf32();
/// Forgets setCudaTf32's setting: BREGMAN_TF32 decides again.
void resetCudaTf32();

} // namespace bregman::runtime

#endif // BREGMAN_RUNTIME_CUDAMATH_H
