"""The benchmark's tables: each case against its PyTorch peer and the machine's limit.

A case's throughput is that of its median process; its ratio to PyTorch is the median, over
the rounds, of its process's throughput over the PyTorch process's of the same round (the
two ran minutes apart, so a slow spell of the machine falls on both), with the lowest and
highest of those ratios as its spread. Its peer is the PyTorch loop of the same model and
precision: bfloat16 compute is compared with PyTorch's bfloat16 autocast.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from experiments.bench.limits import DTYPES, LIBRARIES
from experiments.bench.measure import Measurement


def peer(m: Measurement, measurements: Sequence[Measurement]) -> Measurement | None:
    """The PyTorch measurement of ``m``'s model, precision and batch size, if any."""
    return next(
        (
            r
            for r in measurements
            if r.framework == "pytorch"
            and (r.model, r.precision, r.batch_size) == (m.model, m.precision, m.batch_size)
        ),
        None,
    )


def paired_ratios(m: Measurement, reference: Measurement) -> list[float]:
    """``m``'s throughput over ``reference``'s, process by process (round by round)."""
    pairs = zip(m.process_images_per_s, reference.process_images_per_s, strict=False)
    return [ours / theirs for ours, theirs in pairs]


def spread(values: Sequence[float]) -> dict[str, float]:
    """The median, lowest and highest of ``values``."""
    return {"median": statistics.median(values), "low": min(values), "high": max(values)}


def summarize_limits(rounds: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Model -> its batch, FLOPs per image and, per dtype, the spread of the GFLOP/s that
    the rounds measured (each round: model -> :func:`~.limits.network_limits`): the
    limit, the faster library's; ``by_library``, each library's median per dtype."""
    summary: dict[str, dict[str, Any]] = {}
    for model in dict.fromkeys(model for measured in rounds for model in measured):
        mine = [measured[model] for measured in rounds if model in measured]
        libraries = [lib for lib in LIBRARIES if all(lib in m.get("by_library", {}) for m in mine)]
        summary[model] = {
            "batch": mine[0]["batch"],
            "flops_per_image": mine[0]["flops_per_image"],
            **{dtype: spread([m["gflops"][dtype] for m in mine]) for dtype in DTYPES},
            "by_library": {
                lib: {
                    dtype: statistics.median(m["by_library"][lib][dtype] for m in mine)
                    for dtype in DTYPES
                }
                for lib in libraries
            },
            "rounds": len(mine),
        }
    return summary


def case_row(
    m: Measurement, measurements: Sequence[Measurement], limits: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """One row of :func:`comparison`."""
    row: dict[str, Any] = {
        "model": m.model,
        "framework": m.framework,
        "backend": m.backend,
        "precision": m.precision,
        "variant": m.variant,
        "batch_size": m.batch_size,
        "images_per_s": round(m.images_per_s),
        "gflops": None,
        "of_limit": None,
        "first_epoch_s": round(m.first_epoch_s, 2),
        "peak_rss_mb": round(max(m.peak_rss_mb)),
        "test_accuracy": round(m.test_accuracy, 4),
        "epochs": len(m.epoch_s[0]),
        "processes": len(m.epoch_s),
    }
    limit = limits.get(m.model)
    if limit:
        achieved = limit["flops_per_image"] * m.images_per_s / 1e9
        row["gflops"] = round(achieved, 2)
        row["of_limit"] = round(achieved / limit[m.precision]["median"], 3)
    reference = peer(m, measurements)
    ratios = spread(paired_ratios(m, reference)) if reference else {}
    for key, column in (
        ("median", "vs_pytorch"),
        ("low", "vs_pytorch_low"),
        ("high", "vs_pytorch_high"),
    ):
        row[column] = round(ratios[key], 2) if ratios else None
    return row


def comparison(
    measurements: Sequence[Measurement], limits: Mapping[str, Mapping[str, Any]] | None = None
) -> pd.DataFrame:
    """One row per case: throughput, GFLOP/s and fraction of the limit (where ``limits``,
    from :func:`summarize_limits`, has the model), first epoch, peak memory, test accuracy
    and the ratio to the PyTorch peer with its lowest and highest round."""
    return pd.DataFrame([case_row(m, measurements, limits or {}) for m in measurements])


def limits_table(limits: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per model: its training FLOPs per image and the GFLOP/s of its matrix
    multiplications in float32 and bfloat16 (the limit: median of the rounds, lowest,
    highest; then each library's median where the rounds timed more than one)."""
    rows = []
    for model, limit in limits.items():
        row: dict[str, Any] = {
            "model": model,
            "batch": limit["batch"],
            "mflop_per_image": round(limit["flops_per_image"] / 1e6, 3),
        }
        for dtype in DTYPES:
            row[f"{dtype}_gflops"] = round(limit[dtype]["median"], 1)
            row[f"{dtype}_low"] = round(limit[dtype]["low"], 1)
            row[f"{dtype}_high"] = round(limit[dtype]["high"], 1)
        by_library = limit.get("by_library", {})
        for library in by_library if len(by_library) > 1 else ():
            for dtype in DTYPES:
                row[f"{dtype}_{library}"] = round(by_library[library][dtype], 1)
        row["faster"] = max(DTYPES, key=lambda d: limit[d]["median"])
        row["rounds"] = limit["rounds"]
        rows.append(row)
    return pd.DataFrame(rows)


def describe_cpu(cpu: Mapping[str, Any], cores: int | None) -> str:
    """One line: the CPU, its cores, and which relevant instruction-set flags it has."""
    if not cpu.get("read"):
        return f"CPU: {cores} cores; its flags could not be read (no /proc/cpuinfo)"
    present = " ".join(cpu["present"]) or "none"
    absent = " ".join(cpu["absent"]) or "none"
    return f"CPU: {cpu['model'] or 'unknown'}, {cores} cores; flags: {present}; absent: {absent}"


def describe_limit(model: str, limit: Mapping[str, Any]) -> str:
    """One line per model: the limit in each dtype with its spread, and which was faster."""
    parts = [
        f"{dtype} {limit[dtype]['median']:,.1f} GFLOP/s "
        f"({limit[dtype]['low']:,.1f}-{limit[dtype]['high']:,.1f})"
        for dtype in DTYPES
    ]
    fast, slow = sorted(DTYPES, key=lambda d: -limit[d]["median"])
    times = limit[fast]["median"] / limit[slow]["median"]
    line = (
        f"  {model} (batch {limit['batch']}, {limit['flops_per_image'] / 1e6:.2f} MFLOP per "
        f"training image): {', '.join(parts)}; {fast} {times:.1f}x faster"
    )
    by_library = limit.get("by_library", {})
    if len(by_library) > 1:
        line += "; by library: " + ", ".join(
            f"{library} " + " / ".join(f"{g[d]:,.1f}" for d in DTYPES)
            for library, g in by_library.items()
        )
    return line
