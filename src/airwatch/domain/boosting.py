"""The LightGBM models' default boosting: the point models' rounds and rate, the quantile models' too, and their bag.

A module of its own: the settings read these defaults when the command starts, before anything heavy
(LightGBM, pandas) is imported.
"""

# AIRWATCH_TRAIN__LIGHTGBM_ROUNDS and __LIGHTGBM_LEARNING_RATE: 150 rounds at 0.1 scored as 500 at 0.03
# did on four development windows, at 30% of the rounds (docs/core.md, "Fewer, larger boosting steps").
LIGHTGBM_ROUNDS = 150
LIGHTGBM_LEARNING_RATE = 0.1

# AIRWATCH_TRAIN__LIGHTGBM_MAX_ROWS: the point models bag at most this many rows a round (0: half of
# every row, however many). The quantile models' cap of the time; it scored as the uncapped bag did on
# the national development windows (docs/core.md, "The point models' bag"); 100,000 met its rule where
# 200,000 had (docs/core.md, "Two bags halved again"), and 50,000 where 100,000 had (docs/core.md, "The
# point models' bag halved once more").
LIGHTGBM_MAX_ROWS = 50_000

# AIRWATCH_TRAIN__LIGHTGBM_SAMPLE_ROWS: every LightGBM model (point and quantile) trained on more rows than
# this trains on a fixed random sample of this many (0: on every row). It met its rule on the national
# development windows, but saved 5% of training only (docs/core.md, "LightGBM on a fixed sample of rows").
LIGHTGBM_SAMPLE_ROWS = 400_000

# AIRWATCH_TRAIN__QUANTILE_MAX_ROWS: the interval's quantile models bag at most this many rows a round.
# LightGBM re-sets a quantile model's leaves after each tree by sorting the leaf's in-bag rows; at
# national scale that was 38% of training (docs/core.md, "The interval's quantile models"). 100,000
# met its rule where 200,000 had (docs/core.md, "The quantile models' bag halved"), and 50,000 where
# 100,000 had: a round's cost follows its bag (docs/core.md, "Two bags halved again").
QUANTILE_MAX_ROWS = 50_000

# AIRWATCH_TRAIN__QUANTILE_SAMPLE_ROWS: the interval's quantile models train on a fixed sample of at most this
# many rows, drawn from the point models' sample (a subset of its binned Dataset; 0: the point models'
# sample). A quantile round's cost follows its sample (docs/core.md, "The quantile models' own sample");
# 100,000 met its rule where 200,000 had (docs/core.md, "The quantile models' sample halved again").
QUANTILE_SAMPLE_ROWS = 100_000

# AIRWATCH_TRAIN__QUANTILE_ROUNDS and __QUANTILE_LEARNING_RATE: the interval's quantile models. 50 rounds
# at 0.1 failed its rule on Queens College's coverage (docs/core.md, "The quantile models' rounds and rate").
QUANTILE_ROUNDS = 100
QUANTILE_LEARNING_RATE = 0.05
