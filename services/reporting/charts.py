"""SVG charts of protected tables (no plotting library: plain SVG text, safe to inline).

Only shown figures are drawn; a hidden cell ("<5" / "x") is drawn as a gap and labelled."""
from __future__ import annotations

from html import escape

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 36, 48
COLOURS = ("#1f6f8b", "#e07a1f", "#3a8f3a", "#b8336a", "#6b5ca5", "#8c6d31", "#2d9ca8", "#c0504d")
CHARTS = ("referrals_per_month", "referrals_by_category", "stages", "declines_by_reason",
          "gaps_by_reason", "outcomes_per_offer")


class UnknownChart(ValueError):
    """A chart name that does not exist."""


def _svg(title: str, body: str, *, height: int = HEIGHT) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
            'font-family="sans-serif" font-size="11">'
            f'<title>{escape(title)}</title><rect width="100%" height="100%" fill="#fff"/>'
            f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>'
            f'{body}</svg>')


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _scale(values) -> float:
    top = max([v for v in values if v is not None] + [1])
    return top * 1.1


def line_chart(title: str, xs: list[str], series: dict[str, list], labels: dict | None = None) -> str:
    """Lines over months; hidden points break the line."""
    labels = labels or {}
    plot_w, plot_h = WIDTH - LEFT - RIGHT - 150, HEIGHT - TOP - BOTTOM
    numbers = {name: [_number(v) for v in values] for name, values in series.items()}
    top = _scale([v for values in numbers.values() for v in values])
    step = plot_w / max(len(xs) - 1, 1)
    parts = [f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#444"/>',
             f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{int(top)}</text>',
             f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end">0</text>']
    for i, x in enumerate(xs):
        parts.append(f'<text x="{LEFT + i * step:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
                     f'{escape(x[-2:] if len(x) == 7 else x)}</text>')
    for n, (name, values) in enumerate(numbers.items()):
        colour = COLOURS[n % len(COLOURS)]
        points, segments = [], []
        for i, value in enumerate(values):
            if value is None:
                if points:
                    segments.append(points)
                points = []
                continue
            points.append(f"{LEFT + i * step:.1f},{TOP + plot_h - value / top * plot_h:.1f}")
        if points:
            segments.append(points)
        for segment in segments:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(segment)}"/>')
            for point in segment:
                x, y = point.split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>')
        legend_y = TOP + 14 * n
        parts.append(f'<rect x="{LEFT + plot_w + 12}" y="{legend_y}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{LEFT + plot_w + 26}" y="{legend_y + 9}">{escape(labels.get(name, name))}</text>')
    return _svg(title, "".join(parts))


def bar_chart(title: str, rows: list[str], values: list, labels: dict | None = None,
              stacked: dict[str, list] | None = None) -> str:
    """Horizontal bars; a hidden value gets no bar, only its marker. `stacked`: part name ->
    values per row, drawn side by side in one bar."""
    labels = labels or {}
    height = max(TOP + 24 * len(rows) + 24, 120)
    plot_w = WIDTH - 220 - RIGHT - 40
    parts_source = stacked or {"": values}
    totals = [sum(_number(part[i]) or 0 for part in parts_source.values()) for i in range(len(rows))]
    top = _scale(totals)
    parts = []
    for i, row in enumerate(rows):
        y = TOP + 24 * i
        parts.append(f'<text x="214" y="{y + 14}" text-anchor="end">{escape(labels.get(row, row))}</text>')
        x = 220.0
        hidden = []
        for n, (part, part_values) in enumerate(parts_source.items()):
            value = _number(part_values[i])
            if value is None:
                hidden.append(f"{labels.get(part, part)} {part_values[i]}".strip())
                continue
            w = value / top * plot_w
            parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="16" '
                         f'fill="{COLOURS[n % len(COLOURS)]}"><title>{escape(str(value))}</title></rect>')
            x += w
        shown = values[i] if not stacked else " · ".join(hidden) or ""
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 15}">{escape(str(shown))}</text>')
    if stacked:
        for n, part in enumerate(stacked):
            parts.append(f'<rect x="{220 + 110 * n}" y="{height - 18}" width="10" height="10" '
                         f'fill="{COLOURS[n % len(COLOURS)]}"/><text x="{234 + 110 * n}" y="{height - 9}">'
                         f'{escape(labels.get(part, part))}</text>')
    return _svg(title, "".join(parts), height=height)


def _find(report: dict, table_id: str) -> dict:
    for table in report["tables"]:
        if table["id"] == table_id:
            return table
    raise UnknownChart(f"no table {table_id!r}")


def chart(report: dict, name: str, title: str, labels: dict | None = None) -> str:
    """The SVG of one of CHARTS, drawn from the protected dashboard `report`."""
    if name not in CHARTS:
        raise UnknownChart(f"chart must be one of {', '.join(CHARTS)}")
    table = _find(report, name)
    if name == "referrals_per_month":
        return line_chart(title, table["cols"], {"all": table["cells"][0]}, labels)
    if name == "referrals_by_category":
        return line_chart(title, table["cols"], dict(zip(table["rows"], table["cells"])), labels)
    if name in ("stages", "outcomes_per_offer"):
        parts = {col: [row[c] for row in table["cells"]] for c, col in enumerate(table["cols"])}
        return bar_chart(title, table["rows"], table["row_totals"], labels, stacked=parts)
    return bar_chart(title, table["rows"], table["row_totals"], labels)
