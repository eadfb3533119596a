"""Line charts as inline SVG, computed on the server: no script, no CDN, readable without JS.

Pure functions over plain data: points go in, SVG coordinates come out. A missing value (an
evaluation that measured nothing) breaks the line instead of drawing it to zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
HEIGHT = 160
PADDING = 4


@dataclass(frozen=True)
class Line:
    label: str
    css_class: str
    segments: tuple[str, ...]
    """``points`` attributes for SVG polylines, one per unbroken run of values."""
    latest: float | None


@dataclass(frozen=True)
class Chart:
    title: str
    lines: tuple[Line, ...]
    y_max: float
    start: dt.datetime | None
    end: dt.datetime | None
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        return not any(line.segments for line in self.lines)


def line_chart(
    title: str,
    times: Sequence[dt.datetime],
    series: Sequence[tuple[str, str, Sequence[float | None]]],
    *,
    y_max: float | None = None,
) -> Chart:
    """A chart of ``series`` (label, css class, values aligned with ``times``)."""
    measured = [value for _, _, values in series for value in values if value is not None]
    top = y_max if y_max is not None else max([1.0, *measured])
    if not times:
        return Chart(title, tuple(Line(label, css, (), None) for label, css, _ in series), top,
                     None, None)  # fmt: skip
    start, end = min(times), max(times)
    span = max((end - start).total_seconds(), 1.0)
    lines = []
    for label, css_class, values in series:
        segments: list[str] = []
        current: list[str] = []
        for moment, value in zip(times, values, strict=True):
            if value is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            x = PADDING + (WIDTH - 2 * PADDING) * (moment - start).total_seconds() / span
            y = HEIGHT - PADDING - (HEIGHT - 2 * PADDING) * min(value, top) / top
            current.append(f"{x:.1f},{y:.1f}")
        if current:
            segments.append(" ".join(current))
        latest = next((value for value in reversed(values) if value is not None), None)
        lines.append(Line(label, css_class, tuple(segments), latest))
    return Chart(title, tuple(lines), top, start, end)
