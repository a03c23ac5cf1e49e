"""Opening the archives EPA files come in (gzip, and AirData's one-CSV zips) without trusting them.

A payload is whatever a URL or a folder handed over, so an archive may be hostile or damaged: a
member path with ``..`` or an absolute path (harmless here, since nothing is ever extracted to disk,
but never a real EPA file), a bomb (a few kilobytes that expand to gigabytes; AirData's CSVs
compress about 6-35 times), an archive inside the archive, a truncated download. Each is refused
with an :class:`ArchiveError` that names the file and, for a zip, the member; the validate stage
quarantines the payload with that reason and reads the others.

The output is produced in bounded steps and abandoned as soon as it passes the limit, so a bomb
costs at most the limit in memory, never its full size.
"""

from __future__ import annotations

import io
import mmap
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

Buffer = bytes | bytearray | memoryview | mmap.mmap

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
MIB = 1 << 20
STEP = 16 * 1024  # compressed bytes inflated at a time
BLOCK_BYTES = 64 * MIB  # text parsed at a time (text_blocks)
NEWLINE = ord("\n")


class ArchiveError(ValueError):
    """An archive was refused or could not be read; the message names the file (and the member)."""


@dataclass(frozen=True)
class ArchiveLimits:
    """How far an archive may expand (settings: ``AIRWATCH_ARCHIVES__*``)."""

    max_bytes: int = 4 << 30  # the largest AirData file, an hourly year, is about 2 GB of CSV
    max_ratio: float = 200.0  # deflate's ceiling is about 1032; real CSVs stay under 40
    # Below this output a high ratio is harmless (a small file of repeated lines), so it is not judged.
    ratio_floor_bytes: int = 16 * MIB

    def limit(self, compressed: int) -> int:
        """The most bytes an archive of this compressed size may expand to."""
        return min(self.max_bytes, max(int(self.max_ratio * max(compressed, 1)), self.ratio_floor_bytes))

    def exceeded(self, name: str, compressed: int) -> ArchiveError:
        limit = self.limit(compressed)
        if limit == self.max_bytes:
            why = f"more than {self.max_bytes:,} bytes (AIRWATCH_ARCHIVES__MAX_BYTES)"
        else:
            why = (
                f"more than {self.max_ratio:g} times its {compressed:,} compressed bytes "
                "(AIRWATCH_ARCHIVES__MAX_RATIO): a compression bomb"
            )
        return ArchiveError(f"{name}: expands to {why}; not read")


DEFAULT_LIMITS = ArchiveLimits()

_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_member(member: str) -> bool:
    """A member path that would land outside the folder it is extracted to: absolute, a drive, or with '..'."""
    parts = re.split(r"[\\/]", member)
    return member.startswith(("/", "\\")) or bool(_DRIVE.match(member)) or ".." in parts


def is_archive(data: Buffer) -> bool:
    return data[:2] == GZIP_MAGIC or data[:4] == ZIP_MAGIC


def decompress(name: str, data: Buffer, limits: ArchiveLimits = DEFAULT_LIMITS) -> Buffer:
    """The content of a file: gunzipped, the single CSV member of a zip (AirData bulk files), or as is.

    The kind is judged by content as well as by name: a name can lie (a .gz that was already unpacked).
    """
    if name.endswith(".zip") or data[:4] == ZIP_MAGIC:
        out: Buffer = unzip_csv(name, data, limits)
    elif data[:2] == GZIP_MAGIC:
        out = gunzip(name, data, limits)
    else:
        return data
    _refuse_nested(name, out)
    return out


def gunzip(name: str, data: Buffer, limits: ArchiveLimits = DEFAULT_LIMITS) -> bytearray:
    """Every member of a gzip stream, refused once it passes the limits, or if damaged or truncated."""
    out = bytearray()
    for piece in _gunzip_pieces(name, data, limits):
        out += piece
    return out


def _gunzip_pieces(name: str, data: Buffer, limits: ArchiveLimits) -> Iterator[bytes]:
    """The output of gunzip, a step at a time (each step under ~16 MB): the same checks, as it goes."""
    limit = limits.limit(len(data))
    view, pos, total = memoryview(data), 0, 0
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        while True:
            if d.eof:
                pos -= len(d.unused_data)  # the next member starts where this one ended
                if pos >= len(view):
                    return
                if view[pos : pos + 2] != GZIP_MAGIC:  # as gzip.decompress: another member, or nothing
                    extra = len(view) - pos
                    raise ArchiveError(f"{name}: {extra} bytes of trailing data after the gzip stream; not read")
                d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            if pos >= len(view):
                raise ArchiveError(f"{name}: truncated gzip data (the stream ends early); not read")
            # Small input steps keep every step's output under ~16 MB (deflate expands at most ~1032x)
            # and the unconsumed input copies small; max_length 0 would mean unbounded, hence the + 1.
            chunk = view[pos : pos + STEP]
            pos += len(chunk)
            piece = d.decompress(chunk, limit - total + 1)
            while True:
                total += len(piece)
                if total > limit:
                    raise limits.exceeded(name, len(view))
                if piece:
                    yield piece
                if not d.unconsumed_tail:
                    break
                piece = d.decompress(d.unconsumed_tail, limit - total + 1)
    except zlib.error as exc:
        raise ArchiveError(f"{name}: damaged gzip data ({exc}); not read") from None


def unzip_csv(name: str, data: Buffer, limits: ArchiveLimits = DEFAULT_LIMITS) -> bytearray:
    """The single CSV member of a zip, after checking every member's path and the CSV's declared size."""
    out = bytearray()
    for piece in _unzip_pieces(name, data, limits):
        out += piece
    return out


def _unzip_pieces(name: str, data: Buffer, limits: ArchiveLimits) -> Iterator[bytes]:
    """unzip_csv's output, a MiB at a time: the same checks, as it goes."""
    try:
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
            infos = archive.infolist()
            if bad := [i.filename for i in infos if unsafe_member(i.filename)]:
                raise ArchiveError(f"{name}: member {bad[0]!r} has an unsafe path ('..' or absolute); not read")
            csvs = [i for i in infos if i.filename.lower().endswith(".csv")]
            if len(csvs) != 1:
                found = [i.filename for i in csvs]
                raise ArchiveError(f"{name}: expected one CSV file in the zip, found {found}")
            yield from _member_pieces(name, archive, csvs[0], limits)
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"{name}: not a readable zip ({exc}); not read") from None
    except (zlib.error, EOFError) as exc:
        raise ArchiveError(f"{name}: damaged zip data ({type(exc).__name__}: {exc}); not read") from None
    except (NotImplementedError, RuntimeError) as exc:  # an unsupported method, an encrypted member
        raise ArchiveError(f"{name}: cannot read the zip ({exc}); not read") from None


def text_blocks(
    name: str, data: Buffer, limits: ArchiveLimits = DEFAULT_LIMITS, block_bytes: int = BLOCK_BYTES
) -> Iterator[Buffer]:
    """The content decompress gives, in blocks of whole lines of about block_bytes (a longer line is one block).

    A large file is then never held whole: a year of AirData hourly rows is about 1 GB of text for a
    200 MB zip. A plain file's blocks are views of it (no copy). The checks are decompress's, made as
    the content arrives, so a bomb still stops at the limit.
    """
    if name.endswith(".zip") or data[:4] == ZIP_MAGIC:
        pieces: Iterator[bytes] = _unzip_pieces(name, data, limits)
    elif data[:2] == GZIP_MAGIC:
        pieces = _gunzip_pieces(name, data, limits)
    else:
        yield from _plain_blocks(data, block_bytes)
        return
    # last: where the buffer's last newline is, found in each piece as it arrives (searching the whole
    # buffer each time would be quadratic on a long text without newlines).
    buffer, checked, last = bytearray(), False, -1
    for piece in pieces:
        if (i := piece.rfind(b"\n")) >= 0:
            last = len(buffer) + i
        buffer += piece
        if not checked and len(buffer) >= len(ZIP_MAGIC):
            _refuse_nested(name, buffer)
            checked = True
        if len(buffer) >= block_bytes and last >= 0:
            yield bytes(buffer[: last + 1])
            del buffer[: last + 1]
            last = -1
    if not checked:
        _refuse_nested(name, buffer)
    if buffer:
        yield bytes(buffer)


def _refuse_nested(name: str, start: Buffer) -> None:
    if is_archive(start):  # 42.zip-style nesting multiplies the ratio at every level; EPA never nests
        raise ArchiveError(f"{name}: holds another archive (nested compression); not read")


def _plain_blocks(data: Buffer, block_bytes: int) -> Iterator[Buffer]:
    """Views of data in blocks of whole lines: each ends after the last newline within block_bytes."""
    text = np.frombuffer(data, dtype=np.uint8)
    view, start, n = memoryview(data), 0, len(text)
    while start < n:
        end = min(start + block_bytes, n)
        if end < n:
            newlines = np.flatnonzero(text[start:end] == NEWLINE)
            if len(newlines):
                end = start + int(newlines[-1]) + 1
            else:  # a line longer than a block is a block of its own
                after = np.flatnonzero(text[end:] == NEWLINE)
                end = end + int(after[0]) + 1 if len(after) else n
        yield view[start:end]
        start = end


def _member_pieces(
    name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ArchiveLimits
) -> Iterator[bytes]:
    where = f"{name}: member {info.filename!r}"
    limit = limits.limit(info.compress_size)
    # The declared size is checked first, so an honest bomb is refused without inflating a byte ...
    if info.file_size > limit:
        raise limits.exceeded(where, info.compress_size)
    total = 0
    with archive.open(info) as member:
        # ... and the bytes are counted too, because a header can lie about the size.
        while chunk := member.read(min(MIB, limit - total + 1)):
            total += len(chunk)
            if total > limit:
                raise limits.exceeded(where, info.compress_size)
            yield chunk
