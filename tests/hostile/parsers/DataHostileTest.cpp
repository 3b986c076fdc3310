//===- DataHostileTest.cpp - Hostile IDX files and CIFAR-10 batches ------===//

#include "HostileSupport.h"

#include "bregman/data/Dataset.h"
#include "bregman/data/Idx.h"

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
       "truncated file: the header promises 4294967295 images of 65535x65535"},
      {"short header", "", be32(0x803) + be32(1), "truncated file: the IDX images header needs 16 bytes but only 8"},
      {"wrong magic", "", be32(0x801) + be32(1) + "x", "this looks like an IDX labels file"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    std::string path = write("images.idx", c.bytes);
    EXPECT_THROWS_WITH(DataError, readIdxImages(path), c.message);
  }
  EXPECT_THROWS_WITH(DataError, readIdxImages(fifo("pipe.idx")),
                     "the IDX file must be a regular file, but this is a FIFO");
  EXPECT_THROWS_WITH(DataError, readIdxLabels(fifo("labels.idx")),
                     "the IDX file must be a regular file, but this is a FIFO");
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
