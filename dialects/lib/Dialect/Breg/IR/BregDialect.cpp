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

/// The regularisers take no parameters: anything after the mnemonic is an
/// error (the generated parser left it unread, and it was dropped).
Attribute BregDialect::parseAttribute(DialectAsmParser &parser,
                                      Type type) const {
  SMLoc loc = parser.getCurrentLocation();
  StringRef mnemonic;
  Attribute attr;
  OptionalParseResult parsed =
      generatedAttributeParser(parser, &mnemonic, type, attr);
  if (!parsed.has_value()) {
    parser.emitError(loc) << "unknown attribute `" << mnemonic
                          << "` in dialect `breg`";
    return {};
  }
  if (failed(*parsed))
    return {};
  if (succeeded(parser.parseOptionalLess())) {
    parser.emitError(loc)
        << "#breg." << cast<RegularizerAttrInterface>(attr).getRegularizerName()
        << " takes no parameters";
    return {};
  }
  return attr;
}

void BregDialect::printAttribute(Attribute attr,
                                 DialectAsmPrinter &printer) const {
  (void)generatedAttributePrinter(attr, printer);
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

/// Group regularisers need the rank their groups are defined on, and static
/// group dimensions (the √n scaling is a constant).
static LogicalResult verifyGroupRank(StringRef name, int64_t rank,
                                     StringRef groups,
                                     ArrayRef<int64_t> groupDims,
                                     ShapedType type,
                                     function_ref<InFlightDiagnostic()> emitError) {
  if (type.getRank() != rank)
    return emitError() << "regularizer '" << name << "' needs a rank-" << rank
                       << " parameter whose " << groups
                       << " are the groups, got " << type;
  for (int64_t d : groupDims)
    if (type.isDynamicDim(d))
      return emitError() << "regularizer '" << name
                         << "' needs static group dimensions, got " << type;
  return success();
}

StringRef L1L2RegAttr::getRegularizerName() const { return "l1_l2"; }
SmallVector<int64_t> L1L2RegAttr::getGroupDims(int64_t) const { return {1}; }
LogicalResult L1L2RegAttr::verifyParameterType(
    ShapedType type, function_ref<InFlightDiagnostic()> emitError) const {
  return verifyGroupRank("l1_l2", 2, "rows", getGroupDims(2), type, emitError);
}

StringRef L1L2ConvRegAttr::getRegularizerName() const { return "l1_l2_conv"; }
SmallVector<int64_t> L1L2ConvRegAttr::getGroupDims(int64_t) const {
  return {2, 3};
}
LogicalResult L1L2ConvRegAttr::verifyParameterType(
    ShapedType type, function_ref<InFlightDiagnostic()> emitError) const {
  return verifyGroupRank("l1_l2_conv", 4, "kernels (last two dimensions)",
                         getGroupDims(4), type, emitError);
}

StringRef L1L2HeadsRegAttr::getRegularizerName() const { return "l1_l2_heads"; }
SmallVector<int64_t> L1L2HeadsRegAttr::getGroupDims(int64_t) const {
  return {1, 2};
}
LogicalResult L1L2HeadsRegAttr::verifyParameterType(
    ShapedType type, function_ref<InFlightDiagnostic()> emitError) const {
  return verifyGroupRank("l1_l2_heads", 3, "heads (first dimension)",
                         getGroupDims(3), type, emitError);
}

StringRef L1L1L2RegAttr::getRegularizerName() const { return "l1_l1_l2"; }
SmallVector<int64_t> L1L1L2RegAttr::getGroupDims(int64_t) const { return {1}; }
LogicalResult L1L1L2RegAttr::verifyParameterType(
    ShapedType type, function_ref<InFlightDiagnostic()> emitError) const {
  return verifyGroupRank("l1_l1_l2", 2, "rows", getGroupDims(2), type,
                         emitError);
}
