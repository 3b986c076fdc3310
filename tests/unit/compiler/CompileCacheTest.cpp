//===- CompileCacheTest.cpp - Compilations kept on disk --------------------===//
//
// CpuJitOptions::cacheDirectory: the first compilation stores an entry, the
// next one of the same module is linked from it (and runs), another module
// or other options get an entry of their own, a damaged entry is reported,
// not used and left as it is, and a folder that cannot be written costs the
// cache, not the compilation. And the entry format's parser on its own.
//
//===----------------------------------------------------------------------===//

#include "breg/Jit/CompileCache.h"
#include "JitTestContext.h"
#include "breg/Jit/CpuJit.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SHA256.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/stat.h>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;

/// f(x) = x · FACTOR + 1, in a module of two functions (so it may be cut).
std::string program(int factor) {
  return R"mlir(
module {
  llvm.func internal @scale(%x: i32) -> i32 attributes {passthrough = ["noinline"]} {
    %c = llvm.mlir.constant()mlir" +
         std::to_string(factor) + R"mlir( : i32) : i32
    %r = llvm.mul %x, %c : i32
    llvm.return %r : i32
  }
  llvm.func @f(%x: i32) -> i32 {
    %s = llvm.call @scale(%x) : (i32) -> i32
    %one = llvm.mlir.constant(1 : i32) : i32
    %r = llvm.add %s, %one : i32
    llvm.return %r : i32
  }
}
)mlir";
}

struct Outcome {
  int32_t value = 0;
  bool fromCache = false;
  std::string warnings; // what the compilation wrote to stderr
};

/// Compiles `program(factor)` with the cache in `dir` and calls f(5).
Outcome compileAndCall(int factor, const std::string &dir,
                             unsigned threads, unsigned optLevel) {
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(program(factor), &jitTestContext());
  EXPECT_TRUE(module);
  if (!module)
    return {};
  mlir::breg::CpuJitOptions options;
  options.pipelineText = "builtin.module(reconcile-unrealized-casts)";
  options.compileThreads = threads;
  options.cacheDirectory = dir;
  options.optLevel = optLevel;
  auto exe = mlir::breg::CpuExecutable::compile(*module, options);
  EXPECT_TRUE(static_cast<bool>(exe)) << llvm::toString(exe.takeError());
  if (!exe)
    return {};
  return {callI32(**exe, "f", 5), (*exe)->phases().fromCache, ""};
}

/// The same, with what it wrote to stderr (the cache's warnings).
Outcome compileAndRun(int factor, const std::string &dir, unsigned threads = 1,
                      unsigned optLevel = 2) {
  testing::internal::CaptureStderr();
  Outcome outcome = compileAndCall(factor, dir, threads, optLevel);
  outcome.warnings = testing::internal::GetCapturedStderr();
  return outcome;
}

/// What a cache entry that cannot be used gives: the function compiled
/// and right (f(5) = 7·5 + 1), not linked from the cache, and a warning
/// that says `why`.
void expectCompiledAround(const Outcome &run, const std::string &why) {
  EXPECT_EQ(run.value, 36);
  EXPECT_FALSE(run.fromCache);
  EXPECT_NE(run.warnings.find(why), std::string::npos) << run.warnings;
}

std::vector<fs::path> entries(const std::string &dir) {
  std::vector<fs::path> found;
  if (fs::exists(dir))
    for (const auto &e : fs::directory_iterator(dir))
      found.push_back(e.path());
  return found;
}

std::string readAll(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// A fresh folder under /tmp, removed (with what the tests put there) at
/// the end.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/bregman_compile_cache_XXXXXX";
    path = mkdtemp(tmpl) ? tmpl : "";
  }
  ~TempDir() {
    if (!path.empty())
      fs::remove_all(path);
  }
};

TEST(CompileCache, SecondCompilationIsLinkedFromTheEntry) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path.empty());
  // A folder that does not exist yet: created.
  std::string dir = tmp.path + "/nested/jit";
  for (unsigned threads : {1u, 2u}) {
    Outcome first = compileAndRun(7, dir, threads);
    EXPECT_EQ(first.value, 36);
    // One entry for the module, whichever thread count compiled it first.
    ASSERT_EQ(entries(dir).size(), 1u);
    Outcome second = compileAndRun(7, dir, threads);
    EXPECT_EQ(second.value, 36);
    EXPECT_TRUE(second.fromCache) << threads << " threads";
  }
}

TEST(CompileCache, AnotherModuleGetsAnEntryOfItsOwn) {
  TempDir tmp;
  Outcome a = compileAndRun(7, tmp.path), b = compileAndRun(9, tmp.path);
  EXPECT_EQ(a.value, 36);
  EXPECT_EQ(b.value, 46);
  EXPECT_FALSE(b.fromCache);
  EXPECT_EQ(entries(tmp.path).size(), 2u);
  EXPECT_EQ(compileAndRun(9, tmp.path).value, 46);
}

// The key holds the options: the same module at another optimization level
// is compiled, not linked from the first entry.
TEST(CompileCache, OtherOptionsGetAnEntryOfTheirOwn) {
  TempDir tmp;
  compileAndRun(7, tmp.path, 1, /*optLevel=*/2);
  Outcome other = compileAndRun(7, tmp.path, 1, /*optLevel=*/1);
  EXPECT_EQ(other.value, 36);
  EXPECT_FALSE(other.fromCache);
  EXPECT_EQ(entries(tmp.path).size(), 2u);
}

// An entry whose checksum is right but whose object does not link (written
// by a bregman with another idea of the format, say): reported, compiled
// around, left as it is.
TEST(CompileCache, EntryThatDoesNotLinkIsCompiledAround) {
  TempDir tmp;
  compileAndRun(7, tmp.path);
  std::vector<fs::path> found = entries(tmp.path);
  ASSERT_EQ(found.size(), 1u);
  mlir::breg::CachedCompilation junk;
  junk.key = found[0].stem().string();
  junk.entryNames = {"f"};
  junk.objects = {"not an object file"};
  std::string bytes = mlir::breg::serializeCachedCompilation(junk);
  { std::ofstream(found[0], std::ios::binary | std::ios::trunc) << bytes; }
  expectCompiledAround(compileAndRun(7, tmp.path), "does not link");
  EXPECT_EQ(readAll(found[0]), bytes);
}

// Entries are code this process runs: a folder that others may write into
// is not read from (nor written to).
TEST(CompileCache, FolderOthersCanWriteIsNotUsed) {
  TempDir tmp;
  compileAndRun(7, tmp.path);
  ASSERT_EQ(::chmod(tmp.path.c_str(), 0777), 0);
  expectCompiledAround(compileAndRun(7, tmp.path), "only this user can write");
  EXPECT_EQ(entries(tmp.path).size(), 1u);
}

// A symbolic link where the entry should be (to a file with a valid entry,
// even): not followed, reported, compiled around, left where it is.
TEST(CompileCache, LinkInPlaceOfAnEntryIsNotFollowed) {
  TempDir tmp;
  compileAndRun(7, tmp.path);
  std::vector<fs::path> found = entries(tmp.path);
  ASSERT_EQ(found.size(), 1u);
  fs::path target = tmp.path + "-elsewhere";
  fs::rename(found[0], target);
  fs::create_symlink(target, found[0]);
  expectCompiledAround(compileAndRun(7, tmp.path), "cannot read");
  EXPECT_TRUE(fs::is_symlink(found[0]));
  EXPECT_TRUE(fs::exists(target));
  fs::remove(target);
}

// An entry stored under another key (renamed, or copied from another
// entry) ran that entry's code: train steps printed accuracies of 261 %.
// It is compiled around and replaced by this key's entry.
TEST(CompileCache, AnEntryUnderAnotherKeyIsNotUsed) {
  TempDir tmp;
  compileAndRun(7, tmp.path);
  compileAndRun(9, tmp.path);
  std::vector<fs::path> found = entries(tmp.path);
  ASSERT_EQ(found.size(), 2u);
  fs::path swap = tmp.path + "/swap";
  fs::rename(found[0], swap);
  fs::rename(found[1], found[0]);
  fs::rename(swap, found[1]);
  Outcome seven = compileAndRun(7, tmp.path), nine = compileAndRun(9, tmp.path);
  EXPECT_EQ(seven.value, 36);
  EXPECT_FALSE(seven.fromCache);
  EXPECT_NE(seven.warnings.find("renamed or copied from another entry"),
            std::string::npos)
      << seven.warnings;
  EXPECT_FALSE(nine.fromCache);
  // Both replaced: the next compilations come from the cache.
  EXPECT_TRUE(compileAndRun(7, tmp.path).fromCache);
  EXPECT_TRUE(compileAndRun(9, tmp.path).fromCache);
}

// A file that is no entry at all (someone else's) is left as it is.
TEST(CompileCache, AFileThatIsNoEntryIsLeftAlone) {
  TempDir tmp;
  compileAndRun(7, tmp.path);
  std::vector<fs::path> found = entries(tmp.path);
  ASSERT_EQ(found.size(), 1u);
  { std::ofstream(found[0], std::ios::binary | std::ios::trunc) << "mine"; }
  expectCompiledAround(compileAndRun(7, tmp.path), "left as it is");
  EXPECT_EQ(readAll(found[0]), "mine");
}

TEST(CompileCache, DamagedEntryIsCompiledAroundAndReplaced) {
  TempDir tmp;
  compileAndRun(7, tmp.path);
  std::vector<fs::path> found = entries(tmp.path);
  ASSERT_EQ(found.size(), 1u);
  std::string bytes = readAll(found[0]);
  ASSERT_GT(bytes.size(), 100u);
  // One byte of the object changed, then the entry cut short.
  for (const std::string &damaged :
       {bytes.substr(0, 60) + char(bytes[60] ^ 0x5a) + bytes.substr(61),
        bytes.substr(0, bytes.size() / 2)}) {
    { std::ofstream(found[0], std::ios::binary | std::ios::trunc) << damaged; }
    Outcome run = compileAndRun(7, tmp.path);
    // The cache's own file (its header says so), unusable: replaced, so
    // that it does not cost a compilation every run.
    expectCompiledAround(run, "the entry is replaced");
    EXPECT_NE(run.warnings.find(found[0].string()), std::string::npos)
        << run.warnings;
    EXPECT_EQ(entries(tmp.path).size(), 1u); // no temporary left behind
    EXPECT_TRUE(compileAndRun(7, tmp.path).fromCache);
  }
}

TEST(CompileCache, UnwritableFolderCostsTheCacheNotTheCompilation) {
  TempDir tmp;
  std::string file = tmp.path + "/a-file";
  { std::ofstream(file) << "not a folder"; }
  Outcome run = compileAndRun(7, file + "/jit");
  const std::string &warning = run.warnings;
  EXPECT_EQ(run.value, 36);
  EXPECT_NE(warning.find("nothing cached"), std::string::npos) << warning;
  EXPECT_EQ(readAll(file), "not a folder");
  // Said once per process, not on every load and store.
  Outcome again = compileAndRun(7, file + "/jit");
  EXPECT_EQ(again.value, 36);
  EXPECT_EQ(again.warnings.find("nothing cached"), std::string::npos)
      << again.warnings;
}

TEST(CompileCacheFormat, RoundTripsAndRefusesWhatIsNotAnEntry) {
  mlir::breg::CachedCompilation c;
  c.key = "0123abcd";
  c.entryNames = {"f", "g"};
  c.objects = {std::string("\x7f" "ELF\0\1", 6), "second"};
  std::string bytes = mlir::breg::serializeCachedCompilation(c);
  auto back = mlir::breg::parseCachedCompilation(bytes, "entry");
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->key, c.key);
  EXPECT_EQ(back->entryNames, c.entryNames);
  EXPECT_EQ(back->objects, c.objects);

  auto refused = [](const std::string &input, const std::string &expected) {
    auto parsed = mlir::breg::parseCachedCompilation(input, "entry.bregjit");
    ASSERT_FALSE(static_cast<bool>(parsed)) << expected;
    std::string message = llvm::toString(parsed.takeError());
    EXPECT_NE(message.find("entry.bregjit: "), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  };
  refused("", "no BREGJIT2 header");
  refused("BREGJIT2", "cut off before its checksum");
  refused("BREGJIT1 and the rest of an older entry",
          "an entry of another bregman version (BREGJIT1, not BREGJIT2)");
  refused(bytes.substr(0, bytes.size() - 1), "checksum does not match");
  std::string flipped = bytes;
  flipped[12] ^= 1;
  refused(flipped, "checksum does not match");
  // Well-formed checksums over counts and lengths that do not hold.
  auto u64 = [](uint64_t v) {
    std::string out;
    for (int i = 0; i < 8; ++i)
      out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return out;
  };
  auto sealed = [](const std::string &body) {
    auto digest = llvm::SHA256::hash(llvm::arrayRefFromStringRef(body));
    return body + std::string(digest.begin(), digest.end());
  };
  refused(sealed("BREGJIT2" + u64(0) + u64(0) + u64(1) + u64(100) + "abc"),
          "an object file claims 100 bytes, but only 3 are left");
  refused(sealed("BREGJIT2" + u64(0) + u64(uint64_t(1) << 40)),
          "the count of functions is 1099511627776, more than 65536");
  refused(sealed("BREGJIT2" + u64(0) + u64(0) + u64(0) + "x"),
          "bytes after the last object file");
}

TEST(CompileCacheFormat, EnvironmentNamesTheFolderOrIsRefused) {
  auto withEnv = [](const char *value) {
    if (value)
      setenv("BREGMAN_COMPILE_CACHE", value, 1);
    else
      unsetenv("BREGMAN_COMPILE_CACHE");
    return mlir::breg::compileCacheDirectoryFromEnvironment();
  };
  auto folder = [&](const char *value) {
    auto dir = withEnv(value);
    EXPECT_TRUE(static_cast<bool>(dir)) << llvm::toString(dir.takeError());
    return dir ? *dir : std::string("(error)");
  };
  auto refusedWith = [&](const char *value, const std::string &expected) {
    auto dir = withEnv(value);
    ASSERT_FALSE(static_cast<bool>(dir)) << value;
    std::string message = llvm::toString(dir.takeError());
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  };
  std::vector<std::pair<const char *, std::string>> saved;
  for (const char *name : {"BREGMAN_CACHE_DIR", "XDG_CACHE_HOME", "HOME"})
    if (const char *value = std::getenv(name))
      saved.emplace_back(name, value);
  setenv("BREGMAN_CACHE_DIR", "/some/cache", 1);
  setenv("XDG_CACHE_HOME", "/xdg", 1);
  setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(folder(nullptr), "");
  EXPECT_EQ(folder("0"), "");
  EXPECT_EQ(folder("1"), "/some/cache/jit");
  EXPECT_EQ(folder("/elsewhere"), "/elsewhere");
  refusedWith("yes", "BREGMAN_COMPILE_CACHE='yes'");
  // Relative bases are skipped: the next one is used.
  setenv("BREGMAN_CACHE_DIR", "relative", 1);
  EXPECT_EQ(folder("1"), "/xdg/bregman/jit");
  unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(folder("1"), "/home/someone/.cache/bregman/jit");
  unsetenv("HOME");
  refusedWith("1", "none of BREGMAN_CACHE_DIR, XDG_CACHE_HOME and HOME");
  unsetenv("BREGMAN_COMPILE_CACHE");
  for (const char *name : {"BREGMAN_CACHE_DIR", "XDG_CACHE_HOME", "HOME"})
    unsetenv(name);
  for (const auto &[name, value] : saved)
    setenv(name, value.c_str(), 1);
}

} // namespace
