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
