"""Tracking of real runs: windows, background sampling, work counters."""

from wattwise.tracker.core import Tracker, Window
from wattwise.tracker.model import ComponentEnergy, RunResult, WindowResult

__all__ = ["ComponentEnergy", "RunResult", "Tracker", "Window", "WindowResult"]
