#include "airwatch/drift.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "airwatch/error.hpp"

namespace airwatch {
namespace {

std::vector<double> sorted_finite(const double* x, std::size_t n, const char* what) {
  std::vector<double> v;
  v.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isnan(x[i])) v.push_back(x[i]);
  }
  if (v.empty()) throw Error(std::string(what) + " sample is empty (or all NaN)");
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

std::vector<double> quantile_edges(const double* reference, std::size_t n, int bins) {
  if (bins < 2) throw Error("bins must be >= 2");
  const auto r = sorted_finite(reference, n, "reference");
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

double psi(const double* reference, std::size_t nr, const double* current, std::size_t nc,
           const std::vector<double>& edges, double epsilon) {
  const auto r = sorted_finite(reference, nr, "reference");
  const auto c = sorted_finite(current, nc, "current");
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

double ks_statistic(const double* reference, std::size_t nr, const double* current, std::size_t nc) {
  const auto r = sorted_finite(reference, nr, "reference");
  const auto c = sorted_finite(current, nc, "current");
  std::size_t i = 0, j = 0;
  double best = 0.0;
  while (i < r.size() && j < c.size()) {
    const double x = std::min(r[i], c[j]);
    while (i < r.size() && r[i] <= x) ++i;
    while (j < c.size() && c[j] <= x) ++j;
    best = std::max(best, std::fabs(static_cast<double>(i) / static_cast<double>(r.size()) -
                                    static_cast<double>(j) / static_cast<double>(c.size())));
  }
  return best;
}

double wasserstein(const double* reference, std::size_t nr, const double* current, std::size_t nc) {
  const auto r = sorted_finite(reference, nr, "reference");
  const auto c = sorted_finite(current, nc, "current");
  // Walk the merged support; between consecutive points both CDFs are constant.
  std::size_t i = 0, j = 0;
  double prev = std::min(r[0], c[0]);
  double area = 0.0;
  while (i < r.size() || j < c.size()) {
    const double x = j >= c.size() || (i < r.size() && r[i] <= c[j]) ? r[i] : c[j];
    const double fr = static_cast<double>(i) / static_cast<double>(r.size());
    const double fc = static_cast<double>(j) / static_cast<double>(c.size());
    area += std::fabs(fr - fc) * (x - prev);
    prev = x;
    while (i < r.size() && r[i] <= x) ++i;
    while (j < c.size() && c[j] <= x) ++j;
  }
  return area;
}

}  // namespace airwatch
