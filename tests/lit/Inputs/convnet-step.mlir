#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d1)>
#map2 = affine_map<(d0, d1, d2) -> (d0, d2)>
#map3 = affine_map<(d0, d1, d2) -> (d1, d2)>
#map4 = affine_map<(d0, d1, d2) -> (d0, d1)>
#map5 = affine_map<(d0, d1) -> (d0, d1)>
#map6 = affine_map<(d0, d1) -> (d1)>
#map7 = affine_map<(d0, d1) -> (d0)>
#map8 = affine_map<(d0) -> (d0)>
#map9 = affine_map<(d0) -> ()>
#map10 = affine_map<() -> ()>
#map11 = affine_map<(d0, d1, d2) -> (d2, d0)>
#map12 = affine_map<(d0, d1, d2) -> (d2, d1)>
module {
  func.func @bregman_main(%arg0: memref<64x1x5x5xf32>, %arg1: memref<64xf32>, %arg2: memref<64x64x5x5xf32>, %arg3: memref<64xf32>, %arg4: memref<128x1024xf32>, %arg5: memref<128xf32>, %arg6: memref<10x128xf32>, %arg7: memref<10xf32>, %arg8: memref<64x1x5x5xf32>, %arg9: memref<64xf32>, %arg10: memref<64x64x5x5xf32>, %arg11: memref<64xf32>, %arg12: memref<128x1024xf32>, %arg13: memref<128xf32>, %arg14: memref<10x128xf32>, %arg15: memref<10xf32>, %arg16: memref<f32>, %arg17: memref<f32>, %arg18: memref<f32>, %arg19: memref<f32>, %arg20: memref<f32>, %arg21: memref<f32>, %arg22: memref<f32>, %arg23: memref<f32>, %arg24: memref<f32>, %arg25: memref<f32>, %arg26: memref<f32>, %arg27: memref<f32>, %arg28: memref<128x784xf32>, %arg29: memref<128xi32>, %arg30: memref<f32>, %arg31: memref<f32>) {
    %0 = bufferization.to_tensor %arg0 restrict writable : memref<64x1x5x5xf32> to tensor<64x1x5x5xf32>
    %1 = bufferization.to_tensor %arg1 restrict writable : memref<64xf32> to tensor<64xf32>
    %2 = bufferization.to_tensor %arg2 restrict writable : memref<64x64x5x5xf32> to tensor<64x64x5x5xf32>
    %3 = bufferization.to_tensor %arg3 restrict writable : memref<64xf32> to tensor<64xf32>
    %4 = bufferization.to_tensor %arg4 restrict writable : memref<128x1024xf32> to tensor<128x1024xf32>
    %5 = bufferization.to_tensor %arg5 restrict writable : memref<128xf32> to tensor<128xf32>
    %6 = bufferization.to_tensor %arg6 restrict writable : memref<10x128xf32> to tensor<10x128xf32>
    %7 = bufferization.to_tensor %arg7 restrict writable : memref<10xf32> to tensor<10xf32>
    %8 = bufferization.to_tensor %arg8 restrict writable : memref<64x1x5x5xf32> to tensor<64x1x5x5xf32>
    %9 = bufferization.to_tensor %arg9 restrict writable : memref<64xf32> to tensor<64xf32>
    %10 = bufferization.to_tensor %arg10 restrict writable : memref<64x64x5x5xf32> to tensor<64x64x5x5xf32>
    %11 = bufferization.to_tensor %arg11 restrict writable : memref<64xf32> to tensor<64xf32>
    %12 = bufferization.to_tensor %arg12 restrict writable : memref<128x1024xf32> to tensor<128x1024xf32>
    %13 = bufferization.to_tensor %arg13 restrict writable : memref<128xf32> to tensor<128xf32>
    %14 = bufferization.to_tensor %arg14 restrict writable : memref<10x128xf32> to tensor<10x128xf32>
    %15 = bufferization.to_tensor %arg15 restrict writable : memref<10xf32> to tensor<10xf32>
    %16 = bufferization.to_tensor %arg16 restrict writable : memref<f32> to tensor<f32>
    %17 = bufferization.to_tensor %arg17 restrict writable : memref<f32> to tensor<f32>
    %18 = bufferization.to_tensor %arg18 restrict writable : memref<f32> to tensor<f32>
    %19 = bufferization.to_tensor %arg19 restrict writable : memref<f32> to tensor<f32>
    %20 = bufferization.to_tensor %arg20 restrict writable : memref<f32> to tensor<f32>
    %21 = bufferization.to_tensor %arg21 restrict writable : memref<f32> to tensor<f32>
    %22 = bufferization.to_tensor %arg22 restrict writable : memref<f32> to tensor<f32>
    %23 = bufferization.to_tensor %arg23 restrict writable : memref<f32> to tensor<f32>
    %24 = bufferization.to_tensor %arg24 restrict writable : memref<f32> to tensor<f32>
    %25 = bufferization.to_tensor %arg25 restrict writable : memref<f32> to tensor<f32>
    %26 = bufferization.to_tensor %arg26 restrict writable : memref<f32> to tensor<f32>
    %27 = bufferization.to_tensor %arg27 restrict writable : memref<f32> to tensor<f32>
    %28 = bufferization.to_tensor %arg28 restrict : memref<128x784xf32> to tensor<128x784xf32>
    %29 = bufferization.to_tensor %arg29 restrict : memref<128xi32> to tensor<128xi32>
    %collapsed = tensor.collapse_shape %28 [[0, 1]] : tensor<128x784xf32> into tensor<100352xf32>
    %expanded = tensor.expand_shape %collapsed [[0, 1, 2, 3]] output_shape [128, 1, 28, 28] : tensor<100352xf32> into tensor<128x1x28x28xf32>
    %30 = breg.conv2d %expanded, %0 strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : tensor<128x1x28x28xf32>, tensor<64x1x5x5xf32> -> tensor<128x64x24x24xf32>
    %expanded_0 = tensor.expand_shape %1 [[0, 1, 2, 3]] output_shape [1, 64, 1, 1] : tensor<64xf32> into tensor<1x64x1x1xf32>
    %collapsed_1 = tensor.collapse_shape %expanded_0 [[0, 1, 2, 3]] : tensor<1x64x1x1xf32> into tensor<64xf32>
    %31 = tensor.empty() : tensor<128x64x24x24xf32>
    %32 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%30, %collapsed_1 : tensor<128x64x24x24xf32>, tensor<64xf32>) outs(%31 : tensor<128x64x24x24xf32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %157 = arith.addf %in, %in_80 : f32
      linalg.yield %157 : f32
    } -> tensor<128x64x24x24xf32>
    %33 = breg.max_pool2d %32 kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1] : tensor<128x64x24x24xf32> -> tensor<128x64x12x12xf32>
    %34 = tensor.empty() : tensor<128x64x12x12xf32>
    %35 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%33 : tensor<128x64x12x12xf32>) outs(%34 : tensor<128x64x12x12xf32>) {
    ^bb0(%in: f32, %out: f32):
      %cst_80 = arith.constant 0.000000e+00 : f32
      %157 = arith.maximumf %in, %cst_80 : f32
      linalg.yield %157 : f32
    } -> tensor<128x64x12x12xf32>
    %36 = breg.conv2d %35, %2 strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : tensor<128x64x12x12xf32>, tensor<64x64x5x5xf32> -> tensor<128x64x8x8xf32>
    %expanded_2 = tensor.expand_shape %3 [[0, 1, 2, 3]] output_shape [1, 64, 1, 1] : tensor<64xf32> into tensor<1x64x1x1xf32>
    %collapsed_3 = tensor.collapse_shape %expanded_2 [[0, 1, 2, 3]] : tensor<1x64x1x1xf32> into tensor<64xf32>
    %37 = tensor.empty() : tensor<128x64x8x8xf32>
    %38 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%36, %collapsed_3 : tensor<128x64x8x8xf32>, tensor<64xf32>) outs(%37 : tensor<128x64x8x8xf32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %157 = arith.addf %in, %in_80 : f32
      linalg.yield %157 : f32
    } -> tensor<128x64x8x8xf32>
    %39 = breg.max_pool2d %38 kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1] : tensor<128x64x8x8xf32> -> tensor<128x64x4x4xf32>
    %40 = tensor.empty() : tensor<128x64x4x4xf32>
    %41 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%39 : tensor<128x64x4x4xf32>) outs(%40 : tensor<128x64x4x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %cst_80 = arith.constant 0.000000e+00 : f32
      %157 = arith.maximumf %in, %cst_80 : f32
      linalg.yield %157 : f32
    } -> tensor<128x64x4x4xf32>
    %collapsed_4 = tensor.collapse_shape %41 [[0, 1, 2, 3]] : tensor<128x64x4x4xf32> into tensor<131072xf32>
    %expanded_5 = tensor.expand_shape %collapsed_4 [[0, 1]] output_shape [128, 1024] : tensor<131072xf32> into tensor<128x1024xf32>
    %42 = bufferization.alloc_tensor() : tensor<128x128xf32>
    %cst = arith.constant 0.000000e+00 : f32
    %43 = linalg.fill ins(%cst : f32) outs(%42 : tensor<128x128xf32>) -> tensor<128x128xf32>
    %44 = linalg.matmul indexing_maps = [#map2, #map3, #map4] ins(%expanded_5, %4 : tensor<128x1024xf32>, tensor<128x1024xf32>) outs(%43 : tensor<128x128xf32>) -> tensor<128x128xf32>
    %45 = tensor.empty() : tensor<128x128xf32>
    %46 = linalg.generic {indexing_maps = [#map5, #map6, #map5], iterator_types = ["parallel", "parallel"]} ins(%44, %5 : tensor<128x128xf32>, tensor<128xf32>) outs(%45 : tensor<128x128xf32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %157 = arith.addf %in, %in_80 : f32
      linalg.yield %157 : f32
    } -> tensor<128x128xf32>
    %47 = tensor.empty() : tensor<128x128xf32>
    %48 = linalg.generic {indexing_maps = [#map5, #map5], iterator_types = ["parallel", "parallel"]} ins(%46 : tensor<128x128xf32>) outs(%47 : tensor<128x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %cst_80 = arith.constant 0.000000e+00 : f32
      %157 = arith.maximumf %in, %cst_80 : f32
      linalg.yield %157 : f32
    } -> tensor<128x128xf32>
    %49 = bufferization.alloc_tensor() : tensor<128x10xf32>
    %cst_6 = arith.constant 0.000000e+00 : f32
    %50 = linalg.fill ins(%cst_6 : f32) outs(%49 : tensor<128x10xf32>) -> tensor<128x10xf32>
    %51 = linalg.matmul indexing_maps = [#map2, #map3, #map4] ins(%48, %6 : tensor<128x128xf32>, tensor<10x128xf32>) outs(%50 : tensor<128x10xf32>) -> tensor<128x10xf32>
    %52 = tensor.empty() : tensor<128x10xf32>
    %53 = linalg.generic {indexing_maps = [#map5, #map6, #map5], iterator_types = ["parallel", "parallel"]} ins(%51, %7 : tensor<128x10xf32>, tensor<10xf32>) outs(%52 : tensor<128x10xf32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %157 = arith.addf %in, %in_80 : f32
      linalg.yield %157 : f32
    } -> tensor<128x10xf32>
    %54 = breg.one_hot %29 : tensor<128xi32> -> tensor<128x10xf32>
    %55 = bufferization.alloc_tensor() : tensor<128xf32>
    %cst_7 = arith.constant 0xFF800000 : f32
    %56 = linalg.fill ins(%cst_7 : f32) outs(%55 : tensor<128xf32>) -> tensor<128xf32>
    %57 = linalg.generic {indexing_maps = [#map5, #map7], iterator_types = ["parallel", "reduction"]} ins(%53 : tensor<128x10xf32>) outs(%56 : tensor<128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = arith.maximumf %in, %out : f32
      linalg.yield %157 : f32
    } -> tensor<128xf32>
    %expanded_8 = tensor.expand_shape %57 [[0, 1]] output_shape [128, 1] : tensor<128xf32> into tensor<128x1xf32>
    %collapsed_9 = tensor.collapse_shape %expanded_8 [[0, 1]] : tensor<128x1xf32> into tensor<128xf32>
    %58 = tensor.empty() : tensor<128x10xf32>
    %59 = linalg.generic {indexing_maps = [#map5, #map7, #map5], iterator_types = ["parallel", "parallel"]} ins(%53, %collapsed_9 : tensor<128x10xf32>, tensor<128xf32>) outs(%58 : tensor<128x10xf32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %157 = arith.subf %in, %in_80 : f32
      linalg.yield %157 : f32
    } -> tensor<128x10xf32>
    %60 = tensor.empty() : tensor<128x10xf32>
    %61 = linalg.generic {indexing_maps = [#map5, #map5], iterator_types = ["parallel", "parallel"]} ins(%59 : tensor<128x10xf32>) outs(%60 : tensor<128x10xf32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = math.exp %in : f32
      linalg.yield %157 : f32
    } -> tensor<128x10xf32>
    %62 = bufferization.alloc_tensor() : tensor<128xf32>
    %cst_10 = arith.constant 0.000000e+00 : f32
    %63 = linalg.fill ins(%cst_10 : f32) outs(%62 : tensor<128xf32>) -> tensor<128xf32>
    %64 = linalg.generic {indexing_maps = [#map5, #map7], iterator_types = ["parallel", "reduction"]} ins(%61 : tensor<128x10xf32>) outs(%63 : tensor<128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = arith.addf %in, %out : f32
      linalg.yield %157 : f32
    } -> tensor<128xf32>
    %expanded_11 = tensor.expand_shape %64 [[0, 1]] output_shape [128, 1] : tensor<128xf32> into tensor<128x1xf32>
    %65 = tensor.empty() : tensor<128x1xf32>
    %66 = linalg.generic {indexing_maps = [#map5, #map5], iterator_types = ["parallel", "parallel"]} ins(%expanded_11 : tensor<128x1xf32>) outs(%65 : tensor<128x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = math.log %in : f32
      linalg.yield %157 : f32
    } -> tensor<128x1xf32>
    %collapsed_12 = tensor.collapse_shape %66 [[0, 1]] : tensor<128x1xf32> into tensor<128xf32>
    %67 = tensor.empty() : tensor<128x10xf32>
    %68 = linalg.generic {indexing_maps = [#map5, #map7, #map5], iterator_types = ["parallel", "parallel"]} ins(%59, %collapsed_12 : tensor<128x10xf32>, tensor<128xf32>) outs(%67 : tensor<128x10xf32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %157 = arith.subf %in, %in_80 : f32
      linalg.yield %157 : f32
    } -> tensor<128x10xf32>
    %69 = tensor.empty() : tensor<128x10xf32>
    %70 = linalg.generic {indexing_maps = [#map5, #map5, #map5], iterator_types = ["parallel", "parallel"]} ins(%54, %68 : tensor<128x10xf32>, tensor<128x10xf32>) outs(%69 : tensor<128x10xf32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %157 = arith.mulf %in, %in_80 : f32
      linalg.yield %157 : f32
    } -> tensor<128x10xf32>
    %71 = bufferization.alloc_tensor() : tensor<128xf32>
    %cst_13 = arith.constant 0.000000e+00 : f32
    %72 = linalg.fill ins(%cst_13 : f32) outs(%71 : tensor<128xf32>) -> tensor<128xf32>
    %73 = linalg.generic {indexing_maps = [#map5, #map7], iterator_types = ["parallel", "reduction"]} ins(%70 : tensor<128x10xf32>) outs(%72 : tensor<128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = arith.addf %in, %out : f32
      linalg.yield %157 : f32
    } -> tensor<128xf32>
    %74 = bufferization.alloc_tensor() : tensor<f32>
    %cst_14 = arith.constant 0.000000e+00 : f32
    %75 = linalg.fill ins(%cst_14 : f32) outs(%74 : tensor<f32>) -> tensor<f32>
    %76 = linalg.generic {indexing_maps = [#map8, #map9], iterator_types = ["reduction"]} ins(%73 : tensor<128xf32>) outs(%75 : tensor<f32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = arith.addf %in, %out : f32
      linalg.yield %157 : f32
    } -> tensor<f32>
    %cst_15 = arith.constant dense<7.812500e-03> : tensor<f32>
    %77 = tensor.empty() : tensor<f32>
    %78 = linalg.generic {indexing_maps = [#map10, #map10, #map10], iterator_types = []} ins(%76, %cst_15 : tensor<f32>, tensor<f32>) outs(%77 : tensor<f32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %157 = arith.mulf %in, %in_80 : f32
      linalg.yield %157 : f32
    } -> tensor<f32>
    %79 = tensor.empty() : tensor<f32>
    %80 = linalg.generic {indexing_maps = [#map10, #map10], iterator_types = []} ins(%78 : tensor<f32>) outs(%79 : tensor<f32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = arith.negf %in : f32
      linalg.yield %157 : f32
    } -> tensor<f32>
    %cst_16 = arith.constant dense<1.000000e+00> : tensor<f32>
    %81 = tensor.empty() : tensor<f32>
    %82 = linalg.generic {indexing_maps = [#map10, #map10], iterator_types = []} ins(%cst_16 : tensor<f32>) outs(%81 : tensor<f32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = arith.negf %in : f32
      linalg.yield %157 : f32
    } -> tensor<f32>
    %83 = tensor.empty() : tensor<f32>
    %84 = linalg.generic {indexing_maps = [#map10, #map10, #map10], iterator_types = []} ins(%82, %cst_15 : tensor<f32>, tensor<f32>) outs(%83 : tensor<f32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %157 = arith.mulf %in, %in_80 : f32
      linalg.yield %157 : f32
    } -> tensor<f32>
    %85 = tensor.empty() : tensor<f32>
    %86 = linalg.generic {indexing_maps = [#map10, #map10, #map10], iterator_types = []} ins(%82, %76 : tensor<f32>, tensor<f32>) outs(%85 : tensor<f32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %157 = arith.mulf %in, %in_80 : f32
      linalg.yield %157 : f32
    } -> tensor<f32>
    %expanded_17 = tensor.expand_shape %84 [] output_shape [1] : tensor<f32> into tensor<1xf32>
    %collapsed_18 = tensor.collapse_shape %expanded_17 [] : tensor<1xf32> into tensor<f32>
    %87 = tensor.empty() : tensor<128xf32>
    %88 = linalg.generic {indexing_maps = [#map9, #map8], iterator_types = ["parallel"]} ins(%collapsed_18 : tensor<f32>) outs(%87 : tensor<128xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<128xf32>
    %expanded_19 = tensor.expand_shape %88 [[0, 1]] output_shape [128, 1] : tensor<128xf32> into tensor<128x1xf32>
    %collapsed_20 = tensor.collapse_shape %expanded_19 [[0, 1]] : tensor<128x1xf32> into tensor<128xf32>
    %89 = tensor.empty() : tensor<128x10xf32>
    %90 = linalg.generic {indexing_maps = [#map7, #map5], iterator_types = ["parallel", "parallel"]} ins(%collapsed_20 : tensor<128xf32>) outs(%89 : tensor<128x10xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<128x10xf32>
    %91 = tensor.empty() : tensor<128x10xf32>
    %92 = linalg.generic {indexing_maps = [#map5, #map5, #map5], iterator_types = ["parallel", "parallel"]} ins(%90, %68 : tensor<128x10xf32>, tensor<128x10xf32>) outs(%91 : tensor<128x10xf32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %157 = arith.mulf %in, %in_80 : f32
      linalg.yield %157 : f32
    } -> tensor<128x10xf32>
    %93 = tensor.empty() : tensor<128x10xf32>
    %94 = linalg.generic {indexing_maps = [#map5, #map5, #map5], iterator_types = ["parallel", "parallel"]} ins(%90, %54 : tensor<128x10xf32>, tensor<128x10xf32>) outs(%93 : tensor<128x10xf32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %157 = arith.mulf %in, %in_80 : f32
      linalg.yield %157 : f32
    } -> tensor<128x10xf32>
    %95 = tensor.empty() : tensor<128x10xf32>
    %96 = linalg.generic {indexing_maps = [#map5, #map5], iterator_types = ["parallel", "parallel"]} ins(%94 : tensor<128x10xf32>) outs(%95 : tensor<128x10xf32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = arith.negf %in : f32
      linalg.yield %157 : f32
    } -> tensor<128x10xf32>
    %97 = bufferization.alloc_tensor() : tensor<128xf32>
    %cst_21 = arith.constant 0.000000e+00 : f32
    %98 = linalg.fill ins(%cst_21 : f32) outs(%97 : tensor<128xf32>) -> tensor<128xf32>
    %99 = linalg.generic {indexing_maps = [#map5, #map7], iterator_types = ["parallel", "reduction"]} ins(%96 : tensor<128x10xf32>) outs(%98 : tensor<128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = arith.addf %in, %out : f32
      linalg.yield %157 : f32
    } -> tensor<128xf32>
    %expanded_22 = tensor.expand_shape %99 [[0, 1]] output_shape [128, 1] : tensor<128xf32> into tensor<128x1xf32>
    %100 = tensor.empty() : tensor<128x1xf32>
    %101 = linalg.generic {indexing_maps = [#map5, #map5, #map5], iterator_types = ["parallel", "parallel"]} ins(%expanded_22, %expanded_11 : tensor<128x1xf32>, tensor<128x1xf32>) outs(%100 : tensor<128x1xf32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %157 = arith.divf %in, %in_80 : f32
      linalg.yield %157 : f32
    } -> tensor<128x1xf32>
    %collapsed_23 = tensor.collapse_shape %101 [[0, 1]] : tensor<128x1xf32> into tensor<128xf32>
    %expanded_24 = tensor.expand_shape %collapsed_23 [[0, 1]] output_shape [128, 1] : tensor<128xf32> into tensor<128x1xf32>
    %collapsed_25 = tensor.collapse_shape %expanded_24 [[0, 1]] : tensor<128x1xf32> into tensor<128xf32>
    %102 = tensor.empty() : tensor<128x10xf32>
    %103 = linalg.generic {indexing_maps = [#map7, #map5], iterator_types = ["parallel", "parallel"]} ins(%collapsed_25 : tensor<128xf32>) outs(%102 : tensor<128x10xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<128x10xf32>
    %104 = tensor.empty() : tensor<128x10xf32>
    %105 = linalg.generic {indexing_maps = [#map5, #map5, #map5], iterator_types = ["parallel", "parallel"]} ins(%103, %61 : tensor<128x10xf32>, tensor<128x10xf32>) outs(%104 : tensor<128x10xf32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %157 = arith.mulf %in, %in_80 : f32
      linalg.yield %157 : f32
    } -> tensor<128x10xf32>
    %106 = tensor.empty() : tensor<128x10xf32>
    %107 = linalg.generic {indexing_maps = [#map5, #map5, #map5], iterator_types = ["parallel", "parallel"]} ins(%94, %105 : tensor<128x10xf32>, tensor<128x10xf32>) outs(%106 : tensor<128x10xf32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %157 = arith.addf %in, %in_80 : f32
      linalg.yield %157 : f32
    } -> tensor<128x10xf32>
    %108 = tensor.empty() : tensor<128x10xf32>
    %109 = linalg.generic {indexing_maps = [#map5, #map5], iterator_types = ["parallel", "parallel"]} ins(%107 : tensor<128x10xf32>) outs(%108 : tensor<128x10xf32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = arith.negf %in : f32
      linalg.yield %157 : f32
    } -> tensor<128x10xf32>
    %110 = bufferization.alloc_tensor() : tensor<128xf32>
    %cst_26 = arith.constant 0.000000e+00 : f32
    %111 = linalg.fill ins(%cst_26 : f32) outs(%110 : tensor<128xf32>) -> tensor<128xf32>
    %112 = linalg.generic {indexing_maps = [#map5, #map7], iterator_types = ["parallel", "reduction"]} ins(%109 : tensor<128x10xf32>) outs(%111 : tensor<128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = arith.addf %in, %out : f32
      linalg.yield %157 : f32
    } -> tensor<128xf32>
    %expanded_27 = tensor.expand_shape %112 [[0, 1]] output_shape [128, 1] : tensor<128xf32> into tensor<128x1xf32>
    %113 = bufferization.alloc_tensor() : tensor<10xf32>
    %cst_28 = arith.constant 0.000000e+00 : f32
    %114 = linalg.fill ins(%cst_28 : f32) outs(%113 : tensor<10xf32>) -> tensor<10xf32>
    %115 = linalg.generic {indexing_maps = [#map5, #map6], iterator_types = ["reduction", "parallel"]} ins(%107 : tensor<128x10xf32>) outs(%114 : tensor<10xf32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = arith.addf %in, %out : f32
      linalg.yield %157 : f32
    } -> tensor<10xf32>
    %116 = bufferization.alloc_tensor() : tensor<128x128xf32>
    %cst_29 = arith.constant 0.000000e+00 : f32
    %117 = linalg.fill ins(%cst_29 : f32) outs(%116 : tensor<128x128xf32>) -> tensor<128x128xf32>
    %118 = linalg.matmul ins(%107, %6 : tensor<128x10xf32>, tensor<10x128xf32>) outs(%117 : tensor<128x128xf32>) -> tensor<128x128xf32>
    %119 = bufferization.alloc_tensor() : tensor<10x128xf32>
    %cst_30 = arith.constant 0.000000e+00 : f32
    %120 = linalg.fill ins(%cst_30 : f32) outs(%119 : tensor<10x128xf32>) -> tensor<10x128xf32>
    %121 = linalg.matmul indexing_maps = [#map11, #map12, #map4] ins(%107, %48 : tensor<128x10xf32>, tensor<128x128xf32>) outs(%120 : tensor<10x128xf32>) -> tensor<10x128xf32>
    %122 = tensor.empty() : tensor<128x128xf32>
    %123 = linalg.generic {indexing_maps = [#map5, #map5, #map5], iterator_types = ["parallel", "parallel"]} ins(%46, %118 : tensor<128x128xf32>, tensor<128x128xf32>) outs(%122 : tensor<128x128xf32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %cst_81 = arith.constant 0.000000e+00 : f32
      %157 = arith.cmpf ogt, %in, %cst_81 : f32
      %158 = arith.select %157, %in_80, %cst_81 : f32
      linalg.yield %158 : f32
    } -> tensor<128x128xf32>
    %124 = bufferization.alloc_tensor() : tensor<128xf32>
    %cst_31 = arith.constant 0.000000e+00 : f32
    %125 = linalg.fill ins(%cst_31 : f32) outs(%124 : tensor<128xf32>) -> tensor<128xf32>
    %126 = linalg.generic {indexing_maps = [#map5, #map6], iterator_types = ["reduction", "parallel"]} ins(%123 : tensor<128x128xf32>) outs(%125 : tensor<128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = arith.addf %in, %out : f32
      linalg.yield %157 : f32
    } -> tensor<128xf32>
    %127 = bufferization.alloc_tensor() : tensor<128x1024xf32>
    %cst_32 = arith.constant 0.000000e+00 : f32
    %128 = linalg.fill ins(%cst_32 : f32) outs(%127 : tensor<128x1024xf32>) -> tensor<128x1024xf32>
    %129 = linalg.matmul ins(%123, %4 : tensor<128x128xf32>, tensor<128x1024xf32>) outs(%128 : tensor<128x1024xf32>) -> tensor<128x1024xf32>
    %130 = bufferization.alloc_tensor() : tensor<128x1024xf32>
    %cst_33 = arith.constant 0.000000e+00 : f32
    %131 = linalg.fill ins(%cst_33 : f32) outs(%130 : tensor<128x1024xf32>) -> tensor<128x1024xf32>
    %132 = linalg.matmul indexing_maps = [#map11, #map12, #map4] ins(%123, %expanded_5 : tensor<128x128xf32>, tensor<128x1024xf32>) outs(%131 : tensor<128x1024xf32>) -> tensor<128x1024xf32>
    %collapsed_34 = tensor.collapse_shape %129 [[0, 1]] : tensor<128x1024xf32> into tensor<131072xf32>
    %expanded_35 = tensor.expand_shape %collapsed_34 [[0, 1, 2, 3]] output_shape [128, 64, 4, 4] : tensor<131072xf32> into tensor<128x64x4x4xf32>
    %133 = tensor.empty() : tensor<128x64x4x4xf32>
    %134 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%39, %expanded_35 : tensor<128x64x4x4xf32>, tensor<128x64x4x4xf32>) outs(%133 : tensor<128x64x4x4xf32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %cst_81 = arith.constant 0.000000e+00 : f32
      %157 = arith.cmpf ogt, %in, %cst_81 : f32
      %158 = arith.select %157, %in_80, %cst_81 : f32
      linalg.yield %158 : f32
    } -> tensor<128x64x4x4xf32>
    %135 = breg.max_pool2d_grad %38, %134 kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1] : tensor<128x64x8x8xf32>, tensor<128x64x4x4xf32> -> tensor<128x64x8x8xf32>
    %136 = bufferization.alloc_tensor() : tensor<64xf32>
    %cst_36 = arith.constant 0.000000e+00 : f32
    %137 = linalg.fill ins(%cst_36 : f32) outs(%136 : tensor<64xf32>) -> tensor<64xf32>
    %138 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%135 : tensor<128x64x8x8xf32>) outs(%137 : tensor<64xf32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = arith.addf %in, %out : f32
      linalg.yield %157 : f32
    } -> tensor<64xf32>
    %expanded_37 = tensor.expand_shape %138 [[0, 1, 2, 3]] output_shape [1, 64, 1, 1] : tensor<64xf32> into tensor<1x64x1x1xf32>
    %collapsed_38 = tensor.collapse_shape %expanded_37 [[0, 1, 2, 3]] : tensor<1x64x1x1xf32> into tensor<64xf32>
    %139 = breg.conv2d_grad_input %135, %2 strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : tensor<128x64x8x8xf32>, tensor<64x64x5x5xf32> -> tensor<128x64x12x12xf32>
    %140 = breg.conv2d_grad_filter %35, %135 strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : tensor<128x64x12x12xf32>, tensor<128x64x8x8xf32> -> tensor<64x64x5x5xf32>
    %141 = tensor.empty() : tensor<128x64x12x12xf32>
    %142 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%33, %139 : tensor<128x64x12x12xf32>, tensor<128x64x12x12xf32>) outs(%141 : tensor<128x64x12x12xf32>) {
    ^bb0(%in: f32, %in_80: f32, %out: f32):
      %cst_81 = arith.constant 0.000000e+00 : f32
      %157 = arith.cmpf ogt, %in, %cst_81 : f32
      %158 = arith.select %157, %in_80, %cst_81 : f32
      linalg.yield %158 : f32
    } -> tensor<128x64x12x12xf32>
    %143 = breg.max_pool2d_grad %32, %142 kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0] dilations [1, 1] : tensor<128x64x24x24xf32>, tensor<128x64x12x12xf32> -> tensor<128x64x24x24xf32>
    %144 = bufferization.alloc_tensor() : tensor<64xf32>
    %cst_39 = arith.constant 0.000000e+00 : f32
    %145 = linalg.fill ins(%cst_39 : f32) outs(%144 : tensor<64xf32>) -> tensor<64xf32>
    %146 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%143 : tensor<128x64x24x24xf32>) outs(%145 : tensor<64xf32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = arith.addf %in, %out : f32
      linalg.yield %157 : f32
    } -> tensor<64xf32>
    %expanded_40 = tensor.expand_shape %146 [[0, 1, 2, 3]] output_shape [1, 64, 1, 1] : tensor<64xf32> into tensor<1x64x1x1xf32>
    %collapsed_41 = tensor.collapse_shape %expanded_40 [[0, 1, 2, 3]] : tensor<1x64x1x1xf32> into tensor<64xf32>
    %147 = breg.conv2d_grad_input %143, %0 strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : tensor<128x64x24x24xf32>, tensor<64x1x5x5xf32> -> tensor<128x1x28x28xf32>
    %148 = breg.conv2d_grad_filter %expanded, %143 strides [1, 1] padding [0, 0, 0, 0] dilations [1, 1] groups 1 : tensor<128x1x28x28xf32>, tensor<128x64x24x24xf32> -> tensor<64x1x5x5xf32>
    %extracted = tensor.extract %16[] : tensor<f32>
    %extracted_42 = tensor.extract %17[] : tensor<f32>
    %extracted_43 = tensor.extract %18[] : tensor<f32>
    %new_theta, %new_v = breg.linbreg_update #breg.l1_l2_conv %0, %8, %148 lr(%extracted) delta(%extracted_42) lambda(%extracted_43) : tensor<64x1x5x5xf32>
    %extracted_44 = tensor.extract %24[] : tensor<f32>
    %extracted_45 = tensor.extract %25[] : tensor<f32>
    %extracted_46 = tensor.extract %26[] : tensor<f32>
    %new_theta_47, %new_v_48 = breg.linbreg_update #breg.none %1, %9, %collapsed_41 lr(%extracted_44) delta(%extracted_45) lambda(%extracted_46) : tensor<64xf32>
    %extracted_49 = tensor.extract %16[] : tensor<f32>
    %extracted_50 = tensor.extract %17[] : tensor<f32>
    %extracted_51 = tensor.extract %18[] : tensor<f32>
    %new_theta_52, %new_v_53 = breg.linbreg_update #breg.l1_l2_conv %2, %10, %140 lr(%extracted_49) delta(%extracted_50) lambda(%extracted_51) : tensor<64x64x5x5xf32>
    %extracted_54 = tensor.extract %24[] : tensor<f32>
    %extracted_55 = tensor.extract %25[] : tensor<f32>
    %extracted_56 = tensor.extract %26[] : tensor<f32>
    %new_theta_57, %new_v_58 = breg.linbreg_update #breg.none %3, %11, %collapsed_38 lr(%extracted_54) delta(%extracted_55) lambda(%extracted_56) : tensor<64xf32>
    %extracted_59 = tensor.extract %20[] : tensor<f32>
    %extracted_60 = tensor.extract %21[] : tensor<f32>
    %extracted_61 = tensor.extract %22[] : tensor<f32>
    %new_theta_62, %new_v_63 = breg.linbreg_update #breg.l1 %4, %12, %132 lr(%extracted_59) delta(%extracted_60) lambda(%extracted_61) : tensor<128x1024xf32>
    %extracted_64 = tensor.extract %24[] : tensor<f32>
    %extracted_65 = tensor.extract %25[] : tensor<f32>
    %extracted_66 = tensor.extract %26[] : tensor<f32>
    %new_theta_67, %new_v_68 = breg.linbreg_update #breg.none %5, %13, %126 lr(%extracted_64) delta(%extracted_65) lambda(%extracted_66) : tensor<128xf32>
    %extracted_69 = tensor.extract %20[] : tensor<f32>
    %extracted_70 = tensor.extract %21[] : tensor<f32>
    %extracted_71 = tensor.extract %22[] : tensor<f32>
    %new_theta_72, %new_v_73 = breg.linbreg_update #breg.l1 %6, %14, %121 lr(%extracted_69) delta(%extracted_70) lambda(%extracted_71) : tensor<10x128xf32>
    %extracted_74 = tensor.extract %24[] : tensor<f32>
    %extracted_75 = tensor.extract %25[] : tensor<f32>
    %extracted_76 = tensor.extract %26[] : tensor<f32>
    %new_theta_77, %new_v_78 = breg.linbreg_update #breg.none %7, %15, %115 lr(%extracted_74) delta(%extracted_75) lambda(%extracted_76) : tensor<10xf32>
    %149 = breg.argmax %53 : tensor<128x10xf32> -> tensor<128xi32>
    %150 = tensor.empty() : tensor<128xf32>
    %151 = linalg.generic {indexing_maps = [#map8, #map8, #map8], iterator_types = ["parallel"]} ins(%149, %29 : tensor<128xi32>, tensor<128xi32>) outs(%150 : tensor<128xf32>) {
    ^bb0(%in: i32, %in_80: i32, %out: f32):
      %157 = arith.cmpi eq, %in, %in_80 : i32
      %158 = arith.uitofp %157 : i1 to f32
      linalg.yield %158 : f32
    } -> tensor<128xf32>
    %152 = bufferization.alloc_tensor() : tensor<f32>
    %cst_79 = arith.constant 0.000000e+00 : f32
    %153 = linalg.fill ins(%cst_79 : f32) outs(%152 : tensor<f32>) -> tensor<f32>
    %154 = linalg.generic {indexing_maps = [#map8, #map9], iterator_types = ["reduction"]} ins(%151 : tensor<128xf32>) outs(%153 : tensor<f32>) {
    ^bb0(%in: f32, %out: f32):
      %157 = arith.addf %in, %out : f32
      linalg.yield %157 : f32
    } -> tensor<f32>
    %155 = bufferization.alloc_tensor() copy(%80) : tensor<f32>
    %156 = bufferization.alloc_tensor() copy(%154) : tensor<f32>
    bufferization.materialize_in_destination %new_theta in restrict writable %arg0 : (tensor<64x1x5x5xf32>, memref<64x1x5x5xf32>) -> ()
    bufferization.materialize_in_destination %new_theta_47 in restrict writable %arg1 : (tensor<64xf32>, memref<64xf32>) -> ()
    bufferization.materialize_in_destination %new_theta_52 in restrict writable %arg2 : (tensor<64x64x5x5xf32>, memref<64x64x5x5xf32>) -> ()
    bufferization.materialize_in_destination %new_theta_57 in restrict writable %arg3 : (tensor<64xf32>, memref<64xf32>) -> ()
    bufferization.materialize_in_destination %new_theta_62 in restrict writable %arg4 : (tensor<128x1024xf32>, memref<128x1024xf32>) -> ()
    bufferization.materialize_in_destination %new_theta_67 in restrict writable %arg5 : (tensor<128xf32>, memref<128xf32>) -> ()
    bufferization.materialize_in_destination %new_theta_72 in restrict writable %arg6 : (tensor<10x128xf32>, memref<10x128xf32>) -> ()
    bufferization.materialize_in_destination %new_theta_77 in restrict writable %arg7 : (tensor<10xf32>, memref<10xf32>) -> ()
    bufferization.materialize_in_destination %new_v in restrict writable %arg8 : (tensor<64x1x5x5xf32>, memref<64x1x5x5xf32>) -> ()
    bufferization.materialize_in_destination %new_v_48 in restrict writable %arg9 : (tensor<64xf32>, memref<64xf32>) -> ()
    bufferization.materialize_in_destination %new_v_53 in restrict writable %arg10 : (tensor<64x64x5x5xf32>, memref<64x64x5x5xf32>) -> ()
    bufferization.materialize_in_destination %new_v_58 in restrict writable %arg11 : (tensor<64xf32>, memref<64xf32>) -> ()
    bufferization.materialize_in_destination %new_v_63 in restrict writable %arg12 : (tensor<128x1024xf32>, memref<128x1024xf32>) -> ()
    bufferization.materialize_in_destination %new_v_68 in restrict writable %arg13 : (tensor<128xf32>, memref<128xf32>) -> ()
    bufferization.materialize_in_destination %new_v_73 in restrict writable %arg14 : (tensor<10x128xf32>, memref<10x128xf32>) -> ()
    bufferization.materialize_in_destination %new_v_78 in restrict writable %arg15 : (tensor<10xf32>, memref<10xf32>) -> ()
    bufferization.materialize_in_destination %155 in restrict writable %arg30 : (tensor<f32>, memref<f32>) -> ()
    bufferization.materialize_in_destination %156 in restrict writable %arg31 : (tensor<f32>, memref<f32>) -> ()
    return
  }
}
