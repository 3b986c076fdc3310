//===- Idx.cpp - Reading IDX files (MNIST, Fashion-MNIST) -----------------===//
//
// All reads go through zlib's gz* interface: it decompresses gzip'd files and
// passes plain files through unchanged, so one code path serves both.
//
//===----------------------------------------------------------------------===//

#include "bregman/data/Idx.h"
#include "bregman/runtime/InputFile.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

using namespace bregman::data;

namespace {

/// An open gzFile that reports every failure as a DataError naming the path.
class GzReader {
public:
  explicit GzReader(const std::string &path) : path_(path) {
    namespace fs = std::filesystem;
    // gzopen on a directory succeeds (open(2) allows it) and only the first
    // read fails, with a less helpful message; catch the common cases early.
    std::error_code ec;
    fs::file_status st = fs::status(path, ec);
    if (st.type() == fs::file_type::not_found)
      throw DataError(fmt::format("{}: cannot open: no such file", path));
    if (st.type() == fs::file_type::directory)
      throw DataError(fmt::format("{}: cannot open: is a directory", path));
    // A FIFO would block gzopen forever.
    bregman::runtime::requireRegularFile<DataError>(path, "IDX file");
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (!file_)
      throw DataError(
          fmt::format("{}: cannot open: {}", path,
                      errno ? std::strerror(errno) : "out of memory"));
    // A larger buffer than zlib's 8 KiB default: the files are read whole.
    gzbuffer(file_, 1 << 20);
    fileBytes_ = static_cast<uint64_t>(fs::file_size(path, ec));
  }
  GzReader(const GzReader &) = delete;
  GzReader &operator=(const GzReader &) = delete;
  ~GzReader() { gzclose_r(file_); }

  /// Reads up to n bytes; fewer only at the end of the data. Throws on read
  /// errors and corrupt gzip streams. After a short read, streamCutShort()
  /// says whether the compressed stream itself ended early.
  std::size_t read(void *dst, std::size_t n) {
    auto *out = static_cast<unsigned char *>(dst);
    std::size_t total = 0;
    while (total < n) {
      // gzread takes an unsigned and returns an int: stay well below INT_MAX.
      unsigned chunk = static_cast<unsigned>(
          std::min<std::size_t>(n - total, std::size_t(1) << 30));
      int got = gzread(file_, out + total, chunk);
      // gzread returns partial data before reporting an error, so the error
      // state must be checked on every short read, not only on -1.
      if (got < static_cast<int>(chunk))
        checkError();
      if (got <= 0)
        break;
      total += static_cast<std::size_t>(got);
      if (got < static_cast<int>(chunk))
        break;
    }
    return total;
  }

  /// Reads on past the data a caller needs, which makes zlib finish the
  /// gzip stream and verify its CRC and length trailer: a reader that stops
  /// exactly at the last needed byte would never see a corrupt trailer.
  /// Whatever follows the data is ignored.
  void finish() {
    unsigned char probe[256];
    (void)read(probe, sizeof(probe));
    // All the data arrived but the CRC never did: still a truncated file.
    if (cutShort_)
      throw DataError(fmt::format("{}: truncated file: the gzip stream ends "
                                  "before its CRC trailer",
                                  path_));
  }

  bool streamCutShort() const { return cutShort_; }
  const std::string &path() const { return path_; }
  /// Whether the file is read as is (not a gzip stream); known after the
  /// first read.
  bool plain() const { return gzdirect(file_) == 1; }
  /// The file's size on disk.
  uint64_t fileBytes() const { return fileBytes_; }

private:
  void checkError() {
    int errnum = Z_OK;
    std::string msg = gzerror(file_, &errnum);
    // zlib prefixes its messages with the path, which ours already name.
    if (msg.rfind(path_ + ": ", 0) == 0)
      msg.erase(0, path_.size() + 2);
    switch (errnum) {
    case Z_OK:
      return;
    case Z_BUF_ERROR:
      // The input ended in the middle of a gzip stream: a truncated .gz
      // file. Reported by the caller, which knows how much was expected.
      cutShort_ = true;
      return;
    case Z_ERRNO:
      throw DataError(
          fmt::format("{}: read error: {}", path_, std::strerror(errno)));
    case Z_DATA_ERROR:
      throw DataError(fmt::format("{}: corrupt gzip stream: {}", path_, msg));
    case Z_MEM_ERROR:
      throw DataError(fmt::format("{}: out of memory while reading", path_));
    default:
      throw DataError(fmt::format("{}: read error: {}", path_, msg));
    }
  }

  std::string path_;
  gzFile file_ = nullptr;
  uint64_t fileBytes_ = 0;
  bool cutShort_ = false;
};

/// " (the gzip stream ends early)" when it does: tells a truncated download
/// apart from a well-formed file with too little data in it.
std::string cutShortNote(const GzReader &in) {
  return in.streamCutShort() ? " (the gzip stream ends early)" : "";
}

uint32_t bigEndian32(const unsigned char *p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) |
         (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

/// Reads the magic number and `dims` dimension sizes, checking the magic.
std::vector<uint64_t> readHeader(GzReader &in, uint32_t expectedMagic,
                                 const char *kind) {
  const std::string &path = in.path();
  unsigned dims = expectedMagic & 0xff;
  unsigned char header[4 * 4];
  std::size_t need = 4 * (1 + dims);
  std::size_t got = in.read(header, need);
  // Check the magic as soon as it is there, so that a wrong kind of file is
  // reported as such rather than as a short header.
  if (got >= 4) {
    uint32_t magic = bigEndian32(header);
    if (magic != expectedMagic) {
      unsigned type = (magic >> 8) & 0xff;
      if ((magic >> 16) == 0 && (magic & 0xff) == dims && type != 0x08)
        throw DataError(fmt::format(
            "{}: unsupported IDX data type byte 0x{:02X} in magic number "
            "0x{:08X} (expected 0x08, unsigned byte, as in 0x{:08X} for IDX "
            "{})",
            path, type, magic, expectedMagic, kind));
      std::string hint;
      if (magic == kIdxImagesMagic)
        hint = "; this looks like an IDX images file";
      else if (magic == kIdxLabelsMagic)
        hint = "; this looks like an IDX labels file";
      else if ((magic >> 16) == 0x1f8b)
        hint = "; this looks like a gzip stream inside a gzip stream";
      throw DataError(fmt::format(
          "{}: wrong magic number 0x{:08X} (expected 0x{:08X} for IDX {}{})",
          path, magic, expectedMagic, kind, hint));
    }
  }
  if (got < need)
    throw DataError(fmt::format("{}: truncated file: the IDX {} header needs "
                                "{} bytes but only {} were found{}",
                                path, kind, need, got, cutShortNote(in)));
  std::vector<uint64_t> sizes;
  for (unsigned d = 0; d < dims; ++d)
    sizes.push_back(bigEndian32(header + 4 * (d + 1)));
  return sizes;
}

/// The payload's bytes (one per element: the product of `dims`), checked
/// before anything is allocated or read: the product must not overflow, a
/// plain file must hold it after its `headerBytes`, and it must fit the
/// memory limit (a gzip stream's length is unknown until it is read, so
/// only the limit bounds it; readPayload then grows with the data).
uint64_t checkedPayloadBytes(const GzReader &in, const std::vector<uint64_t> &dims,
                             uint64_t headerBytes, const std::string &promise) {
  uint64_t bytes = 1;
  for (uint64_t d : dims)
    if (__builtin_mul_overflow(bytes, d, &bytes))
      throw DataError(fmt::format("{}: implausible IDX header: {} would need more than "
                                  "2^64 bytes",
                                  in.path(), promise));
  uint64_t available = in.fileBytes() - std::min(in.fileBytes(), headerBytes);
  if (in.plain() && bytes > available)
    throw DataError(fmt::format("{}: truncated file: the header promises {} ({} bytes of "
                                "data) but only {} bytes follow the header",
                                in.path(), promise, bytes, available));
  bregman::runtime::requireAllocation<DataError>(
      static_cast<long double>(bytes), 1, fmt::format("{}: {}", in.path(), promise));
  return bytes;
}

/// Reads exactly `expected` payload bytes or throws a truncation error;
/// `promise` describes what the header promised, for the message.
std::vector<uint8_t> readPayload(GzReader &in, uint64_t expected,
                                 const std::string &promise) {
  std::vector<uint8_t> out;
  // Grow as data arrives rather than trusting the header up front: a
  // corrupt header must give a truncation error, not a huge allocation.
  constexpr uint64_t chunk = uint64_t(16) << 20;
  out.reserve(static_cast<std::size_t>(std::min(expected, chunk)));
  uint64_t got = 0;
  while (got < expected) {
    uint64_t want = std::min(chunk, expected - got);
    out.resize(static_cast<std::size_t>(got + want));
    std::size_t r = in.read(out.data() + got, static_cast<std::size_t>(want));
    got += r;
    if (r < want)
      break;
  }
  if (got < expected)
    throw DataError(fmt::format(
        "{}: truncated file: the header promises {} ({} bytes of data) but "
        "only {} bytes were found{}",
        in.path(), promise, expected, got, cutShortNote(in)));
  return out;
}

} // namespace

IdxImages bregman::data::readIdxImages(const std::string &path) {
  GzReader in(path);
  std::vector<uint64_t> dims = readHeader(in, kIdxImagesMagic, "images");
  uint64_t count = dims[0], rows = dims[1], cols = dims[2];
  std::string promise = fmt::format("{} images of {}x{}", count, rows, cols);
  uint64_t bytes = checkedPayloadBytes(in, dims, 16, promise);
  IdxImages images;
  images.pixels = readPayload(in, bytes, promise);
  in.finish();
  images.count = static_cast<int64_t>(count);
  images.rows = static_cast<int64_t>(rows);
  images.cols = static_cast<int64_t>(cols);
  return images;
}

std::vector<uint8_t> bregman::data::readIdxLabels(const std::string &path) {
  GzReader in(path);
  std::vector<uint64_t> dims = readHeader(in, kIdxLabelsMagic, "labels");
  std::string promise = fmt::format("{} labels", dims[0]);
  std::vector<uint8_t> labels =
      readPayload(in, checkedPayloadBytes(in, dims, 8, promise), promise);
  in.finish();
  return labels;
}
