"""One typed settings model, read from ``AIRWATCH_*`` environment variables and a git-ignored ``.env``.

Nested sections use a double underscore: ``AIRWATCH_TRAIN__SEED=7``. Unknown ``AIRWATCH_*`` variables
and malformed values fail at start with a message that names the setting.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from airwatch import faults
from airwatch.domain.archives import ArchiveLimits
from airwatch.domain.boosting import (
    LIGHTGBM_LEARNING_RATE,
    LIGHTGBM_MAX_ROWS,
    LIGHTGBM_ROUNDS,
    LIGHTGBM_SAMPLE_ROWS,
    QUANTILE_LEARNING_RATE,
    QUANTILE_MAX_ROWS,
    QUANTILE_ROUNDS,
    QUANTILE_SAMPLE_ROWS,
)
from airwatch.errors import AirWatchError

ENV_PREFIX = "AIRWATCH_"
MASK = "********"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ValidateSettings(_Section):
    """Rules of the validate stage."""

    max_quarantine_share: float = Field(
        0.05, ge=0.0, le=1.0, description="Fail the run when more than this share of rows is quarantined."
    )
    max_quarantined_file_share: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Fail the run when more than this share of the input files could not be read at all.",
    )
    site_list: str | None = Field(
        None,
        description="EPA AirData site list (aqs_sites.csv, .gz or .zip) that gives coordinates to sites whose "
        "files write none; default: the copy bundled with the package (extracted by EPA 2024-08-20).",
    )


class ArchiveSettings(_Section):
    """How far a gzip or zip input may expand before it is refused as a bomb (docs/reliability.md)."""

    max_bytes: int = Field(
        4 << 30,
        ge=1 << 20,
        description="Refuse an archive whose content is larger than this many bytes (default 4 GiB; the "
        "largest AirData file, an hourly year, is about 2 GB of CSV).",
    )
    max_ratio: float = Field(
        200.0,
        gt=1.0,
        description="Refuse an archive whose content is more than this many times its compressed size, once "
        "past 16 MiB (AirData's CSVs compress 6-35 times; a zip bomb about 1000).",
    )

    def limits(self) -> ArchiveLimits:
        return ArchiveLimits(max_bytes=self.max_bytes, max_ratio=self.max_ratio)


class TrainSettings(_Section):
    """Training and selection."""

    seed: int = Field(42, description="Seed for every random choice in training.")
    validation_days: int = Field(
        365, ge=30, description="Length of the final time window held out for validation, in days."
    )
    min_skill_vs_persistence: float = Field(
        0.0, description="A candidate must beat persistence's validation RMSE by at least this fraction."
    )
    max_overfit_gap: float = Field(
        0.35,
        ge=0.0,
        description="Reject a candidate whose validation RMSE exceeds its training RMSE by more than this fraction "
        "of it, beyond the gap persistence shows on the same rows (a harder validation window is not overfitting).",
    )
    lightgbm_rounds: int = Field(LIGHTGBM_ROUNDS, ge=10, description="Boosting rounds for LightGBM.")
    lightgbm_learning_rate: float = Field(
        LIGHTGBM_LEARNING_RATE, gt=0.0, le=1.0, description="LightGBM's learning rate (shrinkage) for the point models."
    )
    lightgbm_max_rows: int = Field(
        LIGHTGBM_MAX_ROWS,
        ge=0,
        description="The point LightGBM models (alone and in the blend) bag at most this many rows a boosting "
        "round (fewer rows: half of them); 0: half of every row, however many.",
    )
    lightgbm_sample_rows: int = Field(
        LIGHTGBM_SAMPLE_ROWS,
        ge=0,
        description="Every LightGBM model (point and quantile) trained on more rows than this trains on a fixed "
        "random sample of this many of them (ridge and the baselines keep every row); 0: every row.",
    )
    quantile_rounds: int = Field(
        QUANTILE_ROUNDS, ge=10, description="Boosting rounds of the LightGBM quantile models of the 80% interval."
    )
    quantile_learning_rate: float = Field(
        QUANTILE_LEARNING_RATE,
        gt=0.0,
        le=1.0,
        description="LightGBM's learning rate (shrinkage) for the quantile models of the 80% interval.",
    )
    quantile_max_rows: int = Field(
        QUANTILE_MAX_ROWS,
        ge=0,
        description="The 80% interval's quantile models bag at most this many rows a boosting round "
        "(fewer rows: half of them, as the point model); 0: half of every row, however many.",
    )
    quantile_sample_rows: int = Field(
        QUANTILE_SAMPLE_ROWS,
        ge=0,
        description="The 80% interval's quantile models train on a fixed random sample of at most this many rows, "
        "drawn from the point models' sample (sharing its bins); 0: the point models' sample.",
    )
    recency_half_life_years: float = Field(
        10.0,
        ge=0.0,
        description="Learned candidates weight training rows by recency, halving every this many years "
        "back from the newest day; 0 weights all rows alike.",
    )
    max_fold_spread: float = Field(
        0.25, ge=0.0, description="Reject a candidate whose skill ranges more than this across validation folds."
    )
    min_improvement_vs_champion: float = Field(
        0.0, ge=0.0, description="Promote only if the candidate's RMSE is this fraction below the champion's."
    )
    diagnostic_figures: bool = Field(
        True,
        description="Draw each candidate's diagnostic figures (forecast vs observed, error by month and by AQI "
        "category, input importance; PNG) into its MLflow run. Off: none are drawn; the models, scores and "
        "training version are the same.",
    )


class PredictSettings(_Section):
    """Batch inference."""

    max_staleness_days: int = Field(
        3, ge=0, description="Forecast a site only if its newest observation is at most this old."
    )
    # The AQI > 100 warning each forecast row carries (aqi_warning). A probability is adopted only where
    # the development windows met POD >= 0.5 with false-alarm ratio <= 0.5 (docs/backtest.md): PM2.5 on
    # the AirNow 2018 window at p >= 0.20; ozone nowhere yet, so its warning is the point forecast's AQI.
    warning_probability_pm25: float | None = Field(
        0.20, ge=0.0, le=1.0, description="Warn of PM2.5 AQI > 100 where P(AQI > 100) is at least this "
        "(chosen on the AirNow 2018 development window, docs/backtest.md).",
    )  # fmt: skip
    warning_probability_ozone: float | None = Field(
        None, ge=0.0, le=1.0, description="Warn of ozone AQI > 100 where P(AQI > 100) is at least this "
        "(unset: where the point forecast's AQI is above 100; no probability met the target yet).",
    )  # fmt: skip

    def warning_probability(self, pollutant: str) -> float | None:
        """The probability of AQI > 100 at which a pollutant's forecast warns (None: the point forecast's AQI)."""
        return self.warning_probability_pm25 if pollutant == "pm25" else self.warning_probability_ozone


class AqsSettings(_Section):
    """EPA AQS Data API."""

    base_url: str = "https://aqs.epa.gov/data/api"
    email: str | None = None
    key: SecretStr | None = None
    min_interval_seconds: float = Field(
        5.0, ge=0.0, description="Pause between requests (EPA: about 5 s, at most 10 a minute)."
    )
    max_retries: int = Field(5, ge=0, description="Retries of a request on 5xx, timeouts and damaged bodies.")
    backoff_seconds: float = Field(2.0, ge=0.0, description="First retry delay; doubles each retry, with jitter.")
    timeout_seconds: float = Field(120.0, gt=0.0, description="Per-request timeout.")


class AirNowSettings(_Section):
    """EPA AirNow API."""

    base_url: str = "https://www.airnowapi.org"
    key: SecretStr | None = None
    bbox: str | None = Field(
        None,
        description="min lon,min lat,max lon,max lat: with a key, `airwatch run` also ingests AirNow's last "
        "`hours` hours there (the days AQS has not published yet).",
    )
    hours: int = Field(48, ge=1, description="How far back `airwatch run` asks AirNow (AirNow revises recent hours).")
    min_interval_seconds: float = Field(1.0, ge=0.0, description="Pause between requests.")
    max_retries: int = Field(4, ge=0, description="Retries on 5xx, timeouts and damaged bodies.")
    backoff_seconds: float = Field(2.0, ge=0.0, description="First retry delay; doubles each retry, with jitter.")


class WeatherSettings(_Section):
    """Weather as model input: NOAA station history, and a forecast for the target day."""

    mode: Literal["none", "lagged", "forecast"] = Field(
        "lagged",
        description=(
            "none: no weather; lagged: the issue day's observed weather; forecast: also the target day's "
            "weather, observed in training and from the forecast API when predicting."
        ),
    )
    stations_dir: str | None = Field(
        None, description="Folder of NOAA GHCN-Daily station files (.dly or daily-summaries CSV); default: bundled."
    )
    radius_km: float = Field(50.0, gt=0.0, description="A site uses the nearest station within this distance.")
    forecast_url: str | None = Field(
        None,
        description="Open-Meteo forecast API base URL (e.g. https://api.open-meteo.com); unset: no forecast "
        "API, and forecasts fall back to the issue day's observed weather.",
    )
    max_retries: int = Field(4, ge=0, description="Retries of a forecast request on 5xx, timeouts, damaged bodies.")
    backoff_seconds: float = Field(1.0, ge=0.0, description="First retry delay; doubles each retry, with jitter.")
    min_interval_seconds: float = Field(0.2, ge=0.0, description="Pause between forecast requests.")
    timeout_seconds: float = Field(30.0, gt=0.0, description="Per-request timeout.")


class RunnerSettings(_Section):
    """Where a flow's parallel tasks run (Prefect task runners); outputs are the same on each."""

    kind: Literal["threads", "processes", "dask"] = Field(
        "threads", description="threads (default), processes, or dask (prefect-dask: a local cluster or address)."
    )
    workers: int = Field(2, ge=1, description="Parallel tasks (threads, processes or local Dask workers).")
    dask_address: str | None = Field(
        None, description="A running Dask scheduler (tcp://host:8786); unset: a local cluster of `workers` processes."
    )


class AlertSettings(_Section):
    """Where failures are reported."""

    webhook_url: SecretStr | None = Field(
        None,
        description="Slack-compatible webhook (JSON {'text': ...}) called when a flow run fails or crashes, and "
        "by the monitor's incidents (drift, skill, coverage, stale data, AQI above 150).",
    )
    watchdog_hours: float = Field(
        26.0, gt=0.0, description="Alert when a daily deployment has had no completed run for this long."
    )


class MonitorSettings(_Section):
    """Verification, drift, alerts and the retraining they start (the monitor stage)."""

    window_days: int = Field(30, ge=1, description="Scores cover this many days before the monitor's date.")
    drift_psi: float = Field(0.2, gt=0.0, description="A feature has drifted at this PSI or above.")
    drift_ks: float = Field(0.1, gt=0.0, le=1.0, description="... or at this Kolmogorov-Smirnov statistic or above.")
    drift_margin_weeks: int = Field(
        2, ge=0, le=26, description="The training reference keeps the batch's calendar weeks, plus or minus this."
    )
    drift_batch_days: int = Field(
        7, ge=1, description="The inference batch compared: the forecast inputs of this many latest issue days."
    )
    drift_min_values: int = Field(
        200, ge=10, description="A feature with fewer values on either side is reported as not evaluated."
    )
    skill_days: int = Field(7, ge=1, description="Alert when day+1 skill over this many latest days ...")
    min_skill: float = Field(0.0, description="... falls below this (0: no better than persistence).")
    skill_min_pairs: int = Field(20, ge=1, description="Judge skill only over at least this many pairs.")
    coverage_band: tuple[float, float] = Field(
        (0.7, 0.9), description="Alert when the 80% interval's coverage over the window leaves this band."
    )
    coverage_min_pairs: int = Field(30, ge=1, description="Judge coverage only over at least this many pairs.")
    stale_days: int = Field(
        2,
        ge=1,
        description="A site that reported in the last 60 days is stale after this many quiet days "
        "(or twice its usual gap between samples, if longer).",
    )
    health_aqi: int = Field(150, ge=0, le=500, description="Public-health alert when a forecast AQI exceeds this.")
    renotify_hours: float = Field(
        24.0, ge=0.0, description="Remind of an incident still open after this long (0: never)."
    )
    throttle_hours: float = Field(
        6.0, ge=0.0, description="An incident that reopens within this long of its last message is not re-sent."
    )
    retrain: bool = Field(True, description="Drift or degraded skill starts the training flow.")
    retrain_cooldown_hours: float = Field(
        72.0, ge=0.0, description="At most one retraining of a pollutant started by the monitor in this long."
    )

    @field_validator("coverage_band")
    @classmethod
    def _band(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 <= value[0] < value[1] <= 1.0:
            raise ValueError("must be two shares low,high with 0 <= low < high <= 1")
        return value


# The validate stage's section is named like the stage; pydantic warns that the name shadows the
# deprecated BaseModel.validate classmethod, which AirWatch never calls.
warnings.filterwarnings("ignore", message='Field name "validate"', category=UserWarning)


class Settings(BaseSettings):
    """Everything AirWatch can be told, with embedded defaults that run offline."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        extra="forbid",
        frozen=True,
    )

    store: str = Field("data/store", description="Store URL: a local folder (path or file://) or s3://bucket/prefix.")
    input_dir: str | None = Field(
        None, description="Folder of EPA daily files to ingest; default: the bundled real sample."
    )
    mlflow_tracking_uri: str | None = Field(
        None,
        description="MLflow tracking URI (MLFLOW_TRACKING_URI works too); default: a SQLite file under the "
        "store's mlflow/ folder.",
    )
    mlflow_username: str | None = Field(None, description="MLflow server user (its basic-auth app).")
    model_prefix: str = Field(
        "airwatch",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
        description="Registered models and experiments are <prefix>-<pollutant> (e.g. a staging install's own).",
    )
    mlflow_password: SecretStr | None = Field(None, description="MLflow server password (its basic-auth app).")
    prefect_api_url: str | None = Field(
        None, description="Prefect server API URL; default: an ephemeral local Prefect."
    )
    log_level: str = Field("INFO", description="Python log level.")
    validate: ValidateSettings = Field(default_factory=ValidateSettings)  # type: ignore[assignment]
    archives: ArchiveSettings = Field(default_factory=ArchiveSettings)
    train: TrainSettings = Field(default_factory=TrainSettings)
    predict: PredictSettings = Field(default_factory=PredictSettings)
    aqs: AqsSettings = Field(default_factory=AqsSettings)
    airnow: AirNowSettings = Field(default_factory=AirNowSettings)
    weather: WeatherSettings = Field(default_factory=WeatherSettings)
    runner: RunnerSettings = Field(default_factory=RunnerSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)

    @field_validator("store")
    @classmethod
    def _store_scheme(cls, value: str) -> str:
        scheme = value.split("://", 1)[0] if "://" in value else "file"
        if scheme not in {"file", "s3"}:
            raise ValueError(f"unsupported store scheme {scheme!r}; use a path, file:// or s3://")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return value.upper()

    def _tracking_server(self) -> str | None:
        return self.mlflow_tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or None

    def tracking_uri(self) -> str:
        """The MLflow tracking URI in force."""
        if server := self._tracking_server():
            return server
        if self.store.startswith("s3://"):
            raise SettingsError(
                "AIRWATCH_MLFLOW_TRACKING_URI (or MLFLOW_TRACKING_URI) is required when the store is on S3"
            )
        root = Path(self.store.removeprefix("file://")).resolve()
        return f"sqlite:///{root / 'mlflow' / 'mlflow.db'}"

    def mlflow_unauthenticated(self) -> bool:
        """Whether an MLflow server is in use with no credentials to give it.

        Production runs MLflow with its basic-auth app (deploy/compose.yaml, scripts/stack.sh): such a
        server refuses every call without them, and a server without auth lets anyone who reaches
        it move the champion alias. The embedded SQLite default needs none.
        """
        server = self._tracking_server()
        if not server or not server.startswith(("http://", "https://")):
            return False
        env = os.environ
        given = (self.mlflow_username and self.mlflow_password) or (
            env.get("MLFLOW_TRACKING_USERNAME") and env.get("MLFLOW_TRACKING_PASSWORD")
        )
        return not (given or env.get("MLFLOW_TRACKING_TOKEN"))

    def artifact_location(self) -> str | None:
        """Where MLflow puts artifacts of new experiments (None: the tracking server decides)."""
        if self._tracking_server():
            return None
        root = Path(self.store.removeprefix("file://")).resolve()
        return (root / "mlflow" / "artifacts").as_uri()

    def masked(self) -> dict[str, Any]:
        """The effective settings with secrets masked, for display."""
        data = self.model_dump(mode="json")
        for path in (("aqs", "key"), ("airnow", "key"), ("alerts", "webhook_url"), ("mlflow_password",)):
            *sections, name = path
            where = data[sections[0]] if sections else data
            if where.get(name):
                where[name] = MASK
        for url_field in ("mlflow_tracking_uri", "prefect_api_url", "store"):
            if data.get(url_field):
                data[url_field] = mask_url(data[url_field])
        s3_without_tracking = self.store.startswith("s3://") and not self._tracking_server()
        data["mlflow_tracking_uri_effective"] = None if s3_without_tracking else mask_url(self.tracking_uri())
        return data


class SettingsError(AirWatchError, ValueError):
    """A setting is unknown or malformed; the message names it."""


def mask_url(url: str) -> str:
    # user:password@host in a URL (e.g. a PostgreSQL backend) must not reach a terminal or log.
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:****@{host}"
    return url


def _known_env_names() -> set[str]:
    names: set[str] = {faults.ENV}  # a test's fault injection, not a setting
    for name, field in Settings.model_fields.items():
        key = (field.alias or name).upper()
        names.add(ENV_PREFIX + key)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for sub in annotation.model_fields:
                names.add(f"{ENV_PREFIX}{key}__{sub.upper()}")
    return names


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, failing fast on unknown ``AIRWATCH_*`` variables or malformed values."""
    known = _known_env_names()
    unknown = sorted(k for k in os.environ if k.upper().startswith(ENV_PREFIX) and k.upper() not in known)
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = "__".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{ENV_PREFIX}{where}: {err['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
