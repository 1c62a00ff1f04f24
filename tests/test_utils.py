"""nablanet.utils: keep_freed_memory (glibc's malloc thresholds)."""

import json
import platform
import subprocess
import sys

import pytest

from nablanet.utils import keep_freed_memory

# Reads glibc's mallinfo2 while a 40 MB array is alive and after it is freed: ``mapped`` is the
# memory served by mmap (returned to the kernel on free), ``heap`` the heap glibc keeps.
_PROBE = """
import ctypes, json, sys
import numpy as np
from nablanet.utils import keep_freed_memory

class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
applied = keep_freed_memory() if sys.argv[1] == "keep" else None
x = np.empty(10 << 20, dtype=np.float32)
x[:] = 1
alive = libc.mallinfo2()
del x
freed = libc.mallinfo2()
print(json.dumps({"applied": applied, "mapped": alive.hblkhd, "heap_after_free": freed.arena}))
"""


def _probe(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_keep_freed_memory_serves_large_arrays_from_a_kept_heap():
    size = 40 << 20
    default = _probe("default")
    assert default["mapped"] >= size  # glibc's default: fresh pages, unmapped on free
    kept = _probe("keep")
    assert kept["applied"] is True
    assert kept["mapped"] < size  # served from the heap instead
    assert kept["heap_after_free"] >= size  # and kept there after the free, for the next step


@pytest.mark.parametrize("threshold", [0, -5, 1 << 31, 2.5, True, "1GB"])
def test_keep_freed_memory_rejects_bad_thresholds(threshold):
    with pytest.raises(ValueError, match="threshold must be a positive number of bytes"):
        keep_freed_memory(threshold)
