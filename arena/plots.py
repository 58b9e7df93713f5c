"""Leaderboard pictures as inline SVG, drawn on the server: no script, no external library, and
every label escaped. Pure functions of plain lists."""
from html import escape

FONT = 'font-family="system-ui, sans-serif" font-size="12"'
COLORS = ["#3451d1", "#d1343f", "#1f9d55", "#c27c0e", "#7c3aed", "#0e7490", "#be185d", "#4d7c0f", "#9a3412", "#475569"]


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" {FONT}>' + "".join(body) + "</svg>"
    )


def ratings_chart(rows: list[dict], label: str = "Ratings with 95% intervals") -> str:
    """rows: {name, rating, ci_low, ci_high}, drawn best first as points with interval bars."""
    if not rows:
        return ""
    rows = sorted(rows, key=lambda r: -r["rating"])
    lo = min(r["ci_low"] for r in rows) - 10
    hi = max(r["ci_high"] for r in rows) + 10
    left, width, step = 240, 700, 22
    x = lambda v: left + (v - lo) / (hi - lo or 1) * (width - left - 20)  # noqa: E731
    body = []
    for i, r in enumerate(rows):
        y = 20 + i * step
        body.append(f'<text x="{left - 8}" y="{y + 4}" text-anchor="end">{escape(r["name"][:34])}</text>')
        body.append(f'<line x1="{x(r["ci_low"]):.1f}" x2="{x(r["ci_high"]):.1f}" y1="{y}" y2="{y}" stroke="#8792a8" stroke-width="2"/>')
        body.append(f'<circle cx="{x(r["rating"]):.1f}" cy="{y}" r="4" fill="#3451d1"><title>{escape(r["name"])}: '
                    f'{r["rating"]:.0f} [{r["ci_low"]:.0f}, {r["ci_high"]:.0f}]</title></circle>')  # fmt: skip
    axis_y = 20 + len(rows) * step
    for tick in _ticks(lo, hi):
        body.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="8" y2="{axis_y - 8}" stroke="#eef0f5"/>')
        body.append(f'<text x="{x(tick):.1f}" y="{axis_y + 6}" text-anchor="middle" fill="#5b6475">{tick:.0f}</text>')
    return _svg(width, axis_y + 14, body, label)


def _ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    raw = (hi - lo) / n
    step = next(s for s in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 10_000) if s >= raw)
    start = (int(lo // step) + 1) * step
    return [float(v) for v in range(int(start), int(hi), int(step))]


def heatmap(names: list[str], matrix: list[list], label: str, *, percent: bool = True) -> str:
    """A K×K grid; cell (i, j) is row model i against column model j. None = no data."""
    k = len(names)
    if not k:
        return ""
    cell, left, top = 34, 150, 110
    values = [v for row in matrix for v in row if v is not None]
    vmax = max(values) if values and not percent else 1.0
    body = []
    for j, name in enumerate(names):
        cx = left + j * cell + cell / 2
        body.append(f'<text transform="translate({cx:.0f},{top - 6}) rotate(-45)">{escape(name[:22])}</text>')
    for i, name in enumerate(names):
        y = top + i * cell
        body.append(f'<text x="{left - 6}" y="{y + cell / 2 + 4:.0f}" text-anchor="end">{escape(name[:22])}</text>')
        for j in range(k):
            v = matrix[i][j]
            x = left + j * cell
            if v is None or i == j:
                body.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="#f3f4f8" stroke="#fff"/>')
                continue
            share = v if percent else (v / vmax if vmax else 0.0)
            text = f"{v * 100:.0f}" if percent else f"{v:.0f}"
            body.append(f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{_color(share, percent)}" stroke="#fff">'
                        f'<title>{escape(name)} vs {escape(names[j])}: {text}{"%" if percent else ""}</title></rect>')  # fmt: skip
            body.append(f'<text x="{x + cell / 2:.0f}" y="{y + cell / 2 + 4:.0f}" text-anchor="middle" font-size="10">{text}</text>')
    return _svg(left + k * cell + 10, top + k * cell + 10, body, label)


def _color(share: float, diverging: bool) -> str:
    """Blue for high, red for low around 50% (diverging); light to dark blue for counts."""
    share = min(max(share, 0.0), 1.0)
    if not diverging:
        g = int(245 - 140 * share)
        return f"rgb({g - 40},{g},{255})"
    d = share - 0.5
    if d >= 0:
        return f"rgb({int(255 - 300 * d)},{int(255 - 220 * d)},255)"
    return f"rgb(255,{int(255 + 260 * d)},{int(255 + 300 * d)})"


def timeline(series: dict[str, list[tuple[float, float]]], label: str = "Ratings over time") -> str:
    """series: name -> [(unix time, rating)], one line per contender."""
    points = [p for s in series.values() for p in s]
    if len(points) < 2:
        return ""
    t0, t1 = min(p[0] for p in points), max(p[0] for p in points)
    r0, r1 = min(p[1] for p in points) - 10, max(p[1] for p in points) + 10
    width, height, left, right = 760, 260, 50, 170
    x = lambda t: left + (t - t0) / (t1 - t0 or 1) * (width - left - right)  # noqa: E731
    y = lambda r: 10 + (r1 - r) / (r1 - r0 or 1) * (height - 40)  # noqa: E731
    body = [f'<line x1="{left}" x2="{left}" y1="10" y2="{height - 30}" stroke="#dde1ea"/>']
    for tick in _ticks(r0, r1, 4):
        body.append(f'<text x="{left - 4}" y="{y(tick) + 4:.0f}" text-anchor="end" fill="#5b6475">{tick:.0f}</text>')
    for n, (name, pts) in enumerate(sorted(series.items())):
        color = COLORS[n % len(COLORS)]
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(t):.1f},{y(r):.1f}" for i, (t, r) in enumerate(sorted(pts)))
        body.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"><title>{escape(name)}</title></path>')
        last_t, last_r = max(pts)
        body.append(f'<text x="{x(last_t) + 6:.0f}" y="{y(last_r) + 4:.0f}" fill="{color}">{escape(name[:22])}</text>')
    return _svg(width, height, body, label)
