"""What the session's real ``transformers serve`` fixture (``served``, conftest.py) yields."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Served:
    base_url: str
    model: str
    server: Any  # wattwise.bench.launch.Launched
    model_dir: Path
