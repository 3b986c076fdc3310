//===- Params.cpp - Named trees of tensors --------------------------------===//

#include "bregman/Params.h"

#include <fmt/format.h>

namespace bregman {

Params::Params(std::initializer_list<Entry> entries) {
  for (const auto &[name, tensor] : entries)
    add(name, tensor);
}

void Params::add(const std::string &name, Tensor tensor) {
  if (contains(name))
    throw Error(fmt::format("params: '{}' is already present", name));
  entries_.emplace_back(name, std::move(tensor));
}

void Params::set(const std::string &name, Tensor tensor) {
  for (auto &entry : entries_)
    if (entry.first == name) {
      entry.second = std::move(tensor);
      return;
    }
  entries_.emplace_back(name, std::move(tensor));
}

bool Params::contains(const std::string &name) const {
  for (const auto &entry : entries_)
    if (entry.first == name)
      return true;
  return false;
}

const Tensor &Params::at(const std::string &name) const {
  for (const auto &entry : entries_)
    if (entry.first == name)
      return entry.second;
  throw Error(fmt::format("params: no entry '{}' (have: {})", name,
                          fmt::join(names(), ", ")));
}

Tensor &Params::at(const std::string &name) {
  return const_cast<Tensor &>(static_cast<const Params &>(*this).at(name));
}

Params Params::subtree(const std::string &prefix) const {
  Params out;
  for (const auto &[name, tensor] : entries_)
    if (name.compare(0, prefix.size(), prefix) == 0)
      out.add(name.substr(prefix.size()), tensor);
  return out;
}

void Params::merge(const std::string &prefix, const Params &other) {
  for (const auto &[name, tensor] : other)
    add(prefix + name, tensor);
}

std::vector<std::string> Params::names() const {
  std::vector<std::string> out;
  for (const auto &entry : entries_)
    out.push_back(entry.first);
  return out;
}

int64_t Params::numel() const {
  int64_t n = 0;
  for (const auto &entry : entries_)
    n += entry.second.numel();
  return n;
}

Params Params::copy() const {
  Params out;
  for (const auto &[name, tensor] : entries_)
    out.add(name, tensor.copy());
  return out;
}

} // namespace bregman
