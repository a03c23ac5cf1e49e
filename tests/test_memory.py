"""Freed memory goes back to the system: large blocks in mappings of their own; the collector's passes skip
what the imports made (airwatch.memory)."""

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


# In a fresh process (the test worker's own objects were frozen after collection, tests/conftest.py): a
# cycle made while collection is paused, objects alive at the freeze, and a cycle made after it.
FREEZE_PROBE = """
import gc, json, weakref
import airwatch.memory as memory

class Node:
    pass

def cycle():
    node = Node()
    node.me = node
    return weakref.ref(node)

memory.pause_collection()
paused = not gc.isenabled()
before = cycle()
kept = [Node() for _ in range(1000)]
memory.freeze_live_objects()
walked = {id(o) for o in gc.get_objects()}
after = cycle()
gc.collect()
print(json.dumps({"paused": paused, "enabled": gc.isenabled(), "before_freed": before() is None,
                  "after_freed": after() is None, "frozen": gc.get_freeze_count(),
                  "kept_walked": sum(id(o) in walked for o in kept)}))
"""


def test_objects_alive_at_the_freeze_are_left_out_and_garbage_either_side_is_collected() -> None:
    done = subprocess.run([sys.executable, "-c", FREEZE_PROBE], capture_output=True, text=True, check=True, timeout=60)
    out = json.loads(done.stdout)
    assert out["paused"] and out["enabled"]  # paused until the freeze, which ends the pause
    assert out["before_freed"] and out["after_freed"]  # the freeze collects first; later passes still collect
    assert out["frozen"] >= 1000 and out["kept_walked"] == 0  # what was alive is never walked again
