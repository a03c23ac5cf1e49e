#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "airwatch/error.hpp"
#include "airwatch/ridge.hpp"

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Fixture {
  std::vector<double> a{4.0, kNaN, 1.0, 3.0, 2.0, 10.0};
  std::vector<double> b{0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
  std::vector<const double*> columns{a.data(), b.data()};

  airwatch::RidgeRows rows(const std::int64_t* index, std::size_t n, const double* weights) const {
    return {columns.data(), columns.size(), a.size(), index, n, weights};
  }
};

}  // namespace

TEST(Ridge, MediansFlagsAndSums) {
  Fixture f;
  // Rows 0, 1, 2, 3 of a: 4, missing, 1, 3 -> median of {1, 3, 4} = 3; b has no missing value.
  const std::vector<std::int64_t> index{0, 1, 2, 3};
  const std::vector<double> weights{1.0, 2.0, 0.5, 1.0};
  const auto imputation = airwatch::ridge_imputation(f.rows(index.data(), 4, weights.data()), 2);
  EXPECT_EQ(imputation.fill, (std::vector<double>{3.0, 0.5}));
  EXPECT_EQ(imputation.flagged, (std::vector<std::int64_t>{0}));
  ASSERT_EQ(imputation.width(), 3u);
  // Design columns: a imputed (4, 3, 1, 3), b, a's indicator (0, 1, 0, 0).
  EXPECT_EQ(imputation.sums, (std::vector<double>{11.0, 2.0, 1.0}));
  EXPECT_EQ(imputation.weighted_sums, (std::vector<double>{4.0 + 6.0 + 0.5 + 3.0, 2.25, 2.0}));
}

TEST(Ridge, EvenCountMedianIsTheMiddlePairsMean) {
  Fixture f;
  // Every row of a: 4, 1, 3, 2, 10 present -> odd; rows 0, 2, 3, 4: 4, 1, 3, 2 -> (2 + 3) / 2.
  EXPECT_EQ(airwatch::ridge_imputation(f.rows(nullptr, 6, nullptr), 1).fill[0], 3.0);
  const std::vector<std::int64_t> index{0, 2, 3, 4};
  EXPECT_EQ(airwatch::ridge_imputation(f.rows(index.data(), 4, nullptr), 1).fill[0], 2.5);
}

TEST(Ridge, AllMissingImputesZero) {
  std::vector<double> a{kNaN, kNaN};
  const double* columns[] = {a.data()};
  const auto imputation = airwatch::ridge_imputation({columns, 1, 2, nullptr, 2, nullptr}, 1);
  EXPECT_EQ(imputation.fill, (std::vector<double>{0.0}));
  EXPECT_EQ(imputation.sums, (std::vector<double>{0.0, 2.0}));
}

TEST(Ridge, BlockIsCenteredWeightedAndColumnMajor) {
  Fixture f;
  const std::vector<std::int64_t> index{0, 1, 2, 3};
  const std::vector<double> weights{1.0, 4.0, 0.25, 1.0};
  const auto r = f.rows(index.data(), 4, weights.data());
  const auto imputation = airwatch::ridge_imputation(r, 1);
  const std::vector<double> mean{2.0, 0.5, 0.25}, weighted{3.0, 0.0, 1.0};
  std::vector<double> z(2 * 3), squares(3);
  airwatch::ridge_block(r, imputation, mean.data(), weighted.data(), 1, 3, z.data(), squares.data());
  // Rows 1 and 2: a = 3 (imputed), 1; b = 0.5, 0.5; indicator 1, 0. Roots of the weights: 2, 0.5.
  EXPECT_EQ(z, (std::vector<double>{0.0, -1.0, 1.0, 0.25, 0.0, -0.5}));
  EXPECT_EQ(squares, (std::vector<double>{1.0 + 1.0, 0.0, 0.5625 + 0.0625}));
}

TEST(Ridge, ThreadsGiveTheSameSums) {
  std::vector<std::vector<double>> data(7, std::vector<double>(10'001));
  std::vector<const double*> columns;
  for (std::size_t j = 0; j < data.size(); ++j) {
    for (std::size_t i = 0; i < data[j].size(); ++i) {
      data[j][i] = (i * 7 + j * 13) % 17 == 0 ? kNaN : std::sin(static_cast<double>(i * (j + 1)));
    }
    columns.push_back(data[j].data());
  }
  const airwatch::RidgeRows r{columns.data(), columns.size(), 10'001, nullptr, 10'001, nullptr};
  const auto one = airwatch::ridge_imputation(r, 1);
  const auto four = airwatch::ridge_imputation(r, 4);
  EXPECT_EQ(one.fill, four.fill);
  EXPECT_EQ(one.flagged, four.flagged);
  EXPECT_EQ(one.sums, four.sums);
  EXPECT_EQ(one.weighted_sums, four.weighted_sums);
}

TEST(Ridge, RefusesRowsOutsideTheColumnsAndBadWeights) {
  Fixture f;
  const std::vector<std::int64_t> outside{0, 6};
  EXPECT_THROW(airwatch::ridge_imputation(f.rows(outside.data(), 2, nullptr), 1), airwatch::Error);
  const std::vector<double> negative{1.0, -1.0};
  const std::vector<std::int64_t> index{0, 1};
  EXPECT_THROW(airwatch::ridge_imputation(f.rows(index.data(), 2, negative.data()), 1), airwatch::Error);
  EXPECT_THROW(airwatch::ridge_imputation(f.rows(nullptr, 7, nullptr), 1), airwatch::Error);
  const auto r = f.rows(index.data(), 2, nullptr);
  const auto imputation = airwatch::ridge_imputation(r, 1);
  std::vector<double> mean(3), z(9), squares(3);
  EXPECT_THROW(airwatch::ridge_block(r, imputation, mean.data(), mean.data(), 1, 3, z.data(), squares.data()),
               airwatch::Error);
}
