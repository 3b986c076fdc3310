//===- DataHostileTest.cpp - Hostile IDX files and CIFAR-10 batches ------===//

#include "HostileSupport.h"

#include "bregman/data/Dataset.h"
#include "bregman/data/Idx.h"
#include "bregman/runtime/InputFile.h"

#include <zlib.h>

using namespace bregman::data;
using namespace bregman::hostile;

namespace {

using HostileData = Scratch;

std::string be32(uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

TEST_F(HostileData, IdxHeadersAndFiles) {
  struct Case {
    const char *name, *bytes_note;
    std::string bytes;
    const char *message;
  };
  std::vector<Case> cases = {
      {"huge promise", "", be32(0x803) + be32(0xffffffff) + be32(0xffff) + be32(0xffff),
       "truncated file: the header promises 4294967295 images of 65535x65535 "
       "(18446181123756261375 bytes of data) but only 0 bytes follow the header"},
      {"product overflows", "",
       be32(0x803) + be32(0xffffffff) + be32(0xffffffff) + be32(0xffffffff),
       "implausible IDX header: 4294967295 images of 4294967295x4294967295 would need "
       "more than 2^64 bytes"},
      {"plain file shorter than promised", "",
       be32(0x803) + be32(5) + be32(2) + be32(2) + std::string(12, '\1'),
       "truncated file: the header promises 5 images of 2x2 (20 bytes of data) but only "
       "12 bytes follow the header"},
      {"short header", "", be32(0x803) + be32(1), "truncated file: the IDX images header needs 16 bytes but only 8"},
      {"wrong magic", "", be32(0x801) + be32(1) + "x", "this looks like an IDX labels file"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    std::string path = write("images.idx", c.bytes);
    EXPECT_THROWS_WITH(DataError, readIdxImages(path), c.message);
  }
  EXPECT_THROWS_WITH(DataError,
                     readIdxLabels(write("short-labels.idx", be32(0x801) + be32(1000) + "abc")),
                     "short-labels.idx: truncated file: the header promises 1000 labels (1000 bytes "
                     "of data) but only 3 bytes follow the header");
  EXPECT_THROWS_WITH(DataError, readIdxImages(fifo("pipe.idx")),
                     "the IDX file must be a regular file, but this is a FIFO");
  EXPECT_THROWS_WITH(DataError, readIdxLabels(fifo("labels.idx")),
                     "the IDX file must be a regular file, but this is a FIFO");
}

/// A gzip'd file of `bytes`.
std::string gzipped(const std::string &path, const std::string &bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  EXPECT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(f);
  return path;
}

/// The memory limit for one test.
struct MemoryLimit {
  explicit MemoryLimit(uint64_t bytes) { bregman::runtime::setMemoryLimit(bytes); }
  ~MemoryLimit() { bregman::runtime::setMemoryLimit(0); }
};

// A gzip stream's length is unknown until it is read: only the memory limit
// stands between its header and the allocation. A plain file is checked
// against its size first, then against the limit.
TEST_F(HostileData, IdxHeadersAgainstTheMemoryLimit) {
  MemoryLimit limit(uint64_t(1) << 20);
  std::string header = be32(0x803) + be32(100000) + be32(100) + be32(100);
  std::string gz = gzipped((dir / "images.idx.gz").string(), header + std::string(64, '\0'));
  EXPECT_THROWS_WITH(
      DataError, readIdxImages(gz),
      "images.idx.gz: 100000 images of 100x100 would need 953.7 MiB of "
      "memory, more than the limit of 1.0 MiB (the memory this process may "
      "use: the machine's, ulimit -v, a container's; or "
      "BREGMAN_MEMORY_LIMIT)");
  std::string labels = be32(0x801) + be32(2 << 20) + std::string(2 << 20, '\1');
  EXPECT_THROWS_WITH(DataError, readIdxLabels(write("labels.idx", labels)),
                     "labels.idx: 2097152 labels would need 2.0 MiB of memory, more than "
                     "the limit of 1.0 MiB");
  std::string small = be32(0x801) + be32(3) + "\1\2\3";
  EXPECT_EQ(readIdxLabels(gzipped((dir / "small.gz").string(), small)).size(), 3u);
}

TEST_F(HostileData, CifarBatches) {
  ChannelNormalization norm{{0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}};
  std::string record = std::string(1, '\3') + std::string(3072, '\x10');
  EXPECT_THROWS_WITH(DataError, loadCifarBatch(write("short.bin", record.substr(1)), norm, -1),
                     "3072 bytes is not a whole number of 3073-byte CIFAR-10 records");
  EXPECT_THROWS_WITH(DataError,
                     loadCifarBatch(write("label.bin", std::string(1, '\x0b') + record.substr(1)),
                                    norm, -1),
                     "record 0 has label 11; CIFAR-10 labels are 0..9");
  EXPECT_THROWS_WITH(DataError, loadCifarBatch(fifo("pipe.bin"), norm, -1),
                     "the CIFAR-10 batch must be a regular file, but this is a FIFO");
  EXPECT_THROWS_WITH(DataError, loadCifarBatch(dir.string(), norm, -1),
                     "the CIFAR-10 batch must be a regular file, but this is a directory");
  EXPECT_EQ(loadCifarBatch(write("good.bin", record), norm, -1).count, 1);
}

} // namespace
