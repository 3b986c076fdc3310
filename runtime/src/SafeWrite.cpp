//===- SafeWrite.cpp - Writers that destroy nothing they did not create ---===//

#include "bregman/runtime/SafeWrite.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace bregman::runtime {

namespace fs = std::filesystem;

namespace {

const char *kindOf(mode_t mode) {
  if (S_ISREG(mode))
    return "a regular file";
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISLNK(mode))
    return "a symbolic link";
  return "not a regular file";
}

/// The process's umask, read without changing it (umask(2) would, and other
/// threads may be creating files meanwhile).
mode_t currentUmask() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Umask:", 0) == 0)
      return static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8));
  return 022;
}

/// `path` without trailing slashes ("out/" names the directory "out").
std::string trimmed(std::string path) {
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  return path;
}

std::string temporaryPrefix(const std::string &path) {
  return fs::path(path).filename().string() + ".bregman-tmp-";
}

std::string temporaryTemplate(const std::string &path) {
  return path + ".bregman-tmp-" + std::to_string(::getpid()) + "-XXXXXX";
}

/// Temporaries of the same target left by writers that were killed: their
/// process no longer exists. Best effort; a live writer's are kept.
void removeStaleTemporaries(const std::string &path) {
  fs::path parent = fs::path(path).parent_path();
  std::string prefix = temporaryPrefix(path);
  std::error_code ec;
  for (const auto &entry :
       fs::directory_iterator(parent.empty() ? "." : parent, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0)
      continue;
    char *end = nullptr;
    long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
    if (pid <= 0 || *end != '-' || pid == ::getpid())
      continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      fs::remove_all(entry.path(), ec);
  }
}

void syncDirectoryOf(const std::string &path) {
  fs::path parent = fs::path(path).parent_path();
  int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd); // best effort: not every file system syncs directories
    ::close(fd);
  }
}

/// fsyncs the files of a freshly built directory and the directory itself.
void syncTree(const std::string &dir, const std::string &what,
              const std::string &target) {
  std::vector<std::string> paths;
  for (const auto &entry : fs::directory_iterator(dir))
    if (entry.is_regular_file())
      paths.push_back(entry.path().string());
  paths.push_back(dir);
  for (const std::string &p : paths) {
    int fd = ::open(p.c_str(), O_RDONLY);
    if (fd < 0 || ::fsync(fd) != 0) {
      int error = errno;
      if (fd >= 0)
        ::close(fd);
      throw WriteError(what, target, "syncing " + p + ": " +
                                         std::strerror(error));
    }
    ::close(fd);
  }
}

/// Moves the finished directory `fresh` to `path` (absent, empty, or an
/// owned directory, which is swapped out and removed).
void swapIn(const std::string &path, const std::string &fresh,
            const std::string &what, const OwnershipCheck &owned) {
  std::error_code ec;
  if (::rename(fresh.c_str(), path.c_str()) == 0)
    return; // there was nothing, or an empty directory
  if (errno != ENOTEMPTY && errno != EEXIST) {
    int error = errno;
    fs::remove_all(fresh, ec);
    throw WriteError(what, path, std::string("cannot move it into place: ") +
                                     std::strerror(error));
  }
  if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, path.c_str(),
                  RENAME_EXCHANGE) == 0) {
    // `fresh` now holds the old directory: checked again, in case it
    // changed since the first check, and swapped back if it is not ours.
    if (std::string why = owned(fresh); !why.empty()) {
      ::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, path.c_str(),
                  RENAME_EXCHANGE);
      fs::remove_all(fresh, ec);
      throw WriteError(what, path, why + "; nothing was changed");
    }
    fs::remove_all(fresh, ec);
    return;
  }
  // No atomic exchange on this file system: the old one goes aside first.
  std::string aside = temporaryTemplate(path);
  if (!::mkdtemp(aside.data()) || ::rename(path.c_str(), aside.c_str()) != 0 ||
      ::rename(fresh.c_str(), path.c_str()) != 0) {
    int error = errno;
    fs::remove_all(fresh, ec);
    throw WriteError(what, path, std::string("cannot move it into place: ") +
                                     std::strerror(error));
  }
  fs::remove_all(aside, ec);
}

} // namespace

bool namesOpenFile(const std::string &path, int fd) {
  struct stat held, named;
  return ::fstat(fd, &held) == 0 && ::lstat(path.c_str(), &named) == 0 &&
         held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

std::string nonRegularKind(const std::string &path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode))
    return "";
  return kindOf(st.st_mode);
}

FileOwnershipCheck anyExistingFile() {
  return [](const std::string &) { return std::string(); };
}

FileOwnershipCheck filesStartingWith(std::string signature,
                                     std::string format) {
  return [signature, format](const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::string head(signature.size(), '\0');
    if (in.read(head.data(), static_cast<std::streamsize>(head.size())) &&
        head == signature)
      return std::string();
    return "is not " + format;
  };
}

namespace {
/// Why the existing target may not be replaced ("" when it may, or when
/// there is none).
std::string replacementProblem(const std::string &path,
                               const FileOwnershipCheck &owned) {
  if (std::string kind = nonRegularKind(path); !kind.empty())
    return "exists and is " + kind + ", not a regular file";
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return "";
  if (std::string problem = owned(path); !problem.empty())
    return "exists and " + problem +
           "; it is not replaced (choose another path, or move it away)";
  return "";
}
} // namespace

void requireDistinctFiles(const std::vector<std::string> &paths,
                          const std::string &what) {
  std::error_code ec;
  for (size_t i = 0; i < paths.size(); ++i)
    for (size_t j = i + 1; j < paths.size(); ++j)
      if (fs::weakly_canonical(paths[i], ec) ==
          fs::weakly_canonical(paths[j], ec))
        throw WriteError(what, paths[j],
                         "is also " + what + " " + std::to_string(i + 1) +
                             " (" + paths[i] + "): choose one file per output");
}

void requireWritableFile(const std::string &path, const std::string &what,
                         const FileOwnershipCheck &owned) {
  if (std::string problem = replacementProblem(path, owned); !problem.empty())
    throw WriteError(what, path, problem);
  std::string parent = fs::path(path).parent_path().string();
  if (parent.empty())
    parent = ".";
  struct stat st;
  if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw WriteError(what, path, "its folder " + parent + " does not exist");
  if (::access(parent.c_str(), W_OK) != 0)
    throw WriteError(what, path,
                     "its folder " + parent +
                         " is not writable: " + std::strerror(errno));
}

AtomicFile::AtomicFile(std::string target, std::string operation,
                       const FileOwnershipCheck &owned)
    : path(std::move(target)), what(std::move(operation)) {
  if (std::string problem = replacementProblem(path, owned); !problem.empty())
    throw WriteError(what, path, problem + "; nothing was written");
  removeStaleTemporaries(path);
  std::string name = temporaryTemplate(path);
  descriptor = ::mkstemp(name.data());
  if (descriptor < 0)
    throw WriteError(what, path,
                     std::string("cannot create a temporary file beside it: ") +
                         std::strerror(errno));
  temporary = name;
  // mkstemp makes it 0600; the file gets the target's mode, or a new file's.
  struct stat st;
  mode_t mode = ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777)
                                               : (0666 & ~currentUmask());
  ::fchmod(descriptor, mode);
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() {
  if (descriptor >= 0)
    ::close(descriptor);
  descriptor = -1;
  if (!temporary.empty())
    ::unlink(temporary.c_str());
  temporary.clear();
}

void AtomicFile::fail(int error) {
  discard();
  throw WriteError(what, path, std::string(std::strerror(error)) +
                                   "; the previous file, if any, is unchanged");
}

void AtomicFile::write(const void *data, std::size_t size) {
  const char *p = static_cast<const char *>(data);
  while (size > 0) {
    ssize_t n = ::write(descriptor, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      fail(n < 0 ? errno : ENOSPC);
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void AtomicFile::commit() {
  if (::fsync(descriptor) != 0)
    fail(errno);
  int fd = descriptor;
  descriptor = -1;
  if (::close(fd) != 0)
    fail(errno);
  // The target may have been replaced by something else meanwhile.
  if (std::string kind = nonRegularKind(path); !kind.empty()) {
    discard();
    throw WriteError(what, path, "exists and is " + kind +
                                     ", not a regular file; nothing was written");
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0)
    fail(errno);
  temporary.clear();
  syncDirectoryOf(path);
}

void writeFileAtomically(const std::string &path, const std::string &what,
                         std::string_view bytes,
                         const FileOwnershipCheck &owned) {
  AtomicFile file(path, what, owned);
  file.write(bytes);
  file.commit();
}

void replaceDirectory(const std::string &given, const std::string &what,
                      const OwnershipCheck &owned,
                      const std::function<void(const std::string &)> &fill) {
  std::string path = trimmed(given);
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      throw WriteError(what, path, std::string("exists and is ") +
                                       kindOf(st.st_mode) +
                                       ", not a directory; nothing was written");
    std::error_code ec;
    if (!fs::is_empty(path, ec))
      if (std::string why = owned(path); !why.empty())
        throw WriteError(what, path, why + "; nothing was changed");
  }
  removeStaleTemporaries(path);
  std::string fresh = temporaryTemplate(path);
  if (!::mkdtemp(fresh.data()))
    throw WriteError(what, path,
                     std::string("cannot create a temporary directory beside "
                                 "it: ") +
                         std::strerror(errno));
  ::chmod(fresh.c_str(), 0777 & ~currentUmask());
  try {
    fill(fresh);
    syncTree(fresh, what, path);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(fresh, ec);
    throw;
  }
  swapIn(path, fresh, what, owned);
  syncDirectoryOf(path);
}

namespace {

bool isOneOf(char ch, std::string_view set) { return set.find(ch) != std::string_view::npos; }

/// The state of splitCommandWords: the text, where it is, the word being
/// built and the words done.
class WordSplitter {
public:
  WordSplitter(std::string_view text, const std::string &what) : text(text), what(what) {}

  std::vector<std::string> run() {
    while (at < text.size()) {
      char ch = text[at];
      if (ch == ' ' || ch == '\t' || ch == '\n') {
        endWord();
        ++at;
      } else if (ch == '\'') {
        singleQuoted();
      } else if (ch == '"') {
        doubleQuoted();
      } else if (ch == '\\') {
        escaped();
      } else if (isOneOf(ch, "$`")) {
        refuse(at, "would be expanded");
      } else if (isOneOf(ch, "|&;<>()")) {
        refuse(at, "is an operator");
      } else {
        append(ch);
      }
    }
    endWord();
    return words;
  }

private:
  void append(char ch) {
    word += ch;
    inWord = true;
    ++at;
  }
  void endWord() {
    if (inWord)
      words.push_back(word);
    word.clear();
    inWord = false;
  }
  [[noreturn]] void refuse(size_t where, const char *why) const {
    throw std::invalid_argument(
        what + ": '" + text[where] + "' at character " + std::to_string(where + 1) +
        " of '" + std::string(text) + "' " + why +
        " in a shell, and bregman runs none: write the command without it (in "
        "single quotes it means the character itself)");
  }
  [[noreturn]] void unterminated(size_t opened, const char *quote) const {
    throw std::invalid_argument(what + ": unterminated " + quote + " quote (opened at "
                                "character " + std::to_string(opened + 1) + " of '" +
                                std::string(text) + "')");
  }
  // '...': everything literal up to the next single quote.
  void singleQuoted() {
    size_t close = text.find('\'', at + 1);
    if (close == std::string_view::npos)
      unterminated(at, "single");
    word.append(text.substr(at + 1, close - at - 1));
    inWord = true;
    at = close + 1;
  }
  // "...": a backslash escapes only $ ` " \ and newline (which it removes).
  void doubleQuoted() {
    size_t opened = at++;
    inWord = true;
    for (;; ++at) {
      if (at >= text.size())
        unterminated(opened, "double");
      char ch = text[at];
      if (ch == '"')
        break;
      if (ch == '$' || ch == '`')
        refuse(at, "would be expanded");
      if (ch == '\\' && at + 1 < text.size() && isOneOf(text[at + 1], "$`\"\\\n")) {
        if (text[++at] != '\n')
          word += text[at];
        continue;
      }
      word += ch;
    }
    ++at;
  }
  // An unquoted backslash keeps the next character; with a newline, both go.
  void escaped() {
    if (at + 1 >= text.size())
      throw std::invalid_argument(what + ": '" + std::string(text) +
                                  "' ends in a backslash, which escapes nothing");
    if (text[at + 1] == '\n') {
      at += 2;
      return;
    }
    ++at;
    append(text[at]);
  }

  std::string_view text;
  const std::string &what;
  size_t at = 0;
  std::string word;
  bool inWord = false;
  std::vector<std::string> words;
};

} // namespace

std::vector<std::string> splitCommandWords(std::string_view text,
                                           const std::string &what) {
  return WordSplitter(text, what).run();
}

int runProgram(const std::vector<std::string> &argv, std::string &output) {
  std::vector<char *> args;
  for (const std::string &a : argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  int pipe[2];
  if (::pipe2(pipe, O_CLOEXEC) != 0)
    throw WriteError("running", argv.at(0), std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe[1], 2);
  pid_t pid;
  int error = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(),
                             environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe[1]);
  if (error != 0) {
    ::close(pipe[0]);
    throw WriteError("running", argv[0], std::strerror(error));
  }
  output.clear();
  char chunk[4096];
  for (ssize_t n; (n = ::read(pipe[0], chunk, sizeof(chunk))) != 0;) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    output.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

} // namespace bregman::runtime
