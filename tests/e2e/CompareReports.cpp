//===- CompareReports.cpp - Two JSON-lines training reports, field by field ===//
//
// `bregman_compare_reports EXPECTED ACTUAL [--ignore KEY]... [--rtol R]`:
// exits 0 when both reports have the same lines with the same keys and
// values (numbers within a relative tolerance), else prints every difference
// and exits 1. The behaviour tests use it to hold `bregman train`'s reports
// to the figures of a reference run (all but the wall-clock `seconds`).
//
//===----------------------------------------------------------------------===//

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

using nlohmann::json;

namespace {

std::vector<json> readLines(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  std::vector<json> lines;
  std::string text;
  for (int n = 1; std::getline(in, text); ++n) {
    try {
      lines.push_back(json::parse(text));
    } catch (const json::exception &e) {
      throw std::runtime_error(path + ":" + std::to_string(n) + ": " + e.what());
    }
  }
  return lines;
}

struct Comparer {
  std::set<std::string> ignored;
  double rtol = 1e-9;
  int differences = 0;

  void differ(const std::string &where, const json &a, const json &b) {
    std::cout << where << ": expected " << a.dump() << ", got " << b.dump()
              << "\n";
    ++differences;
  }

  void compare(const std::string &where, const json &a, const json &b) {
    if (a.is_number() && b.is_number()) {
      double x = a.get<double>(), y = b.get<double>();
      if (std::fabs(x - y) > rtol * std::max(std::fabs(x), std::fabs(y)))
        differ(where, a, b);
    } else if (a.is_object() && b.is_object()) {
      std::set<std::string> keys;
      for (const auto &[k, v] : a.items())
        keys.insert(k);
      for (const auto &[k, v] : b.items())
        keys.insert(k);
      for (const std::string &k : keys) {
        if (ignored.count(k))
          continue;
        if (!a.contains(k) || !b.contains(k))
          differ(where + "." + k, a.value(k, json()), b.value(k, json()));
        else
          compare(where + "." + k, a[k], b[k]);
      }
    } else if (a.is_array() && b.is_array() && a.size() == b.size()) {
      for (size_t i = 0; i < a.size(); ++i)
        compare(where + "[" + std::to_string(i) + "]", a[i], b[i]);
    } else if (a != b) {
      differ(where, a, b);
    }
  }
};

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> files;
  Comparer comparer;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--ignore" && i + 1 < argc)
      comparer.ignored.insert(argv[++i]);
    else if (arg == "--rtol" && i + 1 < argc)
      comparer.rtol = std::stod(argv[++i]);
    else
      files.push_back(arg);
  }
  if (files.size() != 2) {
    std::cerr << "usage: bregman_compare_reports EXPECTED ACTUAL "
                 "[--ignore KEY]... [--rtol R]\n";
    return 2;
  }
  try {
    std::vector<json> expected = readLines(files[0]), actual = readLines(files[1]);
    if (expected.size() != actual.size()) {
      std::cout << "expected " << expected.size() << " lines, got "
                << actual.size() << "\n";
      return 1;
    }
    for (size_t i = 0; i < expected.size(); ++i)
      comparer.compare("line " + std::to_string(i + 1), expected[i], actual[i]);
  } catch (const std::exception &e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  if (comparer.differences)
    std::cout << comparer.differences << " difference(s) from " << files[0]
              << " (the reference run's figures; regenerate with "
                 "tests/e2e/golden/README.md if a change is intended)\n";
  else
    std::cout << "same figures as " << files[0] << "\n";
  return comparer.differences ? 1 : 0;
}
