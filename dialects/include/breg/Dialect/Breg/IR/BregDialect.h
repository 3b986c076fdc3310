//===- BregDialect.h - The breg dialect -------------------------*- C++ -*-===//
//
// Declares the `breg` dialect, its regulariser attributes and its ops.
//
//===----------------------------------------------------------------------===//

#ifndef BREG_DIALECT_BREG_IR_BREGDIALECT_H
#define BREG_DIALECT_BREG_IR_BREGDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "breg/Dialect/Breg/IR/BregOpsDialect.h.inc"
#include "breg/Dialect/Breg/IR/BregAttrInterfaces.h.inc"

#define GET_ATTRDEF_CLASSES
#include "breg/Dialect/Breg/IR/BregAttrs.h.inc"

#define GET_OP_CLASSES
#include "breg/Dialect/Breg/IR/BregOps.h.inc"

#endif // BREG_DIALECT_BREG_IR_BREGDIALECT_H
