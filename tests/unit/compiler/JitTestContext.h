//===- JitTestContext.h - The MLIR context of the CPU JIT's own tests ------===//

#ifndef BREGMAN_TESTS_UNIT_COMPILER_JITTESTCONTEXT_H
#define BREGMAN_TESTS_UNIT_COMPILER_JITTESTCONTEXT_H

#include "breg/Jit/CpuJit.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

/// One context with every dialect the CPU JIT needs, for the whole test
/// binary (never freed: modules parsed into it live as long as the tests).
inline mlir::MLIRContext &jitTestContext() {
  static mlir::MLIRContext *ctx = [] {
    mlir::DialectRegistry registry;
    mlir::breg::registerCpuJitDependencies(registry);
    auto *c = new mlir::MLIRContext(registry);
    c->loadAllAvailableDialects();
    return c;
  }();
  return *ctx;
}

#endif // BREGMAN_TESTS_UNIT_COMPILER_JITTESTCONTEXT_H
