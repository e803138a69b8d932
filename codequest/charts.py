"""Server-side bar charts: geometry for inline SVG, no JavaScript needed.

Templates draw the bars from these numbers and repeat the data in a table for
screen readers, so a chart is never the only way to read a figure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    text: str  # the value as people read it ("4.5 h", "—")
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    title: str
    unit: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    top: float  # the value at the top of the plot area

    @property
    def is_empty(self) -> bool:
        return all(bar.value is None for bar in self.bars)


PLOT_TOP, PLOT_BOTTOM = 20, 30  # room for value labels and axis labels


def bar_chart(
    title: str,
    points: list[tuple[str, float | None]],
    *,
    unit: str = "",
    decimals: int = 1,
    width: int = 560,
    height: int = 220,
) -> BarChart:
    """Bars for ``points`` (label, value); a None value draws no bar."""
    values = [value for _, value in points if value is not None]
    top = max(values, default=0.0) or 1.0
    plot_height = height - PLOT_TOP - PLOT_BOTTOM
    slot = width / max(len(points), 1)
    bars = []
    for index, (label, value) in enumerate(points):
        bar_height = 0.0 if value is None else plot_height * value / top
        bars.append(
            Bar(
                label=label,
                value=value,
                text="—" if value is None else f"{value:.{decimals}f}{unit}",
                x=round(index * slot + slot * 0.2, 1),
                y=round(PLOT_TOP + plot_height - bar_height, 1),
                width=round(slot * 0.6, 1),
                height=round(bar_height, 1),
            )
        )
    return BarChart(title, unit, width, height, tuple(bars), top)


@dataclass(frozen=True)
class Sparkline:
    """A small line of daily values: SVG polyline points, and the trend of the
    last week against the week before, in words."""

    points: str  # "x,y x,y …" for <polyline points=…>
    width: int
    height: int
    latest: float | None
    direction: str  # up | down | flat | none
    change: float | None  # percent, last 7 days' mean against the 7 before
    is_better: bool | None  # whether that direction is good news

    @property
    def is_empty(self) -> bool:
        return not self.points

    @property
    def change_size(self) -> float | None:
        return None if self.change is None else abs(self.change)


def sparkline(
    values: list[float | None],
    *,
    lower_is_better: bool,
    width: int = 168,
    height: int = 36,
) -> Sparkline:
    """A sparkline of ``values`` (oldest first; None is a gap in the data)."""
    known = [(index, value) for index, value in enumerate(values) if value is not None]
    # From the lowest to the highest value seen: the shape, not the baseline.
    low = min((value for _, value in known), default=0.0)
    span = (max((value for _, value in known), default=0.0) - low) or 1.0
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{index * step:.1f},{height - 2 - (height - 4) * (value - low) / span:.1f}"
        for index, value in known
    )
    direction, change = _week_on_week(values)
    better = None
    if direction in ("up", "down"):
        better = (direction == "down") == lower_is_better
    latest = known[-1][1] if known else None
    return Sparkline(points, width, height, latest, direction, change, better)


def _week_on_week(values: list[float | None]) -> tuple[str, float | None]:
    recent = [value for value in values[-7:] if value is not None]
    before = [value for value in values[-14:-7] if value is not None]
    if not recent or not before:
        return "none", None
    now, then = sum(recent) / len(recent), sum(before) / len(before)
    if then == 0:
        return ("flat", 0.0) if now == 0 else ("up", None)
    change = 100 * (now - then) / then
    if abs(change) < 5:
        return "flat", round(change, 1)
    return ("up" if change > 0 else "down"), round(change, 1)
