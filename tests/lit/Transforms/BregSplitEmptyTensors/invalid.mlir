// RUN: bregman-opt %s -pass-pipeline="builtin.module(func.func(breg-split-empty-tensors{max-uses=0}))" -verify-diagnostics

// expected-error @below {{breg-split-empty-tensors: max-uses must be at least 1, not 0}}
func.func @f() -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  return %e : tensor<4xf32>
}
