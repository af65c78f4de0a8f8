"""Why a measured figure lies outside the published one's interval: the reasons file.

`mmadbench compare --reasons FILE` reads a TOML file of `[[deviation]]` tables, each a one-line
`reason` and any of the keys below as filters (a string, or a list of strings any of which may
match). A deviating figure takes the reason of the most specific entry that matches it (the most
filter keys; the first in the file on a tie); with none, the sweep file's `reasons` apply.

    [[deviation]]
    paper = "peng2024"
    metric = ["train_hours_per_epoch", "test_seconds_per_1000"]
    reason = "2 CPU threads here, an RTX 2080 Ti GPU in the paper"

The reasons are what the person who read the comparison believes, written after the sweep: they
explain a figure, they never change one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mmadbench.benchmark.measure.config import load_toml
from mmadbench.errors import ConfigError

KEYS = ("paper", "table", "dataset", "data", "method", "measured_as", "setting", "metric")


@dataclass(frozen=True)
class Deviation:
    """One entry: the values each filter key accepts, and the reason."""

    filters: tuple[tuple[str, frozenset[str]], ...]
    reason: str

    def matches(self, figure: Mapping[str, str]) -> bool:
        """Whether every filter accepts the figure's value of its key."""
        return all(str(figure.get(key, "")) in allowed for key, allowed in self.filters)


@dataclass(frozen=True)
class Reasons:
    """The entries of a reasons file, in file order."""

    entries: tuple[Deviation, ...] = ()

    def find(self, figure: Mapping[str, str]) -> str:
        """The reason of the most specific matching entry ('' if none matches)."""
        best: Deviation | None = None
        for entry in self.entries:
            if entry.matches(figure) and (best is None or len(entry.filters) > len(best.filters)):
                best = entry
        return best.reason if best else ""


def _entry(index: int, table: object) -> Deviation:
    """One `[[deviation]]` table, checked: a one-line reason and known, non-empty filters."""
    if not isinstance(table, dict):
        raise ConfigError(f"deviation[{index}]: a [[deviation]] table, not {type(table).__name__}")
    unknown = sorted(set(table) - set(KEYS) - {"reason"})
    reason = table.get("reason")
    if unknown or not isinstance(reason, str) or not reason.strip() or "\n" in reason.strip():
        raise ConfigError(
            f"deviation[{index}]: needs a one-line `reason` and only the keys {', '.join(KEYS)}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    filters = []
    for key in KEYS:
        if key in table:
            values = table[key] if isinstance(table[key], list) else [table[key]]
            if not values or not all(isinstance(v, str) and v for v in values):
                raise ConfigError(f"deviation[{index}].{key}: a non-empty string or a non-empty list of them")
            filters.append((key, frozenset(values)))
    return Deviation(tuple(filters), reason.strip())


def load_reasons(path: Path | None) -> Reasons:
    """The reasons file at `path` (None: no reasons)."""
    if path is None:
        return Reasons()
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the reasons file: {exc}") from exc
    parsed = load_toml(text, f"reasons file {path}")
    unknown = sorted(set(parsed) - {"deviation"})
    if unknown:
        raise ConfigError(f"{path}: only [[deviation]] tables are allowed (found {', '.join(unknown)})")
    tables = parsed.get("deviation", [])
    if not isinstance(tables, list):
        raise ConfigError(f"{path}: write each entry as [[deviation]] (an array of tables), not [deviation]")
    return Reasons(tuple(_entry(i, table) for i, table in enumerate(tables)))
