//===- BregAttrs.td - Regulariser attributes ---------------*- tablegen -*-===//
//
// Each sparsity regulariser J is an attribute implementing
// RegularizerAttrInterface. The strength λ is not part of the attribute: it is
// an SSA operand of the op that uses the regulariser.
//
//===----------------------------------------------------------------------===//

#ifndef BREG_DIALECT_BREG_IR_BREGATTRS_TD
#define BREG_DIALECT_BREG_IR_BREGATTRS_TD

include "breg/Dialect/Breg/IR/BregBase.td"

def Breg_RegularizerAttrInterface : AttrInterface<"RegularizerAttrInterface"> {
  let cppNamespace = "::mlir::breg";
  let description = [{
    A sparsity functional J with a proximal map and a chosen subgradient
    (ALGORITHMS.md §3). Ops that take a regulariser ask it whether it applies
    to their parameter tensor.
  }];
  let methods = [
    InterfaceMethod<"The regulariser's name as written in the IR.",
      "::llvm::StringRef", "getRegularizerName">,
    InterfaceMethod<[{
        The dimensions of a parameter of rank `rank` that together form one
        group (their elements share one l2 norm); empty for elementwise
        regularisers.
      }],
      "::llvm::SmallVector<int64_t>", "getGroupDims", (ins "int64_t":$rank),
      /*methodBody=*/"", /*defaultImplementation=*/"return {};">,
    InterfaceMethod<[{
        Checks that the regulariser applies to a parameter of type `type`;
        reports through `emitError` otherwise.
      }],
      "::mlir::LogicalResult", "verifyParameterType",
      (ins "::mlir::ShapedType":$type,
           "::llvm::function_ref<::mlir::InFlightDiagnostic()>":$emitError)>,
  ];
}

class Breg_RegularizerAttr<string name, string attrMnemonic>
    : AttrDef<Breg_Dialect, name, [
        DeclareAttrInterfaceMethods<Breg_RegularizerAttrInterface>]> {
  let mnemonic = attrMnemonic;
}

def Breg_NoneRegAttr : Breg_RegularizerAttr<"NoneReg", "none"> {
  let summary = "J = 0: no regularisation (LinBreg becomes SGD)";
  let description = [{
    `#breg.none`: J(θ) = 0, prox is the identity, chosen subgradient 0.
  }];
}

def Breg_L1RegAttr : Breg_RegularizerAttr<"L1Reg", "l1"> {
  let summary = "J = λ‖θ‖₁: elementwise sparsity";
  let description = [{
    `#breg.l1`: J(θ) = λ‖θ‖₁, prox_{sJ}(x) = sign(x)·max(|x| − sλ, 0),
    chosen subgradient λ·sign(θ) (0 at θ = 0).
  }];
}

def Breg_L1PosRegAttr : Breg_RegularizerAttr<"L1PosReg", "l1_pos"> {
  let summary = "J = λ‖θ‖₁ + ι(θ ≥ 0): non-negative elementwise sparsity";
  let description = [{
    `#breg.l1_pos`: J(θ) = λ‖θ‖₁ plus the indicator of θ ≥ 0,
    prox_{sJ}(x) = max(x − sλ, 0), chosen subgradient λ·sign(θ).
  }];
}

class Breg_GroupRegularizerAttr<string name, string attrMnemonic>
    : AttrDef<Breg_Dialect, name, [
        DeclareAttrInterfaceMethods<Breg_RegularizerAttrInterface,
                                    ["getGroupDims"]>]> {
  let mnemonic = attrMnemonic;
}

def Breg_L1L2RegAttr : Breg_GroupRegularizerAttr<"L1L2Reg", "l1_l2"> {
  let summary = "J = λ·√n·Σᵢ‖θᵢ‖₂ over the rows of a 2-D weight";
  let description = [{
    `#breg.l1_l2`: group sparsity with the rows θᵢ (a neuron's incoming
    weights, n per row) as groups: prox_{sJ}(x)ᵢ = xᵢ·max(0, 1 − sλ√n/‖xᵢ‖),
    chosen subgradient λ√n·θᵢ/‖θᵢ‖; a zero row stays zero (no division).
  }];
}

def Breg_L1L2ConvRegAttr : Breg_GroupRegularizerAttr<"L1L2ConvReg", "l1_l2_conv"> {
  let summary = "J = λ·√n·Σ‖K‖₂ over the k×k kernels of a 4-D conv weight";
  let description = [{
    `#breg.l1_l2_conv`: as `#breg.l1_l2` with the kernels of a conv weight of
    shape (out, in, kh, kw) as groups, n = kh·kw.
  }];
}

def Breg_L1L1L2RegAttr : Breg_GroupRegularizerAttr<"L1L1L2Reg", "l1_l1_l2"> {
  let summary = "J = λ₁‖θ‖₁ + λ₂·√n·Σᵢ‖θᵢ‖₂: sparse-group over rows";
  let description = [{
    `#breg.l1_l1_l2`: elementwise and row sparsity together. Ops using it
    take the second strength λ₂ as the `lambda2` operand. prox: the row-group
    prox with threshold sλ₂ applied to the l1 prox with threshold sλ₁;
    chosen subgradient: the sum of both.
  }];
}

def Breg_L1L2HeadsRegAttr : Breg_GroupRegularizerAttr<"L1L2HeadsReg", "l1_l2_heads"> {
  let summary = "J = λ·√n·Σₕ‖θₕ‖₂ over the heads of an attention projection";
  let description = [{
    `#breg.l1_l2_heads`: as `#breg.l1_l2` with the heads of a 3-D attention
    projection weight of shape (heads, d, E) as groups (θₕ = θ[h, :, :],
    n = d·E): a head whose group is zero is switched off.
  }];
}

def Breg_RegularizerAttr : Attr<
    CPred<"::llvm::isa<::mlir::breg::RegularizerAttrInterface>($_self)">,
    "Bregman regulariser attribute"> {
  let storageType = "::mlir::breg::RegularizerAttrInterface";
  let returnType = "::mlir::breg::RegularizerAttrInterface";
  let convertFromStorage = "$_self";
}

#endif // BREG_DIALECT_BREG_IR_BREGATTRS_TD
