#include "airwatch/ridge.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>

#include "airwatch/error.hpp"
#include "airwatch/workers.hpp"

namespace airwatch {

namespace {

std::size_t row_at(const RidgeRows& r, std::size_t i) noexcept {
  return r.index == nullptr ? i : static_cast<std::size_t>(r.index[i]);
}

double weight_at(const RidgeRows& r, std::size_t i) noexcept {
  return r.weights == nullptr ? 1.0 : r.weights[i];
}

// The fit's rows start .. stop - 1 name values of the columns and have usable weights.
void check(const RidgeRows& r, std::size_t start, std::size_t stop) {
  if (start > stop || stop > r.rows) {
    throw Error("ridge: rows " + std::to_string(start) + ".." + std::to_string(stop) + " outside " +
                std::to_string(r.rows) + " rows");
  }
  if (r.index == nullptr && r.rows > r.column_rows) {
    throw Error("ridge: " + std::to_string(r.rows) + " rows of columns " + std::to_string(r.column_rows) +
                " long");
  }
  for (std::size_t i = start; r.index != nullptr && i < stop; ++i) {
    if (r.index[i] < 0 || static_cast<std::size_t>(r.index[i]) >= r.column_rows) {
      throw Error("ridge: index " + std::to_string(r.index[i]) + " at position " + std::to_string(i) +
                  " is outside the columns (" + std::to_string(r.column_rows) + " rows)");
    }
  }
  for (std::size_t i = start; r.weights != nullptr && i < stop; ++i) {
    if (!(r.weights[i] >= 0.0) || !std::isfinite(r.weights[i])) {
      throw Error("ridge: weight " + std::to_string(r.weights[i]) + " at row " + std::to_string(i) +
                  " is negative or not finite");
    }
  }
}

// One input: its median, whether a value is missing, and the sums of its imputed values and of its
// indicator (the count of missing values, plain and weighted).
struct InputSums {
  double fill = 0.0;
  bool missing = false;
  double sum = 0.0, weighted = 0.0, missing_count = 0.0, missing_weight = 0.0;
};

InputSums sums_of(const RidgeRows& r, std::size_t j, std::vector<double>& present) {
  const double* column = r.columns[j];
  present.clear();
  for (std::size_t i = 0; i < r.rows; ++i) {
    const double v = column[row_at(r, i)];
    if (!std::isnan(v)) present.push_back(v);
  }
  InputSums s;
  s.missing = present.size() < r.rows;
  const std::size_t n = present.size();
  if (n > 0) {
    const auto middle = present.begin() + static_cast<std::ptrdiff_t>(n / 2);
    std::nth_element(present.begin(), middle, present.end());
    s.fill = *middle;
    if (n % 2 == 0) s.fill = (*std::max_element(present.begin(), middle) + s.fill) / 2.0;
  }
  for (std::size_t i = 0; i < r.rows; ++i) {
    const double v = column[row_at(r, i)];
    const double w = weight_at(r, i);
    if (std::isnan(v)) {
      s.sum += s.fill;
      s.weighted += w * s.fill;
      s.missing_count += 1.0;
      s.missing_weight += w;
    } else {
      s.sum += v;
      s.weighted += w * v;
    }
  }
  return s;
}

}  // namespace

RidgeImputation ridge_imputation(const RidgeRows& r, int threads) {
  check(r, 0, r.rows);
  std::vector<InputSums> per_input(r.inputs);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    std::vector<double> present;
    present.reserve(r.rows);
    for (std::size_t j = next++; j < r.inputs; j = next++) per_input[j] = sums_of(r, j, present);
  };
  run_workers(std::min<std::size_t>(static_cast<std::size_t>(std::max(1, threads)), r.inputs), work,
              [&] { next = r.inputs; });
  RidgeImputation out;
  for (std::size_t j = 0; j < r.inputs; ++j) {
    out.fill.push_back(per_input[j].fill);
    out.sums.push_back(per_input[j].sum);
    out.weighted_sums.push_back(per_input[j].weighted);
    if (per_input[j].missing) out.flagged.push_back(static_cast<std::int64_t>(j));
  }
  for (const auto j : out.flagged) {
    out.sums.push_back(per_input[static_cast<std::size_t>(j)].missing_count);
    out.weighted_sums.push_back(per_input[static_cast<std::size_t>(j)].missing_weight);
  }
  return out;
}

void ridge_block(const RidgeRows& r, const RidgeImputation& imp, const double* mean,
                 const double* weighted_mean, std::size_t start, std::size_t stop, double* z,
                 double* squares) {
  check(r, start, stop);
  if (imp.fill.size() != r.inputs) {
    throw Error("ridge: an imputation of " + std::to_string(imp.fill.size()) + " inputs for " +
                std::to_string(r.inputs));
  }
  for (const auto j : imp.flagged) {
    if (j < 0 || static_cast<std::size_t>(j) >= r.inputs) throw Error("ridge: flagged input out of range");
  }
  const std::size_t n = stop - start;
  std::vector<double> root(n);
  for (std::size_t i = 0; i < n; ++i) root[i] = std::sqrt(weight_at(r, start + i));
  std::vector<std::size_t> at(n);
  for (std::size_t i = 0; i < n; ++i) at[i] = row_at(r, start + i);
  auto fill_column = [&](std::size_t c, auto value_of) {
    double* out = z + c * n;
    double square = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double x = value_of(i);
      const double d = x - mean[c];
      square += d * d;
      out[i] = (x - weighted_mean[c]) * root[i];
    }
    squares[c] = square;
  };
  for (std::size_t j = 0; j < r.inputs; ++j) {
    const double* column = r.columns[j];
    const double fill = imp.fill[j];
    fill_column(j, [&](std::size_t i) {
      const double v = column[at[i]];
      return std::isnan(v) ? fill : v;
    });
  }
  for (std::size_t k = 0; k < imp.flagged.size(); ++k) {
    const double* column = r.columns[static_cast<std::size_t>(imp.flagged[k])];
    fill_column(r.inputs + k, [&](std::size_t i) { return std::isnan(column[at[i]]) ? 1.0 : 0.0; });
  }
}

}  // namespace airwatch
