"""What every flow needs, built once from the settings: the store and the registry."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from airwatch import __version__
from airwatch.io.registry import Registry
from airwatch.io.store import Store, open_store
from airwatch.settings import Settings, load_settings

RAW_INVENTORY = "raw/epa-daily"
RAW_AQS = "raw/aqs"
RAW_AIRNOW = "raw/airnow"
RAW_SOURCES = (RAW_INVENTORY, RAW_AQS, RAW_AIRNOW)
RAW_WEATHER = "raw/weather"
OBSERVATIONS = "processed/observations"
WEATHER = "processed/weather"


def features_dataset(pollutant: str) -> str:
    return f"processed/features/{pollutant}"


def training_prefix(pollutant: str) -> str:
    return f"models/{pollutant}/training/"


def _git_suffix() -> str:
    root = Path(__file__).resolve().parents[3]
    if not (root / ".git").exists():
        return ""
    try:
        sha = subprocess.run(  # noqa: S603 - fixed command, no user input
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],  # noqa: S607
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"+g{sha}" if sha else ""


@dataclass
class Context:
    """Settings plus the adapters they configure."""

    settings: Settings

    @classmethod
    def load(cls, settings: Settings | None = None) -> Context:
        return cls(settings or load_settings())

    @cached_property
    def store(self) -> Store:
        return open_store(self.settings.store)

    @cached_property
    def registry(self) -> Registry:
        return Registry(self.settings.tracking_uri(), self.settings.artifact_location())

    @cached_property
    def code_version(self) -> str:
        """The package version, plus the git commit when running from a checkout."""
        return __version__ + _git_suffix()
