"""Archives built in memory for the hostile-archive tests: zips of given members, gzip bombs."""

from __future__ import annotations

import io
import zipfile
import zlib

MIB = 1 << 20


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def gzip_of_zeros(size: int) -> bytes:
    """A gzip stream of size zero bytes, compressed a MiB at a time (never the whole thing in memory)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join(z.compress(bytes(MIB)) for _ in range(size // MIB)) + z.flush()
