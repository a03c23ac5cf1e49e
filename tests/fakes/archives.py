"""Archives built in memory for the hostile-archive tests: zips of given members, gzip bombs."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

MIB = 1 << 20
# Magic, deflate, no flags, no time, maximum compression, unknown system (RFC 1952).
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def gzip_of_zeros(size: int) -> bytes:
    """A gzip stream of size zero bytes (whole MiBs), never the whole thing in memory.

    Each MiB is deflated alone (a full flush after it), so after the first every MiB's deflate blocks are
    the same bytes: two MiBs are compressed and the second repeated, instead of compressing every MiB
    (a 512 MiB bomb: 1.5 s -> 0.14 s of the suite). The header and trailer (CRC-32, size) are gzip's.
    """
    zeros, count = bytes(MIB), size // MIB
    z = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw deflate: the gzip framing is written here
    first = z.compress(zeros) + z.flush(zlib.Z_FULL_FLUSH) if count else b""
    again = z.compress(zeros) + z.flush(zlib.Z_FULL_FLUSH) if count > 1 else b""
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    body = first + again * max(count - 1, 0) + z.flush()
    return GZIP_HEADER + body + struct.pack("<II", crc, (count * MIB) & 0xFFFFFFFF)
