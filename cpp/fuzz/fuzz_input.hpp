// Helpers shared by the libFuzzer harnesses: reading typed values from the front of the fuzz input (so
// seed files can be written with Python's struct.pack) and failing loudly when a contract is broken.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace airwatch::fuzz {

// Reads little-endian values in order; once the input runs out every value is zero, so any byte
// string decodes to some input and no mutation is wasted on a length check.
class Input {
 public:
  Input(const uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  template <typename T>
  T take() {
    T value{};
    const std::size_t n = remaining() < sizeof(T) ? remaining() : sizeof(T);
    if (n > 0) std::memcpy(&value, data_ + pos_, n);
    pos_ += n;
    return value;
  }

  std::size_t remaining() const { return size_ - pos_; }

 private:
  const uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// abort() rather than assert(): the fuzz build is optimized and may define NDEBUG, and a broken
// invariant must reach libFuzzer as a crash with the input saved.
[[noreturn]] inline void fail(const char* file, int line, const char* what) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
  std::abort();
}

}  // namespace airwatch::fuzz

#define FUZZ_CHECK(cond) ((cond) ? (void)0 : ::airwatch::fuzz::fail(__FILE__, __LINE__, #cond))
