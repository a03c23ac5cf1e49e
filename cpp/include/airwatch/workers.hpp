// The core's kernels that share columns between threads run them through here: on the caller when one
// worker is enough, else on that many std::threads, with a worker's exception (bad_alloc) handed back to
// the caller instead of terminating the process, as an exception escaping a std::thread would.
#pragma once

#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace airwatch {

// Runs work() on `count` threads (on the calling thread when count <= 1) and waits for them. When a worker
// throws, stop() is called so the others can end early, and the first exception is rethrown here.
template <typename Work, typename Stop>
void run_workers(std::size_t count, Work&& work, Stop&& stop) {
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto guarded = [&] {
    try {
      work();
    } catch (...) {
      const std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      stop();
    }
  };
  if (count <= 1) {
    guarded();
  } else {
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < count; ++t) pool.emplace_back(guarded);
    for (auto& worker : pool) worker.join();
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace airwatch
