// Data-drift statistics between a reference sample (training data) and a current sample, per feature.
// NaNs are ignored; an empty sample (after dropping NaNs) is an error for the one-column functions.
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

namespace airwatch {

// Bin edges at the reference's quantiles (bins - 1 interior edges; equal edges merged).
std::vector<double> quantile_edges(const double* reference, std::size_t n, int bins);

// Population stability index over the bins given by `edges` (interior edges, ascending):
// sum over bins of (c - r) * ln(c / r), with each share floored at `epsilon` so empty bins stay finite.
double psi(const double* reference, std::size_t nr, const double* current, std::size_t nc,
           const std::vector<double>& edges, double epsilon = 1e-4);

// Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical CDFs (exact).
double ks_statistic(const double* reference, std::size_t nr, const double* current, std::size_t nc);

// Wasserstein-1 distance between the two empirical distributions (exact: the area between the CDFs).
double wasserstein(const double* reference, std::size_t nr, const double* current, std::size_t nc);

// The three statistics of one column, and the non-NaN sample sizes they were computed from.
struct DriftStats {
  double psi = std::numeric_limits<double>::quiet_NaN();
  double ks = std::numeric_limits<double>::quiet_NaN();
  double wasserstein = std::numeric_limits<double>::quiet_NaN();
  std::size_t n_reference = 0;
  std::size_t n_current = 0;
  std::vector<double> edges;  // the PSI's interior bin edges (reference quantiles)
};

// PSI (reference-quantile bins), KS and Wasserstein-1 of every column of two column-major matrices
// (reference: nr rows, current: nc rows, the same `columns`; column j starts at j * rows). Each sample
// is sorted once and all three statistics are read off the sorted samples, with the columns shared
// between `threads` workers. The values equal the one-column functions'. A column that is empty on
// either side gets NaN statistics and its counts instead of an error, so one feature without data
// does not hide the drift of the others.
std::vector<DriftStats> drift_columns(const double* reference, std::size_t nr, const double* current,
                                      std::size_t nc, std::size_t columns, int bins, int threads = 2,
                                      double epsilon = 1e-4);

}  // namespace airwatch
