//===- HeaderExampleTest.cpp - The DSL header's example runs --------------===//
//
// HeaderExample.cpp is generated at configure time from the usage example
// that opens frontend/include/bregman/bregman.h; it compiles and runs here.
//
//===----------------------------------------------------------------------===//

#include "bregman/Error.h"

#include <gtest/gtest.h>

void bregmanHeaderExample();

TEST(HeaderExample, CompilesAndRunsAStep) {
  try {
    bregmanHeaderExample();
  } catch (const bregman::Error &e) {
    FAIL() << "the example in bregman.h throws: " << e.what();
  }
}
