//===- CompileCacheFormat.cpp - The bytes of a compile cache entry --------===//
//
// Kept apart from the JIT (LLVM Support only), so that the fuzz target
// compiles exactly this parser.
//
//===----------------------------------------------------------------------===//

#include "breg/Jit/CompileCache.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SHA256.h"

#include <cstdlib>
#include <cstring>
#include <limits>

using namespace mlir::breg;

namespace {
constexpr llvm::StringLiteral kMagic = "BREGJIT2";
constexpr uint64_t kMaxKeyBytes = 256; // a SHA-256 in hex is 64
constexpr size_t kChecksumBytes = 32;
// Bounds checked before anything is allocated: a step has at most a few
// hundred public functions and one object per compile thread.
constexpr uint64_t kMaxNames = 1 << 16, kMaxNameBytes = 1 << 12;
constexpr uint64_t kMaxObjects = 1 << 10;

void appendU64(std::string &out, uint64_t value) {
  for (int byte = 0; byte < 8; ++byte)
    out.push_back(static_cast<char>((value >> (8 * byte)) & 0xff));
}

void appendBytes(std::string &out, llvm::StringRef bytes) {
  appendU64(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}

std::string checksum(llvm::StringRef bytes) {
  auto digest = llvm::SHA256::hash(llvm::arrayRefFromStringRef(bytes));
  return std::string(digest.begin(), digest.end());
}

/// Reads what an entry holds, front to back, never past its end.
class Reader {
public:
  Reader(llvm::StringRef bytes, llvm::StringRef origin)
      : rest(bytes), origin(origin) {}

  llvm::Error u64(uint64_t &value, const std::string &what) {
    if (rest.size() < 8)
      return fail(what + " is cut off");
    value = 0;
    for (int byte = 0; byte < 8; ++byte)
      value |= uint64_t(static_cast<unsigned char>(rest[byte])) << (8 * byte);
    rest = rest.drop_front(8);
    return llvm::Error::success();
  }

  llvm::Error bytes(std::string &out, uint64_t limit, const std::string &what) {
    uint64_t size = 0;
    if (llvm::Error err = u64(size, what + "'s length"))
      return err;
    if (size > limit)
      return fail(what + " claims " + std::to_string(size) +
                  " bytes, more than the " + std::to_string(limit) +
                  " allowed");
    if (size > rest.size())
      return fail(what + " claims " + std::to_string(size) +
                  " bytes, but only " + std::to_string(rest.size()) +
                  " are left");
    out.assign(rest.data(), size);
    rest = rest.drop_front(size);
    return llvm::Error::success();
  }

  /// A count of items that each take at least their 8-byte length: at
  /// most `limit`, and no more than the bytes left can hold (checked before
  /// the caller allocates them).
  llvm::Error count(uint64_t &value, uint64_t limit,
                    const std::string &what) {
    if (llvm::Error err = u64(value, what))
      return err;
    if (value > limit)
      return fail(what + " is " + std::to_string(value) + ", more than " +
                  std::to_string(limit));
    if (value > rest.size() / 8)
      return fail(what + ", " + std::to_string(value) +
                  ", is more than the bytes left can hold");
    return llvm::Error::success();
  }

  bool atEnd() const { return rest.empty(); }

  llvm::Error fail(const llvm::Twine &message) const {
    return llvm::createStringError(origin + ": " + message);
  }

private:
  llvm::StringRef rest;
  std::string origin;
};
} // namespace

llvm::Error
mlir::breg::checkCachedCompilation(const CachedCompilation &compilation) {
  if (compilation.entryNames.size() > kMaxNames ||
      compilation.objects.size() > kMaxObjects)
    return llvm::createStringError(
        "a compilation of " + std::to_string(compilation.entryNames.size()) +
        " functions in " + std::to_string(compilation.objects.size()) +
        " objects is more than an entry holds (" + std::to_string(kMaxNames) +
        ", " + std::to_string(kMaxObjects) + ")");
  for (const std::string &name : compilation.entryNames)
    if (name.size() > kMaxNameBytes)
      return llvm::createStringError("a function name of " +
                                     std::to_string(name.size()) +
                                     " bytes is longer than an entry holds");
  return llvm::Error::success();
}

std::string
mlir::breg::serializeCachedCompilation(const CachedCompilation &compilation) {
  std::string out(kMagic);
  appendBytes(out, compilation.key);
  appendU64(out, compilation.entryNames.size());
  for (const std::string &name : compilation.entryNames)
    appendBytes(out, name);
  appendU64(out, compilation.objects.size());
  for (const std::string &object : compilation.objects)
    appendBytes(out, object);
  out += checksum(out);
  return out;
}

llvm::Expected<CachedCompilation>
mlir::breg::parseCachedCompilation(llvm::StringRef bytes,
                                   llvm::StringRef origin) {
  Reader header(bytes, origin);
  if (!bytes.starts_with(kMagic))
    return header.fail(looksLikeCacheEntry(bytes)
                           ? "an entry of another bregman version (" +
                                 bytes.take_front(kMagic.size()).str() +
                                 ", not BREGJIT2)"
                           : "not a bregman compile cache entry (no BREGJIT2 "
                             "header)");
  if (bytes.size() < kMagic.size() + kChecksumBytes)
    return header.fail("cut off before its checksum");
  llvm::StringRef body = bytes.drop_back(kChecksumBytes);
  if (checksum(body) != bytes.take_back(kChecksumBytes))
    return header.fail("its checksum does not match its contents (a damaged "
                       "or partly written entry)");
  Reader in(body.drop_front(kMagic.size()), origin);
  CachedCompilation compilation;
  if (llvm::Error err = in.bytes(compilation.key, kMaxKeyBytes, "the key"))
    return std::move(err);
  uint64_t names = 0, objects = 0;
  if (llvm::Error err = in.count(names, kMaxNames, "the count of functions"))
    return std::move(err);
  compilation.entryNames.resize(names);
  for (std::string &name : compilation.entryNames)
    if (llvm::Error err = in.bytes(name, kMaxNameBytes, "a function name"))
      return std::move(err);
  if (llvm::Error err = in.count(objects, kMaxObjects, "the count of objects"))
    return std::move(err);
  compilation.objects.resize(objects);
  for (std::string &object : compilation.objects)
    if (llvm::Error err =
            in.bytes(object, std::numeric_limits<uint64_t>::max(),
                     "an object file")) // bounded by what is left
      return std::move(err);
  if (!in.atEnd())
    return in.fail("bytes after the last object file");
  return compilation;
}

bool mlir::breg::looksLikeCacheEntry(llvm::StringRef bytes) {
  return bytes.starts_with("BREGJIT");
}

llvm::Expected<std::string> mlir::breg::compileCacheDirectoryFromEnvironment() {
  const char *value = std::getenv("BREGMAN_COMPILE_CACHE");
  if (!value || !*value || std::strcmp(value, "0") == 0)
    return "";
  if (value[0] == '/')
    return std::string(value);
  if (std::strcmp(value, "1") != 0)
    return llvm::createStringError(
        std::string("BREGMAN_COMPILE_CACHE='") + value +
        "': expected 0, 1 or an absolute folder");
  // Relative bases are ignored, as XDG asks: the cache must not depend on
  // the current folder.
  if (const char *dir = std::getenv("BREGMAN_CACHE_DIR"); dir && *dir == '/')
    return std::string(dir) + "/jit";
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/')
    return std::string(xdg) + "/bregman/jit";
  if (const char *home = std::getenv("HOME"); home && *home == '/')
    return std::string(home) + "/.cache/bregman/jit";
  return llvm::createStringError(
      "BREGMAN_COMPILE_CACHE=1: no folder for it: none of BREGMAN_CACHE_DIR, "
      "XDG_CACHE_HOME and HOME is an absolute path (or name the folder: "
      "BREGMAN_COMPILE_CACHE=/a/folder)");
}
