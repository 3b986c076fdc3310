//===- BregOps.cpp - breg op verifiers, folders and type inference ---------===//

#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::breg;

#define GET_OP_CLASSES
#include "breg/Dialect/Breg/IR/BregOps.cpp.inc"

/// Asks the regulariser whether it applies to `paramType`, reporting on `op`.
static LogicalResult verifyRegularizerFits(Operation *op,
                                           RegularizerAttrInterface reg,
                                           Type paramType) {
  return reg.verifyParameterType(llvm::cast<ShapedType>(paramType),
                                 [op]() { return op->emitOpError(); });
}

//===----------------------------------------------------------------------===//
// ProxOp
//===----------------------------------------------------------------------===//

LogicalResult ProxOp::verify() {
  return verifyRegularizerFits(*this, getReg(), getX().getType());
}

OpFoldResult ProxOp::fold(FoldAdaptor) {
  // prox of J = 0 is the identity.
  if (llvm::isa<NoneRegAttr>(getReg()))
    return getX();
  return {};
}

//===----------------------------------------------------------------------===//
// SubgradientInitOp
//===----------------------------------------------------------------------===//

LogicalResult SubgradientInitOp::verify() {
  return verifyRegularizerFits(*this, getReg(), getTheta().getType());
}

//===----------------------------------------------------------------------===//
// LinBregUpdateOp
//===----------------------------------------------------------------------===//

LogicalResult LinBregUpdateOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, Adaptor adaptor,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  Type paramType = adaptor.getTheta().getType();
  inferredReturnTypes.assign({paramType, paramType});
  if (adaptor.getMomentum())
    inferredReturnTypes.push_back(paramType);
  return success();
}

LogicalResult LinBregUpdateOp::verify() {
  if (static_cast<bool>(getMomentum()) != static_cast<bool>(getBeta()))
    return emitOpError("momentum buffer and beta must be given together, but ")
           << (getMomentum() ? "beta" : "the momentum buffer") << " is missing";
  if (getMomentum() && getMomentum().getType() != getTheta().getType())
    return emitOpError("momentum buffer type ")
           << getMomentum().getType() << " does not match parameter type "
           << getTheta().getType();
  return verifyRegularizerFits(*this, getReg(), getTheta().getType());
}
