//===- Checkpoint.cpp - Training checkpoints on disk ----------------------===//

#include "bregman/Checkpoint.h"

#include "bregman/runtime/Buffer.h"
#include "bregman/runtime/SafeWrite.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <fmt/format.h>
#include <unistd.h>

namespace bregman {

namespace {

constexpr char kMagic[8] = {'B', 'R', 'E', 'G', 'C', 'K', 'P', 'T'};
constexpr uint32_t kVersion = 1;

DType parseDType(const std::string &name, const std::string &path) {
  for (DType d : {DType::F32, DType::F64, DType::I32})
    if (name == dtypeName(d))
      return d;
  throw Error(fmt::format("{}: unknown element type '{}' in the checkpoint", path,
                          name));
}

/// Writes all of `bytes` to `fd`; false on an error.
bool writeAll(int fd, const void *bytes, size_t size) {
  const char *p = static_cast<const char *>(bytes);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

} // namespace

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
  header["tensors"] = nlohmann::json::array();
  header["sections"] = nlohmann::json::array(); // empty ones included
  for (const auto &section : checkpoint.sections)
    header["sections"].push_back(section.first);
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
    runtime::AtomicFile file(path, "writing the checkpoint");
    int fd = file.fd();
    bool ok = writeAll(fd, kMagic, sizeof(kMagic)) &&
              writeAll(fd, &kVersion, sizeof(kVersion)) &&
              writeAll(fd, &headerSize, sizeof(headerSize)) &&
              writeAll(fd, text.data(), text.size());
    for (const Tensor *t : order)
      ok = ok && writeAll(fd, t->buffer()->data(),
                          static_cast<size_t>(t->numel() * dtypeSize(t->dtype())));
    if (!ok)
      file.fail(errno);
    file.commit();
  } catch (const runtime::WriteError &e) {
    throw Error(e.what());
  }
}

Checkpoint loadCheckpoint(const std::string &path) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    throw Error(fmt::format("{}: cannot open the checkpoint: {}", path,
                            std::strerror(errno)));
  std::unique_ptr<std::FILE, int (*)(std::FILE *)> closer(file, &std::fclose);
  char magic[8];
  uint32_t version = 0;
  uint64_t headerSize = 0;
  if (std::fread(magic, 1, 8, file) != 8 || std::memcmp(magic, kMagic, 8) != 0)
    throw Error(fmt::format("{}: not a bregman checkpoint (bad magic)", path));
  if (std::fread(&version, sizeof(version), 1, file) != 1 || version != kVersion)
    throw Error(fmt::format("{}: checkpoint version {} is not supported (this "
                            "build reads version {})",
                            path, version, kVersion));
  if (std::fread(&headerSize, sizeof(headerSize), 1, file) != 1 ||
      headerSize > (uint64_t(1) << 32))
    throw Error(fmt::format("{}: truncated checkpoint header", path));
  std::string text(headerSize, '\0');
  if (std::fread(text.data(), 1, headerSize, file) != headerSize)
    throw Error(fmt::format("{}: truncated checkpoint header", path));
  long dataStart = std::ftell(file);
  Checkpoint checkpoint;
  try {
    nlohmann::json header = nlohmann::json::parse(text);
    checkpoint.metadata = header.at("metadata").dump();
    for (const auto &name : header.at("sections"))
      checkpoint.sections.emplace_back(name.get<std::string>(), Params());
    for (const auto &entry : header.at("tensors")) {
      std::string section = entry.at("section"), name = entry.at("name");
      DType dtype = parseDType(entry.at("dtype"), path);
      Shape shape = entry.at("shape").get<Shape>();
      uint64_t offset = entry.at("offset"), bytes = entry.at("bytes");
      for (int64_t d : shape)
        if (d < 0)
          throw Error(fmt::format("{}: tensor '{}/{}' has a negative dimension",
                                  path, section, name));
      Tensor t = Tensor::zeros(shape, dtype);
      if (bytes != static_cast<uint64_t>(t.numel() * dtypeSize(dtype)))
        throw Error(fmt::format("{}: tensor '{}/{}' holds {} bytes, its shape "
                                "{} needs {}",
                                path, section, name, bytes, shapeString(shape),
                                t.numel() * dtypeSize(dtype)));
      if (std::fseek(file, dataStart + static_cast<long>(offset), SEEK_SET) != 0 ||
          std::fread(t.buffer()->data(), 1, bytes, file) != bytes)
        throw Error(fmt::format("{}: truncated checkpoint (tensor '{}/{}')", path,
                                section, name));
      auto it = std::find_if(checkpoint.sections.begin(), checkpoint.sections.end(),
                             [&](const auto &s) { return s.first == section; });
      if (it == checkpoint.sections.end()) {
        checkpoint.sections.emplace_back(section, Params());
        it = std::prev(checkpoint.sections.end());
      }
      it->second.add(name, t);
    }
  } catch (const nlohmann::json::exception &e) {
    throw Error(fmt::format("{}: malformed checkpoint header: {}", path, e.what()));
  }
  return checkpoint;
}

} // namespace bregman
