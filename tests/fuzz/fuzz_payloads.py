#!/usr/bin/env python3
"""Atheris (libFuzzer for Python) on the payload parsers, through the API the validate flow calls.

The contract under test is parse_payloads's: any bytes, of any payload kind, under any name, give either
rows or a Rejected with a reason; nothing raises (MemoryError aside, which it re-raises on purpose).
Rows that come back have the normalized columns. The C++ reader below is reached with the bytes as the
flow would pass them, so its crashes show up here too (as a deadly signal).

The first byte of an input picks the payload's kind and name; the rest is the payload. Run by
scripts/fuzz.sh (make fuzz-smoke, make fuzz) with libFuzzer's options; by hand, new inputs going to the
first folder:  PATH=.venv/bin:$PATH tests/fuzz/fuzz_payloads.py -max_total_time=20 NEW tests/fuzz/corpus/payloads
"""

from __future__ import annotations

import gc
import sys
import types
import warnings

import atheris

from airwatch.domain.parse import _EMPTY_COLUMNS
from airwatch.domain.schemas import PayloadKind
from airwatch.domain.validate import Rejected, parse_payloads


def instrument_airwatch() -> int:
    """Coverage instrumentation for AirWatch's own Python functions, in place.

    atheris.instrument_imports cannot see through the import hook of an editable install, and
    instrument_all would instrument pandas and NumPy too (slow to start, and their coverage drowns the
    parsers'); so the functions defined in airwatch's modules are instrumented one by one.
    """
    count = 0
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType) and (obj.__module__ or "").startswith("airwatch."):
            atheris.instrument_func(obj)
            count += 1
    return count


# (kind, key): file names the parser tells apart (plain, gzipped or zipped CSV, an AirNow peak file)
# and the API payload kinds, which are JSON whatever their name.
CHOICES: list[tuple[PayloadKind, str]] = [
    (PayloadKind.FILE, "raw/epa/daily_88502_2019.csv"),
    (PayloadKind.FILE, "raw/epa/daily_44201_2019.csv.gz"),
    (PayloadKind.FILE, "raw/epa/daily_88502_2019.zip"),
    (PayloadKind.FILE, "raw/airnow/20180722-peak.dat"),
    (PayloadKind.AQS_DAILY, "raw/aqs/dailyData/page-1.json"),
    (PayloadKind.AQS_SAMPLE, "raw/aqs/sampleData/page-1.json"),
    (PayloadKind.AIRNOW, "raw/airnow/aq-data.json"),
]


def test_one_input(data: bytes) -> None:
    if not data:
        return
    kind, key = CHOICES[data[0] % len(CHOICES)]
    payload = data[1:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' warnings about odd input are not failures
        frame, rejected = parse_payloads([(kind, key, payload)])
    if rejected:
        assert len(rejected) == 1, rejected
        assert isinstance(rejected[0], Rejected) and rejected[0].key == key, rejected
        assert isinstance(rejected[0].reason, str) and rejected[0].reason, rejected
        assert frame.empty, "a rejected payload gave rows"
    elif not frame.empty:
        missing = set(_EMPTY_COLUMNS) - set(frame.columns)
        assert not missing, f"rows without the normalized columns {sorted(missing)}"


def main() -> None:
    sys.stderr.write(f"INFO: instrumented {instrument_airwatch()} airwatch functions\n")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
