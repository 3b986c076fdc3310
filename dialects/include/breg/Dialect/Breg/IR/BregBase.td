//===- BregBase.td - The breg dialect definition -----------*- tablegen -*-===//
//
// The `breg` dialect holds the fused updates of Bregman learning: LinBreg,
// the subgradient initialisation v = θ/δ + ∂J(θ), and the proximal maps of the
// sparsity regularisers J. Hyper-parameters (lr, δ, λ, β) are SSA operands,
// never attributes, so a schedule that changes them never recompiles; the kind
// of regulariser is a static attribute because it changes the generated code.
//
//===----------------------------------------------------------------------===//

#ifndef BREG_DIALECT_BREG_IR_BREGBASE_TD
#define BREG_DIALECT_BREG_IR_BREGBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Breg_Dialect : Dialect {
  let name = "breg";
  let cppNamespace = "::mlir::breg";
  let summary = "Fused Bregman-iteration updates and proximal maps";
  let description = [{
    Ops of the linearized Bregman family (Bungert, Roith, Tenbrinck, Burger,
    JMLR 2022). Each op is one pass over memory once lowered by
    `convert-breg-to-linalg`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  // Our own parseAttribute: the default one left `<5>` of `#breg.l1<5>`
  // unread, and the attribute printed back without it.
  let useDefaultAttributePrinterParser = 0;
  let extraClassDeclaration = [{
    ::mlir::Attribute parseAttribute(::mlir::DialectAsmParser &parser,
                                     ::mlir::Type type) const override;
    void printAttribute(::mlir::Attribute attr,
                        ::mlir::DialectAsmPrinter &printer) const override;
  }];
  let usePropertiesForAttributes = 1;
  let hasConstantMaterializer = 0;
}

class Breg_Op<string mnemonic, list<Trait> traits = []>
    : Op<Breg_Dialect, mnemonic, traits>;

#endif // BREG_DIALECT_BREG_IR_BREGBASE_TD
