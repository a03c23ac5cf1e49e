"""The secret sweep's search finds a secret however it is stored: it must not pass by searching nothing."""

from __future__ import annotations

import base64
import gzip
import io
import zipfile
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from tests.stack import sweep

SECRET = "sentinel-token-0123456789abcdef"


def test_the_sweep_finds_a_secret_in_every_encoding(tmp_path: Path) -> None:
    wanted = sweep.needles({"token": SECRET, "url": f"http://h/x/{SECRET}?a=b"}, basic_auth=("user", SECRET))
    parquet = io.BytesIO()
    pd.DataFrame({"value": [SECRET]}).to_parquet(parquet, compression="zstd")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("model/params.json", gzip.compress(f'{{"p": "{SECRET}"}}'.encode()))
    cases = {
        "plain.log": f"GET /?key={SECRET}".encode(),
        "quoted.txt": quote(f"http://h/x/{SECRET}?a=b", safe="").encode(),
        "data.parquet": parquet.getvalue(),
        "nested.zip": archive.getvalue(),
        "auth.txt": b"Authorization: Basic " + base64.b64encode(f"user:{SECRET}".encode()),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    assert SECRET.encode() not in cases["nested.zip"] + cases["auth.txt"]  # found only once decoded
    (tmp_path / "clean.txt").write_text("nothing here")
    searched, found = sweep.find([tmp_path], wanted)
    assert searched == len(cases) + 1
    assert {f.split(": ")[0].split(" [")[0].rsplit("/", 1)[-1] for f in found} == set(cases)
    assert any("[zip member model/params.json [gunzipped]]" in f for f in found)
    assert any("MLflow basic-auth header" in f for f in found)
