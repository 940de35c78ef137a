"""Rendering of the report's HTML: Jinja2 templates (package data in ``templates/``) with
autoescape, so every value a template prints is escaped unless it is :func:`trusted`.

The one :class:`jinja2.Environment` is built on first use: ``import wattwise`` and
``import wattwise.report`` do not import jinja2. ``undefined=StrictUndefined``: a template that
names a value its caller did not pass fails loudly instead of printing nothing.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def environment() -> Any:
    """The report's Jinja2 environment (autoescape on for every template; built once)."""
    import jinja2

    from wattwise.report import markup

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("wattwise.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=markup.num, money=markup.money, energy=markup.energy)
    env.globals.update(badge_parts=markup.badge_parts)
    env.tests["badge"] = lambda x: isinstance(x, markup.Badge)
    return env


def render(name: str, **context: Any) -> str:
    """``templates/<name>`` rendered with ``context`` (values escaped by the template)."""
    return str(environment().get_template(name).render(**context))


def trusted(html: str) -> Any:
    """Mark HTML we generated ourselves as safe to insert unescaped: an SVG chart from
    :mod:`wattwise.report.svg` (which escapes every text and attribute it writes) or a section
    rendered from a template here. Never pass user-supplied text."""
    from markupsafe import Markup

    return Markup(html)
