//===- Checkpoint.cpp - Training checkpoints on disk ----------------------===//

#include "bregman/Checkpoint.h"

#include "bregman/runtime/Buffer.h"
#include "bregman/runtime/InputFile.h"
#include "bregman/runtime/SafeWrite.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <memory>
#include <sys/stat.h>
#include <zlib.h>
#include <fmt/format.h>
#include <unistd.h>

namespace bregman {

namespace {

constexpr char kMagic[8] = {'B', 'R', 'E', 'G', 'C', 'K', 'P', 'T'};
/// Version 2 added a crc32 per section ("checksums" in the header).
constexpr uint32_t kVersion = 2;

DType parseDType(const std::string &name, const std::string &path) {
  for (DType d : {DType::F32, DType::F64, DType::I32})
    if (name == dtypeName(d))
      return d;
  throw Error(fmt::format("{}: unknown element type '{}' in the checkpoint", path,
                          name));
}

/// crc32 of `size` more bytes; zlib takes at most 4 GiB a call.
uint32_t checksum(uint32_t crc, const void *data, uint64_t size) {
  const auto *p = static_cast<const Bytef *>(data);
  while (size > 0) {
    uInt chunk = static_cast<uInt>(std::min<uint64_t>(size, uint64_t(1) << 30));
    crc = static_cast<uint32_t>(::crc32(crc, p, chunk));
    p += chunk;
    size -= chunk;
  }
  return crc;
}

} // namespace

runtime::FileOwnershipCheck checkpointFiles() {
  return runtime::filesStartingWith(std::string(kMagic, sizeof(kMagic)),
                                    "a bregman checkpoint");
}

const Params &Checkpoint::section(const std::string &name) const {
  std::string known;
  for (const auto &[n, p] : sections) {
    if (n == name)
      return p;
    known += (known.empty() ? "" : ", ") + n;
  }
  throw Error(fmt::format("checkpoint: no section '{}' (it has: {})", name, known));
}

void saveCheckpoint(const std::string &path, const Checkpoint &checkpoint) {
  nlohmann::json header;
  try {
    header["metadata"] = nlohmann::json::parse(checkpoint.metadata);
  } catch (const nlohmann::json::exception &e) {
    throw Error(fmt::format("{}: checkpoint metadata is not JSON: {}", path, e.what()));
  }
  // loadCheckpoint reads only objects: refused here, not after writing.
  if (!header["metadata"].is_object())
    throw Error(fmt::format("{}: checkpoint metadata must be a JSON object, "
                            "not {}",
                            path, header["metadata"].type_name()));
  header["tensors"] = nlohmann::json::array();
  header["sections"] = nlohmann::json::array(); // empty ones included
  header["checksums"] = nlohmann::json::object(); // crc32 of each section's data
  for (const auto &[section, params] : checkpoint.sections) {
    header["sections"].push_back(section);
    uint32_t crc = static_cast<uint32_t>(::crc32(0, nullptr, 0));
    for (const auto &[name, t] : params)
      if (t.isConcrete())
        crc = checksum(crc, t.buffer()->data(),
                       static_cast<uint64_t>(t.numel() * dtypeSize(t.dtype())));
    header["checksums"][section] = crc;
  }
  uint64_t offset = 0;
  std::vector<const Tensor *> order;
  for (const auto &[section, params] : checkpoint.sections)
    for (const auto &[name, t] : params) {
      if (!t.isConcrete())
        throw Error(fmt::format("{}: tensor '{}/{}' is not concrete", path, section, name));
      uint64_t bytes = static_cast<uint64_t>(t.numel() * dtypeSize(t.dtype()));
      header["tensors"].push_back({{"section", section},
                                   {"name", name},
                                   {"dtype", dtypeName(t.dtype())},
                                   {"shape", t.shape()},
                                   {"offset", offset},
                                   {"bytes", bytes}});
      offset += bytes;
      order.push_back(&t);
    }
  std::string text = header.dump();
  uint64_t headerSize = text.size();

  // A unique temporary beside the destination, renamed over it: the previous
  // checkpoint stays until the new one is complete (SafeWrite.h).
  try {
    runtime::AtomicFile file(path, "writing the checkpoint", checkpointFiles());
    file.write(kMagic, sizeof(kMagic));
    file.write(&kVersion, sizeof(kVersion));
    file.write(&headerSize, sizeof(headerSize));
    file.write(text);
    for (const Tensor *t : order)
      file.write(t->buffer()->data(),
                 static_cast<size_t>(t->numel() * dtypeSize(t->dtype())));
    file.commit();
  } catch (const runtime::WriteError &e) {
    throw Error(e.what());
  }
}

namespace {

/// The fixed part before the JSON header: magic, version, header length.
constexpr uint64_t kFixedBytes = sizeof(kMagic) + sizeof(uint32_t) + sizeof(uint64_t);

/// Opens `path` and checks its fixed part against the file's size; leaves
/// the file at the JSON header and returns the header's length.
uint64_t readFixedPart(std::FILE *file, const std::string &path, uint64_t fileSize) {
  unsigned char fixed[kFixedBytes];
  size_t got = std::fread(fixed, 1, kFixedBytes, file);
  size_t magicBytes = std::min<size_t>(got, sizeof(kMagic));
  if (std::memcmp(fixed, kMagic, magicBytes) != 0)
    throw Error(fmt::format("{}: not a bregman checkpoint (bad magic)", path));
  if (got < kFixedBytes)
    throw Error(fmt::format("{}: truncated checkpoint: {} bytes, fewer than the {} "
                            "of its fixed header",
                            path, got, kFixedBytes));
  uint32_t version;
  uint64_t headerSize;
  std::memcpy(&version, fixed + 8, sizeof(version));
  std::memcpy(&headerSize, fixed + 12, sizeof(headerSize));
  if (version < kVersion)
    throw Error(fmt::format("{}: checkpoint written by an older bregman (version {}); "
                            "this build reads version {}",
                            path, version, kVersion));
  if (version != kVersion)
    throw Error(fmt::format("{}: checkpoint written by a newer bregman (version {}); "
                            "this build reads version {}",
                            path, version, kVersion));
  if (headerSize > fileSize - kFixedBytes)
    throw Error(fmt::format("{}: truncated checkpoint: the header needs {} bytes, "
                            "the file has {} after its fixed part",
                            path, headerSize, fileSize - kFixedBytes));
  return headerSize;
}

/// The section named `section` in `checkpoint`, appended if new.
Params &sectionOf(Checkpoint &checkpoint, const std::string &section) {
  auto it = std::find_if(checkpoint.sections.begin(), checkpoint.sections.end(),
                         [&](const auto &s) { return s.first == section; });
  if (it != checkpoint.sections.end())
    return it->second;
  checkpoint.sections.emplace_back(section, Params());
  return checkpoint.sections.back().second;
}

/// Reads one tensor entry of the header; sizes are checked against the file
/// and the memory limit before the tensor is allocated.
void readTensorEntry(const nlohmann::json &entry, std::FILE *file, const std::string &path,
                     uint64_t dataStart, uint64_t dataSize, Checkpoint &checkpoint,
                     std::map<std::string, uint32_t> &crcs) {
  std::string section = entry.at("section"), name = entry.at("name");
  DType dtype = parseDType(entry.at("dtype"), path);
  Shape shape = entry.at("shape").get<Shape>();
  uint64_t offset = entry.at("offset"), bytes = entry.at("bytes");
  long double numel = 1;
  for (int64_t d : shape) {
    if (d < 0)
      throw Error(fmt::format("{}: tensor '{}/{}' has a negative dimension",
                              path, section, name));
    numel *= static_cast<long double>(d);
  }
  long double needed = numel * dtypeSize(dtype);
  if (needed != static_cast<long double>(bytes))
    throw Error(fmt::format("{}: tensor '{}/{}' holds {} bytes, its shape "
                            "{} needs {:.0f}",
                            path, section, name, bytes, shapeString(shape), needed));
  if (offset > dataSize || bytes > dataSize - offset)
    throw Error(fmt::format("{}: truncated checkpoint (tensor '{}/{}'): it needs "
                            "bytes {}..{} of the data, which has {}",
                            path, section, name, offset, offset + bytes, dataSize));
  runtime::requireAllocation<Error>(numel, dtypeSize(dtype),
                                    fmt::format("{}: tensor '{}/{}'", path, section, name));
  Tensor t = Tensor::zeros(shape, dtype);
  if (std::fseek(file, static_cast<long>(dataStart + offset), SEEK_SET) != 0 ||
      std::fread(t.buffer()->data(), 1, bytes, file) != bytes)
    throw Error(fmt::format("{}: truncated checkpoint (tensor '{}/{}')", path,
                            section, name));
  uint32_t &crc = crcs.try_emplace(section, uint32_t(::crc32(0, nullptr, 0))).first->second;
  crc = checksum(crc, t.buffer()->data(), bytes);
  Params &target = sectionOf(checkpoint, section);
  if (target.contains(name))
    throw Error(fmt::format("{}: malformed checkpoint (tensor '{}/{}' is "
                            "listed twice)",
                            path, section, name));
  target.add(name, t);
}

} // namespace

Checkpoint loadCheckpoint(const std::string &path) {
  runtime::requireRegularFile<Error>(path, "checkpoint");
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    throw Error(fmt::format("{}: cannot open the checkpoint: {}", path,
                            std::strerror(errno)));
  std::unique_ptr<std::FILE, int (*)(std::FILE *)> closer(file, &std::fclose);
  struct stat st;
  uint64_t fileSize = ::fstat(::fileno(file), &st) == 0 ? uint64_t(st.st_size) : 0;
  uint64_t headerSize = readFixedPart(file, path, fileSize);
  std::string text(headerSize, '\0');
  if (std::fread(text.data(), 1, headerSize, file) != headerSize)
    throw Error(fmt::format("{}: truncated checkpoint header", path));
  uint64_t dataStart = kFixedBytes + headerSize, dataSize = fileSize - dataStart;
  Checkpoint checkpoint;
  try {
    nlohmann::json header = nlohmann::json::parse(text);
    if (!header.is_object() || !header.at("metadata").is_object())
      throw Error(fmt::format("{}: malformed checkpoint header: the header and its "
                              "metadata must be JSON objects",
                              path));
    checkpoint.metadata = header.at("metadata").dump();
    for (const auto &name : header.at("sections"))
      sectionOf(checkpoint, name.get<std::string>());
    std::map<std::string, uint32_t> crcs;
    for (const auto &entry : header.at("tensors"))
      readTensorEntry(entry, file, path, dataStart, dataSize, checkpoint, crcs);
    const nlohmann::json &stored = header.at("checksums");
    for (const auto &[section, params] : checkpoint.sections) {
      uint32_t computed = crcs.count(section) ? crcs[section] : uint32_t(::crc32(0, nullptr, 0));
      uint32_t expected = stored.at(section).get<uint32_t>();
      if (computed != expected)
        throw Error(fmt::format("{}: section '{}' is corrupt: its crc32 is {:08x}, the "
                                "checkpoint recorded {:08x}",
                                path, section, computed, expected));
    }
  } catch (const nlohmann::json::exception &e) {
    throw Error(fmt::format("{}: malformed checkpoint header: {}", path, e.what()));
  }
  return checkpoint;
}

} // namespace bregman
