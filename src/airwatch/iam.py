"""AirWatch's IAM policies (deploy/iam/): one per role, filled in for a store's bucket and prefix.

The documents name the store with two placeholders, ``{bucket}`` and ``{prefix}/``, so one set serves
every install; `render` fills them for ``s3://bucket/prefix`` (a store at the bucket's root drops the
``{prefix}/``). `airwatch iam-policy ROLE` prints the result for AIRWATCH_STORE, ready for
``aws iam put-role-policy``. docs/security.md says what each role may touch and why.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airwatch.errors import AirWatchError

ROLES = (
    "ingest",
    "validate",
    "transform",
    "train",
    "select",
    "predict",
    "monitor",
    "report",
    "operator",
    "deployer",
    "auditor",
)
BUCKET_POLICY = "bucket-policy"  # not a role's: the bucket's own, making the append-only records create-only
BUCKET, PREFIX = "{bucket}", "{prefix}/"


def split_store_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of an ``s3://bucket/prefix`` store URL."""
    if not url.startswith("s3://"):
        raise AirWatchError(f"IAM policies are for a store on S3; the store is {url}")
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise AirWatchError(f"no bucket in store URL {url}")
    return bucket, prefix.strip("/")


def render(document: Any, bucket: str, prefix: str) -> Any:
    """The document with the placeholders filled in; an unfilled brace left over is an error."""
    if isinstance(document, dict):
        return {k: render(v, bucket, prefix) for k, v in document.items()}
    if isinstance(document, list):
        return [render(v, bucket, prefix) for v in document]
    if isinstance(document, str):
        text = document.replace(BUCKET, bucket).replace(PREFIX, f"{prefix}/" if prefix else "")
        if "{" in text or "}" in text:
            raise AirWatchError(f"unknown placeholder in {document!r} (known: {BUCKET}, {PREFIX})")
        return text
    return document


def load(directory: Path, name: str) -> dict[str, Any]:
    """A policy document as committed, placeholders unfilled."""
    if name not in (*ROLES, BUCKET_POLICY):
        raise AirWatchError(f"no policy {name!r}; the roles are {', '.join(ROLES)} (and {BUCKET_POLICY})")
    path = directory / f"{name}.json"
    try:
        document: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise AirWatchError(f"policy file {path} does not exist") from None
    return document


def policy_for_store(directory: Path, name: str, store_url: str) -> dict[str, Any]:
    """A role's (or the bucket's) policy for the store at store_url."""
    bucket, prefix = split_store_url(store_url)
    rendered: dict[str, Any] = render(load(directory, name), bucket, prefix)
    return rendered
