//===- BregOps.td - breg op definitions --------------------*- tablegen -*-===//
//
// The fused Bregman updates. Every update is elementwise-parallel over its
// tensor operands, takes its hyper-parameters as f32 SSA scalars and is
// lowered to a single linalg.generic by convert-breg-to-linalg. The math is
// ALGORITHMS.md. Then the convolution ops (library calls or generics) and the
// pooling, argmax, one-hot and dropout-mask ops
// (convert-breg-pooling-to-linalg).
//
//===----------------------------------------------------------------------===//

#ifndef BREG_DIALECT_BREG_IR_BREGOPS_TD
#define BREG_DIALECT_BREG_IR_BREGOPS_TD

include "breg/Dialect/Breg/IR/BregBase.td"
include "breg/Dialect/Breg/IR/BregAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Breg_F32Tensor : RankedTensorOf<[F32]>;

//===----------------------------------------------------------------------===//
// ProxOp
//===----------------------------------------------------------------------===//

def Breg_ProxOp : Breg_Op<"prox", [Pure, AllTypesMatch<["x", "result"]>]> {
  let summary = "proximal map of a regulariser: prox_{s·J}(x)";
  let description = [{
    Returns argmin_y ½‖y − x‖² + s·J(y) for the regulariser `reg` with
    strength `lambda`; `scale` is s. For `#breg.l1` that is the soft
    threshold sign(x)·max(|x| − s·λ, 0); for `#breg.none` it is x (and the op
    folds away).

    ```mlir
    %y = breg.prox #breg.l1 %x, %scale, %lambda : tensor<200x784xf32>
    ```
  }];
  let arguments = (ins Breg_RegularizerAttr:$reg, Breg_F32Tensor:$x,
                       F32:$scale, F32:$lambda, Optional<F32>:$lambda2);
  let results = (outs Breg_F32Tensor:$result);
  let assemblyFormat = [{
    $reg $x `,` $scale `,` $lambda (`,` $lambda2^)? attr-dict `:` type($x)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// SubgradientInitOp
//===----------------------------------------------------------------------===//

def Breg_SubgradientInitOp : Breg_Op<"subgradient_init",
    [Pure, AllTypesMatch<["theta", "v"]>]> {
  let summary = "initial subgradient v = θ/δ + p, p ∈ ∂J(θ)";
  let description = [{
    The subgradient variable of LinBreg/AdaBreg at the start of training and
    after every change of λ: v = θ/δ + p with the regulariser's chosen
    subgradient p (λ·sign(θ) for `#breg.l1`, with sign(0) = 0; 0 for
    `#breg.none`).

    ```mlir
    %v = breg.subgradient_init #breg.l1 %theta, %delta, %lambda : tensor<10xf32>
    ```
  }];
  let arguments = (ins Breg_RegularizerAttr:$reg, Breg_F32Tensor:$theta,
                       F32:$delta, F32:$lambda, Optional<F32>:$lambda2);
  let results = (outs Breg_F32Tensor:$v);
  let assemblyFormat = [{
    $reg $theta `,` $delta `,` $lambda (`,` $lambda2^)? attr-dict `:` type($theta)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// LinBregUpdateOp
//===----------------------------------------------------------------------===//

def Breg_LinBregUpdateOp : Breg_Op<"linbreg_update", [
    Pure, AttrSizedOperandSegments, InferTypeOpAdaptor,
    AllTypesMatch<["theta", "v", "grad"]>]> {
  let summary = "one LinBreg step (optionally with momentum), fused";
  let description = [{
    One step of the linearized Bregman iteration on a parameter θ with
    subgradient variable v and stochastic gradient g:

      without momentum:  v' = v − lr·g
      with momentum β:   m' = β·m + (1 − β)·lr·g ;  v' = v − m'
      then               θ' = prox_{δ·J}(δ·v')

    Results are (θ', v') or (θ', v', m'). The momentum buffer and β are given
    together or not at all.

    ```mlir
    %t1, %v1 = breg.linbreg_update #breg.l1 %t, %v, %g
        lr(%lr) delta(%delta) lambda(%lambda) : tensor<200x784xf32>
    %t2, %v2, %m2 = breg.linbreg_update #breg.l1 %t, %v, %g
        lr(%lr) delta(%delta) lambda(%lambda)
        momentum(%m, %beta : tensor<200x784xf32>) : tensor<200x784xf32>
    ```
  }];
  let arguments = (ins Breg_RegularizerAttr:$reg,
                       Breg_F32Tensor:$theta, Breg_F32Tensor:$v,
                       Breg_F32Tensor:$grad,
                       F32:$lr, F32:$delta, F32:$lambda,
                       Optional<Breg_F32Tensor>:$momentum,
                       Optional<F32>:$beta, Optional<F32>:$lambda2);
  let results = (outs Breg_F32Tensor:$new_theta, Breg_F32Tensor:$new_v,
                      Optional<Breg_F32Tensor>:$new_momentum);
  let assemblyFormat = [{
    $reg $theta `,` $v `,` $grad
    `lr` `(` $lr `)` `delta` `(` $delta `)` `lambda` `(` $lambda `)`
    (`lambda2` `(` $lambda2^ `)`)?
    (`momentum` `(` $momentum^ `,` $beta `:` type($momentum) `)`)?
    attr-dict `:` type($theta)
  }];
  let extraClassDeclaration = [{
    /// True when the op carries a momentum buffer (β > 0 in ALGORITHMS.md).
    bool hasMomentum() { return getMomentum() != nullptr; }
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// AdaBregUpdateOp
//===----------------------------------------------------------------------===//

def Breg_AdaBregUpdateOp : Breg_Op<"adabreg_update", [
    Pure, InferTypeOpAdaptor,
    AllTypesMatch<["theta", "v", "grad", "m1", "m2"]>]> {
  let summary = "one AdaBreg step (Adam on the subgradient), fused";
  let description = [{
    AdaBreg (ALGORITHMS.md §2) with the step count `step` = t already
    incremented (t ≥ 1):

      m1' = β₁·m1 + (1 − β₁)·g ;  m2' = β₂·m2 + (1 − β₂)·g²
      d   = √m2' / √(1 − β₂ᵗ) + ε
      v'  = v − (lr / (1 − β₁ᵗ))·m1' / d
      θ'  = prox_{δ·J}(δ·v')

    Results are (θ', v', m1', m2').

    ```mlir
    %t1, %v1, %a1, %b1 = breg.adabreg_update #breg.l1 %t, %v, %g, %m1, %m2
        lr(%lr) delta(%delta) lambda(%lambda) betas(%beta1, %beta2) eps(%eps)
        step(%step) : tensor<200x784xf32>
    ```
  }];
  let arguments = (ins Breg_RegularizerAttr:$reg,
                       Breg_F32Tensor:$theta, Breg_F32Tensor:$v,
                       Breg_F32Tensor:$grad, Breg_F32Tensor:$m1,
                       Breg_F32Tensor:$m2,
                       F32:$lr, F32:$delta, F32:$lambda, F32:$beta1,
                       F32:$beta2, F32:$eps, F32:$step,
                       Optional<F32>:$lambda2);
  let results = (outs Breg_F32Tensor:$new_theta, Breg_F32Tensor:$new_v,
                      Breg_F32Tensor:$new_m1, Breg_F32Tensor:$new_m2);
  let assemblyFormat = [{
    $reg $theta `,` $v `,` $grad `,` $m1 `,` $m2
    `lr` `(` $lr `)` `delta` `(` $delta `)` `lambda` `(` $lambda `)`
    (`lambda2` `(` $lambda2^ `)`)?
    `betas` `(` $beta1 `,` $beta2 `)` `eps` `(` $eps `)` `step` `(` $step `)`
    attr-dict `:` type($theta)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// ProxSgdUpdateOp
//===----------------------------------------------------------------------===//

def Breg_ProxSgdUpdateOp : Breg_Op<"proxsgd_update", [
    Pure, AllTypesMatch<["theta", "grad", "new_theta"]>]> {
  let summary = "one proximal gradient step θ' = prox_{lr·J}(θ − lr·g), fused";
  let description = [{
    The proximal-gradient baseline of ALGORITHMS.md §2.

    ```mlir
    %t1 = breg.proxsgd_update #breg.l1 %t, %g lr(%lr) lambda(%lambda) : tensor<10xf32>
    ```
  }];
  let arguments = (ins Breg_RegularizerAttr:$reg, Breg_F32Tensor:$theta,
                       Breg_F32Tensor:$grad, F32:$lr, F32:$lambda,
                       Optional<F32>:$lambda2);
  let results = (outs Breg_F32Tensor:$new_theta);
  let assemblyFormat = [{
    $reg $theta `,` $grad `lr` `(` $lr `)` `lambda` `(` $lambda `)`
    (`lambda2` `(` $lambda2^ `)`)?
    attr-dict `:` type($theta)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// SgdUpdateOp
//===----------------------------------------------------------------------===//

def Breg_SgdUpdateOp : Breg_Op<"sgd_update", [
    Pure, AttrSizedOperandSegments, InferTypeOpAdaptor,
    AllTypesMatch<["theta", "grad"]>]> {
  let summary = "one SGD step, optionally with heavy-ball momentum, fused";
  let description = [{
    The unregularized baseline, with PyTorch's momentum convention:

      without momentum:  θ' = θ − lr·g
      with momentum β:   m' = β·m + g ;  θ' = θ − lr·m'

    Results are θ' or (θ', m').

    ```mlir
    %t1, %m1 = breg.sgd_update %t, %g lr(%lr) momentum(%m, %beta : tensor<10xf32>) : tensor<10xf32>
    ```
  }];
  let arguments = (ins Breg_F32Tensor:$theta, Breg_F32Tensor:$grad, F32:$lr,
                       Optional<Breg_F32Tensor>:$momentum,
                       Optional<F32>:$beta);
  let results = (outs Breg_F32Tensor:$new_theta,
                      Optional<Breg_F32Tensor>:$new_momentum);
  let assemblyFormat = [{
    $theta `,` $grad `lr` `(` $lr `)`
    (`momentum` `(` $momentum^ `,` $beta `:` type($momentum) `)`)?
    attr-dict `:` type($theta)
  }];
  let extraClassDeclaration = [{
    bool hasMomentum() { return getMomentum() != nullptr; }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// AdamUpdateOp
//===----------------------------------------------------------------------===//

def Breg_AdamUpdateOp : Breg_Op<"adam_update", [
    Pure, InferTypeOpAdaptor, AllTypesMatch<["theta", "grad", "m1", "m2"]>]> {
  let summary = "one Adam step, fused";
  let description = [{
    The unregularized baseline (Kingma & Ba), with `step` = t ≥ 1:

      m1' = β₁·m1 + (1 − β₁)·g ;  m2' = β₂·m2 + (1 − β₂)·g²
      θ'  = θ − (lr / (1 − β₁ᵗ))·m1' / (√m2' / √(1 − β₂ᵗ) + ε)

    Results are (θ', m1', m2').

    ```mlir
    %t1, %a1, %b1 = breg.adam_update %t, %g, %m1, %m2 lr(%lr)
        betas(%beta1, %beta2) eps(%eps) step(%step) : tensor<10xf32>
    ```
  }];
  let arguments = (ins Breg_F32Tensor:$theta, Breg_F32Tensor:$grad,
                       Breg_F32Tensor:$m1, Breg_F32Tensor:$m2, F32:$lr,
                       F32:$beta1, F32:$beta2, F32:$eps, F32:$step);
  let results = (outs Breg_F32Tensor:$new_theta, Breg_F32Tensor:$new_m1,
                      Breg_F32Tensor:$new_m2);
  let assemblyFormat = [{
    $theta `,` $grad `,` $m1 `,` $m2 `lr` `(` $lr `)`
    `betas` `(` $beta1 `,` $beta2 `)` `eps` `(` $eps `)` `step` `(` $step `)`
    attr-dict `:` type($theta)
  }];
}

//===----------------------------------------------------------------------===//
// Convolution (the library-call boundary)
//===----------------------------------------------------------------------===//

def Breg_FloatTensor : RankedTensorOf<[F32, F64]>;

// The geometry every convolution op carries, as PyTorch and ONNX define it:
// NCHW input, (F, C/groups, KH, KW) filter, `padding` = [top, left, bottom,
// right] (ONNX order), OH = (H + top + bottom − dilation·(KH − 1) − 1) /
// stride + 1 (floor), likewise OW.
class Breg_ConvOp<string mnemonic>
    : Breg_Op<mnemonic, [Pure, AllElementTypesMatch<["lhs", "rhs", "result"]>]> {
  let arguments = (ins Breg_FloatTensor:$lhs, Breg_FloatTensor:$rhs,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilations,
                       ConfinedAttr<I64Attr, [IntPositive]>:$groups);
  let results = (outs Breg_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs `strides` $strides `padding` $padding `dilations` $dilations
    `groups` $groups attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let hasVerifier = 1;
  code convExtraClassDeclaration = [{
    /// Input [N, C, H, W], filter [F, C/groups, KH, KW] and output
    /// [N, F, OH, OW] types, whichever operand or result each one is.
    RankedTensorType getInputType();
    RankedTensorType getFilterType();
    RankedTensorType getOutputType();
  }];
  let extraClassDeclaration = convExtraClassDeclaration;
}

def Breg_Conv2DOp : Breg_ConvOp<"conv2d"> {
  let summary = "2-D convolution (cross-correlation), NCHW";
  let description = [{
    y[n, f, oh, ow] = Σ_{c, kh, kw} x[n, g·C/G + c, oh·s + kh·d − top,
    ow·s + kw·d − left] · w[f, c, kh, kw], with g = f / (F/G) and x read as
    0 outside the image. Operands: the input x and the filter w.

    ```mlir
    %y = breg.conv2d %x, %w strides [1, 1] padding [2, 2, 2, 2]
        dilations [1, 1] groups 1
        : tensor<128x1x28x28xf32>, tensor<64x1x5x5xf32> -> tensor<128x64x28x28xf32>
    ```
  }];
}

def Breg_Conv2DGradInputOp
    : Breg_ConvOp<"conv2d_grad_input"> {
  let summary = "gradient of conv2d with respect to its input";
  let description = [{
    The vector-Jacobian product of `breg.conv2d` for the input: given the
    output cotangent dy [N, F, OH, OW] (first operand) and the filter w, the
    result dx has the input's shape (which the result type states; several
    input sizes give the same OH when the stride is > 1).
  }];
}

def Breg_Conv2DGradFilterOp
    : Breg_ConvOp<"conv2d_grad_filter"> {
  let summary = "gradient of conv2d with respect to its filter";
  let description = [{
    The vector-Jacobian product of `breg.conv2d` for the filter: given the
    input x (first operand) and the output cotangent dy [N, F, OH, OW], the
    result dw has the filter's shape [F, C/groups, KH, KW].
  }];
}

//===----------------------------------------------------------------------===//
// Pooling, argmax, one-hot, dropout mask
//===----------------------------------------------------------------------===//
// Lowered by convert-breg-pooling-to-linalg before elementwise fusion, so that
// producers (a ReLU) fuse into the pooling generics as they always have.

// The window every pooling op carries, with convolution's geometry: NCHW
// input, `kernel` = [KH, KW], `padding` = [top, left, bottom, right] (ONNX
// order), OH = (H + top + bottom − dilation·(KH − 1) − 1) / stride + 1
// (floor), likewise OW. Padded elements never win a max and add 0 to a sum.
class Breg_PoolOp<string mnemonic, list<Trait> traits = []>
    : Breg_Op<mnemonic, !listconcat([Pure], traits)> {
  dag windowAttrs = (ins DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$strides,
                         DenseI64ArrayAttr:$padding,
                         DenseI64ArrayAttr:$dilations);
  string windowFormat = [{
    `kernel` $kernel `strides` $strides `padding` $padding
    `dilations` $dilations attr-dict
  }];
  let results = (outs Breg_FloatTensor:$result);
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The pooled image [N, C, H, W] and the pooled result [N, C, OH, OW],
    /// whichever operand or result each one is.
    RankedTensorType getInputType();
    RankedTensorType getOutputType();
  }];
}

def Breg_MaxPool2DOp : Breg_PoolOp<"max_pool2d",
    [AllElementTypesMatch<["input", "result"]>]> {
  let summary = "2-D max pooling, NCHW";
  let description = [{
    y[n, c, oh, ow] = max_{kh, kw} x[n, c, oh·s + kh·d − top,
    ow·s + kw·d − left], the padding read as −∞.

    ```mlir
    %y = breg.max_pool2d %x kernel [2, 2] strides [2, 2] padding [0, 0, 0, 0]
        dilations [1, 1] : tensor<128x64x24x24xf32> -> tensor<128x64x12x12xf32>
    ```
  }];
  let arguments = !con((ins Breg_FloatTensor:$input), windowAttrs);
  let assemblyFormat = "$input " # windowFormat #
                       " `:` type($input) `->` type($result)";
}

def Breg_SumPool2DOp : Breg_PoolOp<"sum_pool2d",
    [AllElementTypesMatch<["input", "result"]>]> {
  let summary = "2-D sum pooling, NCHW (average pooling before its scale)";
  let description = [{
    y[n, c, oh, ow] = Σ_{kh, kw} x[n, c, oh·s + kh·d − top,
    ow·s + kw·d − left], the padding read as 0.
  }];
  let arguments = !con((ins Breg_FloatTensor:$input), windowAttrs);
  let assemblyFormat = "$input " # windowFormat #
                       " `:` type($input) `->` type($result)";
}

def Breg_MaxPool2DGradOp : Breg_PoolOp<"max_pool2d_grad",
    [AllElementTypesMatch<["input", "dy", "result"]>]> {
  let summary = "gradient of max_pool2d with respect to its input";
  let description = [{
    Given the pooled input x and the output cotangent dy [N, C, OH, OW], each
    window's dy goes to the window's FIRST maximum (row-major order, strict
    comparison), never split between tied elements; the maximum is found
    again from x rather than kept from the forward pass. The result has x's
    type.

    ```mlir
    %dx = breg.max_pool2d_grad %x, %dy kernel [2, 2] strides [2, 2]
        padding [0, 0, 0, 0] dilations [1, 1]
        : tensor<8x4x6x6xf32>, tensor<8x4x3x3xf32> -> tensor<8x4x6x6xf32>
    ```
  }];
  let arguments = !con((ins Breg_FloatTensor:$input, Breg_FloatTensor:$dy),
                       windowAttrs);
  let assemblyFormat = "$input `,` $dy " # windowFormat #
                       " `:` type($input) `,` type($dy) `->` type($result)";
}

def Breg_SumPool2DGradOp : Breg_PoolOp<"sum_pool2d_grad",
    [AllElementTypesMatch<["dy", "result"]>]> {
  let summary = "gradient of sum_pool2d with respect to its input";
  let description = [{
    Given the output cotangent dy [N, C, OH, OW], every input element gets
    the sum of dy over the windows that contain it. The result type states
    the input's shape (several input sizes give the same OH when the stride
    is > 1).
  }];
  let arguments = !con((ins Breg_FloatTensor:$dy), windowAttrs);
  let assemblyFormat = "$dy " # windowFormat #
                       " `:` type($dy) `->` type($result)";
}

def Breg_ArgMaxOp : Breg_Op<"argmax", [Pure]> {
  let summary = "index of the first maximum along the last axis";
  let description = [{
    result[i...] = the smallest k with x[i..., k] = max_j x[i..., j] (a strict
    comparison: the first maximum wins ties), as i32. NaN counts as larger
    than any number, as in NumPy, JAX and PyTorch: a row holding NaN gives
    the index of its first NaN. The result drops the input's last dimension.
    The input's shape is static.

    ```mlir
    %i = breg.argmax %logits : tensor<128x10xf32> -> tensor<128xi32>
    ```
  }];
  let arguments = (ins Breg_FloatTensor:$input);
  let results = (outs RankedTensorOf<[I32]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Breg_CompressRowsOp : Breg_Op<"compress_rows", [Pure]> {
  let summary = "the compressed sparse rows (CSR) of a matrix";
  let description = [{
    Row-major compaction of a static f32 matrix M [O, I] into the CSR that
    `sparse_tensor.assemble` takes (levels dense, compressed; 32-bit
    positions and coordinates): positions[0] = 0, positions[r + 1] = the
    number of non-zero entries (x != 0, NaN included) in rows 0..r, and for
    the k-th of them coordinates[k] = its column, values[k] = its value.
    positions[O] is the number of non-zeros. The capacity of coordinates and
    values is static and must be O·I, so that the compaction never
    overflows and may write every element unconditionally (the entries past
    positions[O] are unspecified). The training step carries its result to
    the next step's sparse forward and input gradient (issue 16).

    Optional `into` operands, one per result and of its type, are the
    tensors the results take the place of (destination style: their
    contents are not read). The training step passes the previous step's
    CSR, whose buffers are donated, so that bufferization writes the new
    CSR into them in place instead of into new buffers that are then
    copied at their full capacity.

    ```mlir
    %pos, %crd, %val = breg.compress_rows %theta
        : tensor<200x784xf32> -> tensor<201xi32>, tensor<156800xi32>,
          tensor<156800xf32>
    %pos2, %crd2, %val2 = breg.compress_rows %theta into(%pos, %crd, %val
        : tensor<201xi32>, tensor<156800xi32>, tensor<156800xf32>)
        : tensor<200x784xf32> -> tensor<201xi32>, tensor<156800xi32>,
          tensor<156800xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$matrix,
                       Variadic<RankedTensorOf<[I32, F32]>>:$inits);
  let results = (outs RankedTensorOf<[I32]>:$positions,
                      RankedTensorOf<[I32]>:$coordinates,
                      RankedTensorOf<[F32]>:$values);
  let assemblyFormat = [{
    $matrix (`into` `(` $inits^ `:` type($inits) `)`)? attr-dict `:`
    type($matrix) `->` type($positions) `,` type($coordinates) `,`
    type($values)
  }];
  let hasVerifier = 1;
}

def Breg_SparseConv2DOp : Breg_Op<"sparse_conv2d", [Pure]> {
  let summary = "2-D convolution of a filter in CSR";
  let description = [{
    A convolution whose filter W [R, C, KH, KW] is given by the compressed
    sparse rows of W viewed as a matrix [R, C·KH·KW] (`breg.compress_rows`'s
    layout: positions i32[R + 1], coordinates and values of one capacity),
    so that only the stored entries are visited. For the e-th stored entry
    of row r, its coordinate j = c·KH·KW + kh·KW + kw names the input
    channel and the tap; with (h, w) = (kh, kw), or (KH − 1 − kh,
    KW − 1 − kw) under `flip`,

      y[n, r, oh, ow] = Σ_e values[e] · xp[n, c, sh·oh + dh·h, sw·ow + dw·w]

    where xp is x [N, C, H, W] zero-padded by `padding` = [top, left,
    bottom, right] and (sh, sw) the `strides` (default [1, 1], then not
    printed), so OH = (H + top + bottom − dh·(KH − 1) − 1) / sh + 1,
    likewise OW; with the optional `bias` (f32[R]), y[n, r, ...] starts
    from bias[r] (a layer's bias added without a pass of its own over y).
    With `groups` g (default 1, then not printed), the CSR is of W [R,
    C/g, KH, KW] as a matrix [R, (C/g)·KH·KW] and row r's channel c is input
    channel ⌊r / (R/g)⌋·(C/g) + c: a grouped (g = C = R: depthwise)
    convolution. Without `flip` that is `breg.conv2d`. With `flip` the strides dilate the
    input instead: xp is x with sh − 1 zero rows between its rows (sw − 1
    zero columns between its columns), then padded, and the loop runs at
    stride 1, so OH = sh·(H − 1) + 1 + top + bottom − dh·(KH − 1); given
    the CSR of the filter's transpose ([C, R·KH·KW]) and the output
    cotangent with padding dilation·(K − 1) − padding before (after: up to
    the forward input's last row), it is the input gradient of the
    convolution at those strides (grouped: the CSR of the filter's grouped
    transpose [C, (R/g)·KH·KW], that is of W [R/g, C/g, …] per group,
    transposed). The CSR must be valid — positions non-decreasing from 0 to at
    most the capacity, coordinates in [0, (C/g)·KH·KW) — as its producers
    (`breg.compress_rows`, the host's compressRows) guarantee; the lowering
    clamps positions to the capacity and coordinates to the group's last
    channel's last tap, so an invalid one gives wrong values, never an access out of
    bounds. Entries past positions[R] are never read. A padded input sample
    (C·(H + top + bottom)·(W + left + right) elements, the width rounded
    up to a multiple of sw) must fit 32 bits.

    ```mlir
    %y = breg.sparse_conv2d %x, %pos, %crd, %val kernel [5, 5]
        padding [0, 0, 0, 0] dilations [1, 1] flip false
        : tensor<128x64x12x12xf32>, tensor<65xi32>, tensor<102400xi32>,
          tensor<102400xf32> -> tensor<128x64x8x8xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32]>:$input,
                       RankedTensorOf<[I32]>:$positions,
                       RankedTensorOf<[I32]>:$coordinates,
                       RankedTensorOf<[F32]>:$values,
                       Optional<RankedTensorOf<[F32]>>:$bias,
                       DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilations, BoolAttr:$flip,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
                       DefaultValuedAttr<I64Attr, "1">:$groups);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $input `,` $positions `,` $coordinates `,` $values (`bias` $bias^)?
    `kernel` $kernel (`strides` $strides^)? (`groups` $groups^)?
    `padding` $padding
    `dilations` $dilations `flip` $flip
    attr-dict `:` type($input) `,` type($positions) `,` type($coordinates)
    `,` type($values) (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def Breg_OneHotOp : Breg_Op<"one_hot", [Pure]> {
  let summary = "one-hot rows of i32 labels";
  let description = [{
    result[n, k] = 1 if labels[n] = k, else 0; the number of classes is the
    result's second dimension (a label outside [0, K) gives a row of zeros).

    ```mlir
    %y = breg.one_hot %labels : tensor<128xi32> -> tensor<128x10xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I32]>:$labels);
  let results = (outs Breg_FloatTensor:$result);
  let assemblyFormat = "$labels attr-dict `:` type($labels) `->` type($result)";
  let hasVerifier = 1;
}

def Breg_DropoutMaskOp : Breg_Op<"dropout_mask", [Pure]> {
  let summary = "the dropout mask {0, 1/(1 − rate)} of a seed";
  let description = [{
    Element i (row-major linear index) is 1/(1 − rate) when h(i) ≥ rate·2³²,
    else 0, with h murmur3's 32-bit finalizer of (i ^ seed·0x9E3779B9) mod
    2³²: a counter-based hash, stateless, so every back end and every call
    with the same seed draws the same mask.

    ```mlir
    %m = breg.dropout_mask %seed rate 5.000000e-01 : tensor<128x200xf32>
    ```
  }];
  let arguments = (ins I32:$seed, F64Attr:$rate);
  let results = (outs Breg_FloatTensor:$result);
  let assemblyFormat = "$seed `rate` $rate attr-dict `:` type($result)";
  let hasVerifier = 1;
}

#endif // BREG_DIALECT_BREG_IR_BREGOPS_TD
