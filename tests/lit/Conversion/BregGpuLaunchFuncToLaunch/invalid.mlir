// What breg-gpu-launch-func-to-launch refuses, naming the kernel.
// RUN: bregman-opt %s -split-input-file -breg-gpu-launch-func-to-launch -verify-diagnostics

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%buf: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @async(%buf: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    %t = gpu.wait async
    // expected-error @+1 {{'gpu.launch_func' op of @kernels::@k: async launches are not supported on the CPU}}
    %d = gpu.launch_func async [%t] @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%buf : memref<4xf32>)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%buf: memref<4xf32>) kernel {
      %c0 = arith.constant 0 : index
      %z = arith.constant 0.0 : f32
      %b = gpu.block_id x
      %p = arith.cmpi eq, %b, %c0 : index
      cf.cond_br %p, ^write, ^done
    ^write:
      memref.store %z, %buf[%c0] : memref<4xf32>
      cf.br ^done
    ^done:
      gpu.return
    }
  }
  func.func @blocks(%buf: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    // expected-error @+1 {{'gpu.launch_func' op of @kernels::@k: a kernel of several blocks is not supported on the CPU}}
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%buf : memref<4xf32>)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%buf: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @stream(%buf: memref<4xf32>, %stream: !llvm.ptr) {
    %c1 = arith.constant 1 : index
    // expected-error @+1 {{'gpu.launch_func' op of @kernels::@k: async launches are not supported on the CPU}}
    gpu.launch_func <%stream : !llvm.ptr> @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%buf : memref<4xf32>)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    memref.global "private" constant @table : memref<4xf32> = dense<1.0>
    gpu.func @k(%buf: memref<4xf32>) kernel {
      %c0 = arith.constant 0 : index
      %t = memref.get_global @table : memref<4xf32>
      %v = memref.load %t[%c0] : memref<4xf32>
      memref.store %v, %buf[%c0] : memref<4xf32>
      gpu.return
    }
  }
  func.func @global(%buf: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    // expected-error @+1 {{'gpu.launch_func' op of @kernels::@k: the kernel refers to @table, which only its gpu.module defines}}
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%buf : memref<4xf32>)
    return
  }
}
