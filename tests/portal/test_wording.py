"""How values read in the web UIs (``portal.wording``) and the activity chart (pure)."""

import re
from datetime import UTC, datetime, timedelta

from portal.tenant.chart import PAD_TOP, attempts_chart
from portal.wording import (
    ERROR_PHRASES,
    breakable,
    error_phrase,
    hours,
    next_attempt,
    shown_percent,
)

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def test_every_error_kind_reads_as_a_phrase() -> None:
    # Given every kind the delivery client records; When each is shown
    kinds = ("timeout", "connect", "dns", "tls", "http_status", "blocked")

    # Then each has its own phrase, and DNS failures say so
    assert set(ERROR_PHRASES) == set(kinds)
    assert len({error_phrase(kind) for kind in kinds}) == len(kinds)
    assert error_phrase("dns") == "DNS lookup failed"
    assert error_phrase(None) == "Error"


def test_hours_drop_a_needless_decimal() -> None:
    assert (hours(86400), hours(5400), hours(600)) == ("24\u00a0h", "1.5\u00a0h", "0.2\u00a0h")


def test_next_attempt_is_a_human_time_ahead() -> None:
    # Given retries due in 5 minutes, 2 hours, 40 seconds, and one already due
    due = [NOW + timedelta(minutes=5), NOW + timedelta(hours=2), NOW + timedelta(seconds=40)]

    # Then each reads as a time ahead, never "ago"
    assert [next_attempt(when, NOW) for when in due] == ["in 5 min", "in 2 h", "in 40 s"]
    assert next_attempt(NOW - timedelta(seconds=3), NOW) == "any moment now"


def test_breakable_urls_wrap_after_separators_and_stay_escaped() -> None:
    # When a URL with markup in it is made breakable
    html = str(breakable("https://a.example.com/hooks/<b>?x=1"))

    # Then wrap points follow the separators and the markup is text
    assert html == ("https://<wbr>a.<wbr>example.<wbr>com/<wbr>hooks/<wbr>&lt;b&gt;?<wbr>x=<wbr>1")


def test_a_failed_replay_shows_how_far_it_got() -> None:
    assert shown_percent("failed", 3, 10) == 30
    assert shown_percent("completed", 3, 10) == 100
    assert shown_percent("running", 10, 10) == 99
    assert shown_percent("failed", 0, 0) == 0


def test_chart_scale_sits_above_the_bars_and_the_axis_has_dates() -> None:
    # Given 24 hourly buckets whose last is the tallest
    start = datetime(2026, 3, 3, 13, tzinfo=UTC)
    buckets = [(start + timedelta(hours=n), 0, 0) for n in range(23)]
    buckets.append((start + timedelta(hours=23), 3, 1))

    # When the chart is drawn
    svg = str(attempts_chart(buckets))

    # Then the scale label is in the top margin, no bar reaches into it, and the
    # axis labels carry dates
    scale = re.search(r'<text x="[\d.]+" y="([\d.]+)" text-anchor="end">4/h</text>', svg)
    assert scale is not None and float(scale.group(1)) < PAD_TOP
    assert min(float(y) for y in re.findall(r'<rect [^>]*y="([\d.]+)"', svg)) >= PAD_TOP
    assert ">3 Mar 13:00</text>" in svg and ">4 Mar 07:00</text>" in svg
