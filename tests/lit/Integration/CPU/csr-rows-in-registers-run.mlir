// The feature-major CSR product W·aᵀ with 160 batch columns (10 chunks of
// 16: carried in registers as a group of 8 and one of 2 by
// breg-accumulate-in-registers, with fused multiply-adds), and the input
// gradient Wᵀ·δ, which scatters (fused multiply-adds only); and the product
// with 100 batch columns, where the sparsifier masks every chunk (7 chunks,
// the last of 4 lanes): carried under the same masks.
// W [3, 4] = [[1, 0, 2, 0], [0, 0, 0, 0], [0, 3, 0, 4]] (row 1 empty),
// aᵀ[c, b] = (c + 1)(b + 1), δ[r, b] = (r + 1)(b + 1):
//   (W·aᵀ)[r, b] = (b + 1)·[7, 0, 22][r]: row sums 7·12880, 0, 22·12880;
//   (Wᵀ·δ)[c, b] = (b + 1)·[1, 9, 2, 12][c]: row sums ×12880.
// All values are integers below 2^24, so every rounding is exact.
// RUN: bregman-opt %s --bregman-cpu-pipeline="bare-ptr-call-conv=0" \
// RUN:   -mlir-disable-threading -mlir-print-ir-after=breg-accumulate-in-registers -o /dev/null 2>&1 \
// RUN: | FileCheck %s --check-prefix=IR
// RUN: bregman-opt %s --bregman-cpu-pipeline="bare-ptr-call-conv=0" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s

// IR-LABEL: func.func @forward(
// IR:         scf.if
// IR-COUNT-8: vector.load
// IR:         scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// IR-COUNT-8: vector.fma
// IR-COUNT-8: vector.store
// IR:         scf.if
// IR:         scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>)
// IR-COUNT-2: vector.fma
// IR-COUNT-2: vector.store
// IR-LABEL: func.func @forward100(
// IR:         scf.if
// IR-COUNT-7: vector.maskedload
// IR:         scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// IR-COUNT-7: vector.fma
// IR-COUNT-7: vector.maskedstore
// IR-LABEL: func.func @grad_input(
// IR-NOT:     scf.if
// IR:         vector.fma
// IR-LABEL: func.func @main(

#CSR = #sparse_tensor.encoding<{map = (i, j) -> (i : dense, j : compressed), posWidth = 32, crdWidth = 32}>
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

// m[i, b] = (i + 1)(b + 1).
func.func @ramp(%e: tensor<?x160xf32>) -> tensor<?x160xf32> {
  %r = linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]}
      outs(%e : tensor<?x160xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %b = linalg.index 1 : index
    %c1 = arith.constant 1 : index
    %i1 = arith.addi %i, %c1 : index
    %b1 = arith.addi %b, %c1 : index
    %p = arith.muli %i1, %b1 : index
    %pi = arith.index_cast %p : index to i64
    %pf = arith.sitofp %pi : i64 to f32
    linalg.yield %pf : f32
  } -> tensor<?x160xf32>
  return %r : tensor<?x160xf32>
}

func.func @row_sums(%m: tensor<?x160xf32>) {
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %m, %c0 : tensor<?x160xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%rows) : tensor<?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%m : tensor<?x160xf32>) outs(%f : tensor<?xf32>) {
  ^bb0(%x: f32, %o: f32):
    %a = arith.addf %x, %o : f32
    linalg.yield %a : f32
  } -> tensor<?xf32>
  %sm = bufferization.to_buffer %s : tensor<?xf32> to memref<?xf32>
  %su = memref.cast %sm : memref<?xf32> to memref<*xf32>
  call @printMemrefF32(%su) : (memref<*xf32>) -> ()
  // The last chunk, in the second group.
  %tail = tensor.extract_slice %m[0, 156] [%rows, 4] [1, 1] : tensor<?x160xf32> to tensor<?x4xf32>
  %tm = bufferization.to_buffer %tail : tensor<?x4xf32> to memref<?x4xf32>
  %tu = memref.cast %tm : memref<?x4xf32> to memref<*xf32>
  call @printMemrefF32(%tu) : (memref<*xf32>) -> ()
  return
}

func.func @forward(%at: tensor<4x160xf32>, %pos: tensor<4xi32>, %crd: tensor<12xi32>,
                   %val: tensor<12xf32>) -> tensor<3x160xf32> {
  %w = sparse_tensor.assemble (%pos, %crd), %val
       : (tensor<4xi32>, tensor<12xi32>), tensor<12xf32> to tensor<3x4xf32, #CSR>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x160xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<3x160xf32>) -> tensor<3x160xf32>
  %y = linalg.matmul ins(%w, %at : tensor<3x4xf32, #CSR>, tensor<4x160xf32>)
       outs(%init : tensor<3x160xf32>) -> tensor<3x160xf32>
  return %y : tensor<3x160xf32>
}

func.func @forward100(%at: tensor<4x100xf32>, %pos: tensor<4xi32>, %crd: tensor<12xi32>,
                      %val: tensor<12xf32>) -> tensor<3x100xf32> {
  %w = sparse_tensor.assemble (%pos, %crd), %val
       : (tensor<4xi32>, tensor<12xi32>), tensor<12xf32> to tensor<3x4xf32, #CSR>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x100xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<3x100xf32>) -> tensor<3x100xf32>
  %y = linalg.matmul ins(%w, %at : tensor<3x4xf32, #CSR>, tensor<4x100xf32>)
       outs(%init : tensor<3x100xf32>) -> tensor<3x100xf32>
  return %y : tensor<3x100xf32>
}

func.func @grad_input(%d: tensor<3x160xf32>, %pos: tensor<4xi32>, %crd: tensor<12xi32>,
                      %val: tensor<12xf32>) -> tensor<4x160xf32> {
  %w = sparse_tensor.assemble (%pos, %crd), %val
       : (tensor<4xi32>, tensor<12xi32>), tensor<12xf32> to tensor<3x4xf32, #CSR>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x160xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<4x160xf32>) -> tensor<4x160xf32>
  %dx = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
                                       affine_map<(m, n, k) -> (k, n)>,
                                       affine_map<(m, n, k) -> (m, n)>]
        ins(%w, %d : tensor<3x4xf32, #CSR>, tensor<3x160xf32>)
        outs(%init : tensor<4x160xf32>) -> tensor<4x160xf32>
  return %dx : tensor<4x160xf32>
}

func.func @main() {
  %pos = arith.constant dense<[0, 2, 2, 4]> : tensor<4xi32>
  %crd = arith.constant dense<[0, 2, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0]> : tensor<12xi32>
  %val = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]> : tensor<12xf32>
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %ea = tensor.empty(%c4) : tensor<?x160xf32>
  %atd = call @ramp(%ea) : (tensor<?x160xf32>) -> tensor<?x160xf32>
  %at = tensor.cast %atd : tensor<?x160xf32> to tensor<4x160xf32>
  %y = call @forward(%at, %pos, %crd, %val)
       : (tensor<4x160xf32>, tensor<4xi32>, tensor<12xi32>, tensor<12xf32>) -> tensor<3x160xf32>
  %yd = tensor.cast %y : tensor<3x160xf32> to tensor<?x160xf32>
  // CHECK: [90160,  0,  283360]
  // CHECK: [1099,   1106,   1113,   1120],
  // CHECK: [0,   0,   0,   0],
  // CHECK: [3454,   3476,   3498,   3520]
  call @row_sums(%yd) : (tensor<?x160xf32>) -> ()
  // The first 100 columns (placed at columns 60..159 for printing): row
  // sums [7, 0, 22]·5050, the last four columns 97..100.
  %at100 = tensor.extract_slice %at[0, 0] [4, 100] [1, 1] : tensor<4x160xf32> to tensor<4x100xf32>
  %y100 = call @forward100(%at100, %pos, %crd, %val)
       : (tensor<4x100xf32>, tensor<4xi32>, tensor<12xi32>, tensor<12xf32>) -> tensor<3x100xf32>
  %zero = arith.constant 0.0 : f32
  %e100 = tensor.empty() : tensor<3x160xf32>
  %z100 = linalg.fill ins(%zero : f32) outs(%e100 : tensor<3x160xf32>) -> tensor<3x160xf32>
  %p100 = tensor.insert_slice %y100 into %z100[0, 60] [3, 100] [1, 1] : tensor<3x100xf32> into tensor<3x160xf32>
  %p100d = tensor.cast %p100 : tensor<3x160xf32> to tensor<?x160xf32>
  // CHECK: [35350,  0,  111100]
  // CHECK: [679,   686,   693,   700],
  // CHECK: [0,   0,   0,   0],
  // CHECK: [2134,   2156,   2178,   2200]
  call @row_sums(%p100d) : (tensor<?x160xf32>) -> ()
  %ed = tensor.empty(%c3) : tensor<?x160xf32>
  %dd = call @ramp(%ed) : (tensor<?x160xf32>) -> tensor<?x160xf32>
  %d = tensor.cast %dd : tensor<?x160xf32> to tensor<3x160xf32>
  %dx = call @grad_input(%d, %pos, %crd, %val)
        : (tensor<3x160xf32>, tensor<4xi32>, tensor<12xi32>, tensor<12xf32>) -> tensor<4x160xf32>
  %dxd = tensor.cast %dx : tensor<4x160xf32> to tensor<?x160xf32>
  // CHECK: [12880,  115920,  25760,  154560]
  // CHECK: [157,   158,   159,   160],
  // CHECK: [1413,   1422,   1431,   1440],
  // CHECK: [314,   316,   318,   320],
  // CHECK: [1884,   1896,   1908,   1920]
  call @row_sums(%dxd) : (tensor<?x160xf32>) -> ()
  return
}
