//===- Params.h - Named trees of tensors ------------------------*- C++ -*-===//
//
// Parameters, gradients and optimizer state are Params: tensors keyed by
// dotted names ("fc1.weight"), in insertion order. They are the trees that
// `jit` and `grad` flatten and rebuild.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_PARAMS_H
#define BREGMAN_PARAMS_H

#include "bregman/Tensor.h"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bregman {

/// Whether `s` ends with `suffix`: parameters are told apart by the last
/// part of their names (".weight", ".bias", ...).
inline bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Whether `name` is a weight ("fc1.weight"): what regularisers, sparsity
/// metrics and pruning are about (biases and batch-norm entries are not).
inline bool isWeightName(std::string_view name) {
  return endsWith(name, ".weight");
}

class Params {
public:
  using Entry = std::pair<std::string, Tensor>;

  Params() = default;
  Params(std::initializer_list<Entry> entries);

  /// Adds `name`; throws if it exists.
  void add(const std::string &name, Tensor tensor);
  /// Replaces or adds `name`.
  void set(const std::string &name, Tensor tensor);
  bool contains(const std::string &name) const;
  /// Throws an error naming the missing entry.
  const Tensor &at(const std::string &name) const;
  Tensor &at(const std::string &name);
  const Tensor &operator[](const std::string &name) const { return at(name); }

  /// The entries whose name starts with `prefix`, with the prefix removed.
  Params subtree(const std::string &prefix) const;
  /// Adds every entry of `other` under `prefix`.
  void merge(const std::string &prefix, const Params &other);

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<std::string> names() const;
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }
  auto begin() { return entries_.begin(); }
  auto end() { return entries_.end(); }
  /// Total number of elements.
  int64_t numel() const;
  /// Every tensor copied into its own buffer (Tensor::copy): copying Params
  /// shares the buffers, which a donating jit call overwrites.
  Params copy() const;

private:
  std::vector<Entry> entries_;
};

} // namespace bregman

#endif // BREGMAN_PARAMS_H
