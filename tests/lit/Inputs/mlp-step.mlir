#map = affine_map<(d0, d1, d2) -> (d0, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d1, d2)>
#map2 = affine_map<(d0, d1, d2) -> (d0, d1)>
#map3 = affine_map<(d0, d1) -> (d0, d1)>
#map4 = affine_map<(d0, d1) -> (d1)>
#map5 = affine_map<(d0, d1) -> (d0)>
#map6 = affine_map<(d0) -> (d0)>
#map7 = affine_map<(d0) -> ()>
#map8 = affine_map<() -> ()>
#map9 = affine_map<(d0, d1, d2) -> (d2, d0)>
#map10 = affine_map<(d0, d1, d2) -> (d2, d1)>
module {
  func.func @bregman_main(%arg0: memref<16x20xf32>, %arg1: memref<16xf32>, %arg2: memref<8x16xf32>, %arg3: memref<8xf32>, %arg4: memref<4x8xf32>, %arg5: memref<4xf32>, %arg6: memref<16x20xf32>, %arg7: memref<16xf32>, %arg8: memref<8x16xf32>, %arg9: memref<8xf32>, %arg10: memref<4x8xf32>, %arg11: memref<4xf32>, %arg12: memref<16x20xf32>, %arg13: memref<16xf32>, %arg14: memref<8x16xf32>, %arg15: memref<8xf32>, %arg16: memref<4x8xf32>, %arg17: memref<4xf32>, %arg18: memref<f32>, %arg19: memref<f32>, %arg20: memref<f32>, %arg21: memref<f32>, %arg22: memref<f32>, %arg23: memref<f32>, %arg24: memref<f32>, %arg25: memref<f32>, %arg26: memref<12x20xf32>, %arg27: memref<12xi32>, %arg28: memref<f32>) {
    %0 = bufferization.to_tensor %arg0 restrict writable : memref<16x20xf32> to tensor<16x20xf32>
    %1 = bufferization.to_tensor %arg1 restrict writable : memref<16xf32> to tensor<16xf32>
    %2 = bufferization.to_tensor %arg2 restrict writable : memref<8x16xf32> to tensor<8x16xf32>
    %3 = bufferization.to_tensor %arg3 restrict writable : memref<8xf32> to tensor<8xf32>
    %4 = bufferization.to_tensor %arg4 restrict writable : memref<4x8xf32> to tensor<4x8xf32>
    %5 = bufferization.to_tensor %arg5 restrict writable : memref<4xf32> to tensor<4xf32>
    %6 = bufferization.to_tensor %arg6 restrict writable : memref<16x20xf32> to tensor<16x20xf32>
    %7 = bufferization.to_tensor %arg7 restrict writable : memref<16xf32> to tensor<16xf32>
    %8 = bufferization.to_tensor %arg8 restrict writable : memref<8x16xf32> to tensor<8x16xf32>
    %9 = bufferization.to_tensor %arg9 restrict writable : memref<8xf32> to tensor<8xf32>
    %10 = bufferization.to_tensor %arg10 restrict writable : memref<4x8xf32> to tensor<4x8xf32>
    %11 = bufferization.to_tensor %arg11 restrict writable : memref<4xf32> to tensor<4xf32>
    %12 = bufferization.to_tensor %arg12 restrict writable : memref<16x20xf32> to tensor<16x20xf32>
    %13 = bufferization.to_tensor %arg13 restrict writable : memref<16xf32> to tensor<16xf32>
    %14 = bufferization.to_tensor %arg14 restrict writable : memref<8x16xf32> to tensor<8x16xf32>
    %15 = bufferization.to_tensor %arg15 restrict writable : memref<8xf32> to tensor<8xf32>
    %16 = bufferization.to_tensor %arg16 restrict writable : memref<4x8xf32> to tensor<4x8xf32>
    %17 = bufferization.to_tensor %arg17 restrict writable : memref<4xf32> to tensor<4xf32>
    %18 = bufferization.to_tensor %arg18 restrict writable : memref<f32> to tensor<f32>
    %19 = bufferization.to_tensor %arg19 restrict writable : memref<f32> to tensor<f32>
    %20 = bufferization.to_tensor %arg20 restrict writable : memref<f32> to tensor<f32>
    %21 = bufferization.to_tensor %arg21 restrict writable : memref<f32> to tensor<f32>
    %22 = bufferization.to_tensor %arg22 restrict writable : memref<f32> to tensor<f32>
    %23 = bufferization.to_tensor %arg23 restrict writable : memref<f32> to tensor<f32>
    %24 = bufferization.to_tensor %arg24 restrict writable : memref<f32> to tensor<f32>
    %25 = bufferization.to_tensor %arg25 restrict writable : memref<f32> to tensor<f32>
    %26 = bufferization.to_tensor %arg26 restrict : memref<12x20xf32> to tensor<12x20xf32>
    %27 = bufferization.to_tensor %arg27 restrict : memref<12xi32> to tensor<12xi32>
    %28 = bufferization.alloc_tensor() : tensor<12x16xf32>
    %cst = arith.constant 0.000000e+00 : f32
    %29 = linalg.fill ins(%cst : f32) outs(%28 : tensor<12x16xf32>) -> tensor<12x16xf32>
    %30 = linalg.matmul indexing_maps = [#map, #map1, #map2] ins(%26, %0 : tensor<12x20xf32>, tensor<16x20xf32>) outs(%29 : tensor<12x16xf32>) -> tensor<12x16xf32>
    %31 = tensor.empty() : tensor<12x16xf32>
    %32 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel"]} ins(%30, %1 : tensor<12x16xf32>, tensor<16xf32>) outs(%31 : tensor<12x16xf32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %139 = arith.addf %in, %in_68 : f32
      linalg.yield %139 : f32
    } -> tensor<12x16xf32>
    %33 = tensor.empty() : tensor<12x16xf32>
    %34 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel"]} ins(%32 : tensor<12x16xf32>) outs(%33 : tensor<12x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %cst_68 = arith.constant 0.000000e+00 : f32
      %139 = arith.maximumf %in, %cst_68 : f32
      linalg.yield %139 : f32
    } -> tensor<12x16xf32>
    %35 = bufferization.alloc_tensor() : tensor<12x8xf32>
    %cst_0 = arith.constant 0.000000e+00 : f32
    %36 = linalg.fill ins(%cst_0 : f32) outs(%35 : tensor<12x8xf32>) -> tensor<12x8xf32>
    %37 = linalg.matmul indexing_maps = [#map, #map1, #map2] ins(%34, %2 : tensor<12x16xf32>, tensor<8x16xf32>) outs(%36 : tensor<12x8xf32>) -> tensor<12x8xf32>
    %38 = tensor.empty() : tensor<12x8xf32>
    %39 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel"]} ins(%37, %3 : tensor<12x8xf32>, tensor<8xf32>) outs(%38 : tensor<12x8xf32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %139 = arith.addf %in, %in_68 : f32
      linalg.yield %139 : f32
    } -> tensor<12x8xf32>
    %40 = tensor.empty() : tensor<12x8xf32>
    %41 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel"]} ins(%39 : tensor<12x8xf32>) outs(%40 : tensor<12x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %cst_68 = arith.constant 0.000000e+00 : f32
      %139 = arith.maximumf %in, %cst_68 : f32
      linalg.yield %139 : f32
    } -> tensor<12x8xf32>
    %42 = bufferization.alloc_tensor() : tensor<12x4xf32>
    %cst_1 = arith.constant 0.000000e+00 : f32
    %43 = linalg.fill ins(%cst_1 : f32) outs(%42 : tensor<12x4xf32>) -> tensor<12x4xf32>
    %44 = linalg.matmul indexing_maps = [#map, #map1, #map2] ins(%41, %4 : tensor<12x8xf32>, tensor<4x8xf32>) outs(%43 : tensor<12x4xf32>) -> tensor<12x4xf32>
    %45 = tensor.empty() : tensor<12x4xf32>
    %46 = linalg.generic {indexing_maps = [#map3, #map4, #map3], iterator_types = ["parallel", "parallel"]} ins(%44, %5 : tensor<12x4xf32>, tensor<4xf32>) outs(%45 : tensor<12x4xf32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %139 = arith.addf %in, %in_68 : f32
      linalg.yield %139 : f32
    } -> tensor<12x4xf32>
    %47 = tensor.empty() : tensor<12x4xf32>
    %48 = linalg.generic {indexing_maps = [#map5, #map3], iterator_types = ["parallel", "parallel"]} ins(%27 : tensor<12xi32>) outs(%47 : tensor<12x4xf32>) {
    ^bb0(%in: i32, %out: f32):
      %139 = linalg.index 1 : index
      %140 = arith.index_cast %139 : index to i32
      %141 = arith.cmpi eq, %140, %in : i32
      %cst_68 = arith.constant 1.000000e+00 : f32
      %cst_69 = arith.constant 0.000000e+00 : f32
      %142 = arith.select %141, %cst_68, %cst_69 : f32
      linalg.yield %142 : f32
    } -> tensor<12x4xf32>
    %49 = bufferization.alloc_tensor() : tensor<12xf32>
    %cst_2 = arith.constant 0xFF800000 : f32
    %50 = linalg.fill ins(%cst_2 : f32) outs(%49 : tensor<12xf32>) -> tensor<12xf32>
    %51 = linalg.generic {indexing_maps = [#map3, #map5], iterator_types = ["parallel", "reduction"]} ins(%46 : tensor<12x4xf32>) outs(%50 : tensor<12xf32>) {
    ^bb0(%in: f32, %out: f32):
      %139 = arith.maximumf %in, %out : f32
      linalg.yield %139 : f32
    } -> tensor<12xf32>
    %expanded = tensor.expand_shape %51 [[0, 1]] output_shape [12, 1] : tensor<12xf32> into tensor<12x1xf32>
    %collapsed = tensor.collapse_shape %expanded [[0, 1]] : tensor<12x1xf32> into tensor<12xf32>
    %52 = tensor.empty() : tensor<12x4xf32>
    %53 = linalg.generic {indexing_maps = [#map3, #map5, #map3], iterator_types = ["parallel", "parallel"]} ins(%46, %collapsed : tensor<12x4xf32>, tensor<12xf32>) outs(%52 : tensor<12x4xf32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %139 = arith.subf %in, %in_68 : f32
      linalg.yield %139 : f32
    } -> tensor<12x4xf32>
    %54 = tensor.empty() : tensor<12x4xf32>
    %55 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel"]} ins(%53 : tensor<12x4xf32>) outs(%54 : tensor<12x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %139 = math.exp %in : f32
      linalg.yield %139 : f32
    } -> tensor<12x4xf32>
    %56 = bufferization.alloc_tensor() : tensor<12xf32>
    %cst_3 = arith.constant 0.000000e+00 : f32
    %57 = linalg.fill ins(%cst_3 : f32) outs(%56 : tensor<12xf32>) -> tensor<12xf32>
    %58 = linalg.generic {indexing_maps = [#map3, #map5], iterator_types = ["parallel", "reduction"]} ins(%55 : tensor<12x4xf32>) outs(%57 : tensor<12xf32>) {
    ^bb0(%in: f32, %out: f32):
      %139 = arith.addf %in, %out : f32
      linalg.yield %139 : f32
    } -> tensor<12xf32>
    %expanded_4 = tensor.expand_shape %58 [[0, 1]] output_shape [12, 1] : tensor<12xf32> into tensor<12x1xf32>
    %59 = tensor.empty() : tensor<12x1xf32>
    %60 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel"]} ins(%expanded_4 : tensor<12x1xf32>) outs(%59 : tensor<12x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %139 = math.log %in : f32
      linalg.yield %139 : f32
    } -> tensor<12x1xf32>
    %collapsed_5 = tensor.collapse_shape %60 [[0, 1]] : tensor<12x1xf32> into tensor<12xf32>
    %61 = tensor.empty() : tensor<12x4xf32>
    %62 = linalg.generic {indexing_maps = [#map3, #map5, #map3], iterator_types = ["parallel", "parallel"]} ins(%53, %collapsed_5 : tensor<12x4xf32>, tensor<12xf32>) outs(%61 : tensor<12x4xf32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %139 = arith.subf %in, %in_68 : f32
      linalg.yield %139 : f32
    } -> tensor<12x4xf32>
    %63 = tensor.empty() : tensor<12x4xf32>
    %64 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel", "parallel"]} ins(%48, %62 : tensor<12x4xf32>, tensor<12x4xf32>) outs(%63 : tensor<12x4xf32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %139 = arith.mulf %in, %in_68 : f32
      linalg.yield %139 : f32
    } -> tensor<12x4xf32>
    %65 = bufferization.alloc_tensor() : tensor<12xf32>
    %cst_6 = arith.constant 0.000000e+00 : f32
    %66 = linalg.fill ins(%cst_6 : f32) outs(%65 : tensor<12xf32>) -> tensor<12xf32>
    %67 = linalg.generic {indexing_maps = [#map3, #map5], iterator_types = ["parallel", "reduction"]} ins(%64 : tensor<12x4xf32>) outs(%66 : tensor<12xf32>) {
    ^bb0(%in: f32, %out: f32):
      %139 = arith.addf %in, %out : f32
      linalg.yield %139 : f32
    } -> tensor<12xf32>
    %68 = bufferization.alloc_tensor() : tensor<f32>
    %cst_7 = arith.constant 0.000000e+00 : f32
    %69 = linalg.fill ins(%cst_7 : f32) outs(%68 : tensor<f32>) -> tensor<f32>
    %70 = linalg.generic {indexing_maps = [#map6, #map7], iterator_types = ["reduction"]} ins(%67 : tensor<12xf32>) outs(%69 : tensor<f32>) {
    ^bb0(%in: f32, %out: f32):
      %139 = arith.addf %in, %out : f32
      linalg.yield %139 : f32
    } -> tensor<f32>
    %cst_8 = arith.constant dense<0.0833333358> : tensor<f32>
    %71 = tensor.empty() : tensor<f32>
    %72 = linalg.generic {indexing_maps = [#map8, #map8, #map8], iterator_types = []} ins(%70, %cst_8 : tensor<f32>, tensor<f32>) outs(%71 : tensor<f32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %139 = arith.mulf %in, %in_68 : f32
      linalg.yield %139 : f32
    } -> tensor<f32>
    %73 = tensor.empty() : tensor<f32>
    %74 = linalg.generic {indexing_maps = [#map8, #map8], iterator_types = []} ins(%72 : tensor<f32>) outs(%73 : tensor<f32>) {
    ^bb0(%in: f32, %out: f32):
      %139 = arith.negf %in : f32
      linalg.yield %139 : f32
    } -> tensor<f32>
    %cst_9 = arith.constant dense<1.000000e+00> : tensor<f32>
    %75 = tensor.empty() : tensor<f32>
    %76 = linalg.generic {indexing_maps = [#map8, #map8], iterator_types = []} ins(%cst_9 : tensor<f32>) outs(%75 : tensor<f32>) {
    ^bb0(%in: f32, %out: f32):
      %139 = arith.negf %in : f32
      linalg.yield %139 : f32
    } -> tensor<f32>
    %77 = tensor.empty() : tensor<f32>
    %78 = linalg.generic {indexing_maps = [#map8, #map8, #map8], iterator_types = []} ins(%76, %cst_8 : tensor<f32>, tensor<f32>) outs(%77 : tensor<f32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %139 = arith.mulf %in, %in_68 : f32
      linalg.yield %139 : f32
    } -> tensor<f32>
    %79 = tensor.empty() : tensor<f32>
    %80 = linalg.generic {indexing_maps = [#map8, #map8, #map8], iterator_types = []} ins(%76, %70 : tensor<f32>, tensor<f32>) outs(%79 : tensor<f32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %139 = arith.mulf %in, %in_68 : f32
      linalg.yield %139 : f32
    } -> tensor<f32>
    %expanded_10 = tensor.expand_shape %78 [] output_shape [1] : tensor<f32> into tensor<1xf32>
    %collapsed_11 = tensor.collapse_shape %expanded_10 [] : tensor<1xf32> into tensor<f32>
    %81 = tensor.empty() : tensor<12xf32>
    %82 = linalg.generic {indexing_maps = [#map7, #map6], iterator_types = ["parallel"]} ins(%collapsed_11 : tensor<f32>) outs(%81 : tensor<12xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<12xf32>
    %expanded_12 = tensor.expand_shape %82 [[0, 1]] output_shape [12, 1] : tensor<12xf32> into tensor<12x1xf32>
    %collapsed_13 = tensor.collapse_shape %expanded_12 [[0, 1]] : tensor<12x1xf32> into tensor<12xf32>
    %83 = tensor.empty() : tensor<12x4xf32>
    %84 = linalg.generic {indexing_maps = [#map5, #map3], iterator_types = ["parallel", "parallel"]} ins(%collapsed_13 : tensor<12xf32>) outs(%83 : tensor<12x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<12x4xf32>
    %85 = tensor.empty() : tensor<12x4xf32>
    %86 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel", "parallel"]} ins(%84, %62 : tensor<12x4xf32>, tensor<12x4xf32>) outs(%85 : tensor<12x4xf32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %139 = arith.mulf %in, %in_68 : f32
      linalg.yield %139 : f32
    } -> tensor<12x4xf32>
    %87 = tensor.empty() : tensor<12x4xf32>
    %88 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel", "parallel"]} ins(%84, %48 : tensor<12x4xf32>, tensor<12x4xf32>) outs(%87 : tensor<12x4xf32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %139 = arith.mulf %in, %in_68 : f32
      linalg.yield %139 : f32
    } -> tensor<12x4xf32>
    %89 = tensor.empty() : tensor<12x4xf32>
    %90 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel"]} ins(%88 : tensor<12x4xf32>) outs(%89 : tensor<12x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %139 = arith.negf %in : f32
      linalg.yield %139 : f32
    } -> tensor<12x4xf32>
    %91 = bufferization.alloc_tensor() : tensor<12xf32>
    %cst_14 = arith.constant 0.000000e+00 : f32
    %92 = linalg.fill ins(%cst_14 : f32) outs(%91 : tensor<12xf32>) -> tensor<12xf32>
    %93 = linalg.generic {indexing_maps = [#map3, #map5], iterator_types = ["parallel", "reduction"]} ins(%90 : tensor<12x4xf32>) outs(%92 : tensor<12xf32>) {
    ^bb0(%in: f32, %out: f32):
      %139 = arith.addf %in, %out : f32
      linalg.yield %139 : f32
    } -> tensor<12xf32>
    %expanded_15 = tensor.expand_shape %93 [[0, 1]] output_shape [12, 1] : tensor<12xf32> into tensor<12x1xf32>
    %94 = tensor.empty() : tensor<12x1xf32>
    %95 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel", "parallel"]} ins(%expanded_15, %expanded_4 : tensor<12x1xf32>, tensor<12x1xf32>) outs(%94 : tensor<12x1xf32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %139 = arith.divf %in, %in_68 : f32
      linalg.yield %139 : f32
    } -> tensor<12x1xf32>
    %collapsed_16 = tensor.collapse_shape %95 [[0, 1]] : tensor<12x1xf32> into tensor<12xf32>
    %expanded_17 = tensor.expand_shape %collapsed_16 [[0, 1]] output_shape [12, 1] : tensor<12xf32> into tensor<12x1xf32>
    %collapsed_18 = tensor.collapse_shape %expanded_17 [[0, 1]] : tensor<12x1xf32> into tensor<12xf32>
    %96 = tensor.empty() : tensor<12x4xf32>
    %97 = linalg.generic {indexing_maps = [#map5, #map3], iterator_types = ["parallel", "parallel"]} ins(%collapsed_18 : tensor<12xf32>) outs(%96 : tensor<12x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<12x4xf32>
    %98 = tensor.empty() : tensor<12x4xf32>
    %99 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel", "parallel"]} ins(%97, %55 : tensor<12x4xf32>, tensor<12x4xf32>) outs(%98 : tensor<12x4xf32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %139 = arith.mulf %in, %in_68 : f32
      linalg.yield %139 : f32
    } -> tensor<12x4xf32>
    %100 = tensor.empty() : tensor<12x4xf32>
    %101 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel", "parallel"]} ins(%88, %99 : tensor<12x4xf32>, tensor<12x4xf32>) outs(%100 : tensor<12x4xf32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %139 = arith.addf %in, %in_68 : f32
      linalg.yield %139 : f32
    } -> tensor<12x4xf32>
    %102 = tensor.empty() : tensor<12x4xf32>
    %103 = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel"]} ins(%101 : tensor<12x4xf32>) outs(%102 : tensor<12x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %139 = arith.negf %in : f32
      linalg.yield %139 : f32
    } -> tensor<12x4xf32>
    %104 = bufferization.alloc_tensor() : tensor<12xf32>
    %cst_19 = arith.constant 0.000000e+00 : f32
    %105 = linalg.fill ins(%cst_19 : f32) outs(%104 : tensor<12xf32>) -> tensor<12xf32>
    %106 = linalg.generic {indexing_maps = [#map3, #map5], iterator_types = ["parallel", "reduction"]} ins(%103 : tensor<12x4xf32>) outs(%105 : tensor<12xf32>) {
    ^bb0(%in: f32, %out: f32):
      %139 = arith.addf %in, %out : f32
      linalg.yield %139 : f32
    } -> tensor<12xf32>
    %expanded_20 = tensor.expand_shape %106 [[0, 1]] output_shape [12, 1] : tensor<12xf32> into tensor<12x1xf32>
    %107 = bufferization.alloc_tensor() : tensor<4xf32>
    %cst_21 = arith.constant 0.000000e+00 : f32
    %108 = linalg.fill ins(%cst_21 : f32) outs(%107 : tensor<4xf32>) -> tensor<4xf32>
    %109 = linalg.generic {indexing_maps = [#map3, #map4], iterator_types = ["reduction", "parallel"]} ins(%101 : tensor<12x4xf32>) outs(%108 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %139 = arith.addf %in, %out : f32
      linalg.yield %139 : f32
    } -> tensor<4xf32>
    %110 = bufferization.alloc_tensor() : tensor<12x8xf32>
    %cst_22 = arith.constant 0.000000e+00 : f32
    %111 = linalg.fill ins(%cst_22 : f32) outs(%110 : tensor<12x8xf32>) -> tensor<12x8xf32>
    %112 = linalg.matmul ins(%101, %4 : tensor<12x4xf32>, tensor<4x8xf32>) outs(%111 : tensor<12x8xf32>) -> tensor<12x8xf32>
    %113 = bufferization.alloc_tensor() : tensor<4x8xf32>
    %cst_23 = arith.constant 0.000000e+00 : f32
    %114 = linalg.fill ins(%cst_23 : f32) outs(%113 : tensor<4x8xf32>) -> tensor<4x8xf32>
    %115 = linalg.matmul indexing_maps = [#map9, #map10, #map2] ins(%101, %41 : tensor<12x4xf32>, tensor<12x8xf32>) outs(%114 : tensor<4x8xf32>) -> tensor<4x8xf32>
    %116 = tensor.empty() : tensor<12x8xf32>
    %117 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel", "parallel"]} ins(%39, %112 : tensor<12x8xf32>, tensor<12x8xf32>) outs(%116 : tensor<12x8xf32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %cst_69 = arith.constant 0.000000e+00 : f32
      %139 = arith.cmpf ogt, %in, %cst_69 : f32
      %140 = arith.select %139, %in_68, %cst_69 : f32
      linalg.yield %140 : f32
    } -> tensor<12x8xf32>
    %118 = bufferization.alloc_tensor() : tensor<8xf32>
    %cst_24 = arith.constant 0.000000e+00 : f32
    %119 = linalg.fill ins(%cst_24 : f32) outs(%118 : tensor<8xf32>) -> tensor<8xf32>
    %120 = linalg.generic {indexing_maps = [#map3, #map4], iterator_types = ["reduction", "parallel"]} ins(%117 : tensor<12x8xf32>) outs(%119 : tensor<8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %139 = arith.addf %in, %out : f32
      linalg.yield %139 : f32
    } -> tensor<8xf32>
    %121 = bufferization.alloc_tensor() : tensor<12x16xf32>
    %cst_25 = arith.constant 0.000000e+00 : f32
    %122 = linalg.fill ins(%cst_25 : f32) outs(%121 : tensor<12x16xf32>) -> tensor<12x16xf32>
    %123 = linalg.matmul ins(%117, %2 : tensor<12x8xf32>, tensor<8x16xf32>) outs(%122 : tensor<12x16xf32>) -> tensor<12x16xf32>
    %124 = bufferization.alloc_tensor() : tensor<8x16xf32>
    %cst_26 = arith.constant 0.000000e+00 : f32
    %125 = linalg.fill ins(%cst_26 : f32) outs(%124 : tensor<8x16xf32>) -> tensor<8x16xf32>
    %126 = linalg.matmul indexing_maps = [#map9, #map10, #map2] ins(%117, %34 : tensor<12x8xf32>, tensor<12x16xf32>) outs(%125 : tensor<8x16xf32>) -> tensor<8x16xf32>
    %127 = tensor.empty() : tensor<12x16xf32>
    %128 = linalg.generic {indexing_maps = [#map3, #map3, #map3], iterator_types = ["parallel", "parallel"]} ins(%32, %123 : tensor<12x16xf32>, tensor<12x16xf32>) outs(%127 : tensor<12x16xf32>) {
    ^bb0(%in: f32, %in_68: f32, %out: f32):
      %cst_69 = arith.constant 0.000000e+00 : f32
      %139 = arith.cmpf ogt, %in, %cst_69 : f32
      %140 = arith.select %139, %in_68, %cst_69 : f32
      linalg.yield %140 : f32
    } -> tensor<12x16xf32>
    %129 = bufferization.alloc_tensor() : tensor<16xf32>
    %cst_27 = arith.constant 0.000000e+00 : f32
    %130 = linalg.fill ins(%cst_27 : f32) outs(%129 : tensor<16xf32>) -> tensor<16xf32>
    %131 = linalg.generic {indexing_maps = [#map3, #map4], iterator_types = ["reduction", "parallel"]} ins(%128 : tensor<12x16xf32>) outs(%130 : tensor<16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %139 = arith.addf %in, %out : f32
      linalg.yield %139 : f32
    } -> tensor<16xf32>
    %132 = bufferization.alloc_tensor() : tensor<12x20xf32>
    %cst_28 = arith.constant 0.000000e+00 : f32
    %133 = linalg.fill ins(%cst_28 : f32) outs(%132 : tensor<12x20xf32>) -> tensor<12x20xf32>
    %134 = linalg.matmul ins(%128, %0 : tensor<12x16xf32>, tensor<16x20xf32>) outs(%133 : tensor<12x20xf32>) -> tensor<12x20xf32>
    %135 = bufferization.alloc_tensor() : tensor<16x20xf32>
    %cst_29 = arith.constant 0.000000e+00 : f32
    %136 = linalg.fill ins(%cst_29 : f32) outs(%135 : tensor<16x20xf32>) -> tensor<16x20xf32>
    %137 = linalg.matmul indexing_maps = [#map9, #map10, #map2] ins(%128, %26 : tensor<12x16xf32>, tensor<12x20xf32>) outs(%136 : tensor<16x20xf32>) -> tensor<16x20xf32>
    %extracted = tensor.extract %21[] : tensor<f32>
    %extracted_30 = tensor.extract %18[] : tensor<f32>
    %extracted_31 = tensor.extract %19[] : tensor<f32>
    %extracted_32 = tensor.extract %20[] : tensor<f32>
    %new_theta, %new_v, %new_momentum = breg.linbreg_update #breg.l1 %0, %6, %137 lr(%extracted_30) delta(%extracted_31) lambda(%extracted_32) momentum(%12, %extracted : tensor<16x20xf32>) : tensor<16x20xf32>
    %extracted_33 = tensor.extract %25[] : tensor<f32>
    %extracted_34 = tensor.extract %22[] : tensor<f32>
    %extracted_35 = tensor.extract %23[] : tensor<f32>
    %extracted_36 = tensor.extract %24[] : tensor<f32>
    %new_theta_37, %new_v_38, %new_momentum_39 = breg.linbreg_update #breg.none %1, %7, %131 lr(%extracted_34) delta(%extracted_35) lambda(%extracted_36) momentum(%13, %extracted_33 : tensor<16xf32>) : tensor<16xf32>
    %extracted_40 = tensor.extract %21[] : tensor<f32>
    %extracted_41 = tensor.extract %18[] : tensor<f32>
    %extracted_42 = tensor.extract %19[] : tensor<f32>
    %extracted_43 = tensor.extract %20[] : tensor<f32>
    %new_theta_44, %new_v_45, %new_momentum_46 = breg.linbreg_update #breg.l1 %2, %8, %126 lr(%extracted_41) delta(%extracted_42) lambda(%extracted_43) momentum(%14, %extracted_40 : tensor<8x16xf32>) : tensor<8x16xf32>
    %extracted_47 = tensor.extract %25[] : tensor<f32>
    %extracted_48 = tensor.extract %22[] : tensor<f32>
    %extracted_49 = tensor.extract %23[] : tensor<f32>
    %extracted_50 = tensor.extract %24[] : tensor<f32>
    %new_theta_51, %new_v_52, %new_momentum_53 = breg.linbreg_update #breg.none %3, %9, %120 lr(%extracted_48) delta(%extracted_49) lambda(%extracted_50) momentum(%15, %extracted_47 : tensor<8xf32>) : tensor<8xf32>
    %extracted_54 = tensor.extract %21[] : tensor<f32>
    %extracted_55 = tensor.extract %18[] : tensor<f32>
    %extracted_56 = tensor.extract %19[] : tensor<f32>
    %extracted_57 = tensor.extract %20[] : tensor<f32>
    %new_theta_58, %new_v_59, %new_momentum_60 = breg.linbreg_update #breg.l1 %4, %10, %115 lr(%extracted_55) delta(%extracted_56) lambda(%extracted_57) momentum(%16, %extracted_54 : tensor<4x8xf32>) : tensor<4x8xf32>
    %extracted_61 = tensor.extract %25[] : tensor<f32>
    %extracted_62 = tensor.extract %22[] : tensor<f32>
    %extracted_63 = tensor.extract %23[] : tensor<f32>
    %extracted_64 = tensor.extract %24[] : tensor<f32>
    %new_theta_65, %new_v_66, %new_momentum_67 = breg.linbreg_update #breg.none %5, %11, %109 lr(%extracted_62) delta(%extracted_63) lambda(%extracted_64) momentum(%17, %extracted_61 : tensor<4xf32>) : tensor<4xf32>
    %138 = bufferization.alloc_tensor() copy(%74) : tensor<f32>
    bufferization.materialize_in_destination %new_theta in restrict writable %arg0 : (tensor<16x20xf32>, memref<16x20xf32>) -> ()
    bufferization.materialize_in_destination %new_theta_37 in restrict writable %arg1 : (tensor<16xf32>, memref<16xf32>) -> ()
    bufferization.materialize_in_destination %new_theta_44 in restrict writable %arg2 : (tensor<8x16xf32>, memref<8x16xf32>) -> ()
    bufferization.materialize_in_destination %new_theta_51 in restrict writable %arg3 : (tensor<8xf32>, memref<8xf32>) -> ()
    bufferization.materialize_in_destination %new_theta_58 in restrict writable %arg4 : (tensor<4x8xf32>, memref<4x8xf32>) -> ()
    bufferization.materialize_in_destination %new_theta_65 in restrict writable %arg5 : (tensor<4xf32>, memref<4xf32>) -> ()
    bufferization.materialize_in_destination %new_v in restrict writable %arg6 : (tensor<16x20xf32>, memref<16x20xf32>) -> ()
    bufferization.materialize_in_destination %new_v_38 in restrict writable %arg7 : (tensor<16xf32>, memref<16xf32>) -> ()
    bufferization.materialize_in_destination %new_v_45 in restrict writable %arg8 : (tensor<8x16xf32>, memref<8x16xf32>) -> ()
    bufferization.materialize_in_destination %new_v_52 in restrict writable %arg9 : (tensor<8xf32>, memref<8xf32>) -> ()
    bufferization.materialize_in_destination %new_v_59 in restrict writable %arg10 : (tensor<4x8xf32>, memref<4x8xf32>) -> ()
    bufferization.materialize_in_destination %new_v_66 in restrict writable %arg11 : (tensor<4xf32>, memref<4xf32>) -> ()
    bufferization.materialize_in_destination %new_momentum in restrict writable %arg12 : (tensor<16x20xf32>, memref<16x20xf32>) -> ()
    bufferization.materialize_in_destination %new_momentum_39 in restrict writable %arg13 : (tensor<16xf32>, memref<16xf32>) -> ()
    bufferization.materialize_in_destination %new_momentum_46 in restrict writable %arg14 : (tensor<8x16xf32>, memref<8x16xf32>) -> ()
    bufferization.materialize_in_destination %new_momentum_53 in restrict writable %arg15 : (tensor<8xf32>, memref<8xf32>) -> ()
    bufferization.materialize_in_destination %new_momentum_60 in restrict writable %arg16 : (tensor<4x8xf32>, memref<4x8xf32>) -> ()
    bufferization.materialize_in_destination %new_momentum_67 in restrict writable %arg17 : (tensor<4xf32>, memref<4xf32>) -> ()
    bufferization.materialize_in_destination %138 in restrict writable %arg28 : (tensor<f32>, memref<f32>) -> ()
    return
  }
}
