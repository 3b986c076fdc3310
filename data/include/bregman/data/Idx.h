//===- Idx.h - Reading IDX files (MNIST, Fashion-MNIST) ---------*- C++ -*-===//
//
// The IDX format stores one big-endian header followed by raw row-major data.
// MNIST-like data sets ship two kinds of IDX file:
//
//   images: magic 0x00000803 (ubyte, 3 dims), count, rows, cols, then
//           count*rows*cols pixel bytes;
//   labels: magic 0x00000801 (ubyte, 1 dim), count, then count label bytes.
//
// Files are read through zlib, so the gzip'd files the data sets are
// distributed as and their decompressed versions are both accepted.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_DATA_IDX_H
#define BREGMAN_DATA_IDX_H

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace bregman::data {

/// Every failure to read or validate a data file. The message always names
/// the offending file (or both files of a pair) and says what is wrong.
class DataError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
inline constexpr uint32_t kIdxImagesMagic = 0x00000803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
inline constexpr uint32_t kIdxLabelsMagic = 0x00000801;

/// The contents of an IDX images file: `count` images of `rows` x `cols`
/// pixels, stored image after image, each row-major.
struct IdxImages {
  std::vector<uint8_t> pixels; ///< count * rows * cols bytes.
  int64_t count = 0;
  int64_t rows = 0;
  int64_t cols = 0;
};

/// Reads an IDX images file (plain or gzip'd). Throws DataError when the file
/// is missing or unreadable, has the wrong magic number or data type byte, is
/// shorter than its header promises, or is a corrupt gzip stream. Bytes after
/// the promised data are ignored.
IdxImages readIdxImages(const std::string &path);

/// Reads an IDX labels file (plain or gzip'd), with the same checks as
/// readIdxImages. Label values are returned as stored; they are not checked
/// against any number of classes.
std::vector<uint8_t> readIdxLabels(const std::string &path);

} // namespace bregman::data

#endif // BREGMAN_DATA_IDX_H
