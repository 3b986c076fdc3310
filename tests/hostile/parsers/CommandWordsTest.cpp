//===- CommandWordsTest.cpp - $CC split into words as a shell would -------===//
//
// --save-step links step.so with $CC, started with an argument vector (no
// shell). The words are those `sh -c 'set -- $CC'` would see after quote
// removal, with nothing expanded; what a shell would expand or run as an
// operator is refused, as are unterminated quotes.
//
//===----------------------------------------------------------------------===//

#include "HostileSupport.h"

#include "bregman/runtime/SafeWrite.h"

using bregman::runtime::splitCommandWords;

namespace {

using Words = std::vector<std::string>;

TEST(CommandWords, SplitAsAShellWould) {
  struct Case {
    const char *text;
    Words words;
  };
  std::vector<Case> cases = {
      {"", {}},
      {"  \t\n ", {}},
      {"cc", {"cc"}},
      {"ccache  cc\t-O2\n", {"ccache", "cc", "-O2"}},
      {"'/opt/my cc/bin/clang' -fuse-ld=lld", {"/opt/my cc/bin/clang", "-fuse-ld=lld"}},
      {"\"/opt/my cc/clang\" -x", {"/opt/my cc/clang", "-x"}},
      {"/opt/my\\ cc/clang", {"/opt/my cc/clang"}},
      {"a''b \"\" ''", {"ab", "", ""}},
      {"'it'\\''s' x\"y\"z", {"it's", "xyz"}},
      {"'$HOME `x` ; | \\ \"'", {"$HOME `x` ; | \\ \""}},
      {"\"a\\\"b\\\\c\\$d\\`e\\xf\"", {"a\"b\\c$d`e\\xf"}},
      {"\"line\\\ncontinued\" a\\\nb", {"linecontinued", "ab"}},
      {"\\$HOME \\; \\'", {"$HOME", ";", "'"}},
      {"cc -DNAME='\"v 1\"'", {"cc", "-DNAME=\"v 1\""}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(splitCommandWords(c.text, "$CC"), c.words);
  }
}

TEST(CommandWords, RefusesWhatOnlyAShellCouldMean) {
  struct Case {
    const char *text, *message;
  };
  std::vector<Case> cases = {
      {"'cc -O2", "$CC: unterminated single quote (opened at character 1 of ''cc -O2')"},
      {"cc \"-O2", "$CC: unterminated double quote (opened at character 4 of 'cc \"-O2')"},
      {"cc \"a\\\"", "$CC: unterminated double quote (opened at character 4 of 'cc \"a\\\"')"},
      {"cc\\", "$CC: 'cc\\' ends in a backslash, which escapes nothing"},
      {"$HOME/cc", "$CC: '$' at character 1 of '$HOME/cc' would be expanded in a shell, "
                   "and bregman runs none: write the command without it (in single quotes "
                   "it means the character itself)"},
      {"cc \"$X\"", "$CC: '$' at character 5 of 'cc \"$X\"' would be expanded in a shell"},
      {"`which cc`", "$CC: '`' at character 1 of '`which cc`' would be expanded"},
      {"cc; rm -rf x", "$CC: ';' at character 3 of 'cc; rm -rf x' is an operator in a shell"},
      {"cc|tee", "$CC: '|' at character 3"},
      {"cc >log", "$CC: '>' at character 4"},
      {"(cc)", "$CC: '(' at character 1"},
      {"cc&", "$CC: '&' at character 3"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_THROWS_WITH(std::invalid_argument, splitCommandWords(c.text, "$CC"), c.message);
  }
}

} // namespace
