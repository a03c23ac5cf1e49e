"""Hostile and damaged archives: each is refused with a reason naming the file (and member), in bounded memory."""

from __future__ import annotations

import gzip
import io
import os
import random
import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from airwatch.domain.archives import (
    DEFAULT_LIMITS,
    ArchiveError,
    ArchiveLimits,
    decompress,
    gunzip,
    text_blocks,
    unsafe_member,
)
from airwatch.domain.parse import parse_daily_file
from airwatch.domain.sites import parse_site_list
from airwatch.domain.weather import combine_weather
from airwatch.io.files import bundled_sample_dir, bundled_weather_dir, known_stations
from airwatch.settings import SettingsError, load_settings
from tests.fakes.archives import MIB, gzip_of_zeros, zip_of

# A real download-tool export's header and first row (the bundled sample).
_SAMPLE = gzip.decompress((bundled_sample_dir() / "pm25_daily_2010_cook_county_IL.csv.gz").read_bytes())
HEADER, ROW = (line + b"\n" for line in _SAMPLE.split(b"\n")[:2])


def peak_of(call) -> int:  # type: ignore[no-untyped-def]
    """Peak bytes allocated while call runs (it must raise ArchiveError)."""
    tracemalloc.start()
    try:
        with pytest.raises(ArchiveError) as caught:
            call()
        return tracemalloc.get_traced_memory()[1], str(caught.value)  # type: ignore[return-value]
    finally:
        tracemalloc.stop()


def test_plain_gzip_and_zip_read_as_before() -> None:
    csv = HEADER + ROW * 3
    assert bytes(decompress("x.csv", csv)) == csv
    assert bytes(decompress("x.csv.gz", gzip.compress(csv))) == csv
    assert bytes(decompress("x.zip", zip_of({"x.csv": csv, "readme.txt": b"hi"}))) == csv
    assert bytes(decompress("x.gz", gzip.compress(csv[:40]) + gzip.compress(csv[40:]))) == csv  # two members
    assert len(parse_daily_file("daily.zip", zip_of({"daily.csv": csv}))) == 3


@pytest.mark.parametrize(
    "member", ["../../evil.csv", "data/../../evil.csv", "/etc/evil.csv", "\\evil.csv", "C:\\evil.csv", "..\\x.csv"]
)
def test_a_member_path_outside_the_archive_is_refused_and_nothing_is_written(
    member: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    archive = zip_of({member: HEADER + ROW})
    with pytest.raises(ArchiveError) as caught:
        parse_daily_file("daily_88101_2020.zip", archive)
    assert str(caught.value) == (
        f"daily_88101_2020.zip: member {member!r} has an unsafe path ('..' or absolute); not read"
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b"]  # nothing extracted anywhere
    # A refused path among harmless members refuses the whole archive: a real EPA zip never has one.
    with pytest.raises(ArchiveError, match="unsafe path"):
        decompress("x.zip", zip_of({"daily.csv": HEADER + ROW, member: b"x"}))


def test_safe_member_names_are_not_mistaken_for_unsafe_ones() -> None:
    for name in ("daily_88101_2020.csv", "dir/daily..csv", "a/b/c.csv", "..csv"):
        assert not unsafe_member(name), name


def test_a_zip_bomb_is_refused_by_its_declared_size_without_inflating() -> None:
    bomb = zip_of({"daily.csv": HEADER + bytes(256 * MIB)})
    assert len(bomb) < 400_000  # a few hundred KB that claim 256 MiB
    peak, message = peak_of(lambda: decompress("daily_bomb.zip", bomb))
    assert message.startswith("daily_bomb.zip: member 'daily.csv': expands to more than 200 times its ")
    assert "AIRWATCH_ARCHIVES__MAX_RATIO" in message and "compression bomb" in message
    assert peak < 2 * len(bomb) + MIB  # the archive's own copy: not a byte of the 256 MiB


def test_a_zip_that_lies_about_its_size_is_stopped_while_reading() -> None:
    honest = zip_of({"daily.csv": HEADER + bytes(64 * MIB)})
    # Rewrite the declared uncompressed size (local header and central directory) to 1,000 bytes.
    info = zipfile.ZipFile(io.BytesIO(honest)).infolist()[0]
    lying = bytearray(honest)
    struct.pack_into("<I", lying, info.header_offset + 22, 1000)
    central = honest.rindex(b"PK\x01\x02")
    struct.pack_into("<I", lying, central + 24, 1000)
    peak, message = peak_of(lambda: decompress("daily_liar.zip", bytes(lying)))
    assert message.startswith("daily_liar.zip: ") and "not read" in message
    assert peak < 8 * MIB + 3 * len(lying)


def test_the_zip_size_limit_is_checked_without_a_ratio(tmp_path: Path) -> None:
    csv = HEADER + ROW * 20_000
    limits = ArchiveLimits(max_bytes=len(csv) - 1, max_ratio=1e9)
    with pytest.raises(ArchiveError, match=r"expands to more than [\d,]+ bytes \(AIRWATCH_ARCHIVES__MAX_BYTES\)"):
        decompress("x.zip", zip_of({"x.csv": csv}), limits)
    assert bytes(decompress("x.zip", zip_of({"x.csv": csv}), ArchiveLimits(max_bytes=len(csv)))) == csv


def test_the_bombs_made_here_are_gzip_streams_of_zeros() -> None:
    for mib in (0, 1, 3):  # the first MiB's blocks, the repeated ones, and the end of the stream
        assert gzip.decompress(gzip_of_zeros(mib * MIB)) == bytes(mib * MIB)


def test_a_gzip_bomb_is_refused_in_bounded_memory() -> None:
    bomb = gzip_of_zeros(512 * MIB)
    assert len(bomb) < 600_000
    peak, message = peak_of(lambda: gunzip("pm25.csv.gz", bomb))
    assert message.startswith(f"pm25.csv.gz: expands to more than 200 times its {len(bomb):,} compressed bytes")
    limit = DEFAULT_LIMITS.limit(len(bomb))
    assert limit < 128 * MIB  # what the archive may expand to: far less than the 512 MiB it would
    assert peak < limit + 40 * MIB


def test_a_gzip_larger_than_max_bytes_is_refused() -> None:
    data = gzip.compress(os.urandom(3 * MIB))  # incompressible: the ratio is 1, the size is the problem
    with pytest.raises(ArchiveError, match=r"x\.csv\.gz: expands to more than 2,097,152 bytes"):
        decompress("x.csv.gz", data, ArchiveLimits(max_bytes=2 * MIB))


def test_nested_archives_are_refused() -> None:
    inner_zip = zip_of({"daily.csv": HEADER + ROW})
    with pytest.raises(ArchiveError, match=r"^outer\.zip: holds another archive \(nested compression\); not read$"):
        decompress("outer.zip", zip_of({"daily.csv": inner_zip}))
    with pytest.raises(ArchiveError, match=r"^twice\.csv\.gz: holds another archive"):
        decompress("twice.csv.gz", gzip.compress(gzip.compress(HEADER + ROW)))
    # 42.zip's shape: each level small, the product enormous; refused at the first level, unopened.
    with pytest.raises(ArchiveError, match="nested"):
        decompress("42.zip", zip_of({"x.csv": zip_of({f"{i}.zip": gzip_of_zeros(MIB) for i in range(16)})}))


@pytest.mark.parametrize(
    ("name", "damage", "reason"),
    [
        ("trunc.csv.gz", lambda gz, zp: gz[: len(gz) // 2], r"^trunc\.csv\.gz: truncated gzip data"),
        ("crc.csv.gz", lambda gz, zp: gz[:-8] + b"\0\0\0\0" + gz[-4:], r"^crc\.csv\.gz: damaged gzip data"),
        ("junk.csv.gz", lambda gz, zp: gz + b"not gzip", r"^junk\.csv\.gz: 8 bytes of trailing data"),
        ("bits.csv.gz", lambda gz, zp: gz[:10] + b"\xff" * 40 + gz[50:], r"^bits\.csv\.gz: damaged gzip data"),
        ("trunc.zip", lambda gz, zp: zp[: len(zp) // 2], r"^trunc\.zip: not a readable zip"),
        ("tail.zip", lambda gz, zp: zp[:-30], r"^tail\.zip: not a readable zip"),
        ("empty.zip", lambda gz, zp: b"", r"^empty\.zip: not a readable zip"),
    ],
)
def test_truncated_or_corrupt_archives_name_the_file(name, damage, reason) -> None:  # type: ignore[no-untyped-def]
    csv = HEADER + ROW * 2000
    with pytest.raises(ArchiveError, match=reason):
        decompress(name, damage(gzip.compress(csv), zip_of({"x.csv": csv})))


def test_a_zip_with_a_corrupted_member_names_it() -> None:
    csv = HEADER + ROW * 2000
    data = bytearray(zip_of({"x.csv": csv}))
    data[200:260] = b"\xff" * 60  # inside the deflate stream, after the local header
    with pytest.raises(ArchiveError, match=r"^bad\.zip: "):
        decompress("bad.zip", bytes(data))


def test_limits_are_settings_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().archives.limits() == DEFAULT_LIMITS
    monkeypatch.setenv("AIRWATCH_ARCHIVES__MAX_BYTES", str(64 * MIB))
    monkeypatch.setenv("AIRWATCH_ARCHIVES__MAX_RATIO", "50")
    assert load_settings().archives.limits() == ArchiveLimits(max_bytes=64 * MIB, max_ratio=50.0)
    monkeypatch.setenv("AIRWATCH_ARCHIVES__MAX_RATIO", "1")
    with pytest.raises(SettingsError, match="AIRWATCH_ARCHIVES__MAX_RATIO: Input should be greater than 1"):
        load_settings()


def test_site_list_and_weather_refuse_hostile_archives_too() -> None:
    with pytest.raises(ValueError, match=r"aqs_sites\.zip: .*unsafe path"):
        parse_site_list("aqs_sites.zip", zip_of({"../aqs_sites.csv": b"x"}))
    station = bundled_weather_dir() / "USW00094846.dly.gz"
    files = [("bomb.dly.gz", gzip_of_zeros(64 * MIB)), (station.name, station.read_bytes())]
    weather, _, counts = combine_weather(files, known_stations())
    assert counts["files"] == 1 and counts["skipped"] == 1  # the bomb skipped, the real station read
    assert set(weather["station_id"]) == {"USW00094846"}


@pytest.mark.parametrize("kind", ["plain", "gzip", "zip"])
def test_text_blocks_are_whole_lines_that_make_the_content(kind: str) -> None:
    rng = random.Random(5)
    lines = [b"x" * rng.randrange(0, 400) + b"\n" for _ in range(2000)]
    lines.insert(700, b"y" * 300_000 + b"\n")  # a line longer than a block
    content = b"".join(lines) + b"no newline at the end"
    data = {"plain": content, "gzip": gzip.compress(content), "zip": zip_of({"a.csv": content})}[kind]
    name = {"plain": "a.csv", "gzip": "a.csv.gz", "zip": "a.zip"}[kind]
    blocks = [bytes(b) for b in text_blocks(name, data, block_bytes=4096)]
    assert b"".join(blocks) == content
    assert all(b.endswith(b"\n") for b in blocks[:-1]) and len(blocks) >= 2
    if kind == "plain":  # views cut near every block_bytes; a decompressed piece (up to ~16 MB) is not cut
        assert len(blocks) > 100 and any(len(b) > 300_000 for b in blocks)
