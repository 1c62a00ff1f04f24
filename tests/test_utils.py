"""nablanet.utils: keep_freed_memory and freed_memory_kept (glibc's malloc thresholds)."""

import json
import platform
import subprocess
import sys

import pytest

from nablanet.utils import keep_freed_memory

# Reads glibc's mallinfo2 while a 40 MB array is alive and after it is freed: ``mapped`` is the
# memory served by mmap (returned to the kernel on free), ``heap`` the heap glibc keeps.
_MALLINFO = """
import ctypes
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
"""
_PROBE = _MALLINFO + """
import json, sys
import numpy as np
from nablanet.utils import keep_freed_memory
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


# -- fit keeps freed memory while it trains, and sets the allocator back afterwards ---------------

_FIT_PROBE = _MALLINFO + """
import json
import numpy as np
from nablanet.utils import freed_memory_kept

def mapped_while_alive():
    x = np.ones(10 << 20, dtype=np.float32)  # 40 MB
    mapped = libc.mallinfo2().hblkhd
    del x
    return mapped

out = {}
with freed_memory_kept() as block:
    out["applied"] = block.applied
    out["inside"] = mapped_while_alive()
    out["heap_inside"] = libc.mallinfo2().arena
out["after"] = mapped_while_alive()
out["heap_after"] = libc.mallinfo2().arena
print(json.dumps(out))
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_freed_memory_kept_applies_in_the_block_and_sets_back_after():
    done = subprocess.run([sys.executable, "-c", _FIT_PROBE], capture_output=True, text=True,
                          check=True)
    out = json.loads(done.stdout)
    size = 40 << 20
    assert out["applied"] is True
    assert out["inside"] < size <= out["heap_inside"]  # served from, and kept in, the heap
    assert out["after"] >= size  # above the set-back 32 MiB threshold: mapped again
    assert out["heap_after"] < size  # and what the block kept was returned (malloc_trim)


@pytest.fixture
def malloc_calls(monkeypatch):
    """Record the thresholds nablanet sets, instead of setting them."""
    from nablanet import utils

    calls = []
    monkeypatch.setattr(utils, "_set_malloc_thresholds",
                        lambda mmap, trim: calls.append((mmap, trim)) or True)
    monkeypatch.setattr(utils, "_release_free_memory", lambda: calls.append("trim"))
    monkeypatch.setattr(utils._AllocatorState, "process_wide", False)
    monkeypatch.setattr(utils._AllocatorState, "depth", 0)
    return calls


def _small_model():
    from nablanet import layers, models

    model = models.Sequential([layers.Input(shape=(4,)), layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_fit_keeps_freed_memory_for_the_duration_of_training(malloc_calls):
    import numpy as np

    from nablanet.callbacks import LambdaCallback

    seen = []
    model = _small_model()
    model.fit(np.ones((8, 4)), np.ones((8, 3)), epochs=2, verbose=0,
              callbacks=[LambdaCallback(on_epoch_end=lambda *_: seen.append(len(malloc_calls)))])
    assert seen == [1, 1]  # applied once, before the first step, and kept during training
    assert malloc_calls == [(1 << 30, 1 << 30), (32 << 20, 64 << 20), "trim"]


def test_fit_sets_the_allocator_back_when_training_fails(malloc_calls):
    import numpy as np

    from nablanet.callbacks import LambdaCallback

    def fail(*_):
        raise RuntimeError("stop")

    model = _small_model()
    with pytest.raises(RuntimeError, match="stop"):
        model.fit(np.ones((8, 4)), np.ones((8, 3)), verbose=0,
                  callbacks=[LambdaCallback(on_batch_end=fail)])
    assert malloc_calls == [(1 << 30, 1 << 30), (32 << 20, 64 << 20), "trim"]


def test_fit_leaves_a_process_wide_setting_alone(malloc_calls):
    import numpy as np

    keep_freed_memory()
    assert malloc_calls == [(1 << 30, 1 << 30)]
    _small_model().fit(np.ones((8, 4)), np.ones((8, 3)), verbose=0)
    assert malloc_calls == [(1 << 30, 1 << 30)]  # nothing applied, nothing set back


def test_fit_leaves_the_allocator_alone_when_switched_off(malloc_calls, monkeypatch):
    import numpy as np

    from nablanet import utils

    monkeypatch.setattr(utils, "FIT_KEEPS_FREED_MEMORY", False)
    _small_model().fit(np.ones((8, 4)), np.ones((8, 3)), verbose=0)
    assert malloc_calls == []


def test_freed_memory_kept_blocks_nest(malloc_calls):
    from nablanet.utils import freed_memory_kept

    with freed_memory_kept() as outer:
        with freed_memory_kept() as inner:
            assert outer.applied and inner.applied
        assert malloc_calls == [(1 << 30, 1 << 30)]  # the outer block still holds it
    outer.restore()  # idempotent
    assert malloc_calls == [(1 << 30, 1 << 30), (32 << 20, 64 << 20), "trim"]


def test_evaluate_and_predict_keep_freed_memory_over_their_batches(malloc_calls):
    import numpy as np

    model = _small_model()
    model.evaluate(np.ones((8, 4)), np.ones((8, 3)), batch_size=2, verbose=0)
    assert malloc_calls == [(1 << 30, 1 << 30), (32 << 20, 64 << 20), "trim"]
    malloc_calls.clear()
    model.predict(np.ones((8, 4)), batch_size=2, verbose=0)
    assert malloc_calls == [(1 << 30, 1 << 30), (32 << 20, 64 << 20), "trim"]


def test_one_batch_calls_keep_freed_memory_for_the_next_call(malloc_calls):
    """A one-batch call (a GAN loop's predict, a user's train_on_batch loop) raises the
    thresholds for its duration and sets them back without returning the memory."""
    import numpy as np

    model = _small_model()
    x, y = np.ones((8, 4)), np.ones((8, 3))
    one_call = [(1 << 30, 1 << 30), (32 << 20, 64 << 20)]  # no "trim"
    for call in (lambda: model.predict(x, verbose=0), lambda: model.evaluate(x, y, verbose=0),
                 lambda: model.train_on_batch(x, y), lambda: model.test_on_batch(x, y),
                 lambda: model.predict_on_batch(x)):
        malloc_calls.clear()
        call()
        assert malloc_calls == one_call


def test_one_batch_calls_leave_the_allocator_alone_when_switched_off(malloc_calls,
                                                                     monkeypatch):
    import numpy as np

    from nablanet import utils

    monkeypatch.setattr(utils, "FIT_KEEPS_FREED_MEMORY", False)
    model = _small_model()
    model.train_on_batch(np.ones((8, 4)), np.ones((8, 3)))
    model.predict_on_batch(np.ones((8, 4)))
    assert malloc_calls == []


_STEP_MEMORY = _MALLINFO + """
import sys
import numpy as np
from nablanet import layers, models, utils
utils.FIT_KEEPS_FREED_MEMORY = sys.argv[1] == "on"
model = models.Sequential([layers.Input(shape=(1_200_000,)), layers.Dense(8)])
model.compile(optimizer="sgd", loss="mse")
x, y = np.ones((4, 1_200_000), np.float32), np.ones((4, 8), np.float32)
for _ in range(3):
    model.train_on_batch(x, y)
print(libc.mallinfo2().fordblks)  # free memory glibc holds for the next step
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_a_train_on_batch_loop_keeps_its_freed_memory_for_the_next_step():
    """A step's kernel gradient (38 MB, above glibc's 32 MiB mmap ceiling) is mapped and
    returned to the kernel on every step by default; inside the one-batch call's block it is
    served from the heap and stays there, free, for the next step."""
    free = {mode: int(subprocess.run([sys.executable, "-c", _STEP_MEMORY, mode],
                                     capture_output=True, text=True, check=True).stdout)
            for mode in ("on", "off")}
    gradient = 1_200_000 * 8 * 4
    assert free["on"] >= gradient > free["off"]


def test_validation_inside_fit_shares_fits_setting(malloc_calls):
    import numpy as np

    model = _small_model()
    model.fit(np.ones((8, 4)), np.ones((8, 3)), batch_size=2, epochs=2, verbose=0,
              validation_data=(np.ones((8, 4)), np.ones((8, 3))), validation_batch_size=2)
    assert malloc_calls == [(1 << 30, 1 << 30), (32 << 20, 64 << 20), "trim"]
