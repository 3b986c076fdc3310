//===- CpuExecutableTest.cpp - The CPU JIT on LLVM-dialect modules --------===//
//
// CpuExecutable::compile with several compile threads: which modules are cut
// into parts (functions and local constants only) and which are compiled
// whole (an exported or a mutable global), and that a program cut into
// parts still links: calls between parts, an always-inline helper every
// part needs, a constant table, a symbol of the host process. And that IR
// which does not verify after the pipeline is an error, whether the IR is
// verified after every pass or once at the end.
//
//===----------------------------------------------------------------------===//

#include "JitTestContext.h"
#include "breg/Jit/CpuJit.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

namespace {

extern "C" int32_t bregmanSplitTestTwice(int32_t x) { return 2 * x; }

/// entry(x) = right(left(x)): left(x) = twice(helper(x)) through the host,
/// right(y) = (helper(y) + table[y % 4]) · 7 + global, where helper(x) = x + 3
/// and GLOBAL is spliced in: the global's declaration and how it is read.
std::string program(const std::string &globalDeclaration,
                    const std::string &readGlobal) {
  return R"mlir(
module {
  llvm.func @bregman_split_test_twice(i32) -> i32
  llvm.mlir.global internal constant @table(dense<[10, 20, 30, 40]> : tensor<4xi32>) : !llvm.array<4 x i32>
  )mlir" + globalDeclaration + R"mlir(
  llvm.func internal @helper(%x: i32) -> i32 attributes {always_inline} {
    %c = llvm.mlir.constant(3 : i32) : i32
    %r = llvm.add %x, %c : i32
    llvm.return %r : i32
  }
  llvm.func internal @left(%x: i32) -> i32 attributes {passthrough = ["noinline"]} {
    %h = llvm.call @helper(%x) : (i32) -> i32
    %t = llvm.call @bregman_split_test_twice(%h) : (i32) -> i32
    llvm.return %t : i32
  }
  llvm.func internal @right(%y: i32) -> i32 attributes {passthrough = ["noinline"]} {
    %h = llvm.call @helper(%y) : (i32) -> i32
    %four = llvm.mlir.constant(4 : i32) : i32
    %i = llvm.urem %y, %four : i32
    %table = llvm.mlir.addressof @table : !llvm.ptr
    %slot = llvm.getelementptr %table[0, %i] : (!llvm.ptr, i32) -> !llvm.ptr, !llvm.array<4 x i32>
    %entry = llvm.load %slot : !llvm.ptr -> i32
    %sum = llvm.add %h, %entry : i32
    %seven = llvm.mlir.constant(7 : i32) : i32
    %product = llvm.mul %sum, %seven : i32
    )mlir" + readGlobal + R"mlir(
    %r = llvm.add %product, %g : i32
    llvm.return %r : i32
  }
  llvm.func @entry(%x: i32) -> i32 {
    %a = llvm.call @left(%x) : (i32) -> i32
    %b = llvm.call @right(%a) : (i32) -> i32
    llvm.return %b : i32
  }
}
)mlir";
}

const char *kNoGlobal = "";
const char *kReadNothing = "%g = llvm.mlir.constant(0 : i32) : i32";
const char *kExported =
    "llvm.mlir.global external constant @offset(1000 : i32) : i32";
const char *kMutable = "llvm.mlir.global internal @offset(1000 : i32) : i32";
const char *kReadOffset = R"mlir(
    %gp = llvm.mlir.addressof @offset : !llvm.ptr
    %g = llvm.load %gp : !llvm.ptr -> i32)mlir";

struct Result {
  int32_t value = 0;
  unsigned parts = 0;
};

/// `source` compiled on `threads` compile threads, after `edit` changed it
/// (if given).
llvm::Expected<std::unique_ptr<mlir::breg::CpuExecutable>>
compile(const std::string &source, unsigned threads,
        const std::function<void(mlir::ModuleOp)> &edit = {},
        bool verifyEachPass = false, bool perfProfiling = false) {
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(source, &jitTestContext());
  if (!module)
    return llvm::createStringError("the test module does not parse");
  if (edit)
    edit(*module);
  mlir::breg::CpuJitOptions options;
  options.verifyEachPass = verifyEachPass;
  options.perfProfiling = perfProfiling;
  // Already in the LLVM dialect: a pass that finds nothing to do.
  options.pipelineText = "builtin.module(reconcile-unrealized-casts)";
  options.compileThreads = threads;
  options.symbols["bregman_split_test_twice"] =
      reinterpret_cast<void *>(&bregmanSplitTestTwice);
  return mlir::breg::CpuExecutable::compile(*module, options);
}

/// Compiles `source` on `threads` compile threads and calls entry(5).
Result compileAndRun(const std::string &source, unsigned threads) {
  auto exe = compile(source, threads);
  EXPECT_TRUE(static_cast<bool>(exe)) << llvm::toString(exe.takeError());
  if (!exe)
    return {};
  return {callI32(**exe, "entry", 5), (*exe)->phases().parts};
}

// left(5) = 2·(5 + 3) = 16; right(16) = (16 + 3 + table[0]) · 7 = 203.
constexpr int32_t kExpected = 203;

TEST(SplitCompile, FunctionsAndLocalConstantsAreCompiledInParts) {
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    Result r = compileAndRun(program(kNoGlobal, kReadNothing), threads);
    EXPECT_EQ(r.value, kExpected) << threads << " threads";
    // Three functions to share out (the helper is copied, not counted).
    EXPECT_EQ(r.parts, std::min(threads, 3u)) << threads << " threads";
  }
}

// An exported constant would be defined by every part, a mutable global
// would become one per part: such modules are compiled whole, and run.
TEST(SplitCompile, ExportedOrMutableGlobalsKeepTheModuleWhole) {
  for (const char *global : {kExported, kMutable}) {
    Result r = compileAndRun(program(global, kReadOffset), 3);
    EXPECT_EQ(r.value, kExpected + 1000) << global;
    EXPECT_EQ(r.parts, 1u) << global;
  }
}

TEST(SplitCompile, UnknownFunctionIsAnErrorInBothForms) {
  for (unsigned threads : {1u, 2u}) {
    auto exe = compile(program(kNoGlobal, kReadNothing), threads);
    ASSERT_TRUE(static_cast<bool>(exe)) << llvm::toString(exe.takeError());
    void *args[] = {nullptr};
    llvm::Error err = (*exe)->invoke("no_such_function", args);
    EXPECT_TRUE(static_cast<bool>(err)) << threads << " threads";
    llvm::consumeError(std::move(err));
  }
}

// The pipeline's output is verified (after every pass, or once after the
// last): a call of a function that does not exist is refused with the
// verifier's message, never handed to LLVM's translation.
TEST(CpuExecutable, IRThatDoesNotVerifyIsAnError) {
  auto callNowhere = [](mlir::ModuleOp module) {
    auto entry = module.lookupSymbol<mlir::LLVM::LLVMFuncOp>("entry");
    entry.walk([](mlir::LLVM::CallOp call) {
      call.setCalleeAttr(
          mlir::FlatSymbolRefAttr::get(call.getContext(), "nowhere"));
    });
  };
  for (bool eachPass : {false, true}) {
    auto exe = compile(program(kNoGlobal, kReadNothing), 1, callNowhere,
                       eachPass);
    ASSERT_FALSE(static_cast<bool>(exe)) << "each pass: " << eachPass;
    std::string message = llvm::toString(exe.takeError());
    EXPECT_NE(message.find(eachPass ? ") failed" : "does not verify"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("'nowhere' does not reference a symbol"),
              std::string::npos)
        << message;
  }
}

// objectOnly: the object file is written and nothing is compiled for this
// process; calling a function says so.
TEST(CpuExecutable, ObjectOnlyWritesTheObjectAndHasNothingToCall) {
  char tmpl[] = "/tmp/bregman_object_only_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::filesystem::path object = std::filesystem::path(tmpl) / "step.o";
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(
      program(kNoGlobal, kReadNothing), &jitTestContext());
  ASSERT_TRUE(module);
  mlir::breg::CpuJitOptions options;
  options.pipelineText = "builtin.module(reconcile-unrealized-casts)";
  options.objectFile = object.string();
  options.objectOnly = true;
  auto exe = mlir::breg::CpuExecutable::compile(*module, options);
  ASSERT_TRUE(static_cast<bool>(exe)) << llvm::toString(exe.takeError());
  EXPECT_GT(std::filesystem::file_size(object), 0u);
  int32_t x = 5, result = 0;
  void *args[] = {&x, &result};
  llvm::Error err = (*exe)->invoke("entry", args);
  ASSERT_TRUE(static_cast<bool>(err));
  EXPECT_NE(llvm::toString(std::move(err)).find("object file only"),
            std::string::npos);
  std::filesystem::remove_all(tmpl);
}

// perfProfiling on a module compiled in parts: LLVM's perf listener (a
// process-wide jitdump under JITDUMPDIR) names the functions of every part.
TEST(CpuExecutable, PerfProfilingNamesTheFunctionsOfEveryPart) {
  char tmpl[] = "/tmp/bregman_perf_parts_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::filesystem::path root = tmpl;
  ::setenv("JITDUMPDIR", root.c_str(), 1);
  auto exe = compile(program(kNoGlobal, kReadNothing), 3, {}, false,
                     /*perfProfiling=*/true);
  ::unsetenv("JITDUMPDIR");
  ASSERT_TRUE(static_cast<bool>(exe)) << llvm::toString(exe.takeError());
  EXPECT_EQ((*exe)->phases().parts, 3u);
  std::string dump;
  for (const auto &entry : std::filesystem::recursive_directory_iterator(root))
    if (entry.path().extension() == ".dump") {
      std::ifstream in(entry.path(), std::ios::binary);
      dump.assign(std::istreambuf_iterator<char>(in), {});
    }
  for (const char *name : {"left", "right", "entry"})
    EXPECT_NE(dump.find(name), std::string::npos) << name;
  std::filesystem::remove_all(root);
}

} // namespace
