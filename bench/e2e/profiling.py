"""Sample the services with py-spy while the benchmark runs, and summarise where time goes.

``py-spy record --format raw`` writes collapsed stacks (``frame;frame;... count``). The summary
gives each function's share of the samples as the innermost frame (self) and anywhere on the
stack (total), which is enough to name a service's hotspots. Idle threads are not sampled.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Recorder:
    """One py-spy process attached to one service process."""

    label: str
    output: Path
    proc: subprocess.Popen[bytes]


def start(pids: dict[str, int], folder: Path, rate: int = 50) -> list[Recorder]:
    """Attach py-spy to every pid (label -> pid); raise if py-spy is not installed."""
    beside = Path(sys.executable).with_name("py-spy")
    py_spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if py_spy is None:
        msg = "py-spy is not installed: .venv/bin/pip install py-spy"
        raise RuntimeError(msg)
    folder.mkdir(parents=True, exist_ok=True)
    recorders = []
    for label, pid in pids.items():
        output = folder / f"{label.replace('#', '-')}.txt"
        command = [
            py_spy, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw",
            "--output", str(output), "--nonblocking",
        ]  # fmt: skip
        log = (folder / f"{output.stem}.py-spy.log").open("wb")
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        recorders.append(Recorder(label, output, proc))
    return recorders


def stop(recorders: list[Recorder]) -> None:
    """Stop every py-spy (SIGINT makes it write its output) and wait for it."""
    for recorder in recorders:
        if recorder.proc.poll() is None:
            recorder.proc.send_signal(signal.SIGINT)
    for recorder in recorders:
        try:
            recorder.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            recorder.proc.kill()


def _frame_name(frame: str) -> str:
    """Return ``function (file.py)`` from py-spy's ``function (path/file.py:line)``."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if parts else path
    return f"{name} ({short})"


def summarise(path: Path, top: int = 10) -> tuple[int, list[tuple[str, float, float]]]:
    """Return the sample count and the top functions by self share, with their total share."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if "(" in f]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for name in set(frames):
            total[name] += count
    rows = [(name, n / samples, total[name] / samples) for name, n in own.most_common(top)]
    return samples, rows


def report(recorders: list[Recorder], top: int = 10) -> str:
    """Return a text table of every recorder's hotspots."""
    lines = []
    for recorder in recorders:
        if not recorder.output.exists():
            lines.append(f"{recorder.label}: no profile written (see py-spy log)")
            continue
        samples, rows = summarise(recorder.output, top)
        lines.append(f"{recorder.label}: {samples} samples (busy threads only)")
        lines.extend(f"  self {own:6.1%}  total {tot:6.1%}  {name}" for name, own, tot in rows)
    return "\n".join(lines)
