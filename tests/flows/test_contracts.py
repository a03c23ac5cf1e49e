"""Stage contracts: every flow is deployable (plain, JSON-able parameters) and no flow imports another."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

from prefect import Flow
from prefect.utilities.callables import parameter_schema

import airwatch.flows
from airwatch.flows.context import Context

FLOWS_DIR = Path(airwatch.flows.__file__).parent


def all_flows() -> list[Flow]:
    found = []
    for info in pkgutil.iter_modules([str(FLOWS_DIR)]):
        module = importlib.import_module(f"airwatch.flows.{info.name}")
        found += [
            obj for obj in vars(module).values() if isinstance(obj, Flow) and obj.fn.__module__ == module.__name__
        ]
    return found


def test_every_flow_has_a_parameter_schema_and_no_context_parameter() -> None:
    flows = all_flows()
    assert {f.name for f in flows} >= {"run", "ingest", "ingest-aqs", "ingest-airnow", "ingest-weather", "validate",
                                       "transform", "train", "select", "predict", "backtest"}  # fmt: skip
    for f in flows:
        schema = parameter_schema(f.fn)
        assert schema.properties is not None, f.name
        for name, parameter in inspect.signature(f.fn).parameters.items():
            assert parameter.annotation not in (Context, "Context"), f"{f.name}.{name} takes a Context"
        # JSON in, as a deployment sends it: every parameter type is expressible in the schema.
        for name, prop in schema.properties.items():
            assert prop, f"{f.name}.{name} has no schema"


def test_flows_do_not_import_other_flows() -> None:
    """Stage flows share no code through each other; a flow that composes others imports only flows.

    pipeline wires the stages, replay ends with the monitor, and the monitor starts the retrain flow
    when no deployment of it exists: they may import other flows and their summaries, nothing else.
    """
    shared = {"airwatch.flows.context", "airwatch.flows.tasks", "airwatch.flows.runners"}
    composers = {"pipeline", "replay", "monitor"}
    for path in FLOWS_DIR.glob("*.py"):
        if path.stem in ("__init__", "context", "tasks", "runners"):
            continue
        tree = ast.parse(path.read_text())
        imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        other = [n for n in imports if n.module.startswith("airwatch.flows.") and n.module not in shared]  # type: ignore[union-attr]
        if path.stem not in composers:
            assert not other, path.name
        names = [a.name for n in other for a in n.names]
        assert all(n.endswith("_flow") or n.endswith("Summary") for n in names), (path.name, names)


def test_store_keys_are_written_only_in_the_catalog() -> None:
    """No module outside catalog.py spells a store key prefix."""
    package = FLOWS_DIR.parent
    areas = ("raw/", "processed/", "quarantine/", "models/", "predictions/", "state/", "locks/", "audit/")
    prefixes = [f'"{a}' for a in areas]  # plain and f-string literals both contain the quote-prefix
    for path in package.rglob("*.py"):
        if path.name == "catalog.py":
            continue
        text = path.read_text()
        assert not [p for p in prefixes if p in text], f"{path.relative_to(package)} writes a store key"
