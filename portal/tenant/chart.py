"""A server-rendered SVG bar chart of an endpoint's attempts per hour (pure).

Stacked bars (succeeded below, failed on top), a light baseline, a date and hour label
every six hours, and the scale ("4/h") in the top margin, above the tallest bar.
Returns markup built only from numbers and our own strings, so it is safe to embed.
"""

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup

WIDTH, HEIGHT, PAD_BOTTOM, PAD_TOP = 720, 170, 20, 18
LABEL_EVERY = 6


def attempts_chart(buckets: Sequence[tuple[datetime, int, int]]) -> Markup:
    """SVG for ``(hour, succeeded, failed)`` buckets; an accessible summary as its title."""
    total_ok = sum(ok for _, ok, _ in buckets)
    total_bad = sum(bad for _, _, bad in buckets)
    peak = max((ok + bad for _, ok, bad in buckets), default=0) or 1
    slot = WIDTH / max(len(buckets), 1)
    plot = HEIGHT - PAD_BOTTOM - PAD_TOP
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title" preserveAspectRatio="none">',
        f'<title id="chart-title">Attempts per UTC hour over the last {len(buckets)} hours: '
        f"{total_ok} succeeded, {total_bad} failed</title>",
        f'<line class="grid" x1="0" y1="{PAD_TOP}" x2="{WIDTH}" y2="{PAD_TOP}"/>',
        f'<text x="{WIDTH - 2}" y="{PAD_TOP - 6}" text-anchor="end">{peak}/h</text>',
        f'<line class="axis" x1="0" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH}" '
        f'y2="{HEIGHT - PAD_BOTTOM}"/>',
    ]
    for index, (hour, ok, bad) in enumerate(buckets):
        x = index * slot + slot * 0.15
        width = slot * 0.7
        ok_height = plot * ok / peak
        bad_height = plot * bad / peak
        base = HEIGHT - PAD_BOTTOM
        label = f"{_day(hour)} {hour:%H}:00 UTC — {ok} succeeded, {bad} failed"
        parts.append(f"<g><title>{label}</title>")
        if ok:
            parts.append(
                f'<rect class="bar-ok" x="{x:.1f}" y="{base - ok_height:.1f}" '
                f'width="{width:.1f}" height="{ok_height:.1f}" rx="1.5"/>'
            )
        if bad:
            parts.append(
                f'<rect class="bar-bad" x="{x:.1f}" y="{base - ok_height - bad_height:.1f}" '
                f'width="{width:.1f}" height="{bad_height:.1f}" rx="1.5"/>'
            )
        parts.append("</g>")
        if index % LABEL_EVERY == 0:
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 5}">{_day(hour)} {hour:%H}:00</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 — numbers and our own text only


def _day(hour: datetime) -> str:
    """``"3 Dec"``: the date of an axis label."""
    return f"{hour.day} {hour:%b}"
