// Ridge regression's sums over a design matrix that is never built whole: each input median-imputed,
// then a missing-value indicator for each input that has a missing value (scikit-learn's
// SimpleImputer(strategy="median", add_indicator=True)), read from the input columns at the fit's rows.
// The solve stays with the caller (a few dozen columns); what is done here is every pass over the rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace airwatch {

// The rows a fit learns from, read in place.
struct RidgeRows {
  const double* const* columns = nullptr;  // one per input, each holding every row the index names
  std::size_t inputs = 0;
  std::size_t column_rows = 0;          // the columns' length
  const std::int64_t* index = nullptr;  // the fit's rows: positions in the columns; nullptr: 0 .. rows - 1
  std::size_t rows = 0;
  const double* weights = nullptr;  // one per fit row; nullptr: every weight 1
};

// The imputation learned from the rows, and the design columns' sums (inputs, then indicators).
struct RidgeImputation {
  std::vector<double> fill;           // per input: the median of its present values; 0 when none is
  std::vector<std::int64_t> flagged;  // the inputs with a missing value, in order: one indicator each
  std::vector<double> sums;           // per design column
  std::vector<double> weighted_sums;  // per design column, each row's value times its weight

  std::size_t width() const noexcept { return fill.size() + flagged.size(); }
};

// Throws airwatch::Error when an index is outside the columns or a weight is negative or not finite.
// A median is numpy.median's (the mean of the two middle values of an even count). Each column is
// worked on by one of `threads` workers, so the sums are the same with any number of threads.
RidgeImputation ridge_imputation(const RidgeRows& rows, int threads);

// Design rows [start, stop), each column less `weighted_mean` and every row times the square root of its
// weight, into z (column-major: stop - start rows, then the next column); squares[c] is set to the
// sum over those rows of (design value - mean[c])^2. mean, weighted_mean, squares: width() each.
// Throws airwatch::Error as ridge_imputation does for those rows, and for a block outside the rows.
void ridge_block(const RidgeRows& rows, const RidgeImputation& imputation, const double* mean,
                 const double* weighted_mean, std::size_t start, std::size_t stop, double* z,
                 double* squares);

}  // namespace airwatch
