"""Optional dependencies of the optimisation lab (the ``optimize`` extra): torch, transformers.

Nothing here imports torch at module import; :func:`require_torch` does, and turns a missing
install into one :class:`~wattwise.errors.ConfigError` line that says what to install.
"""

from __future__ import annotations

import importlib.util

from wattwise.errors import ConfigError

INSTALL_HINT = 'pip install "wattwise[optimize]"'


def torch_available() -> bool:
    """True when torch can be imported (without importing it)."""
    return importlib.util.find_spec("torch") is not None


def require_torch() -> None:
    """Raise :class:`ConfigError` (one line, with the install command) when torch is missing."""
    if not torch_available():
        raise ConfigError(f"the optimisation lab needs PyTorch: {INSTALL_HINT}")


def require_transformers(what: str) -> None:
    """Raise :class:`ConfigError` when transformers/tokenizers are missing for ``what``."""
    for mod in ("transformers", "tokenizers"):
        if importlib.util.find_spec(mod) is None:
            raise ConfigError(f"{what} needs the '{mod}' package: {INSTALL_HINT}")
