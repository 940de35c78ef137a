"""A schedule: the best start (or pieces) and region for a job, against starting at once.

:func:`make_schedule` takes a :class:`Request` and a function giving the signal of a region
over a window (shipped history by default, a live provider when configured), plans the job in
each region with :mod:`wattwise.schedule.planner` and picks the best by the objective:

* ``carbon`` — least kg CO2e;
* ``cost`` — least money at the region's retail price (a flat yearly tariff: the cost does not
  change with the hour, only with the region), then least carbon.

The baseline is the job started at the earliest time in the first region, on the same signal.
Moving to another region has costs the carbon figure leaves out — data transfer and latency —
which the schedule names; with ``data_gb`` the transfer's energy is counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from wattwise.data.hourly_regions import HourlyRegion, hourly_region
from wattwise.errors import ConfigError
from wattwise.schedule.curve import HOUR, Curve, floor_hour
from wattwise.schedule.job import Job
from wattwise.schedule.planner import Placement, best_batch, best_chunks, best_start, run_at

OBJECTIVES = ("carbon", "cost")
SIGNALS = ("average", "marginal")
#: Network energy of moving data between regions, kWh per GB: Cloud Carbon Footprint's
#: ``networking_kwh_per_gb`` for AWS and GCP (ccf_provider_constants, cloud-carbon-footprint
#: @ b7a049c, Apache-2.0).
NETWORK_KWH_PER_GB = 0.001

SignalFn = Callable[[HourlyRegion, datetime, datetime, str], Curve]


@dataclass(frozen=True)
class Request:
    """A job, its window (aware datetimes, UTC) and where it may run (first = where it would
    run now)."""

    job: Job
    earliest_utc: datetime
    deadline_utc: datetime
    regions: tuple[str, ...]
    interruptible: bool = False
    min_chunk_h: int = 1
    objective: str = "carbon"
    signal: str = "average"
    data_gb: float = 0.0
    #: ``job`` is this many equal runs, one at a time, each contiguous (a week of fine-tunes)
    jobs: int = 1

    def __post_init__(self) -> None:
        if not self.regions:
            raise ConfigError("give at least one --region")
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"unknown objective {self.objective!r}: {', '.join(OBJECTIVES)}")
        if self.signal not in SIGNALS:
            raise ConfigError(f"unknown signal {self.signal!r}: {', '.join(SIGNALS)}")
        if self.deadline_utc < self.earliest_utc:
            raise ConfigError(
                f"the deadline {self.deadline_utc:%Y-%m-%dT%H:%MZ} is before the earliest "
                f"start {self.earliest_utc:%Y-%m-%dT%H:%MZ}"
            )
        window_h = (self.deadline_utc - self.earliest_utc) / HOUR
        if window_h + 1e-9 < self.job.duration_h:
            raise ConfigError(
                f"the window ({window_h:g} h) is shorter than the job ({self.job.duration_h:g} h)"
            )
        if self.jobs < 1 or (self.jobs > 1 and self.interruptible):
            raise ConfigError("--jobs must be at least 1, and is not combined with --interruptible")
        if not self.data_gb >= 0:
            raise ConfigError(f"--data-gb must be >= 0 (got {self.data_gb})")


@dataclass(frozen=True)
class RegionPlan:
    """The plan in one region and the job started at once there, on that region's curve."""

    region: HourlyRegion
    curve: Curve
    plan: Placement
    now: Placement
    price_per_kwh: float | None
    currency: str
    price_source: str
    transfer_kwh: float

    def co2e_kg(self, job: Job, p: Placement) -> float:
        transfer_g = self.transfer_kwh * p.mean_g_per_kwh
        return (job.energy_kwh * p.mean_g_per_kwh + transfer_g) / 1000

    def cost(self, job: Job) -> float | None:
        if self.price_per_kwh is None:
            return None
        return (job.energy_kwh + self.transfer_kwh) * self.price_per_kwh


@dataclass(frozen=True)
class Schedule:
    request: Request
    regions: tuple[RegionPlan, ...]
    chosen: RegionPlan
    warnings: tuple[str, ...] = field(default=())

    @property
    def baseline(self) -> RegionPlan:
        return self.regions[0]

    @property
    def plan_co2e_kg(self) -> float:
        return self.chosen.co2e_kg(self.request.job, self.chosen.plan)

    @property
    def now_co2e_kg(self) -> float:
        return self.baseline.co2e_kg(self.request.job, self.baseline.now)

    @property
    def saving_kg(self) -> float:
        return self.now_co2e_kg - self.plan_co2e_kg

    @property
    def saving_fraction(self) -> float:
        now = self.now_co2e_kg
        return self.saving_kg / now if now > 0 else 0.0

    def time_of(self, hours: float) -> datetime:
        """An hour offset of the plan's curve as a UTC time (all curves share the start)."""
        return self.chosen.curve.start_utc + hours * HOUR


def _price(region: HourlyRegion) -> tuple[float | None, str, str]:
    from wattwise.data.lookup import price_for

    price = price_for(region.price_key) if region.price_key else None
    if price is None:
        return None, "", f"no shipped price for {region.region} ({region.basis})"
    return price.price_per_kwh, price.currency, f"{price.source}, {price.key} {price.period}"


def _plan_region(req: Request, region: HourlyRegion, curve: Curve, first: bool) -> RegionPlan:
    earliest_h = (req.earliest_utc - curve.start_utc) / HOUR
    deadline_h = (req.deadline_utc - curve.start_utc) / HOUR
    values = curve.values_g_per_kwh
    d = req.job.duration_h
    if req.jobs > 1:
        plan = best_batch(values, earliest_h, deadline_h, d / req.jobs, req.jobs)
    elif req.interruptible:
        plan = best_chunks(values, earliest_h, deadline_h, d, req.min_chunk_h)
    else:
        plan = best_start(values, earliest_h, deadline_h, d)
    price, currency, price_source = _price(region)
    transfer = 0.0 if first else req.data_gb * NETWORK_KWH_PER_GB
    return RegionPlan(
        region, curve, plan, run_at(values, earliest_h, d), price, currency, price_source, transfer
    )


def _key(req: Request, rp: RegionPlan) -> tuple[float, float]:
    carbon = rp.co2e_kg(req.job, rp.plan)
    if req.objective == "cost":
        cost = rp.cost(req.job)
        if cost is None:
            raise ConfigError(
                f"--objective cost: {rp.price_source}; choose regions with a price or use "
                "--objective carbon"
            )
        return cost, carbon
    return carbon, 0.0


def make_schedule(req: Request, signal_of: SignalFn) -> Schedule:
    """Plan ``req`` on the curves ``signal_of(region, start, end, signal)`` returns."""
    unique: list[HourlyRegion] = []
    for text in req.regions:
        r = hourly_region(text)
        if all(u.region != r.region for u in unique):
            unique.append(r)
    start = floor_hour(req.earliest_utc)
    plans = [
        _plan_region(req, r, signal_of(r, start, req.deadline_utc, req.signal), i == 0)
        for i, r in enumerate(unique)
    ]
    chosen = min(plans, key=lambda rp: _key(req, rp))
    warnings: list[str] = []
    bases = {rp.curve.basis for rp in plans}
    if len(bases) > 1:
        warnings.append(
            "the regions' signals are on different bases (" + "; ".join(sorted(bases)) + "): "
            "the region choice compares unlike figures"
        )
    for rp in plans:
        if rp.curve.assumed_hours:
            warnings.append(
                f"{rp.region.region}: {rp.curve.assumed_hours} of {len(rp.curve.values_g_per_kwh)}"
                f" hours are assumed ({rp.curve.reference}), not a forecast of the actual grid"
            )
            skill = _skill(req, rp)
            if skill is not None:
                warnings.append(f"{rp.region.region}: {skill}")
    if req.objective == "cost":
        warnings.append(
            "prices are flat yearly retail averages: cost changes with the region, "
            "not with the hour"
        )
    return Schedule(req, tuple(plans), chosen, tuple(warnings))


#: Longest slack for which the backtest of the history forecast is run (two weeks).
MAX_SKILL_FLEX_H = 14 * 24


def _skill(req: Request, rp: RegionPlan) -> str | None:
    """What plans on the history achieved on this grid (for assumed, average signals)."""
    import math

    from wattwise.schedule.skill import history_skill

    if req.jobs > 1 or rp.curve.signal != "average" or rp.curve.forecast.startswith("forecast:"):
        return None
    job_h = max(1, math.ceil(req.job.duration_h - 1e-9))
    flex_h = int((req.deadline_utc - req.earliest_utc) / HOUR - req.job.duration_h)
    if flex_h < 1 or flex_h > MAX_SKILL_FLEX_H:
        return None
    skill = history_skill(rp.region.grid, job_h, flex_h)
    return None if skill is None else skill.line()


def trade_off(s: Schedule) -> str | None:
    """What moving regions costs beyond carbon, in words (None when the job stays put)."""
    if s.chosen is s.baseline:
        return None
    a, b = s.baseline.region, s.chosen.region
    counted = (
        f"the transfer's network energy ({s.request.data_gb:g} GB x {NETWORK_KWH_PER_GB} kWh/GB, "
        "Cloud Carbon Footprint) is counted"
        if s.request.data_gb
        else "no data transfer is counted (give --data-gb to count its network energy)"
    )
    return (
        f"running in {b.region} ({b.place}) instead of {a.region} ({a.place}) moves the job's "
        f"data (inputs, checkpoints, outputs) between regions: egress fees and transfer time "
        f"are not in these figures and {counted}; a serving job's users would also see the "
        f"network latency between the two regions"
    )
