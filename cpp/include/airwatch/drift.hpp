// Data-drift statistics between a reference sample (training data) and a current sample, per feature.
// NaNs are ignored; an empty sample (after dropping NaNs) is an error.
#pragma once

#include <cstddef>
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

}  // namespace airwatch
