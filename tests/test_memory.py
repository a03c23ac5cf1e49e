"""Freed memory goes back to the system: large blocks in mappings of their own (airwatch.memory)."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

# A process frees one 16 MB block (glibc then raises the size from which it maps a block to 16 MB), then
# makes twenty 8 MB blocks and frees all but the last: the freed ones sit below a block in use, so malloc
# can hand nothing back unless each block had a mapping of its own. Resident MB before and after.
PROBE = """
import json, sys
if sys.argv[1] == "airwatch":
    import airwatch.memory

def resident():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS:"))

large = b"x" * (16 << 20)  # written, so resident
del large
start = resident()
blocks = [b"x" * (8 << 20) for _ in range(20)]
del blocks[:-1]
print(json.dumps({"held": resident() - start}))
"""


def held_mb(how: str) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE, how], capture_output=True, text=True, check=True, timeout=60)
    return int(json.loads(done.stdout)["held"])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_blocks_freed_below_a_block_in_use_are_handed_back() -> None:
    assert held_mb("plain") >= 150  # glibc alone keeps the 19 freed blocks (152 MB)
    assert held_mb("airwatch") <= 10  # with airwatch.memory imported, only the block in use remains
