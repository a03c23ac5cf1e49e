"""The MLflow adapter: experiments and runs, logged models, the registry and its aliases."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sqlite3
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from airwatch import imports
from airwatch.domain.models import set_to_files
from airwatch.domain.train import Evaluation, ForecastSet
from airwatch.errors import AirWatchError, NoDataError
from airwatch.io.redact import redact
from airwatch.settings import mask_url

with imports.without("polars"):  # MLflow's Polars dataset type, never logged here (airwatch/imports.py)
    import mlflow
    from mlflow.entities import Metric, Param
    from mlflow.models import infer_signature
    from mlflow.tracking import MlflowClient

# MLflow's advice when logging a model, not problems: the signature is inferred from five real feature
# rows (integer columns there are integers at inference too), and no input example is stored on purpose.
warnings.filterwarnings("ignore", message=r"Hint: Inferred schema contains integer column", category=UserWarning)
warnings.filterwarnings("ignore", message=r".*An input example was not provided", category=UserWarning)

CHAMPION = "champion"
PREVIOUS = "previous"
CHALLENGER = "challenger"
EXAMPLE_ROWS = 5  # the rows of a logged model's input example (its signature is inferred from them)
log = logging.getLogger(__name__)

# What a logged model needs to load elsewhere; pinned here so MLflow does not spend time inferring it.
_PIP_REQUIREMENTS = ["airwatch", "lightgbm", "scikit-learn", "pandas", "numpy", "mlflow"]


# What the registry answers when a model or alias does not exist. Any other failure (the server down,
# restarting, refusing) is not an absence: taken for "no champion", it would promote without comparing.
_ABSENT = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}


class RegistryError(AirWatchError):
    """MLflow could not do what the registry was asked (its server unreachable or failing, after retries)."""


# The model code MLflow stores with each model (models-from-code): no pickled object, only files.
MODEL_CODE = str(Path(__file__).with_name("mlflow_model.py"))


@dataclass(frozen=True)
class RegisteredVersion:
    """A model version in the registry."""

    name: str
    version: str
    run_id: str
    tags: dict[str, str]
    model_id: str = ""  # MLflow's logged-model id (m-...), what the version's files are


def registered_model_name(pollutant: str, prefix: str = "airwatch") -> str:
    return f"{prefix}-{pollutant}"


def experiment_name(pollutant: str, prefix: str = "airwatch") -> str:
    return f"{prefix}-{pollutant}"


class Registry:
    """MLflow tracking and registry behind one object, configured once."""

    def __init__(
        self,
        tracking_uri: str,
        artifact_location: str | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        prefix: str = "airwatch",
    ) -> None:
        self.tracking_uri = tracking_uri
        self.prefix = prefix
        self.artifact_location = artifact_location
        self._models: dict[str, Any] = {}  # loaded models by logged-model id
        if username and password:
            # A server with MLflow's basic-auth app: its client reads the credentials from here.
            os.environ["MLFLOW_TRACKING_USERNAME"] = username
            os.environ["MLFLOW_TRACKING_PASSWORD"] = password
        if tracking_uri.startswith("sqlite:///"):
            database = Path(tracking_uri.removeprefix("sqlite:///"))
            database.parent.mkdir(parents=True, exist_ok=True)
            _start_from_template(database)
        self._use()
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def _use(self) -> None:
        """Point MLflow's fluent API (a module global) at this registry's server.

        MLflow also exports the URI to the environment; the export is undone, or the next store opened
        in this process would look like it has an MLflow server.
        """
        before = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def experiment_id(self, name: str) -> str:
        with self._calling(f"find or create the experiment {name}"):
            existing = self.client.get_experiment_by_name(name)
            if existing is not None:
                return str(existing.experiment_id)
            return str(self.client.create_experiment(name, artifact_location=self.artifact_location))

    def start_run(
        self, pollutant: str, run_name: str, *, nested: bool = False, tags: dict[str, str] | None = None
    ) -> Any:
        self._use()
        return mlflow.start_run(
            experiment_id=self.experiment_id(experiment_name(pollutant, self.prefix)),
            run_name=run_name,
            nested=nested,
            tags=tags,
        )

    @staticmethod
    def log_params(params: dict[str, Any]) -> None:
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})

    @staticmethod
    def log_metrics(metrics: dict[str, float]) -> None:
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if np.isfinite(v)})

    def log_scores(self, params: dict[str, Any], metrics: dict[str, float]) -> None:
        """Parameters and metrics of the active run in one request (mlflow.log_params and log_metrics make two)."""
        run = mlflow.active_run()
        assert run is not None, "scores are logged in a run"
        now = int(time.time() * 1000)
        self.client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items() if np.isfinite(v)],
            params=[Param(k, str(v)[:500]) for k, v in params.items()],
        )

    @staticmethod
    def log_dict(data: dict[str, Any], name: str) -> None:
        mlflow.log_dict(data, name)

    @staticmethod
    def log_model(models: ForecastSet, example: pd.DataFrame) -> str:
        """Log a model (every horizon with its interval) as a pyfunc model in the active run; its URI.

        The artifact is the models' files (LightGBM's native format, JSON), not a pickle.
        """
        features = sorted({c for h in models.horizons for c in models.features(h)})
        columns = ["site_id", "date", "last_value", *[c for c in features if c != "last_value"]]
        sample = example[columns].head(EXAMPLE_ROWS)
        sample = sample.astype({"date": "datetime64[ns]"})
        signature = infer_signature(sample, models.predict(sample))
        with tempfile.TemporaryDirectory(prefix="airwatch-model-") as tmp, _quiet_mlflow():
            for name, data in set_to_files(models).items():
                path = Path(tmp, "model", name)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=MODEL_CODE,
                artifacts={"model": str(Path(tmp, "model"))},
                signature=signature,
                pip_requirements=_PIP_REQUIREMENTS,
            )
        return str(info.model_uri)

    def log_candidates(self, pollutant: str, fits: list[tuple[Any, Evaluation]], tags: dict[str, str]) -> list[str]:
        """Each candidate's validation fit as a nested run of the active training run: the runs' ids, in order.

        A run holds the candidate's parameters and scores; its plots come later (`log_plots`).
        """
        run_ids = []
        for candidate, evaluation in fits:
            name = evaluation.result.name
            with self.start_run(pollutant, name, nested=True, tags={**tags, "candidate": name}) as run:
                self.log_scores({**candidate.params, "candidate": name, **tags}, evaluation.metrics())
            run_ids.append(str(run.info.run_id))
        return run_ids

    def log_plots(self, plots: dict[str, dict[str, bytes]]) -> None:
        """Each run's plots (PNG files by name, by run id) into its `plots` folder; a run may have ended."""
        for run_id, files in plots.items():
            with tempfile.TemporaryDirectory(prefix="airwatch-files-") as tmp:
                for name, data in files.items():
                    Path(tmp, name).write_bytes(data)
                self.client.log_artifacts(run_id, tmp, "plots")

    def log_refit(
        self, pollutant: str, models: ForecastSet, example: pd.DataFrame, tags: dict[str, str], extent: dict[str, Any]
    ) -> tuple[str, str]:
        """The chosen configuration refitted on all the data, with its model: (run id, model URI)."""
        name = f"refit {models.candidate}"
        with self.start_run(pollutant, name, nested=True, tags={**tags, "candidate": models.candidate}) as run:
            self.log_params({"candidate": models.candidate, "horizons": sorted(models.horizons), **extent, **tags})
            model_uri = self.log_model(models, example)
        return str(run.info.run_id), model_uri

    def recent_runs(self, pollutants: list[str], newest: int) -> list[dict[str, str]]:
        """The newest top-level runs of the pollutants' experiments, newest first (flow, times, state)."""
        found = {p: self.client.get_experiment_by_name(experiment_name(p, self.prefix)) for p in pollutants}
        ids = {str(e.experiment_id): p for p, e in found.items() if e is not None}
        if not ids:
            return []
        runs = self.client.search_runs(
            list(ids), "tags.mlflow.parentRunId IS NULL", max_results=newest, order_by=["attributes.start_time DESC"]
        )

        def stamp(ms: int | None) -> str:
            return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M:%S") if ms else ""

        return [
            {
                "flow": f"{ids[str(r.info.experiment_id)]}: {r.info.run_name}",
                "started_utc": stamp(r.info.start_time),
                "ended_utc": stamp(r.info.end_time),
                "state": str(r.info.status),
                "message": r.data.tags.get("mlflow.note.content", "")[:200],
            }
            for r in runs
        ]

    @contextlib.contextmanager
    def _calling(self, doing: str) -> Iterator[None]:
        """MLflow's failures, once its client has retried them, as one line naming what was being done.

        The client retries connection errors and 408/429/5xx itself (MLFLOW_HTTP_REQUEST_MAX_RETRIES,
        7 by default, with backoff: about 4 minutes), so a server that restarts is waited for; what
        arrives here is a server down for longer, or refusing.
        """
        try:
            yield
        except mlflow.exceptions.MlflowException as exc:
            reason = _reason(str(exc.message)) or exc.error_code
            raise RegistryError(f"MLflow at {mask_url(self.tracking_uri)}: could not {doing}: {reason}") from None

    def champion(self, pollutant: str) -> RegisteredVersion | None:
        name = registered_model_name(pollutant, self.prefix)
        with self._calling(f"read the '{CHAMPION}' alias of {name}"):
            try:
                mv = self.client.get_model_version_by_alias(name, CHAMPION)
            except mlflow.exceptions.MlflowException as exc:
                if exc.error_code in _ABSENT:
                    return None
                raise
        return _version(mv)

    def register(self, pollutant: str, model_uri: str, run_id: str, tags: dict[str, str]) -> RegisteredVersion:
        """Register a training's model (from its run) once.

        MLflow's client retries a request whose answer was lost (a reset, a server restarting after
        doing it), and a version create retried so is a second version of the same model: it is found
        here and deleted (nothing names it yet: no alias, no decision), and the first one returned.
        """
        name = registered_model_name(pollutant, self.prefix)
        with self._calling(f"register {model_uri} as a version of {name}"):
            try:
                self.client.get_registered_model(name)
            except mlflow.exceptions.MlflowException as exc:
                if exc.error_code not in _ABSENT:
                    raise
                with contextlib.suppress(mlflow.exceptions.MlflowException):  # made meanwhile (a retried create)
                    self.client.create_registered_model(name, description=f"AirWatch {pollutant} forecast")
            self._use()
            with _quiet_mlflow():
                mv = mlflow.register_model(model_uri, name, tags=tags)
            same = self._versions_from(name, run_id, model_uri)
            for extra in same[1:]:
                log.warning("registry: %s v%s is a second registration of v%s (a create MLflow's client "
                            "retried after its answer was lost); deleting it", name, extra.version,
                            same[0].version)  # fmt: skip
                self.client.delete_model_version(name, extra.version)
        return _version(same[0]) if same else _version(mv)

    def _versions_from(self, name: str, run_id: str, model_uri: str) -> list[Any]:
        found = self.client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
        return sorted((mv for mv in found if str(mv.source) == model_uri), key=lambda mv: int(mv.version))

    def registered_from(self, pollutant: str, run_id: str, model_uri: str) -> RegisteredVersion | None:
        """The version already registered from a training's model (its run and URI), if any."""
        name = registered_model_name(pollutant, self.prefix)
        with self._calling(f"look up the versions of {name} registered from run {run_id}"):
            versions = self._versions_from(name, run_id, model_uri)
        return _version(versions[0]) if versions else None

    def set_champion(self, version: RegisteredVersion) -> None:
        self.set_alias(version, CHAMPION)

    def set_alias(self, version: RegisteredVersion, alias: str) -> None:
        with self._calling(f"set the '{alias}' alias of {version.name} to v{version.version}"):
            self.client.set_registered_model_alias(version.name, alias, version.version)

    def move_aliases(
        self, version: RegisteredVersion, champion: RegisteredVersion | None, *, promote: bool
    ) -> dict[str, str]:
        """A promoted version becomes champion and the old champion previous; otherwise it is the challenger.

        The champion alias moves last: a run stopped in between leaves the old champion in place, and
        its next run moves both. Returns the aliases set, each with the version it now names (for the
        audit log).
        """
        if promote:
            moved = {}
            if champion is not None:
                self.set_alias(champion, PREVIOUS)
                moved[PREVIOUS] = champion.version
            self.set_champion(version)
            return {CHAMPION: version.version, **moved}
        self.set_alias(version, CHALLENGER)
        return {CHALLENGER: version.version}

    def tag_version(self, version: RegisteredVersion, tags: dict[str, str]) -> None:
        with self._calling(f"tag {version.name} v{version.version}"):
            for key, value in tags.items():
                self.client.set_model_version_tag(version.name, version.version, key, value)

    def load_version(self, version: RegisteredVersion) -> Any:
        """The version's model, loaded once per process (cached by its logged-model id)."""
        key = version.model_id or f"{version.name}/{version.version}"
        if key not in self._models:
            self._use()
            self._models[key] = mlflow.pyfunc.load_model(f"models:/{version.name}/{version.version}")
        return self._models[key]

    def load_champion(self, pollutant: str) -> tuple[Any, RegisteredVersion]:
        """The champion, its alias resolved once: the model loaded is the version returned."""
        champion = self.champion(pollutant)
        if champion is None:
            raise NoDataError(
                f"no '{CHAMPION}' alias on registered model {registered_model_name(pollutant, self.prefix)}; "
                "run train and select first"
            )
        return self.load_version(champion), champion


# The root cause in MLflow's message for a request that failed after its retries, which otherwise
# repeats the URL and urllib3's whole exception chain.
_CAUSES = (r"\[Errno -?\d+\] ([^'\")]+)", r"(too many \d+ error responses)", r"(Read timed out)",
           r"(Connection aborted|RemoteDisconnected|Connection reset by peer)")  # fmt: skip


def _reason(message: str) -> str:
    text = redact(message.strip().splitlines()[0] if message.strip() else "")
    for pattern in _CAUSES:
        if found := re.search(pattern, text):
            return f"{found.group(1)} (after MLflow's client retried)"
    return text[:600]


def _version(mv: Any) -> RegisteredVersion:
    # A version registered from a logged model's URI (models:/m-...) names it in its source; the
    # registry leaves model_id empty then.
    source = str(mv.source or "")
    model_id = mv.model_id or (source.removeprefix("models:/") if source.startswith("models:/m-") else "")
    return RegisteredVersion(str(mv.name), str(mv.version), str(mv.run_id), dict(mv.tags), str(model_id))


class _quiet_mlflow:
    """MLflow prints progress bars and environment notes to stderr; keep the pipeline's output readable."""

    def __enter__(self) -> None:
        self._level = logging.getLogger("mlflow").level
        logging.getLogger("mlflow").setLevel(logging.ERROR)
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("mlflow").setLevel(self._level)


def _start_from_template(database: Path) -> None:
    """A new local MLflow database begins as a copy of an empty one at MLflow's current schema.

    MLflow builds a new SQLite database by replaying its whole migration history (about a second of
    CPU, every new store: each `make run` on a new folder, each test store). The empty database it
    ends with is the same every time except for the "Default" experiment, which records the store's
    path; the template has no experiment, and MLflow creates that one on opening the copy. The
    template is made once per MLflow version in the user's cache folder. Anything failing here only
    means MLflow builds the database itself, as it would without this.
    """
    if database.exists():
        return
    try:
        template = _empty_database_template()
        partial = database.with_name(f".{database.name}.{os.getpid()}.partial")
        shutil.copyfile(template, partial)
        try:
            os.link(partial, database)  # create-only: a database another process made meanwhile stays
        except FileExistsError:
            pass
        finally:
            partial.unlink()
    except Exception as exc:  # an optimisation only: MLflow makes the database the usual way
        log.debug("MLflow database template not used for %s: %s", database, exc)


def _empty_database_template() -> Path:
    import sqlalchemy
    from mlflow.store.db.utils import _initialize_tables

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "airwatch"
    template = cache / f"mlflow-{mlflow.__version__}-empty.db"
    if template.exists() and _schema_revision(template):
        return template
    cache.mkdir(parents=True, exist_ok=True)
    partial = cache / f".{template.name}.{os.getpid()}.partial"
    partial.unlink(missing_ok=True)
    engine = sqlalchemy.create_engine(f"sqlite:///{partial}")
    try:
        _initialize_tables(engine)  # type: ignore[no-untyped-call]
        with engine.begin() as connection:  # experiments record their store's path: none in the template
            connection.execute(sqlalchemy.text("DELETE FROM experiment_tags"))
            connection.execute(sqlalchemy.text("DELETE FROM experiments"))
    finally:
        engine.dispose()
    os.replace(partial, template)
    return template


def _schema_revision(database: Path) -> str | None:
    """The schema revision MLflow recorded in a database; None when it is not an MLflow database."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None
