#include "airwatch/drift.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "airwatch/error.hpp"
#include "airwatch/workers.hpp"

namespace airwatch {
namespace {

// Unsigned keys that order like the doubles they come from (IEEE 754: flip every bit of a negative,
// only the sign bit of the rest), so doubles can be radix-sorted.
std::uint64_t key_of(double x) {
  const auto u = std::bit_cast<std::uint64_t>(x);
  return (u >> 63) != 0 ? ~u : u | (std::uint64_t{1} << 63);
}

double double_of(std::uint64_t k) {
  return std::bit_cast<double>((k >> 63) != 0 ? k & ~(std::uint64_t{1} << 63) : ~k);
}

// Reused between the columns a worker sorts, so each column does not reallocate.
struct SortBuffers {
  std::vector<std::uint64_t> keys, spare;
};

constexpr int kDigitBits = 11;  // 6 passes over 64 bits, with count tables small enough to stay cached
constexpr int kDigits = (64 + kDigitBits - 1) / kDigitBits;
constexpr std::size_t kRadix = std::size_t{1} << kDigitBits;

// Sorted non-NaN values of x, into `out`. An LSD radix sort on the keys: the drift kernels sort every
// feature of tens of thousands of rows, and this is about 4x faster than std::sort there (and within
// 2x of NumPy's AVX-512 sort); passes in which every key has the same digit are skipped.
void sorted_finite_into(const double* x, std::size_t n, std::vector<double>& out, SortBuffers& buf) {
  auto& keys = buf.keys;
  keys.clear();
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isnan(x[i])) keys.push_back(key_of(x[i]));
  }
  const std::size_t m = keys.size();
  if (m < 256 || m > std::numeric_limits<std::uint32_t>::max()) {
    std::sort(keys.begin(), keys.end());  // small: the counts cost more than sorting; huge: counts overflow
  } else {
    std::vector<std::array<std::uint32_t, kRadix>> counts(kDigits);
    for (const std::uint64_t k : keys) {
      for (int d = 0; d < kDigits; ++d) ++counts[d][(k >> (kDigitBits * d)) & (kRadix - 1)];
    }
    auto& spare = buf.spare;
    spare.resize(m);
    for (int d = 0; d < kDigits; ++d) {
      auto& c = counts[d];
      const int shift = kDigitBits * d;
      if (c[(keys[0] >> shift) & (kRadix - 1)] == m) continue;
      std::uint32_t start = 0;
      for (auto& slot : c) start += std::exchange(slot, start);
      for (const std::uint64_t k : keys) spare[c[(k >> shift) & (kRadix - 1)]++] = k;
      keys.swap(spare);
    }
  }
  out.resize(m);
  for (std::size_t i = 0; i < m; ++i) out[i] = double_of(keys[i]);
}

std::vector<double> sorted_finite(const double* x, std::size_t n, const char* what) {
  std::vector<double> v;
  SortBuffers buf;
  sorted_finite_into(x, n, v, buf);
  if (v.empty()) throw Error(std::string(what) + " sample is empty (or all NaN)");
  return v;
}

void check_bins(int bins) {
  if (bins < 2) throw Error("bins must be >= 2");
}

// The statistics below take sorted, non-empty samples.

std::vector<double> edges_of_sorted(const std::vector<double>& r, int bins) {
  std::vector<double> edges;
  for (int k = 1; k < bins; ++k) {
    // Linear interpolation between order statistics (numpy's default quantile method).
    const double pos = static_cast<double>(k) / bins * static_cast<double>(r.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, r.size() - 1);
    const double q = r[lo] + (pos - static_cast<double>(lo)) * (r[hi] - r[lo]);
    if (edges.empty() || q > edges.back()) edges.push_back(q);
  }
  return edges;
}

double psi_of_sorted(const std::vector<double>& r, const std::vector<double>& c,
                     const std::vector<double>& edges, double epsilon) {
  // Bin k holds values v with edges[k-1] < v <= edges[k] (right-closed, like numpy.digitize(right=True)).
  auto shares = [&](const std::vector<double>& v) {
    std::vector<double> s(edges.size() + 1, 0.0);
    std::size_t from = 0;
    for (std::size_t k = 0; k <= edges.size(); ++k) {
      const std::size_t to =
          k < edges.size()
              ? static_cast<std::size_t>(std::upper_bound(v.begin(), v.end(), edges[k]) - v.begin())
              : v.size();
      s[k] = static_cast<double>(to - from) / static_cast<double>(v.size());
      from = to;
    }
    return s;
  };
  const auto sr = shares(r);
  const auto sc = shares(c);
  double total = 0.0;
  for (std::size_t k = 0; k < sr.size(); ++k) {
    const double a = std::max(sr[k], epsilon);
    const double b = std::max(sc[k], epsilon);
    total += (b - a) * std::log(b / a);
  }
  return total;
}

// KS statistic and Wasserstein-1 in one walk over the merged support: between consecutive support
// points both empirical CDFs are constant, so the KS gap is checked and the area added per point.
std::pair<double, double> ks_wasserstein_of_sorted(const std::vector<double>& r,
                                                   const std::vector<double>& c) {
  const auto nr = static_cast<double>(r.size());
  const auto nc = static_cast<double>(c.size());
  std::size_t i = 0, j = 0;
  double prev = std::min(r[0], c[0]);
  double ks = 0.0, area = 0.0;
  while (i < r.size() || j < c.size()) {
    const double x = j >= c.size() || (i < r.size() && r[i] <= c[j]) ? r[i] : c[j];
    area += std::fabs(static_cast<double>(i) / nr - static_cast<double>(j) / nc) * (x - prev);
    prev = x;
    while (i < r.size() && r[i] <= x) ++i;
    while (j < c.size() && c[j] <= x) ++j;
    ks = std::max(ks, std::fabs(static_cast<double>(i) / nr - static_cast<double>(j) / nc));
  }
  return {ks, area};
}

}  // namespace

std::vector<double> quantile_edges(const double* reference, std::size_t n, int bins) {
  check_bins(bins);
  return edges_of_sorted(sorted_finite(reference, n, "reference"), bins);
}

double psi(const double* reference, std::size_t nr, const double* current, std::size_t nc,
           const std::vector<double>& edges, double epsilon) {
  return psi_of_sorted(sorted_finite(reference, nr, "reference"), sorted_finite(current, nc, "current"),
                       edges, epsilon);
}

double ks_statistic(const double* reference, std::size_t nr, const double* current, std::size_t nc) {
  return ks_wasserstein_of_sorted(sorted_finite(reference, nr, "reference"),
                                  sorted_finite(current, nc, "current"))
      .first;
}

double wasserstein(const double* reference, std::size_t nr, const double* current, std::size_t nc) {
  return ks_wasserstein_of_sorted(sorted_finite(reference, nr, "reference"),
                                  sorted_finite(current, nc, "current"))
      .second;
}

std::vector<DriftStats> drift_columns(const double* reference, std::size_t nr, const double* current,
                                      std::size_t nc, std::size_t columns, int bins, int threads,
                                      double epsilon) {
  check_bins(bins);
  std::vector<DriftStats> out(columns);
  // Columns differ in cost (their NaN shares), so workers take the next column from a shared counter
  // rather than a fixed block each.
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    std::vector<double> r, c;
    SortBuffers buf;
    for (std::size_t j = next++; j < columns; j = next++) {
      sorted_finite_into(reference + j * nr, nr, r, buf);
      sorted_finite_into(current + j * nc, nc, c, buf);
      DriftStats& s = out[j];
      s.n_reference = r.size();
      s.n_current = c.size();
      if (r.empty() || c.empty()) continue;
      s.edges = edges_of_sorted(r, bins);
      s.psi = psi_of_sorted(r, c, s.edges, epsilon);
      std::tie(s.ks, s.wasserstein) = ks_wasserstein_of_sorted(r, c);
    }
  };
  // A thread costs about as much as sorting a few thousand values; small inputs run on the caller.
  const std::size_t cells = (nr + nc) * columns;
  const auto workers = static_cast<std::size_t>(std::max(1, threads));
  run_workers(cells < 100000 ? 1 : std::min(workers, columns), work, [&] { next = columns; });
  return out;
}

}  // namespace airwatch
