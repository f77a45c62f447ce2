"""Shared bits: result rows, the results table, the machine's description, RSS and CPU readers, and
``alternate``: the one way every figure is repeated (rounds alternating between the sides compared)."""
from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import TypeVar


@dataclass
class Figure:
    name: str
    value: str
    target: str = ""
    ok: bool | None = None  # None: informational, no target
    note: str = ""

    @property
    def status(self) -> str:
        return "—" if self.ok is None else ("PASS" if self.ok else "MISS")

    def as_dict(self) -> dict:
        return {**asdict(self), "status": self.status}


def table(figures: list[Figure], *, markdown: bool = False) -> str:
    rows = [(f.name, f.value, f.target or "—", f.status) for f in figures]
    head = ("figure", "value", "target", "result")
    if markdown:
        lines = ["| " + " | ".join(head + ("notes",)) + " |", "|" + "---|" * (len(head) + 1)]
        lines += ["| " + " | ".join(r + (f.note.replace("|", "/"),)) + " |" for r, f in zip(rows, figures)]
        return "\n".join(lines)
    widths = [max(len(str(r[i])) for r in (head, *rows)) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    for r, f in zip(rows, figures):
        lines.append(fmt.format(*r))
        if f.note:
            lines.append("    ↳ " + f.note)
    return "\n".join(lines)


def machine() -> dict[str, str]:
    model = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    except OSError:
        pass
    mem_kb = 0
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            mem_kb = int(next(line.split()[1] for line in f if line.startswith("MemTotal")))
    except (OSError, StopIteration):
        pass
    import aiogram
    import aiosqlite
    return {
        "cpus": str(os.cpu_count()),
        "cpu model": model,
        "RAM": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": sys.version.split()[0],
        "SQLite": sqlite3.sqlite_version,
        "aiogram": aiogram.__version__,
        "aiosqlite": getattr(aiosqlite, "__version__", "?"),
    }


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size now (VmRSS), not the peak."""
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int | str = "self") -> float:
    """utime + stime of a process (and its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # fields 14 and 15 of stat(5)


def mib(n: float) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


T = TypeVar("T")


async def alternate(sides: dict[str, Callable[[int], Awaitable[T]]], rounds: int) -> dict[str, list[T]]:
    """Every benchmark's repetition: each round runs every side once (``side(round)``) and keeps what
    it returns (seconds, a rate, a worker's report); the order flips every other round (A B, B A, …)
    so that machine drift, warm-up and a neighbour's load fall on every side alike. Compare sides
    round by round (``ratios``), never a best run of one against another's."""
    samples: dict[str, list[T]] = {name: [] for name in sides}
    names = list(sides)
    for i in range(rounds):
        for name in names if i % 2 == 0 else reversed(names):
            samples[name].append(await sides[name](i))
    return samples


def ratios(numerators: list[float], denominators: list[float]) -> list[float]:
    """Round-by-round ratios of two sides of ``alternate``."""
    return [a / b for a, b in zip(numerators, denominators, strict=True)]


def spread(values: list[float], fmt: str = "{:.3f}", unit: str = "") -> str:
    """min / median / max, the way every repeated figure is reported."""
    if not values:
        return "—"
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values))) + unit
