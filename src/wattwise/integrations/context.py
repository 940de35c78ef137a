"""The accounting context of an integration, resolved as the command line resolves it.

Flags > environment (``WATTWISE_COUNTRY``, ``WATTWISE_PUE``, ...) > config files
(``wattwise.toml``, ``[tool.wattwise]`` in ``pyproject.toml`` of the working directory). An
integration has no command line: what its caller passes (``context={"country": "FR"}``) stands
for the flags. Nothing is guessed silently: without a location the world-average grid is used,
the footprint's assumptions say so, and :func:`unlocated_line` is the line to show the user.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from wattwise.accounting.context import Context, default_config_paths, resolve_context


def context_for(context: Context | Mapping[str, object] | None = None) -> Context:
    """The context to account a run in: ``context`` itself when it is a :class:`Context`; else
    flags > environment > config files, ``context`` (a mapping of setting names such as
    ``country``, ``pue``, ``cloud_region``) standing for the flags. Raises ConfigError on a bad
    value, naming where it came from."""
    if isinstance(context, Context):
        return context
    return resolve_context(dict(context or {}), os.environ, default_config_paths(Path.cwd()))


def unlocated_line(ctx: Context, where: str) -> str:
    """The line saying that ``ctx`` has no location (``""`` when it has one): CO2e then uses the
    world-average grid intensity, an assumption. ``where``: the integration, e.g. ``MLflow``."""
    if ctx.has_location:
        return ""
    return (
        f"wattwise ({where}): no location given: CO2e uses the world-average grid intensity "
        "(assumed); set WATTWISE_COUNTRY / WATTWISE_CLOUD_REGION, a [tool.wattwise] config, "
        "or context={'country': ...}"
    )
