// RUN: bregman-opt %s -split-input-file -breg-outline-chunks="max-ops=4" | FileCheck %s

// Above max-ops operations, the body is cut into chunks of about max-ops:
// each becomes a private function (internal linkage, never inlined) called
// in its place. The allocation and the side-effect-free ops stay in the
// caller (the chunks take buffers as arguments); so does the deallocation,
// right after the call (freed inside, a bare pointer would be freed through
// its aligned address); a scalar comes back as a result.
// CHECK-LABEL: func.func @step
// CHECK-SAME:    (%[[A:.*]]: memref<16xf32>, %[[B:.*]]: memref<16xf32>) -> f32
// CHECK:         %[[C0:.*]] = arith.constant 0 : index
// CHECK:         %[[BUF:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
// CHECK:         %[[X:.*]] = call @[[FIRST:step_part[_0-9]*]](%[[A]], %[[BUF]], %[[B]], %[[C0]])
// CHECK-SAME:      -> f32
// CHECK-NEXT:    memref.dealloc %[[BUF]] : memref<16xf32>
// CHECK-NEXT:    %[[Y:.*]] = arith.addf %[[X]], %[[X]] : f32
// CHECK:         %[[V:.*]] = call @[[SECOND:step_part[_0-9]*]](%[[Y]], %[[B]], %[[C0]])
// CHECK:         return %[[V]] : f32
// CHECK:       func.func private @[[SECOND]](%{{.*}}: f32, %{{.*}}: memref<16xf32>, %{{.*}}: index) -> f32 attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]}
// CHECK-NEXT:    memref.store
// CHECK-NEXT:    memref.load
// CHECK-NEXT:    return
// CHECK:       func.func private @[[FIRST]](%{{.*}}: memref<16xf32>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<16xf32>, %{{.*}}: index) -> f32 attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]}
// CHECK-NEXT:    memref.copy
// CHECK-NEXT:    memref.copy
// CHECK-NEXT:    memref.load
// CHECK-NEXT:    return
func.func @step(%a: memref<16xf32>, %b: memref<16xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %buf = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  memref.copy %a, %buf : memref<16xf32> to memref<16xf32>
  memref.copy %buf, %b : memref<16xf32> to memref<16xf32>
  %x = memref.load %buf[%c0] : memref<16xf32>
  memref.dealloc %buf : memref<16xf32>
  %y = arith.addf %x, %x : f32
  memref.store %y, %b[%c0] : memref<16xf32>
  %v = memref.load %b[%c0] : memref<16xf32>
  return %v : f32
}

// -----

// A chunk that would return a buffer (here one a call makes) stays inline:
// a buffer passed back as a bare pointer would lose its allocation. The
// next chunk takes it as an argument.
// CHECK-LABEL: func.func @returns_buffer
// CHECK:         %[[M:.*]] = call @make()
// CHECK-NEXT:    memref.copy
// CHECK-NEXT:    memref.copy
// CHECK-NEXT:    memref.copy
// CHECK-NEXT:    call @returns_buffer_part(%[[M]], %{{.*}})
// CHECK-NEXT:    memref.dealloc %[[M]]
// CHECK-NEXT:    return
func.func private @make() -> memref<16xf32>
func.func @returns_buffer(%b: memref<16xf32>) {
  %m = call @make() : () -> memref<16xf32>
  memref.copy %b, %m : memref<16xf32> to memref<16xf32>
  memref.copy %m, %b : memref<16xf32> to memref<16xf32>
  memref.copy %b, %m : memref<16xf32> to memref<16xf32>
  memref.copy %m, %b : memref<16xf32> to memref<16xf32>
  memref.copy %b, %m : memref<16xf32> to memref<16xf32>
  memref.dealloc %m : memref<16xf32>
  return
}

// -----

// A chunk that frees a buffer inside a region stays inline (the free cannot
// move to the caller); the next one is outlined.
// CHECK-LABEL: func.func @frees_nested
// CHECK-NEXT:    memref.alloc
// CHECK-NEXT:    memref.copy
// CHECK-NEXT:    memref.copy
// CHECK-NEXT:    scf.if
// CHECK-NEXT:      memref.dealloc
// CHECK-NEXT:    }
// CHECK-NEXT:    call @frees_nested_part(
func.func @frees_nested(%a: memref<16xf32>, %b: memref<16xf32>, %owned: i1) {
  %buf = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  memref.copy %a, %buf : memref<16xf32> to memref<16xf32>
  memref.copy %buf, %b : memref<16xf32> to memref<16xf32>
  scf.if %owned {
    memref.dealloc %buf : memref<16xf32>
  }
  memref.copy %b, %a : memref<16xf32> to memref<16xf32>
  memref.copy %a, %b : memref<16xf32> to memref<16xf32>
  return
}

// -----

// The deallocation pattern the pipeline leaves for a buffer that is no
// allocation of its own: the base buffer taken by extract_strided_metadata
// (side-effect-free, so it stays in the caller), then freed. The call goes
// where the chunk ended, after the op that defines what is freed, and the
// free after the call.
// CHECK-LABEL: func.func @frees_base
// CHECK:         %[[BASE:[^,]*]], %{{.*}} = memref.extract_strided_metadata
// CHECK-NEXT:    call @frees_base_part(
// CHECK-NEXT:    memref.dealloc %[[BASE]]
// CHECK-NEXT:    return
func.func @frees_base(%a: memref<16xf32>, %b: memref<16xf32>) {
  %buf = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  memref.copy %a, %buf : memref<16xf32> to memref<16xf32>
  memref.copy %buf, %b : memref<16xf32> to memref<16xf32>
  memref.copy %b, %a : memref<16xf32> to memref<16xf32>
  %base, %offset, %size, %stride = memref.extract_strided_metadata %buf
      : memref<16xf32> -> memref<f32>, index, index, index
  memref.dealloc %base : memref<f32>
  return
}

// -----

// A buffer freed through a value the chunk defines (a loop's iteration
// argument starting as the caller's buffer) cannot be taken over by the
// caller: the chunk stays inline; the next one is outlined.
// CHECK-LABEL: func.func @frees_iter_arg
// CHECK:         memref.copy
// CHECK-NEXT:    scf.for
// CHECK:           memref.dealloc
// CHECK:         call @frees_iter_arg_part(
func.func @frees_iter_arg(%a: memref<16xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %buf = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  memref.copy %a, %buf : memref<16xf32> to memref<16xf32>
  %last = scf.for %i = %c0 to %n step %c1 iter_args(%cur = %buf) -> (memref<16xf32>) {
    %new = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
    memref.copy %cur, %new : memref<16xf32> to memref<16xf32>
    memref.dealloc %cur : memref<16xf32>
    scf.yield %new : memref<16xf32>
  }
  memref.copy %last, %a : memref<16xf32> to memref<16xf32>
  memref.copy %a, %last : memref<16xf32> to memref<16xf32>
  return
}

// -----

// A buffer of dynamic size cannot be passed as a bare pointer: those chunks
// stay inline.
// CHECK-LABEL: func.func @dynamic
// CHECK-NOT:     call
// CHECK:         memref.copy
// CHECK-NOT:     func.func private
func.func @dynamic(%a: memref<?xf32>, %b: memref<?xf32>) {
  memref.copy %a, %b : memref<?xf32> to memref<?xf32>
  memref.copy %b, %a : memref<?xf32> to memref<?xf32>
  memref.copy %a, %b : memref<?xf32> to memref<?xf32>
  memref.copy %b, %a : memref<?xf32> to memref<?xf32>
  memref.copy %a, %b : memref<?xf32> to memref<?xf32>
  memref.copy %b, %a : memref<?xf32> to memref<?xf32>
  return
}

// -----

// Small functions are left as they are.
// CHECK-LABEL: func.func @small
// CHECK-NEXT:    memref.copy
// CHECK-NEXT:    return
func.func @small(%a: memref<16xf32>, %b: memref<16xf32>) {
  memref.copy %a, %b : memref<16xf32> to memref<16xf32>
  return
}
