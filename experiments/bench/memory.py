"""Resident memory of this process: now, and its own peak.

The peak is the kernel's high-water mark of this process's address space (``VmHWM`` in
``/proc/self/status``), which starts afresh when a program is started. ``getrusage``'s
``ru_maxrss`` does not: on Linux a child started by ``fork`` and ``exec`` inherits its
parent's peak, so a case measured in a child of a large parent would report the parent's.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

STATUS = Path("/proc/self/status")


def peak_rss_mb(status: Path = STATUS) -> float:
    """The peak resident memory of this process since it started its program, in MB.

    Without ``/proc`` (not Linux), ``ru_maxrss``, which may include the parent's peak.
    """
    try:
        text = status.read_text()
    except OSError:
        return _ru_maxrss_mb()
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return _ru_maxrss_mb()


def _ru_maxrss_mb() -> float:
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024  # bytes there, KB


def current_rss_mb() -> float:
    """The process's resident memory now, in MB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20
