//===- ConnectionPicture.cpp - The connection matrix as a PNG -------------===//
//
// libpng's simplified API encodes the picture in memory; a text chunk
// (Software: bregman) is added after the header, so that a later run
// replaces its own pictures and nothing else; the file is written through
// runtime's AtomicFile, so a failed write leaves nothing half-written.
//
//===----------------------------------------------------------------------===//

#include "bregman/models/DenseNet.h"
#include "bregman/runtime/SafeWrite.h"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <png.h>
#include <vector>
#include <zlib.h>

namespace bregman::models {

namespace {

constexpr int64_t kCell = 24;  // pixels per matrix entry
constexpr int64_t kBorder = 1; // grid line between cells

/// The tEXt chunk's type and data: keyword, NUL, text.
const std::string kSoftwareChunk =
    std::string("tEXtSoftware") + '\0' + "bregman";
/// Where it goes: after the signature (8 bytes) and IHDR (12 + 13).
constexpr size_t kAfterHeader = 33;

void appendBigEndian(std::string &out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out += static_cast<char>((value >> shift) & 0xff);
}

/// `png` with the Software chunk after its header.
std::string withSoftwareChunk(const std::string &png) {
  std::string chunk;
  appendBigEndian(chunk, static_cast<uint32_t>(kSoftwareChunk.size() - 4));
  chunk += kSoftwareChunk;
  appendBigEndian(chunk,
                  static_cast<uint32_t>(::crc32(
                      0, reinterpret_cast<const Bytef *>(kSoftwareChunk.data()),
                      static_cast<uInt>(kSoftwareChunk.size()))));
  return png.substr(0, kAfterHeader) + chunk + png.substr(kAfterHeader);
}

struct Rgb {
  uint8_t r, g, b;
};

/// White: no live kernel (a connection switched off); light to dark blue
/// for a few to all kernels live (any live kernel is visibly blue); grey:
/// not read.
Rgb cellColour(double live) {
  if (std::isnan(live))
    return {200, 200, 200};
  double shade = live > 0 ? 0.3 + 0.7 * live : 0.0;
  auto mix = [&](double from, double to) {
    return static_cast<uint8_t>(std::lround(from + (to - from) * shade));
  };
  return {mix(255, 8), mix(255, 48), mix(255, 140)};
}

std::vector<uint8_t> renderPixels(const ConnectionMatrix &m, int64_t width,
                                  int64_t height) {
  std::vector<uint8_t> pixels(static_cast<size_t>(width * height * 3), 0);
  for (size_t r = 0; r < m.live.size(); ++r)
    for (size_t c = 0; c < m.live[r].size(); ++c) {
      Rgb colour = cellColour(m.live[r][c]);
      for (int64_t y = 0; y < kCell; ++y)
        for (int64_t x = 0; x < kCell; ++x) {
          int64_t py = kBorder + int64_t(r) * (kCell + kBorder) + y;
          int64_t px = kBorder + int64_t(c) * (kCell + kBorder) + x;
          uint8_t *p = &pixels[static_cast<size_t>((py * width + px) * 3)];
          p[0] = colour.r;
          p[1] = colour.g;
          p[2] = colour.b;
        }
    }
  return pixels;
}

} // namespace

void writeConnectionPng(const ConnectionMatrix &m, const std::string &path) {
  int64_t cols = m.sources.size(), rows = m.layers.size();
  int64_t width = kBorder + cols * (kCell + kBorder);
  int64_t height = kBorder + rows * (kCell + kBorder);
  std::vector<uint8_t> pixels = renderPixels(m, width, height);
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  // The first call measures, the second encodes.
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, pixels.data(), 0,
                                 nullptr))
    throw runtime::WriteError("the connection picture", path,
                              std::string("libpng: ") + image.message);
  std::string bytes(size, '\0');
  if (!png_image_write_to_memory(&image, bytes.data(), &size, 0, pixels.data(),
                                 0, nullptr))
    throw runtime::WriteError("the connection picture", path,
                              std::string("libpng: ") + image.message);
  bytes.resize(size);
  runtime::writeFileAtomically(path, "the connection picture",
                               withSoftwareChunk(bytes), connectionPictures());
}

runtime::FileOwnershipCheck connectionPictures() {
  return [](const std::string &path) -> std::string {
    std::ifstream in(path, std::ios::binary);
    std::string head(kAfterHeader + 4 + kSoftwareChunk.size(), '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    if (in && head.compare(kAfterHeader + 4, kSoftwareChunk.size(),
                           kSoftwareChunk) == 0)
      return "";
    return "is not a connection picture that bregman drew";
  };
}

} // namespace bregman::models
