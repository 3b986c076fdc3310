//===- JitTestContext.h - The MLIR context of the JIT's own tests ---------===//

#ifndef BREGMAN_TESTS_UNIT_SUPPORT_JITTESTCONTEXT_H
#define BREGMAN_TESTS_UNIT_SUPPORT_JITTESTCONTEXT_H

#include "breg/Jit/CpuJit.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <cstdint>
#include <gtest/gtest.h>

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

/// `function`(x) of a compiled executable whose function takes an i32 and
/// writes an i32 (0, with a test failure, if the call fails).
inline int32_t callI32(mlir::breg::CpuExecutable &exe, llvm::StringRef function,
                       int32_t x) {
  int32_t result = 0;
  void *args[] = {&x, &result};
  llvm::Error err = exe.invoke(function, args);
  EXPECT_FALSE(static_cast<bool>(err)) << llvm::toString(std::move(err));
  return result;
}

#endif // BREGMAN_TESTS_UNIT_SUPPORT_JITTESTCONTEXT_H
