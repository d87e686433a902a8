"""What the benchmark suites share: their collection and one table of results for the session.

Run from the repository root, e.g. ``python -m pytest benchmarks/bench_training.py`` (or the whole
folder: every ``bench_*.py`` here is collected). A benchmark hands its timings to the ``record``
fixture instead of keeping its own results and printing them at teardown; after the run pytest
prints one table of every recorded row, with each row's ratio to its baseline in the same run
(measured numbers are kept in ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

ROWS = pytest.StashKey[list]()


@dataclass(frozen=True)
class Row:
    """One measurement: ``seconds`` of ``case`` within ``group`` (cases of a group are compared)."""

    group: str
    case: str
    seconds: float
    baseline: str | None = None  # a case of the same group: the row shows seconds / baseline's seconds
    note: str = ""


def pytest_configure(config):
    config.stash[ROWS] = []


def pytest_collect_file(file_path, parent):
    """Collect ``bench_*.py`` (pytest's own pattern is ``test_*.py``); files named on the command
    line are collected by pytest already."""
    if file_path.suffix == ".py" and file_path.name.startswith("bench_") and not parent.session.isinitpath(file_path):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


@pytest.fixture
def record(request):
    """``record(group, case, seconds, baseline=None, **notes)``: add a row to the session's table.

    ``group`` names what is compared (e.g. "force constants Si64"), ``case`` the variant timed,
    ``seconds`` its time; with ``baseline`` (another case of the group) the table shows the ratio
    seconds / baseline's seconds; ``notes`` (name=value) are printed beside the row."""
    rows = request.config.stash[ROWS]

    def add(group: str, case: str, seconds: float, baseline: str | None = None, **notes) -> None:
        note = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in notes.items())
        rows.append(Row(group, case, float(seconds), baseline, note))

    return add


def results_table(rows: list[Row]) -> list[str]:
    """The recorded rows as text lines, grouped in the order groups were first recorded."""
    seconds = {(r.group, r.case): r.seconds for r in rows}
    groups = list(dict.fromkeys(r.group for r in rows))
    width_g = max(len("group"), *(len(g) for g in groups))
    width_c = max(len("case"), *(len(r.case) for r in rows))
    lines = [f"{'group':<{width_g}}  {'case':<{width_c}}  {'seconds':>10}  ratio"]
    for group in groups:
        for r in (r for r in rows if r.group == group):
            base = seconds.get((group, r.baseline)) if r.baseline and r.baseline != r.case else None
            ratio = f"{r.seconds / base:7.2f} × {r.baseline}" if base else ""
            lines.append(f"{group:<{width_g}}  {r.case:<{width_c}}  {r.seconds:10.4g}  {ratio}"
                         + (f"   ({r.note})" if r.note else ""))
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    rows = config.stash.get(ROWS, [])
    if rows:
        terminalreporter.write_sep("=", "benchmark results (seconds; ratio = this case / its baseline, same run)")
        for line in results_table(rows):
            terminalreporter.write_line(line)
