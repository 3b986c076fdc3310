//===- CompileCacheFuzzer.cpp - libFuzzer target for compile cache entries ===//
//
// Each input is parsed as a compile cache entry (breg::parseCachedCompilation)
// twice: as it is (the header and checksum checks), and with a correct
// SHA-256 appended, so that the counts and lengths behind the checksum are
// reached too. An llvm::Error is the only documented failure; a crash, leak
// or hang is a finding, and so is an entry that parses but does not
// serialize back to the same bytes.
//
//===----------------------------------------------------------------------===//

#include "breg/Jit/CompileCache.h"

#include "llvm/Support/SHA256.h"

#include <cstdint>
#include <string>

namespace {
void parseOne(const std::string &bytes) {
  auto parsed = mlir::breg::parseCachedCompilation(bytes, "fuzz input");
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return;
  }
  if (mlir::breg::serializeCachedCompilation(*parsed) != bytes)
    __builtin_trap(); // what was read is not what was there
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  parseOne(bytes);
  auto digest = llvm::SHA256::hash(llvm::ArrayRef<uint8_t>(data, size));
  parseOne(bytes + std::string(digest.begin(), digest.end()));
  return 0;
}
