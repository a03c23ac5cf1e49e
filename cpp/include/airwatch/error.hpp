// The one exception type the core throws for bad input (unsorted keys, length mismatches, malformed
// text), so the bindings can map exactly these to Python's airwatch.core.CoreError and leave other C++
// failures (bad_alloc, logic errors) to nanobind's default translation.
#pragma once

#include <stdexcept>

namespace airwatch {

class Error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace airwatch
