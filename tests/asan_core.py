"""Pytest plugin of `make test-asan-py`: the tests run against the sanitized build of airwatch._core.

Loaded with ``-p tests.asan_core`` and AIRWATCH_TEST_CORE=<path of the built _core*.so>. The editable
install's import hook always serves the normal build for ``airwatch._core``, so the sanitized module is
loaded under that name before anything imports airwatch; airwatch.core then finds it in sys.modules.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys

import pytest


def _load_core() -> str:
    path = os.environ.get("AIRWATCH_TEST_CORE", "")
    if not path:
        raise pytest.UsageError("tests.asan_core needs AIRWATCH_TEST_CORE=<path of the sanitized _core .so>")
    if "airwatch._core" in sys.modules:
        raise pytest.UsageError("airwatch._core was imported before tests.asan_core could replace it")
    spec = importlib.util.spec_from_file_location("airwatch._core", path)
    if spec is None or spec.loader is None:
        raise pytest.UsageError(f"AIRWATCH_TEST_CORE: {path} is not an extension module")
    module = importlib.util.module_from_spec(spec)
    sys.modules["airwatch._core"] = module
    spec.loader.exec_module(module)
    return path


CORE_PATH = _load_core()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fails the run unless the tests really use the sanitized module, with ASan's runtime loaded."""
    from airwatch import core

    used = core._core.__file__  # type: ignore[attr-defined]
    if os.path.realpath(used) != os.path.realpath(CORE_PATH):
        raise pytest.UsageError(f"airwatch.core uses {used}, not the sanitized {CORE_PATH}")
    if not hasattr(ctypes.CDLL(None), "__asan_init"):
        raise pytest.UsageError("ASan's runtime is not loaded: run with LD_PRELOAD=<libasan.so> (make test-asan-py)")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"airwatch._core under ASan + UBSan: {used}")
