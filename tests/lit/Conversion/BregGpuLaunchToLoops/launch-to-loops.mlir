// RUN: bregman-opt %s --breg-gpu-launch-to-loops --split-input-file \
// RUN:     --verify-diagnostics | FileCheck %s

// The grid loop holds the block loop; the region arguments and the explicit
// id/size ops become the induction variables and the launch sizes.

// CHECK-LABEL: func.func @ids
// CHECK-SAME:    (%[[M:.*]]: memref<?x?xf32>, %[[GX:.*]]: index, %[[BY:.*]]: index)
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:     %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-DAG:     %[[ONE:.*]] = arith.constant 1 : index
// CHECK:         scf.parallel (%[[BX:.*]], %[[BYI:.*]], %[[BZ:.*]]) = (%[[ZERO]], %[[ZERO]], %[[ZERO]]) to (%[[GX]], %[[C2]], %[[C1]]) step (%[[ONE]], %[[ONE]], %[[ONE]]) {
// CHECK-NOT:       memref.alloca
// CHECK-NEXT:      scf.parallel (%[[TX:.*]], %[[TY:.*]], %[[TZ:.*]]) = (%[[ZERO]], %[[ZERO]], %[[ZERO]]) to (%[[C4]], %[[BY]], %[[C1]]) step (%[[ONE]], %[[ONE]], %[[ONE]]) {
// Region arguments: block id x times block size x plus thread id x.
// CHECK-NEXT:        %[[R0:.*]] = arith.muli %[[BX]], %[[C4]] : index
// CHECK-NEXT:        %[[R1:.*]] = arith.addi %[[R0]], %[[TX]] : index
// Explicit ops: gpu.block_id y, gpu.thread_id y, gpu.block_dim y, gpu.grid_dim x.
// CHECK-NEXT:        %[[E0:.*]] = arith.muli %[[BYI]], %[[BY]] : index
// CHECK-NEXT:        %[[E1:.*]] = arith.addi %[[E0]], %[[TY]] : index
// CHECK-NEXT:        %[[E2:.*]] = arith.addi %[[E1]], %[[GX]] : index
// gpu.global_id z = block_id z * block_dim z + thread_id z.
// CHECK-NEXT:        %[[G0:.*]] = arith.muli %[[BZ]], %[[C1]] : index
// CHECK-NEXT:        %[[G1:.*]] = arith.addi %[[G0]], %[[TZ]] : index
// CHECK-NEXT:        %[[E3:.*]] = arith.addi %[[E2]], %[[G1]] : index
// CHECK-NEXT:        %[[V:.*]] = memref.load %[[M]][%[[R1]], %[[E3]]] : memref<?x?xf32>
// CHECK-NEXT:        memref.store %[[V]], %[[M]][%[[E3]], %[[R1]]] : memref<?x?xf32>
// CHECK-NEXT:        scf.reduce
// CHECK-NEXT:      }
// CHECK-NEXT:      scf.reduce
// CHECK-NEXT:    }
// CHECK-NEXT:    return
// CHECK-NOT:     gpu.
func.func @ids(%m: memref<?x?xf32>, %gx: index, %by: index) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %bys, %bz) in (%sgx = %gx, %sgy = %c2, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c4, %sby = %by, %sbz = %c1) {
    %r0 = arith.muli %bx, %sbx : index
    %r1 = arith.addi %r0, %tx : index
    %b = gpu.block_id y
    %t = gpu.thread_id y
    %d = gpu.block_dim y
    %g = gpu.grid_dim x
    %e0 = arith.muli %b, %d : index
    %e1 = arith.addi %e0, %t : index
    %e2 = arith.addi %e1, %g : index
    %gz = gpu.global_id z
    %e3 = arith.addi %e2, %gz : index
    %v = memref.load %m[%r1, %e3] : memref<?x?xf32>
    memref.store %v, %m[%e3, %r1] : memref<?x?xf32>
    gpu.terminator
  }
  return
}

// -----

// Id ops in nested regions are replaced too.

// CHECK-LABEL: func.func @nested
// CHECK:         scf.parallel (%[[BX:.*]], %{{.*}}, %{{.*}}) =
// CHECK:           scf.parallel (%[[TX:.*]], %{{.*}}, %{{.*}}) =
// CHECK:             %[[IN:.*]] = arith.cmpi ult, %[[TX]], %{{.*}} : index
// CHECK-NEXT:        scf.if %[[IN]] {
// CHECK-NEXT:          memref.store %{{.*}}, %{{.*}}[%[[BX]]] : memref<8xf32>
// CHECK-NEXT:        }
// CHECK-NOT:     gpu.
func.func @nested(%m: memref<8xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %f = arith.constant 1.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%sgx = %c8, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c8, %sby = %c1, %sbz = %c1) {
    %t = gpu.thread_id x
    %in = arith.cmpi ult, %t, %n : index
    scf.if %in {
      %b = gpu.block_id x
      memref.store %f, %m[%b] : memref<8xf32>
    }
    gpu.terminator
  }
  return
}

// -----

// Workgroup attributions: one alloca per block, before the thread loop;
// private attributions: one alloca per thread. Both in the default memory
// space, and so are the views taken of them.

// CHECK-LABEL: func.func @attributions
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) =
// CHECK-NEXT:      %[[W:.*]] = memref.alloca() : memref<32xf32>
// CHECK-NEXT:      scf.parallel (%[[TX:.*]], %{{.*}}, %{{.*}}) =
// CHECK-NEXT:        %[[P:.*]] = memref.alloca() : memref<2xf32>
// CHECK-NEXT:        %[[V:.*]] = memref.load %{{.*}}[%[[TX]]] : memref<32xf32>
// CHECK-NEXT:        memref.store %[[V]], %[[W]][%[[TX]]] : memref<32xf32>
// CHECK-NEXT:        %[[S:.*]] = memref.subview %[[W]][0] [16] [1] : memref<32xf32> to memref<16xf32, strided<[1]>>
// CHECK-NEXT:        memref.store %[[V]], %[[S]][%[[TX]]] : memref<16xf32, strided<[1]>>
// CHECK-NEXT:        memref.store %[[V]], %[[P]][%{{.*}}] : memref<2xf32>
// CHECK-NEXT:        scf.reduce
// CHECK-NOT:     gpu.
func.func @attributions(%m: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%sgx = %c1, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c32, %sby = %c1, %sbz = %c1)
             workgroup(%w : memref<32xf32, #gpu.address_space<workgroup>>)
             private(%p : memref<2xf32, #gpu.address_space<private>>) {
    %v = memref.load %m[%tx] : memref<32xf32>
    memref.store %v, %w[%tx] : memref<32xf32, #gpu.address_space<workgroup>>
    %s = memref.subview %w[0] [16] [1] : memref<32xf32, #gpu.address_space<workgroup>>
        to memref<16xf32, strided<[1]>, #gpu.address_space<workgroup>>
    memref.store %v, %s[%tx] : memref<16xf32, strided<[1]>, #gpu.address_space<workgroup>>
    memref.store %v, %p[%c0] : memref<2xf32, #gpu.address_space<private>>
    gpu.terminator
  }
  return
}

// -----

// Every launch of the module, in any function, is rewritten.

// CHECK-LABEL: func.func @two
// CHECK:         scf.parallel
// CHECK:           scf.parallel
// CHECK:         scf.parallel
// CHECK:           scf.parallel
// CHECK-NOT:     gpu.
func.func @two(%m: memref<4xf32>, %f: f32) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%sgx = %c1, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c4, %sby = %c1, %sbz = %c1) {
    memref.store %f, %m[%tx] : memref<4xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%sgx = %c4, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c1, %sby = %c1, %sbz = %c1) {
    memref.store %f, %m[%bx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

// A barrier splits the body into phases: one thread loop per phase inside
// the block loop, so every thread stores before any thread reads. The thread
// id (and arithmetic on it) is recomputed in the second phase.
// CHECK-LABEL: func.func @barrier
// CHECK:         scf.parallel (%[[B:.*]], %{{.*}}, %{{.*}}) =
// CHECK-NEXT:      %[[SHM:.*]] = memref.alloca() : memref<4xf32>
// CHECK-NEXT:      scf.parallel (%[[T1:.*]], %{{.*}}, %{{.*}}) =
// CHECK:             memref.store %{{.*}}, %[[SHM]][%[[T1]]]
// CHECK:           scf.parallel (%[[T2:.*]], %{{.*}}, %{{.*}}) =
// CHECK:             %[[NEXT:.*]] = arith.remui %{{.*}}, %{{.*}} : index
// CHECK:             memref.load %[[SHM]][%[[NEXT]]]
// CHECK:             memref.store
// CHECK-NOT:     gpu.barrier
func.func @barrier(%m: memref<4xf32>, %f: f32) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%sgx = %c1, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c4, %sby = %c1, %sbz = %c1)
             workgroup(%shm : memref<4xf32, #gpu.address_space<workgroup>>) {
    %plus = arith.addi %tx, %c1 : index
    %next = arith.remui %plus, %c4 : index
    memref.store %f, %shm[%tx] : memref<4xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %x = memref.load %shm[%next] : memref<4xf32, #gpu.address_space<workgroup>>
    memref.store %x, %m[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @barrier_in_branch(%m: memref<4xf32>, %f: f32, %b: i1) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  // expected-error @+1 {{'gpu.launch' op gpu.barrier inside control flow is not supported on the CPU: only barriers at the top level of the body split it into phases}}
  gpu.launch blocks(%bx, %by, %bz) in (%sgx = %c1, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c4, %sby = %c1, %sbz = %c1) {
    scf.if %b {
      // expected-note @+1 {{barrier here}}
      gpu.barrier
    }
    memref.store %f, %m[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

// A loaded value used after a barrier is kept per thread (registers survive
// a barrier on the GPU): a buffer of one f32 per thread of the block, stored
// in the first phase and reloaded in the second.
// CHECK-LABEL: func.func @value_across_barrier
// CHECK:         scf.parallel
// CHECK:           %[[KEPT:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK:           scf.parallel (%[[T0:.*]], %{{.*}}, %{{.*}}) =
// CHECK:             %[[X:.*]] = memref.load %{{.*}}[%[[T0]]] : memref<4xf32>
// CHECK:             memref.store %[[X]], %[[KEPT]][%{{.*}}] : memref<?xf32>
// CHECK:           scf.parallel
// CHECK:             %[[Y:.*]] = memref.load %[[KEPT]][%{{.*}}] : memref<?xf32>
// CHECK:             memref.store %[[Y]], %{{.*}} : memref<4xf32>
// CHECK:           memref.dealloc %[[KEPT]]
func.func @value_across_barrier(%m: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%sgx = %c1, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c4, %sby = %c1, %sbz = %c1) {
    %x = memref.load %m[%tx] : memref<4xf32>
    gpu.barrier
    memref.store %x, %m[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @buffer_across_barrier(%m: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  // expected-error @+1 {{'gpu.launch' op a value computed before a gpu.barrier or gpu.shuffle and used after it must be a scalar or go through workgroup memory}}
  gpu.launch blocks(%bx, %by, %bz) in (%sgx = %c1, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c4, %sby = %c1, %sbz = %c1) {
    // expected-note @+1 {{defined here}}
    %a = memref.alloca() : memref<1xf32>
    gpu.barrier
    %x = memref.load %a[%tx] : memref<1xf32>
    memref.store %x, %m[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

// Each phase allocates the private attributions anew: one that carries a
// value across a barrier (directly or through a view) would read garbage.
func.func @private_across_barrier(%m: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  // expected-error @+1 {{'gpu.launch' op a private attribution used on both sides of a gpu.barrier or gpu.shuffle is not supported on the CPU (each phase allocates its own): keep it within one phase}}
  gpu.launch blocks(%bx, %by, %bz) in (%sgx = %c1, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c4, %sby = %c1, %sbz = %c1)
             private(%p : memref<2xf32, #gpu.address_space<private>>) {
    %x = memref.load %m[%tx] : memref<4xf32>
    %view = memref.subview %p[1] [1] [1] : memref<2xf32, #gpu.address_space<private>> to memref<1xf32, strided<[1], offset: 1>, #gpu.address_space<private>>
    memref.store %x, %view[%c0] : memref<1xf32, strided<[1], offset: 1>, #gpu.address_space<private>>
    gpu.barrier
    // expected-note @+1 {{used here}}
    %y = memref.load %view[%c0] : memref<1xf32, strided<[1], offset: 1>, #gpu.address_space<private>>
    memref.store %y, %m[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @async(%m: memref<4xf32>, %f: f32) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %dep = gpu.wait async
  // expected-error @+1 {{'gpu.launch' op async launches are not supported on the CPU}}
  %token = gpu.launch async [%dep]
             blocks(%bx, %by, %bz) in (%sgx = %c1, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c4, %sby = %c1, %sbz = %c1) {
    memref.store %f, %m[%tx] : memref<4xf32>
    gpu.terminator
  }
  gpu.wait [%token]
  return
}

// -----

func.func @dynamic_shared_memory(%m: memref<4xf32>, %f: f32) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %bytes = arith.constant 1024 : i32
  // expected-error @+1 {{'gpu.launch' op dynamic shared memory is not supported on the CPU: use workgroup attributions}}
  gpu.launch blocks(%bx, %by, %bz) in (%sgx = %c1, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c4, %sby = %c1, %sbz = %c1)
             dynamic_shared_memory_size %bytes {
    memref.store %f, %m[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @clusters(%m: memref<4xf32>, %f: f32) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  // expected-error @+1 {{'gpu.launch' op clusters are not supported on the CPU}}
  gpu.launch clusters(%cx, %cy, %cz) in (%scx = %c1, %scy = %c1, %scz = %c1)
             blocks(%bx, %by, %bz) in (%sgx = %c1, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c4, %sby = %c1, %sbz = %c1) {
    memref.store %f, %m[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @blocks(%m: memref<4xf32>, %f: f32) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  // expected-error @+1 {{'gpu.launch' op a body of several blocks is not supported on the CPU}}
  gpu.launch blocks(%bx, %by, %bz) in (%sgx = %c1, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c4, %sby = %c1, %sbz = %c1) {
    cf.br ^bb1
  ^bb1:
    memref.store %f, %m[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

// A shuffle splits the body: the phase before it publishes each thread's
// value in an exchange buffer; the shuffle reads its source lane's entry
// (lane = linear thread id mod 32, the subgroup starting at id - lane), or
// keeps the thread's own value where the source is not valid (beyond the
// width or the block). The own value crosses the split: kept per thread.
// CHECK-LABEL: func.func @shuffle
// CHECK:           %[[KEPT:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK:           %[[EXCHANGE:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK:           scf.parallel
// CHECK:             %[[X:.*]] = memref.load %{{.*}} : memref<64xf32>
// CHECK:             memref.store %[[X]], %[[KEPT]]
// CHECK:             memref.store %[[X]], %[[EXCHANGE]]
// CHECK:           scf.parallel
// CHECK:             %[[OWN:.*]] = memref.load %[[KEPT]]
// CHECK:             %[[C32:.*]] = arith.constant 32 : index
// CHECK:             %[[LANE:.*]] = arith.remui %{{.*}}, %[[C32]] : index
// CHECK:             %[[SRC:.*]] = arith.xori %[[LANE]], %{{.*}} : index
// CHECK:             %[[IN:.*]] = arith.cmpi ult, %[[SRC]], %{{.*}} : index
// CHECK:             %[[VALID:.*]] = arith.andi %[[IN]], %{{.*}} : i1
// CHECK:             %[[AT:.*]] = arith.select %[[VALID]]
// CHECK:             %[[OTHER:.*]] = memref.load %[[EXCHANGE]][%[[AT]]]
// CHECK:             %[[S:.*]] = arith.select %[[VALID]], %[[OTHER]], %[[OWN]] : f32
// CHECK:             memref.store %[[S]], %{{.*}} : memref<64xf32>
// CHECK:           memref.dealloc %[[KEPT]]
// CHECK:           memref.dealloc %[[EXCHANGE]]
func.func @shuffle(%m: memref<64xf32>) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  gpu.launch blocks(%bx, %by, %bz) in (%sgx = %c1, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c64, %sby = %c1, %sbz = %c1) {
    %offset = arith.constant 16 : i32
    %width = arith.constant 32 : i32
    %x = memref.load %m[%tx] : memref<64xf32>
    %s, %valid = gpu.shuffle xor %x, %offset, %width : f32
    memref.store %s, %m[%tx] : memref<64xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @shuffle_in_branch(%m: memref<4xf32>, %f: f32, %b: i1) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1 : i32
  %width = arith.constant 32 : i32
  // expected-error @+1 {{'gpu.launch' op gpu.shuffle inside control flow is not supported on the CPU: only shuffles at the top level of the body, which every thread reaches, are emulated}}
  gpu.launch blocks(%bx, %by, %bz) in (%sgx = %c1, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c4, %sby = %c1, %sbz = %c1) {
    scf.if %b {
      // expected-note @+1 {{shuffle here}}
      %s, %valid = gpu.shuffle xor %f, %one, %width : f32
      memref.store %s, %m[%tx] : memref<4xf32>
    }
    gpu.terminator
  }
  return
}

// -----

func.func @subgroup_reduce(%m: memref<4xf32>, %f: f32) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  // expected-error @+1 {{'gpu.launch' op gpu.subgroup_reduce is not supported on the CPU: only gpu.block_id, gpu.thread_id, gpu.block_dim, gpu.grid_dim, gpu.global_id, gpu.barrier and gpu.shuffle are emulated}}
  gpu.launch blocks(%bx, %by, %bz) in (%sgx = %c1, %sgy = %c1, %sgz = %c1)
             threads(%tx, %ty, %tz) in (%sbx = %c4, %sby = %c1, %sbz = %c1) {
    // expected-note @+1 {{op here}}
    %s = gpu.subgroup_reduce add %f : (f32) -> f32
    memref.store %s, %m[%tx] : memref<4xf32>
    gpu.terminator
  }
  return
}
