"""The accounting context (where and how a run's energy was used) and where it comes from.

A :class:`Context` says where the energy was drawn (country, sub-national grid or cloud region),
the facility's overhead (PUE or a cooling type), contractual instruments for market-based carbon
(a carbon-free-energy fraction or a supplier factor), a price, and a few other knobs. Every
field is optional: what the user does not set is filled at accounting time from the reference
tables and reported as an **assumption**.

:func:`resolve_context` builds one from command-line flags, environment variables and config
files (``[tool.wattwise]`` in ``pyproject.toml`` or a ``wattwise.toml``), in that order of
precedence. Settings come in groups — location (country / region / cloud / cloud region), PUE
(pue / cooling), market (cfe / supplier factor), price (price / currency): the highest layer that
sets any field of a group decides the whole group, so ``--country DE`` on the command line is
never mixed with a ``region = "US-CA"`` left in a config file.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from wattwise.core.defaults import DEFAULT_BOUNDARY as DEFAULT_BOUNDARY
from wattwise.core.defaults import DEFAULT_LIFETIME_YEARS as DEFAULT_LIFETIME_YEARS
from wattwise.data.lookup import (
    COOLING_ALIASES,
    cloud_factor,
    normalize_provider,
    region_factor,
    resolve_country,
)
from wattwise.data.tables import BOUNDARIES, unknown_key
from wattwise.errors import ConfigError
from wattwise.validate import check_number


@dataclass(frozen=True)
class Setting:
    """One context setting: its field, flag, environment variable, type and help text."""

    field: str
    flag: str
    env: str
    kind: type
    group: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("country", "--country", "WATTWISE_COUNTRY", str, "location",
            "ISO 3166-1 country code (FR or FRA) or English name"),
    Setting("region", "--region", "WATTWISE_REGION", str, "location",
            "sub-national grid: US-CA, CA-QC, SE3, NO2, ..."),
    Setting("cloud", "--cloud", "WATTWISE_CLOUD", str, "location",
            "cloud provider: aws, azure or gcp"),
    Setting("cloud_region", "--cloud-region", "WATTWISE_CLOUD_REGION", str, "location",
            "cloud region as the provider names it: us-east-1, westeurope, europe-west1"),
    Setting("pue", "--pue", "WATTWISE_PUE", float, "pue",
            "power usage effectiveness of the facility (>= 1.0)"),
    Setting("cooling", "--cooling", "WATTWISE_COOLING", str, "pue",
            "cooling type for a PUE preset: air, free-air, direct-liquid, immersion"),
    Setting("cfe", "--cfe", "WATTWISE_CFE", float, "market",
            "carbon-free / renewable energy fraction covered by contracts (0-1), market-based"),
    Setting("supplier_factor_g_per_kwh", "--supplier-factor", "WATTWISE_SUPPLIER_FACTOR", float,
            "market", "supplier-specific emission factor, gCO2e/kWh, market-based"),
    Setting("intensity_g_per_kwh", "--intensity", "WATTWISE_INTENSITY", float, "intensity",
            "location-based grid intensity to use instead of the tables, gCO2e/kWh"),
    Setting("price_per_kwh", "--price", "WATTWISE_PRICE", float, "price",
            "electricity price per kWh (your tariff)"),
    Setting("currency", "--currency", "WATTWISE_CURRENCY", str, "price",
            "ISO 4217 currency of --price (default USD)"),
    Setting("year", "--year", "WATTWISE_YEAR", int, "year",
            "data year of the grid factors (countries 2021-2024, Google Cloud 2019-2025;"
            " default the latest)"),
    Setting("wue_l_per_kwh", "--wue", "WATTWISE_WUE", float, "wue",
            "site water usage effectiveness, litres per kWh of IT energy"),
    Setting("embodied_lifetime_years", "--lifetime", "WATTWISE_LIFETIME", float, "embodied",
            "hardware lifetime for the embodied-carbon share, years (default 4)"),
    Setting("embodied_boundary", "--boundary", "WATTWISE_BOUNDARY", str, "embodied_boundary",
            "embodied-carbon boundary: die, card (default) or server_share"),
    Setting("offsets_kg", "--offsets-kg", "WATTWISE_OFFSETS_KG", float, "offsets",
            "carbon offsets bought for this work, kgCO2e: recorded and reported on their own "
            "line, never subtracted from location- or market-based emissions (GHG Protocol)"),
)  # fmt: skip

_BY_FIELD = {s.field: s for s in SETTINGS}

#: Accepted range of each numeric setting (low, high, low inclusive), the same for a flag, an
#: environment variable and a config key; :func:`_check_values` explains the limits.
RANGES: dict[str, tuple[float, float, bool]] = {
    "pue": (1.0, 3.0, True),
    "cfe": (0.0, 1.0, True),
    "supplier_factor_g_per_kwh": (0.0, 1200.0, True),
    "intensity_g_per_kwh": (0.0, 1200.0, True),
    "price_per_kwh": (0.0, 100_000.0, True),  # per kWh in any currency (KRW, IDR included)
    "year": (1990.0, 2100.0, True),
    "wue_l_per_kwh": (0.0, 100.0, True),
    "embodied_lifetime_years": (0.0, 100.0, False),
    "offsets_kg": (0.0, 1e12, True),  # up to a gigatonne
}


def setting_value(s: Setting, raw: object, origin: str, *, ranged: bool = True) -> float | int:
    """A numeric setting checked with :func:`wattwise.validate.check_number` (ConfigError):
    finite, a whole number for ``int`` settings, within :data:`RANGES` when ``ranged``."""
    low, high, inclusive = RANGES.get(s.field, (None, None, True)) if ranged else (None, None, True)
    x = check_number(
        raw, origin, low=low, high=high, low_inclusive=inclusive, integer=s.kind is int
    )
    return int(x) if s.kind is int else x


def flag_type(s: Setting) -> Any:
    """The argparse ``type=`` of a setting's flag: ``str``, or a checked number."""
    if s.kind is str:
        return str

    def convert(text: str) -> float | int:
        try:
            return setting_value(s, text, s.flag)
        except ConfigError as exc:
            import argparse

            raise argparse.ArgumentTypeError(str(exc).removeprefix(s.flag + ": ")) from None

    convert.__name__ = s.kind.__name__
    return convert


@dataclass(frozen=True)
class Context:
    """Where and how energy was used. ``None`` means "not set": a default is assumed later.

    Units: ``pue`` ratio, ``cfe`` fraction 0-1, ``supplier_factor_g_per_kwh`` and
    ``intensity_g_per_kwh`` gCO2e/kWh, ``price_per_kwh`` in ``currency`` per kWh,
    ``wue_l_per_kwh`` litres per kWh of IT energy, ``embodied_lifetime_years`` years,
    ``offsets_kg`` kgCO2e of carbon offsets declared (reported, never subtracted).
    ``origins`` maps each field that was set to where it came from (``--pue``,
    ``WATTWISE_PUE``, ``/path/pyproject.toml``).
    """

    country: str | None = None
    region: str | None = None
    cloud: str | None = None
    cloud_region: str | None = None
    pue: float | None = None
    cooling: str | None = None
    cfe: float | None = None
    supplier_factor_g_per_kwh: float | None = None
    intensity_g_per_kwh: float | None = None
    price_per_kwh: float | None = None
    currency: str | None = None
    year: int | None = None
    wue_l_per_kwh: float | None = None
    embodied_lifetime_years: float | None = None
    embodied_boundary: str | None = None
    offsets_kg: float | None = None
    origins: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        _check_values(self)

    @property
    def has_location(self) -> bool:
        return any(
            (self.country, self.region, self.cloud_region, self.intensity_g_per_kwh is not None)
        )

    def origin(self, name: str) -> str:
        """Where field ``name`` came from (``user`` when set directly in Python)."""
        return self.origins.get(name, "user")

    def to_dict(self) -> dict[str, Any]:
        """The fields that are set (for storing with a run and re-accounting later)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "origins" and value is not None:
                out[f.name] = value
        return out


def _fail(ctx: Context, name: str, msg: str) -> ConfigError:
    s = _BY_FIELD.get(name)
    where = ctx.origins.get(name) or (s.flag if s else name)
    return ConfigError(f"{where}: {msg}")


#: Why a value outside :data:`RANGES` is refused, per setting.
_OUT_OF_RANGE: dict[str, Callable[[float], str]] = {
    "pue": lambda v: f"PUE {v:g} is impossible or implausible: it must be within 1.0-3.0",
    "cfe": lambda v: f"carbon-free fraction {v:g} must be within 0-1 (0.8 means 80 %)",
    "supplier_factor_g_per_kwh": lambda v: "supplier factor must be 0-1,200 gCO2e/kWh",
    "intensity_g_per_kwh": lambda v: "grid intensity must be 0-1,200 gCO2e/kWh",
    "price_per_kwh": lambda v: (
        f"price {v:g} must not be negative" if v < 0 else f"price {v:g} per kWh is implausible"
    ),
    "wue_l_per_kwh": lambda v: (
        "WUE must not be negative" if v < 0 else f"WUE {v:g} L/kWh is implausible"
    ),
    "embodied_lifetime_years": lambda v: (
        "hardware lifetime must be positive" if v <= 0 else "hardware lifetime over 100 years"
    ),
    "year": lambda v: f"year {v:g} is out of range",
    "offsets_kg": lambda v: (
        "offsets must not be negative (they are never netted against emissions)"
        if v < 0 else f"offsets of {v:g} kgCO2e are implausible"
    ),
}


def _check_ranges(ctx: Context) -> None:
    for name, (low, high, inclusive) in RANGES.items():
        v = getattr(ctx, name)
        if v is None:
            continue
        if v < low or (not inclusive and v == low) or v > high:
            raise _fail(ctx, name, _OUT_OF_RANGE[name](v))


def _check_values(ctx: Context) -> None:
    """Range and conflict checks that need no reference data. Raises ConfigError."""
    for f in fields(ctx):
        value = getattr(ctx, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise _fail(ctx, f.name, f"{value} is not a finite number")
    _check_ranges(ctx)
    if ctx.embodied_boundary is not None and ctx.embodied_boundary not in BOUNDARIES:
        raise unknown_key("embodied boundary", ctx.embodied_boundary, BOUNDARIES)
    if ctx.cooling is not None and ctx.cooling.strip().lower() not in COOLING_ALIASES:
        raise unknown_key("cooling type", ctx.cooling, sorted(set(COOLING_ALIASES.values())))
    if ctx.currency is not None and (len(ctx.currency) != 3 or not ctx.currency.isalpha()):
        raise _fail(ctx, "currency", f"{ctx.currency!r} is not an ISO 4217 code such as EUR")
    # Conflicts: settings that answer the same question twice.
    if ctx.pue is not None and ctx.cooling is not None:
        raise _fail(ctx, "cooling", "give a PUE or a cooling type, not both")
    if ctx.cfe is not None and ctx.supplier_factor_g_per_kwh is not None:
        raise _fail(ctx, "cfe", "give a carbon-free fraction or a supplier factor, not both")
    if ctx.cloud_region is not None and ctx.cloud is None:
        raise _fail(ctx, "cloud_region", "a cloud region needs --cloud aws|azure|gcp")
    if ctx.cloud_region is not None and (ctx.region is not None or ctx.country is not None):
        raise _fail(
            ctx, "cloud_region", "a cloud region already fixes the grid; drop --country/--region"
        )


def check_context(ctx: Context) -> Context:
    """Full validation against the reference data; returns ``ctx`` with keys normalised.

    Raises UnknownKeyError (with close matches) for unknown countries, regions, providers or
    cloud regions and ConfigError when country and region disagree.
    """
    changes: dict[str, Any] = {}
    if ctx.country is not None:
        changes["country"] = resolve_country(ctx.country).iso2
    if ctx.region is not None:
        f = region_factor(ctx.region)
        changes["region"] = f.key
        country = changes.get("country")
        if country is not None and country != f.country_iso2:
            raise _fail(ctx, "region", f"region {f.key} is in {f.country_iso2}, not in {country}")
    if ctx.cloud is not None:
        changes["cloud"] = normalize_provider(ctx.cloud)
    if ctx.cooling is not None:
        changes["cooling"] = COOLING_ALIASES[ctx.cooling.strip().lower()]
    if ctx.currency is not None:
        changes["currency"] = ctx.currency.upper()
    if not changes:
        return ctx
    out = replace(ctx, **changes)
    if out.cloud is not None and out.cloud_region is not None:
        cloud_factor(out.cloud, out.cloud_region, out.year)  # raises with close matches
    return out


# --------------------------------------------------------------------------- resolution


def _load_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise ConfigError(
                f"{path}: reading TOML config on Python 3.10 needs 'pip install tomli'"
            ) from None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    try:
        data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read config: not UTF-8 text ({exc.reason})") from None
    except (tomllib.TOMLDecodeError, RecursionError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read config: {_one_line(exc)}") from None
    return data


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


#: A ``[tool.wattwise]`` table, a ``[tool.wattwise.x]`` sub-table or a ``tool.wattwise.x = ``
#: dotted key (quoted or not) in a pyproject.toml that may not parse.
_WATTWISE_TABLE = re.compile(
    rb"""^[ \t]*(\[[ \t]*)?["']?tool["']?[ \t]*\.[ \t]*["']?wattwise["']?[ \t]*[\].=]""",
    re.MULTILINE,
)
_TOOL_TABLE = re.compile(rb"""^[ \t]*\[[ \t]*["']?tool["']?[ \t]*\]""", re.MULTILINE)
_WATTWISE_KEY = re.compile(rb"""^[ \t]*["']?wattwise["']?[ \t]*[.=]""", re.MULTILINE)


def mentions_wattwise(raw: bytes) -> bool:
    """Whether a (possibly broken) pyproject.toml has wattwise settings in it."""
    if _WATTWISE_TABLE.search(raw):
        return True
    tool = _TOOL_TABLE.search(raw)
    return tool is not None and _WATTWISE_KEY.search(raw, tool.end()) is not None


def read_config(path: Path | str) -> dict[str, Any]:
    """The wattwise settings in one file: ``[tool.wattwise]`` of a pyproject.toml, else the
    top level (or a ``[tool.wattwise]`` table) of a wattwise.toml. A missing file or section
    gives ``{}``.

    A pyproject.toml belongs to the project, not to wattwise: when it does not parse (or is not
    UTF-8) and has no wattwise settings, it is ignored. One that has them, or a broken
    wattwise.toml, is a ConfigError naming the file (exit 2 from the CLI).
    """
    p = Path(path)
    if not p.is_file():
        return {}
    try:
        data = _load_toml(p)
    except ConfigError:
        if p.name == "pyproject.toml":
            try:
                if not mentions_wattwise(p.read_bytes()):
                    return {}
            except OSError:
                return {}
        raise
    if p.name == "pyproject.toml" or set(data) == {"tool"}:
        tool = data.get("tool", {})
        section = tool.get("wattwise", {}) if isinstance(tool, dict) else {}
        return dict(section) if isinstance(section, dict) else {}
    return data


def default_config_paths(directory: Path | str) -> list[Path]:
    """Config files looked at by default, highest precedence first."""
    d = Path(directory)
    return [d / "wattwise.toml", d / "pyproject.toml"]


def _setting_for(key: str, origin: str) -> Setting:
    k = key.strip().lower().lstrip("-").replace("-", "_")
    for s in SETTINGS:
        if k in (s.field, s.flag.lstrip("-").replace("-", "_")):
            return s
    names = [s.flag.lstrip("-") for s in SETTINGS]
    raise unknown_key(f"setting in {origin}", key, names)


def _convert(s: Setting, raw: object, origin: str) -> object:
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ConfigError(f"{origin}: {s.flag.lstrip('-')} = {raw!r} is not a {s.kind.__name__}")
    if s.kind is str:
        text = str(raw).strip()
        return text or None
    text = str(raw).strip()
    if text == "":
        return None
    if not isinstance(raw, int | float):
        try:
            float(text)
        except ValueError:
            kind = "number" if s.kind is float else "whole number"
            raise ConfigError(f"{origin}: {s.flag.lstrip('-')}={text!r} is not a {kind}") from None
    # Finite and whole here; the range is checked by _check_values, which says why.
    value = raw if isinstance(raw, int | float) else text
    return setting_value(s, value, origin_name(s, origin), ranged=False)


def origin_name(s: Setting, origin: str) -> str:
    """How an error names a setting: ``WATTWISE_PUE`` or ``/path/pyproject.toml: pue``."""
    if origin in (s.env, s.flag) or origin.startswith("--"):
        return origin
    return f"{origin}: {s.flag.lstrip('-')}"


def _layer_from_mapping(values: Mapping[str, object], origin_of: Any) -> dict[str, tuple[Any, str]]:
    layer: dict[str, tuple[Any, str]] = {}
    for key, raw in values.items():
        origin = origin_of(key)
        s = _setting_for(key, origin)
        value = _convert(s, raw, origin)
        if value is not None:
            layer[s.field] = (value, origin)
    return layer


def resolve_context(
    flags: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
    config_paths: Sequence[Path | str] = (),
) -> Context:
    """Build and validate a Context: flags > environment > config files (in the given order).

    ``flags`` maps setting names (``country``, ``cloud_region`` or ``cloud-region``, ``pue``, ...)
    to values; ``None`` means not given (argparse defaults). ``environ`` is read for the
    ``WATTWISE_*`` variables in :data:`SETTINGS` (pass ``os.environ``). Unknown config keys and
    values that do not parse raise ConfigError naming their origin.
    """
    layers: list[dict[str, tuple[Any, str]]] = []
    layers.append(
        _layer_from_mapping(
            {k: v for k, v in (flags or {}).items() if v is not None},
            lambda k: "--" + k.lstrip("-").replace("_", "-"),
        )
    )
    env = environ or {}
    env_values = {s.field: env[s.env] for s in SETTINGS if s.env in env}
    layers.append(_layer_from_mapping(env_values, lambda k: _BY_FIELD[k].env))
    for path in config_paths:
        cfg = read_config(path)
        layers.append(_layer_from_mapping(cfg, lambda _k, p=str(path): p))

    chosen: dict[str, tuple[Any, str]] = {}
    decided_groups: set[str] = set()
    for layer in layers:
        groups_here = {_BY_FIELD[f].group for f in layer}
        for name, value in layer.items():
            if _BY_FIELD[name].group not in decided_groups:
                chosen[name] = value
        decided_groups |= groups_here
    ctx = Context(
        **{name: v for name, (v, _o) in chosen.items()},
        origins={name: o for name, (_v, o) in chosen.items()},
    )
    return check_context(ctx)
