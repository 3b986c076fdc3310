//===- BregDialect.cpp - breg dialect and attributes -----------------------===//
//
// Registers the dialect, its ops and the regulariser attributes, and
// implements what each regulariser says about the tensors it applies to.
//
//===----------------------------------------------------------------------===//

#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::breg;

#include "breg/Dialect/Breg/IR/BregOpsDialect.cpp.inc"
#include "breg/Dialect/Breg/IR/BregAttrInterfaces.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "breg/Dialect/Breg/IR/BregAttrs.cpp.inc"

void BregDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "breg/Dialect/Breg/IR/BregAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "breg/Dialect/Breg/IR/BregOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Regularisers
//===----------------------------------------------------------------------===//

StringRef NoneRegAttr::getRegularizerName() const { return "none"; }

LogicalResult NoneRegAttr::verifyParameterType(
    ShapedType, function_ref<InFlightDiagnostic()>) const {
  return success();
}

StringRef L1RegAttr::getRegularizerName() const { return "l1"; }

// The l1 norm is elementwise: it applies to a tensor of any rank, scalars too.
LogicalResult L1RegAttr::verifyParameterType(
    ShapedType, function_ref<InFlightDiagnostic()>) const {
  return success();
}

StringRef L1PosRegAttr::getRegularizerName() const { return "l1_pos"; }

LogicalResult L1PosRegAttr::verifyParameterType(
    ShapedType, function_ref<InFlightDiagnostic()>) const {
  return success();
}
