"""The benchmark's arithmetic, without training: throughput and its median process, the
ratio to the PyTorch peer paired by round, GFLOP/s and the fraction of the limit, the
networks' FLOPs, the CPU flags, the timing of the limit, the order of the rounds and the
peak memory of a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from experiments.bench import memory
from tests.helpers import ROOT

# Run in a process of its own, started by a parent that holds 512 MB: the child's peak must
# be its own (getrusage's ru_maxrss would report the parent's 512 MB and more).
MEMORY_PROBE = """
import json
import numpy as np
from experiments.bench import memory

def measure():
    return memory.current_rss_mb(), memory.peak_rss_mb()

before = measure()
block = np.ones(256 * 2**20 // 8)
held = measure()
del block
print(json.dumps([before, held, measure()]))
"""


def test_resident_memory_measures_follow_a_known_allocation_in_the_child_only():
    held_by_parent = np.ones(512 * 2**20 // 8)
    assert memory.peak_rss_mb() >= 512
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    probe = [sys.executable, "-c", MEMORY_PROBE]
    done = subprocess.run(probe, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    del held_by_parent
    assert done.returncode == 0, done.stderr[-2000:]
    (now_0, peak_0), (now_1, peak_1), (now_2, peak_2) = json.loads(done.stdout)
    assert peak_0 < 256  # the child's own peak, not the parent's
    assert now_1 - now_0 == pytest.approx(256, abs=16)
    assert now_2 - now_0 == pytest.approx(0, abs=16)  # the block went back to the system
    assert peak_0 >= now_0 - 1 and peak_1 >= now_1 - 1  # never below the current size
    assert peak_2 >= now_1 - 1 and peak_2 >= peak_1 - 1  # and remembers the block once freed
