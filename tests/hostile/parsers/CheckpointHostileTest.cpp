//===- CheckpointHostileTest.cpp - Hostile checkpoints -------------------===//
//
// Each case makes a checkpoint (a good one, then damaged) and asserts the
// exact error loadCheckpoint gives; no case may abort or allocate what the
// file does not hold.
//
//===----------------------------------------------------------------------===//

#include "HostileSupport.h"

#include "bregman/Checkpoint.h"
#include "bregman/Error.h"
#include "bregman/Tensor.h"

#include <cstring>
#include <fmt/format.h>

using namespace bregman;
using namespace bregman::hostile;

namespace {

class HostileCheckpoint : public Scratch {
protected:
  /// A good checkpoint's bytes: two sections, three tensors.
  std::string good() {
    Checkpoint c;
    c.metadata = R"({"epoch": 2})";
    Params params;
    params.add("fc.weight", Tensor::fromVector(std::vector<float>{1, 2, 3, 4}, {2, 2}));
    params.add("fc.bias", Tensor::fromVector(std::vector<float>{5, 6}, {2}));
    Params state;
    state.add("v", Tensor::fromVector(std::vector<float>{7, 8}, {2}));
    c.sections = {{"params", params}, {"state", state}};
    std::string path = (dir / "good.ckpt").string();
    saveCheckpoint(path, c);
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  /// `bytes` with the JSON header replaced by `header`.
  static std::string withHeader(const std::string &bytes, const std::string &header) {
    uint64_t size;
    std::memcpy(&size, bytes.data() + 12, 8);
    std::string out = bytes.substr(0, 12);
    uint64_t newSize = header.size();
    out.append(reinterpret_cast<const char *>(&newSize), 8);
    return out + header + bytes.substr(20 + size);
  }
  static std::string header(const std::string &bytes) {
    uint64_t size;
    std::memcpy(&size, bytes.data() + 12, 8);
    return bytes.substr(20, size);
  }
};

struct Case {
  const char *name;
  std::function<std::string(const std::string &good)> damage;
  const char *message;
};

std::string replaced(std::string s, const std::string &from, const std::string &to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? s : s.replace(at, from.size(), to);
}

TEST_F(HostileCheckpoint, DamagedFilesSayWhatIsWrong) {
  std::string base = good();
  auto hdr = [&](const std::string &from, const std::string &to) {
    return [=](const std::string &b) { return withHeader(b, replaced(header(b), from, to)); };
  };
  std::vector<Case> cases = {
      {"ten bytes", [](const std::string &b) { return b.substr(0, 10); },
       "truncated checkpoint: 10 bytes, fewer than the 20 of its fixed header"},
      {"empty", [](const std::string &) { return std::string(); },
       "truncated checkpoint: 0 bytes"},
      {"not a checkpoint", [](const std::string &) { return std::string("hello world, not ours"); },
       "not a bregman checkpoint (bad magic)"},
      {"version 1",
       [](std::string b) { b[8] = 1; return b; },
       "checkpoint written by an older bregman (version 1); this build reads version 2"},
      {"version 9",
       [](std::string b) { b[8] = 9; return b; },
       "checkpoint written by a newer bregman (version 9); this build reads version 2"},
      {"header size 2^32",
       [](std::string b) { uint64_t s = uint64_t(1) << 32; std::memcpy(b.data() + 12, &s, 8); return b; },
       "truncated checkpoint: the header needs 4294967296 bytes, the file has"},
      {"header size 2^64-1",
       [](std::string b) { uint64_t s = ~uint64_t(0); std::memcpy(b.data() + 12, &s, 8); return b; },
       "truncated checkpoint: the header needs 18446744073709551615 bytes"},
      {"flipped bit in tensor data",
       [](std::string b) { b[b.size() - 3] ^= 0x10; return b; },
       "section 'state' is corrupt: its crc32 is"},
      {"flipped bit in the first section",
       [](std::string b) { b[b.size() - 9] ^= 0x01; return b; },
       "section 'params' is corrupt"},
      {"data cut short",
       [](const std::string &b) { return b.substr(0, b.size() - 4); },
       "truncated checkpoint (tensor 'state/v'): it needs bytes 24..32 of the data, which has 28"},
      {"huge shape", hdr("[2,2]", "[1000000,1000000,1000000]"),
       "tensor 'params/fc.weight' holds 16 bytes, its shape [1000000, 1000000, 1000000] needs"},
      {"offset past the end", hdr("\"offset\":0", "\"offset\":18446744073709551615"),
       "truncated checkpoint (tensor 'params/fc.weight'): it needs bytes 18446744073709551615"},
      {"negative dimension", hdr("[2,2]", "[-2,-2]"), "has a negative dimension"},
      {"unknown dtype", hdr("\"f32\"", "\"q7\""), "unknown element type 'q7'"},
      {"name of the wrong type", hdr("\"fc.bias\"", "17"), "malformed checkpoint header"},
      {"metadata not an object", hdr("{\"epoch\":2}", "[1]"),
       "the header and its metadata must be JSON objects"},
      {"no checksums", hdr("\"checksums\"", "\"sums\""), "malformed checkpoint header"},
      {"header not JSON", hdr("{", "<"), "malformed checkpoint header"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    std::string path = write("damaged.ckpt", c.damage(base));
    EXPECT_THROWS_WITH(Error, loadCheckpoint(path), c.message);
    EXPECT_THROWS_WITH(Error, loadCheckpoint(path), path);
  }
  // The good one still loads, with its values.
  std::string path = write("again.ckpt", base);
  Checkpoint c = loadCheckpoint(path);
  EXPECT_EQ(c.section("state").at("v").toVector<float>(), (std::vector<float>{7, 8}));
}

TEST_F(HostileCheckpoint, OnlyRegularFiles) {
  EXPECT_THROWS_WITH(Error, loadCheckpoint(fifo("pipe.ckpt")),
                     "the checkpoint must be a regular file, but this is a FIFO");
  EXPECT_THROWS_WITH(Error, loadCheckpoint(dir.string()),
                     "the checkpoint must be a regular file, but this is a directory");
  EXPECT_THROWS_WITH(Error, loadCheckpoint((dir / "missing").string()),
                     "cannot open the checkpoint: No such file or directory");
}

TEST_F(HostileCheckpoint, MetadataThatCannotBeReadBackIsNotWritten) {
  // A header the loader refuses ("metadata must be JSON objects") was written.
  for (const char *metadata : {"[1, 2]", "42", "\"s\"", "null"}) {
    Checkpoint c;
    c.metadata = metadata;
    std::string path = (dir / "meta.ckpt").string();
    EXPECT_THROWS_WITH(Error, saveCheckpoint(path, c),
                       "checkpoint metadata must be a JSON object");
    EXPECT_FALSE(std::filesystem::exists(path)) << metadata;
  }
}

} // namespace
