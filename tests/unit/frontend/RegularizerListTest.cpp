//===- RegularizerListTest.cpp - Regularizers.def agrees with the dialect -===//
//
// The DSL's regularizers are generated from Regularizers.def, which names
// the `breg` attribute each becomes. Each entry's attribute must print as
// `#breg.<text>` and accept exactly the parameter ranks the entry says.
//
//===----------------------------------------------------------------------===//

#include "bregman/Trace.h"
#include "breg/Dialect/Breg/IR/BregDialect.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

namespace {

struct Entry {
  bregman::Regularizer reg;
  const char *text;
  mlir::breg::RegularizerAttrInterface attr;
  int rank;
};

std::vector<Entry> entries(mlir::MLIRContext &ctx) {
  return {
#define BREGMAN_REGULARIZER(Name, Text, AttrClass, Rank)                        \
  {bregman::Regularizer::Name, Text, mlir::breg::AttrClass::get(&ctx), Rank},
#include "bregman/Regularizers.def"
  };
}

bool accepts(mlir::MLIRContext &ctx, mlir::breg::RegularizerAttrInterface attr,
             int rank) {
  mlir::ScopedDiagnosticHandler quiet(&ctx, [](mlir::Diagnostic &) {
    return mlir::success();
  });
  auto type = mlir::RankedTensorType::get(
      llvm::SmallVector<int64_t>(rank, 3), mlir::Float32Type::get(&ctx));
  return mlir::succeeded(attr.verifyParameterType(
      type, [&] { return mlir::emitError(mlir::UnknownLoc::get(&ctx)); }));
}

} // namespace

TEST(RegularizerList, EveryEntryIsTheBregAttributeOfItsName) {
  mlir::MLIRContext ctx;
  ctx.loadDialect<mlir::breg::BregDialect>();
  std::vector<Entry> list = entries(ctx);
  EXPECT_EQ(list.size(), bregman::regularizerNames().size());
  for (const Entry &e : list) {
    EXPECT_EQ(e.attr.getRegularizerName().str(), e.text);
    EXPECT_STREQ(bregman::regularizerName(e.reg), e.text);
    EXPECT_EQ(bregman::parseRegularizer(e.text), e.reg);
    for (int rank : {1, 2, 4})
      EXPECT_EQ(accepts(ctx, e.attr, rank), e.rank == 0 || e.rank == rank)
          << e.text << " on a rank-" << rank << " parameter";
  }
}
