// RUN: bregman-opt %s -breg-bufferize="allow-sparse=0" -verify-diagnostics

// The GPU pipeline has no sparse lowering: the sparse op is named.
#CSR = #sparse_tensor.encoding<{map = (i, j) -> (i : dense, j : compressed), posWidth = 32, crdWidth = 32}>

func.func @gpu(%pos: tensor<7xi32>, %crd: tensor<48xi32>, %val: tensor<48xf32>) -> tensor<6x8xf32, #CSR> {
  // expected-error @+1 {{sparse tensors are lowered on the CPU only}}
  %w = sparse_tensor.assemble (%pos, %crd), %val
       : (tensor<7xi32>, tensor<48xi32>), tensor<48xf32> to tensor<6x8xf32, #CSR>
  return %w : tensor<6x8xf32, #CSR>
}
