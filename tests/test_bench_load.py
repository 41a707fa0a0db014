"""The load benchmark's arithmetic: percentiles over successful views only, errors counted per page."""

from __future__ import annotations

from bench.load import PAGES, Round, View, summarise, table


def test_summary_counts_errors_and_takes_percentiles_of_successes():
    views = [View("landing", float(s)) for s in range(1, 21)] + [View("landing", None, "no script_finished")]
    views += [View("claim", 2.0), View("claim", 4.0, "exception: boom"), View("explorer", None, "not reached")]
    r = Round(sessions=21, views=views, wall_s=10.0, cpu_s=4.4, peak_rss_mb=300.0)
    out = summarise(r)
    landing = out["pages"]["landing"]
    assert (landing["views"], landing["ok"], landing["errors"]) == (21, 20, 1)
    assert landing["p50_s"] == 10.5 and 19.0 <= landing["p95_s"] <= 20.0
    assert out["pages"]["claim"] == {"views": 2, "ok": 1, "errors": 1, "p50_s": 2.0, "p95_s": 2.0}
    assert out["pages"]["explorer"]["p50_s"] is None
    assert out["cpu_s_per_view"] == 4.4 / 21
    assert sorted(out["error_kinds"]) == ["exception: boom", "no script_finished", "not reached"]
    text = table([out])
    assert text.count("\n") == 1 + len(PAGES) and "| 21 | landing | 21 | 1 | 10.50 |" in text and "| 300 |" in text
