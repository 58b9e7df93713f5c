"""Campaign dashboard pictures as inline SVG, drawn on the server like `arena/plots.py` (same
frame, font and colours): no script, every label escaped. Pure functions of plain lists."""
import math
from datetime import datetime, timezone
from html import escape

from arena.plots import _svg as svg  # the arena's frame: viewBox, role="img", aria-label, font

ACCENT, WARN, MUTED, GRID = "#3451d1", "#d1343f", "#5b6475", "#eef0f5"
MAX_BARS_LABELLED = 8
# Row labels (pseudonyms, up to ~20 characters) are drawn in a monospace font, whose glyphs
# are 0.6 em wide: 7.2 px at the frame's 12 px, so the label column is measured, not guessed.
MONO = 'font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"'
MONO_CHAR_PX = 7.2
MAX_LABEL_CHARS = 24


def nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """About n round tick values from lo to hi inclusive."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _fmt(value: float) -> str:
    # :g, not :.1f: a 0.25 step must not read "0.2, 0.5, 0.8"
    return f"{value:.0f}" if value == int(value) else f"{value:.3g}"


def columns(values: list[float], labels: list[str], label: str, *, titles: list[str] | None = None,
            color: str = ACCENT, height: int = 200, width: int = 760) -> str:  # fmt: skip
    """Vertical bars, one per value, x labels under every k-th bar; `titles` are hover texts."""
    if not values:
        return ""
    left, bottom, top = 46, 36, 10
    vmax = max(max(values), 1e-9)
    ticks = nice_ticks(0.0, vmax)
    vmax = max(vmax, ticks[-1])
    slot = (width - left - 10) / len(values)
    y = lambda v: top + (1 - v / vmax) * (height - top - bottom)  # noqa: E731
    body = []
    for tick in ticks:
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" fill="{MUTED}">{_fmt(tick)}</text>')
    every = max(1, math.ceil(len(values) / MAX_BARS_LABELLED))
    for i, value in enumerate(values):
        x = left + i * slot
        hover = escape(titles[i] if titles else f"{labels[i]}: {_fmt(value)}")
        body.append(f'<rect x="{x + slot * 0.1:.1f}" y="{y(value):.1f}" width="{slot * 0.8:.1f}" '
                    f'height="{max(0.0, y(0) - y(value)):.1f}" fill="{color}"><title>{hover}</title></rect>')  # fmt: skip
        if i % every == 0:
            body.append(f'<text x="{x + slot / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" fill="{MUTED}">{escape(labels[i])}</text>')
    return svg(width, height, body, label)


def throughput_chart(per_hour: list[float], start_s: float | None, bin_hours: int) -> str:
    """Judgments per hour, one bar per bin of `bin_hours` from `start_s` (unix seconds)."""
    if not per_hour or start_s is None:
        return ""
    starts = [datetime.fromtimestamp(start_s + i * bin_hours * 3600, tz=timezone.utc) for i in range(len(per_hour))]
    short = "%H:%M" if len(per_hour) * bin_hours <= 24 else "%b %d %Hh"
    labels = [t.strftime(short) for t in starts]
    titles = [f"{t:%Y-%m-%d %H:%M} UTC, {bin_hours} h: {v:g} judgments/hour" for t, v in zip(starts, per_hour)]
    return columns(per_hour, labels, "Judgments per hour over time", titles=titles)


def consensus_histogram(counts: list[int]) -> str:
    """Items per consensus bin (0–10%, …, 90–100%)."""
    if not sum(counts):
        return ""
    n = len(counts)
    labels = [f"{100 * i // n}" for i in range(n)]  # bin starts; the caption says they are percentages
    titles = [f"consensus {100 * i // n}–{100 * (i + 1) // n}%: {c} items" for i, c in enumerate(counts)]
    return columns([float(c) for c in counts], labels, "Items by consensus", titles=titles, width=440, height=220)


def share_bars(rows: list[tuple[str, float, int]], label: str, *, reference: float = 0.5) -> str:
    """Horizontal bars of shares in [0, 1] with a dashed line at `reference`; rows are
    (name, share, n). Shares far from the line are drawn in the warning colour."""
    if not rows:
        return ""
    names = [name if len(name) <= MAX_LABEL_CHARS else name[: MAX_LABEL_CHARS - 1] + "…" for name, _, _ in rows]
    left = 16 + math.ceil(MONO_CHAR_PX * max(len(name) for name in names))
    bars, step = 350, 20
    width = left + bars + 80  # room for "100% (9999)" after the longest bar
    x = lambda v: left + v * bars  # noqa: E731
    body = []
    for i, (name, share, n) in enumerate(rows):
        y = 14 + i * step
        color = WARN if abs(share - reference) > 0.2 else ACCENT
        body.append(f'<text x="{left - 8}" y="{y + 4}" text-anchor="end" {MONO}>{escape(names[i])}</text>')
        body.append(f'<rect x="{left}" y="{y - 6}" width="{x(share) - left:.1f}" height="12" fill="{color}">'
                    f'<title>{escape(name)}: {share:.0%} of {n}</title></rect>')  # fmt: skip
        body.append(f'<text x="{x(share) + 4:.1f}" y="{y + 4}" fill="{MUTED}">{share:.0%} ({n})</text>')
    bottom = 14 + len(rows) * step
    body.append(f'<line x1="{x(reference):.1f}" x2="{x(reference):.1f}" y1="4" y2="{bottom - 6}" stroke="{MUTED}" stroke-dasharray="4 3"/>')
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        body.append(f'<text x="{x(tick):.1f}" y="{bottom + 8}" text-anchor="middle" fill="{MUTED}">{tick:.0%}</text>')
    return svg(width, bottom + 14, body, label)


def scatter(points: list[tuple[str, float, float, int]], label: str, *, x_label: str, y_label: str) -> str:
    """Points (name, x, y, n) with x and y in [0, 1]; the radius grows with n."""
    if not points:
        return ""
    width, height, left, bottom = 420, 320, 50, 40
    sx = lambda v: left + v * (width - left - 14)  # noqa: E731
    sy = lambda v: 10 + (1 - v) * (height - bottom - 10)  # noqa: E731
    body = []
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        body.append(f'<line x1="{sx(tick):.1f}" x2="{sx(tick):.1f}" y1="10" y2="{sy(0):.1f}" stroke="{GRID}"/>')
        body.append(f'<line x1="{left}" x2="{sx(1):.1f}" y1="{sy(tick):.1f}" y2="{sy(tick):.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{sx(tick):.1f}" y="{sy(0) + 14:.1f}" text-anchor="middle" fill="{MUTED}">{tick:.0%}</text>')
        body.append(f'<text x="{left - 6}" y="{sy(tick) + 4:.1f}" text-anchor="end" fill="{MUTED}">{tick:.0%}</text>')
    body.append(f'<text x="{sx(0.5):.1f}" y="{height - 6}" text-anchor="middle">{escape(x_label)}</text>')
    body.append(f'<text transform="translate(12,{sy(0.5):.0f}) rotate(-90)" text-anchor="middle">{escape(y_label)}</text>')
    n_max = max(p[3] for p in points) or 1
    for name, px, py, n in points:
        r = 3 + 5 * math.sqrt(n / n_max)
        body.append(f'<circle cx="{sx(px):.1f}" cy="{sy(py):.1f}" r="{r:.1f}" fill="{ACCENT}" fill-opacity="0.55" stroke="{ACCENT}">'
                    f'<title>{escape(name)}: {x_label} {px:.0%}, {y_label} {py:.0%} ({n} judgments)</title></circle>')  # fmt: skip
    return svg(width, height, body, label)
