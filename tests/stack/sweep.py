"""Searching everything a production run leaves behind for secrets.

The stack test gives every secret a sentinel value, runs the pipeline, dumps what the services hold
(the bucket, MLflow, Prefect, their databases) into a folder, and hands that folder and the local
files (logs, captured output, the report) to :func:`find`. Compressed content is searched both as
stored and expanded (gzip, zip members, Parquet as text), so a secret cannot hide in an encoding.
"""

from __future__ import annotations

import base64
import gzip
import io
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote

import pyarrow.parquet as pq

MAX_DEPTH = 3  # archives inside archives (a model's zip inside a tarball ...) are expanded this deep


def needles(secrets: dict[str, str], basic_auth: tuple[str, str] | None = None) -> dict[bytes, str]:
    """Byte strings to look for, each naming its secret: as is, URL-quoted, and base64 (an auth header)."""
    out: dict[bytes, str] = {}
    for name, value in secrets.items():
        for form in {value, quote(value, safe=""), quote(value, safe="/:")}:
            out[form.encode()] = name
        out[base64.b64encode(value.encode()).rstrip(b"=")[:-2]] = f"{name} (base64)"
    if basic_auth:
        token = base64.b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode()).rstrip(b"=")
        out[token[:-2]] = "MLflow basic-auth header (base64 user:password)"
    return out


def expanded(data: bytes, depth: int = 0) -> Iterator[tuple[str, bytes]]:
    """(how, bytes) of data itself and of every decoding of it that can be read."""
    yield "", data
    if depth >= MAX_DEPTH:
        return
    if data[:2] == b"\x1f\x8b":
        try:
            inner = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return
        for how, part in expanded(inner, depth + 1):
            yield f" [gunzipped{how}]", part
    elif data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [(m, archive.read(m)) for m in archive.namelist()]
        except (zipfile.BadZipFile, zlib.error, EOFError):
            return
        for member, content in members:
            for how, part in expanded(content, depth + 1):
                yield f" [zip member {member}{how}]", part
    elif data[:4] == b"PAR1":
        try:
            table = pq.read_table(io.BytesIO(data))
        except Exception:  # not a readable Parquet file after all: searched as bytes
            return
        text = table.to_pandas().to_csv(index=False).encode() + str(table.schema.metadata).encode()
        yield " [parquet as text]", text


def search(data: bytes, where: str, wanted: dict[bytes, str]) -> list[str]:
    """Where each needle occurs in data (and its decodings): 'place: secret'."""
    return [
        f"{where}{how}: {name} at byte {part.find(needle)}"
        for how, part in expanded(data)
        for needle, name in wanted.items()
        if needle in part
    ]


def files_below(roots: Iterable[Path]) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from (p for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink())


def find(roots: Iterable[Path], wanted: dict[bytes, str]) -> tuple[int, list[str]]:
    """(files searched, findings) over every file below roots."""
    count, found = 0, []
    for path in files_below(roots):
        try:
            data = path.read_bytes()
        except OSError as exc:  # a file removed mid-walk, or not ours to read
            found.append(f"{path}: could not be read ({exc})")
            continue
        count += 1
        found.extend(search(data, str(path), wanted))
    return count, found
