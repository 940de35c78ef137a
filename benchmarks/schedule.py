"""Backtest of the carbon-aware planner over every day of each shipped hourly series, and its speed.

    PYTHONPATH=src python benchmarks/schedule.py            # backtest tables + speed
    PYTHONPATH=src python benchmarks/schedule.py --speed    # planner speed only

Jobs arrive at 00:00, 06:00, 12:00 and 18:00 UTC of every day of a series (each arrival its
own sample), last 1 / 4 / 12 h, and may finish up to 0 / 6 / 12 / 24 h later than if started at
once (the flexibility). Saving = 1 - plan / start-at-once, both evaluated on the actual hours.

* **perfect** — the plan is made on the actual hours (an upper bound: perfect knowledge).
* **history forecast** — the plan is made on the history as a forecast and judged on the actual
  hours: for GB, the same hour of the same weekday one year earlier (the method of wattwise's
  ``assumed`` forecast); for the US series (a single year), the same hour one week earlier.
* **region choice (US)** — the job may also move to any of the 8 US balancing authorities
  (one lifecycle basis), against starting at once at home, each authority taking its turn as
  home; with perfect knowledge.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from wattwise.data.hourly import US_BALANCING_AUTHORITIES, hourly_gb, hourly_us
from wattwise.schedule.curve import _filled_series
from wattwise.schedule.planner import best_start, run_at

JOBS_H = (1, 4, 12)
FLEX_H = (0, 6, 12, 24)
ARRIVALS_H = (0, 6, 12, 18)


def _q(values: Sequence[float], p: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _row(label: str, savings: list[float]) -> str:
    if not savings:
        return f"| {label} | - | - | - | 0 |"
    med, p10, p90 = (
        100 * x for x in (statistics.median(savings), _q(savings, 0.1), _q(savings, 0.9))
    )
    return f"| {label} | {med:.1f} | {p10:.1f} | {p90:.1f} | {len(savings)} |"


def _mean(v: list[float], a: int, d: int) -> float:
    return sum(v[a : a + d]) / d


def backtest(
    values: list[float], forecast_lag_h: int | None
) -> dict[tuple[int, int], list[tuple[float, float | None]]]:
    """(job, flex) -> [(perfect saving, forecast saving or None)] over every arrival."""
    out: dict[tuple[int, int], list[tuple[float, float | None]]] = {}
    n = len(values)
    for d in JOBS_H:
        for f in FLEX_H:
            rows: list[tuple[float, float | None]] = []
            for a in range(0, n - d - f, 1):
                if a % 24 not in ARRIVALS_H:
                    continue
                now = _mean(values, a, d)
                best = best_start(values, a, a + d + f, d)
                perfect = 1 - best.mean_g_per_kwh / now
                fc = None
                if forecast_lag_h is not None and a >= forecast_lag_h:
                    shifted = values[a - forecast_lag_h : a - forecast_lag_h + d + f]
                    s = best_start(shifted, 0, d + f, d).start_h
                    fc = 1 - run_at(values, a + s, d).mean_g_per_kwh / now
                rows.append((perfect, fc))
            out[(d, f)] = rows
    return out


def region_choice(series: dict[str, list[float]]) -> dict[tuple[int, int], list[float]]:
    """(job, flex) -> savings moving among every grid, each grid in turn as home."""
    n = min(len(v) for v in series.values())
    out: dict[tuple[int, int], list[float]] = {}
    for d in JOBS_H:
        for f in FLEX_H:
            rows = []
            for a in range(0, n - d - f):
                if a % 24 not in ARRIVALS_H:
                    continue
                best = min(best_start(v, a, a + d + f, d).mean_g_per_kwh for v in series.values())
                rows += [1 - best / _mean(v, a, d) for v in series.values()]
            out[(d, f)] = rows
    return out


def _cell(savings: list[float]) -> str:
    if not savings:
        return "-"
    med, p10, p90 = (
        100 * x for x in (statistics.median(savings), _q(savings, 0.1), _q(savings, 0.9))
    )
    return f"{med:.1f} [{p10:.1f}, {p90:.1f}]"


FLEXIBLE = tuple(f for f in FLEX_H if f)


def _head(first: str) -> list[str]:
    return [
        f"| {first} | " + " | ".join(f"+{f} h" for f in FLEXIBLE) + " |",
        "|---|" + "---|" * len(FLEXIBLE),
    ]


def _rows(label: str, data: dict[tuple[int, int], list[float]]) -> list[str]:
    return [
        f"| {label}, {d} h job | " + " | ".join(_cell(data[(d, f)]) for f in FLEXIBLE) + " |"
        for d in JOBS_H
    ]


def _blocks(series: dict[str, tuple[list[float], list[tuple[int, str]]]]) -> list[str]:
    perfect: list[str] = []
    forecast: list[str] = []
    lost: list[str] = []
    for key, (values, lags) in series.items():
        for i, (lag, lag_text) in enumerate(lags):
            res = backtest(values, lag)
            if i == 0:
                perfect += _rows(key, {k: [p for p, _ in v] for k, v in res.items()})
            tag = f"{key} ({lag_text})"
            forecast += _rows(tag, {k: [c for _, c in v if c is not None] for k, v in res.items()})
            lost += _rows(tag, {k: [p - c for p, c in v if c is not None] for k, v in res.items()})
    return [
        "### Time only, perfect knowledge: saving %, median [p10, p90]",
        "",
        *_head("series, job"),
        *perfect,
        "",
        "### Time only, planned on the history as a forecast, judged on the actual hours",
        "",
        *_head("series (forecast), job"),
        *forecast,
        "",
        "### Saving lost to the forecast: perfect - forecast, points",
        "",
        *_head("series (forecast), job"),
        *lost,
        "",
    ]


def speed(repeat: int = 200) -> list[str]:
    """A year-long curve (GB 2024, 8,784 h) and a 24 h window: plan time per call."""
    values = _filled_series(hourly_gb())[0]
    year = values[len(values) - 8784 - 6600 : len(values) - 6600]

    def timed(fn: Callable[[], object], n: int = repeat) -> float:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1000

    from datetime import datetime, timedelta, timezone

    from wattwise.schedule.curve import Curve
    from wattwise.schedule.job import Job
    from wattwise.schedule.plan import Request, make_schedule
    from wattwise.schedule.planner import best_chunks

    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    curve = Curve("GB", t0, tuple(year), "historical", "direct", "NESO", historical_hours=8784)
    req = Request(
        Job(40.0, 4.0, "bench"), t0 + timedelta(hours=4000), t0 + timedelta(hours=4024), ("GB",)
    )
    whole = timed(lambda: make_schedule(req, lambda *_: curve))
    contiguous = timed(lambda: best_start(year, 4000, 4024, 4))
    chunks = timed(lambda: best_chunks(year, 4000, 4024, 4, 2))
    week = timed(lambda: best_chunks(year, 4000, 4168, 24, 4))
    from wattwise.schedule.planner import best_batch

    batch = timed(lambda: best_batch(year, 4000, 4168, 6, 5), repeat // 10)
    return [
        "| plan (year-long curve, GB 2024) | median ms |",
        "|---|---|",
        f"| make_schedule: 4 h job, 24 h window, one region (the CLI's path) | {whole:.3f} |",
        f"| planner only: 4 h contiguous, 24 h window | {contiguous:.3f} |",
        f"| 4 h interruptible (pieces >= 2 h), 24 h window | {chunks:.3f} |",
        f"| 24 h interruptible (pieces >= 4 h), 168 h window | {week:.3f} |",
        f"| 5 runs of 6 h one after another (--jobs 5), 168 h window | {batch:.3f} |",
    ]


def wiesner_periodic(values: list[float], max_window_h: int = 8) -> list[str]:
    """Wiesner et al. 2021, Scenario I, method reproduced at hourly resolution: a job daily at
    01:00 UTC (theirs: 30 min at 1 am), moved anywhere within +-w hours, perfect knowledge;
    the cut in the year's mean intensity of the job against w = 0."""
    days = [a for a in range(max_window_h, len(values) - max_window_h - 1) if a % 24 == 1]
    base = sum(values[a] for a in days) / len(days)
    cells = []
    for w in range(0, max_window_h + 1, 2):
        mean = sum(best_start(values, a - w, a + w + 1, 1).mean_g_per_kwh for a in days)
        cells.append(f"{100 * (1 - mean / len(days) / base):.1f}")
    return cells


def dodge_pause_resume(values: list[float]) -> list[str]:
    """Dodge et al. 2022, "Pause and Resume", method reproduced: a job may pause as long as it
    ends within +25/50/75/100 % of its length (pieces of >= 1 h, perfect knowledge), daily at
    00:00 UTC; median saving against running at once."""
    from wattwise.schedule.planner import best_chunks

    cells = []
    for d in (6, 24):
        for pct in (25, 50, 75, 100):
            extra = d * pct // 100
            s = [
                1 - best_chunks(values, a, a + d + extra, d, 1).mean_g_per_kwh / _mean(values, a, d)
                for a in range(0, len(values) - 2 * d, 24)
            ]
            cells.append(f"{100 * statistics.median(s):.1f}")
    return cells


def papers(us: dict[str, list[float]], gb_2022: list[float], gb_2020: list[float]) -> list[str]:
    rows = [
        ("GB 2020 (their data year)", gb_2020),
        ("CISO 2022", us["CISO"]),
        ("GB 2022", gb_2022),
        ("PJM 2022", us["PJM"]),
    ]
    out = [
        "### Wiesner et al. 2021, Scenario I (daily job at 01:00 UTC, moved within +-w h), "
        "cut in mean intensity %",
        "",
        "| series | w=0 | 2 h | 4 h | 6 h | 8 h |",
        "|---|---|---|---|---|---|",
    ]
    out += [f"| {k} | " + " | ".join(wiesner_periodic(v)) + " |" for k, v in rows[:3]]
    out += [
        "",
        "### Dodge et al. 2022, Pause and Resume (pieces >= 1 h, daily at 00:00 UTC), "
        "median saving %",
        "",
        "| series | 6 h +25 % | +50 % | +75 % | +100 % | 24 h +25 % | +50 % | +75 % | +100 % |",
        "|---|" + "---|" * 8,
    ]
    out += [
        f"| {k} | " + " | ".join(dodge_pause_resume(v)) + " |"
        for k, v in (
            ("CISO 2022 (azure:westus)", us["CISO"]),
            ("PJM 2022 (azure:eastus)", us["PJM"]),
            ("GB 2022 (azure:uksouth)", gb_2022),
        )
    ]
    return [*out, ""]


def _gb_year(y: int) -> list[float]:
    """GB's hours of calendar year ``y`` (2020 from 2020-01-08, where the series starts)."""
    from datetime import datetime, timezone

    from wattwise.schedule.curve import history_curve

    series = hourly_gb()
    a, b = (datetime(y + k, 1, 1, tzinfo=timezone.utc) for k in (0, 1))
    return list(history_curve(series, max(a, series.timestamps_utc[0]), b).values_g_per_kwh)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", action="store_true", help="planner speed only")
    ap.add_argument("--papers", action="store_true", help="speed and the papers' methods only")
    args = ap.parse_args(argv)
    out = ["## Planner speed", "", *speed(), ""]
    if args.speed:
        sys.stdout.write("\n".join(out) + "\n")
        return 0
    us = {k: _filled_series(hourly_us(k))[0] for k in US_BALANCING_AUTHORITIES}
    out += [
        "## Published methods reproduced on the shipped data",
        "",
        *papers(us, _gb_year(2022), _gb_year(2020)),
    ]
    if not args.papers:
        week = (7 * 24, "last week")
        gb = _filled_series(hourly_gb())[0]
        series = {"GB 2020-25": (gb, [(364 * 24, "52 weeks earlier"), week])}
        series |= {f"{k} 2022": (v, [week]) for k, v in us.items()}
        out += ["## Backtest", "", *_blocks(series)]
        choice = region_choice(us)
        out += [
            "### Time and region among the 8 US balancing authorities (2022), perfect "
            "knowledge, each grid in turn as home",
            "",
            *_head("job"),
            *(
                f"| {d} h job | " + " | ".join(_cell(choice[(d, f)]) for f in FLEXIBLE) + " |"
                for d in JOBS_H
            ),
            "",
            "| job, no delay (+0 h): region only | saving % |",
            "|---|---|",
            *(f"| {d} h job | {_cell(choice[(d, 0)])} |" for d in JOBS_H),
            "",
        ]
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
