//===- HostileSupport.h - Helpers of the hostile parser tests ----*- C++ -*-===//
//
// A scratch directory per test, files and FIFOs made in it, and the check
// every case makes: the call throws, and the message holds the exact text.
//
//===----------------------------------------------------------------------===//

#ifndef BREGMAN_TESTS_HOSTILE_PARSERS_HOSTILESUPPORT_H
#define BREGMAN_TESTS_HOSTILE_PARSERS_HOSTILESUPPORT_H

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace bregman::hostile {

namespace fs = std::filesystem;

/// A fresh directory, removed after the test.
class Scratch : public ::testing::Test {
protected:
  void SetUp() override {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir = fs::temp_directory_path() /
          (std::string("bregman-hostile-") + info->test_suite_name() + "-" + info->name() +
           "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string write(const std::string &name, const std::string &bytes) {
    std::string path = (dir / name).string();
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    return path;
  }
  std::string fifo(const std::string &name) {
    std::string path = (dir / name).string();
    EXPECT_EQ(::mkfifo(path.c_str(), 0600), 0);
    return path;
  }
  fs::path dir;
};

/// The message of what `f` throws as E ("" and a failure when nothing or
/// something else is thrown).
template <typename E> std::string thrown(const std::function<void()> &f) {
  try {
    f();
  } catch (const E &e) {
    return e.what();
  } catch (const std::exception &e) {
    ADD_FAILURE() << "threw another type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "did not throw";
  return "";
}

} // namespace bregman::hostile

#define EXPECT_THROWS_WITH(E, statement, text)                                             \
  do {                                                                                     \
    std::string message_ = ::bregman::hostile::thrown<E>([&] { statement; });              \
    EXPECT_NE(message_.find(text), std::string::npos)                                      \
        << "message: " << message_ << "\nexpected: " << (text);                            \
  } while (0)

#endif // BREGMAN_TESTS_HOSTILE_PARSERS_HOSTILESUPPORT_H
