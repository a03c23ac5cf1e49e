#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "airwatch/error.hpp"
#include "airwatch/forest.hpp"

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// decision_type bits: 2 = default left; missing type in bits 2-3 (1 zero, 2 NaN).
constexpr std::uint8_t kNone = 0, kZeroRight = 1 << 2, kNaNLeft = (2 << 2) | 2, kNaNRight = 2 << 2;

// Tree 0: node 0 splits input 0 at 1.0 (NaN goes right); its left is node 1, input 1 at 0.5 (NaN left).
// Leaves: node 1 left -> 10, node 1 right -> 20, node 0 right -> 30. Tree 1: a single leaf, 0.25.
airwatch::Forest two_trees(std::uint8_t root, std::uint8_t inner) {
  airwatch::Forest f;
  f.feature = {0, 1};
  f.threshold = {1.0, 0.5};
  f.decision = {root, inner};
  f.left = {1, ~0};
  f.right = {~2, ~1};
  f.leaf_value = {10.0, 20.0, 30.0, 0.25};
  f.node_start = {0, 2, 2};
  f.leaf_start = {0, 3, 4};
  return f;
}

std::vector<double> predict(const airwatch::Forest& f, const std::vector<double>& a,
                            const std::vector<double>& b, int threads = 1) {
  std::vector<double> out(a.size());
  const double* columns[] = {a.data(), b.data()};
  airwatch::CompiledForest(f, 2).predict(columns, a.size(), out.data(), threads);
  return out;
}

}  // namespace

TEST(Forest, SplitsAsLightGbm) {
  const auto f = two_trees(kNaNRight, kNaNLeft);
  // <= goes left; NaN follows each node's default; the single-leaf tree adds its value to every row.
  const auto out = predict(f, {1.0, 1.0, 2.0, kNaN, 0.0}, {0.5, 0.6, 0.0, 0.0, kNaN});
  EXPECT_EQ(out, (std::vector<double>{10.25, 20.25, 30.25, 30.25, 10.25}));
}

TEST(Forest, MissingTypeNoneAndZero) {
  // Missing type none: NaN reads as 0. Missing type zero: 0 (and anything within 1e-35, and NaN) takes
  // the default side, here right.
  const auto none = two_trees(kNone, kNone);
  EXPECT_EQ(predict(none, {kNaN}, {kNaN}), (std::vector<double>{10.25}));
  const auto zero = two_trees(kZeroRight, kNone);
  EXPECT_EQ(predict(zero, {0.0, 1e-36, kNaN, -0.5}, {0.0, 0.0, 0.0, 0.0}),
            (std::vector<double>{30.25, 30.25, 30.25, 10.25}));
}

TEST(Forest, ThreadsGiveTheSameSums) {
  const auto f = two_trees(kNaNRight, kNaNLeft);
  std::vector<double> a, b;
  for (int i = 0; i < 5000; ++i) {
    a.push_back((i % 7) * 0.3);
    b.push_back(i % 11 == 0 ? kNaN : (i % 5) * 0.2);
  }
  EXPECT_EQ(predict(f, a, b, 1), predict(f, a, b, 2));
}

TEST(Forest, RejectsMalformedTrees) {
  auto f = two_trees(kNaNRight, kNaNLeft);
  EXPECT_THROW(airwatch::CompiledForest(f, 1), airwatch::Error);  // splits on input 1 of 1
  f.left[0] = 0;                                                  // a node as its own child: a loop
  EXPECT_THROW(airwatch::CompiledForest(f, 2), airwatch::Error);
  f = two_trees(kNaNRight, kNaNLeft);
  f.decision[1] |= 1;  // categorical
  EXPECT_THROW(airwatch::CompiledForest(f, 2), airwatch::Error);
  f = two_trees(kNaNRight, kNaNLeft);
  f.leaf_start = {0, 2, 4};
  EXPECT_THROW(airwatch::CompiledForest(f, 2), airwatch::Error);
}
