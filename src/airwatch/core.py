"""TEMPORARY stand-in until the core-face branch lands (replaced by the real Python face over _core)."""

from __future__ import annotations

import hashlib
import importlib.util

_spec = importlib.util.find_spec("airwatch._core")
SOURCE_DIGEST = hashlib.sha256(open(_spec.origin, "rb").read()).hexdigest() if _spec and _spec.origin else ""  # noqa: SIM115
