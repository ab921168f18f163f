"""Bounded log volume under hostile traffic: repeated lines are counted, not written.

A `LogThrottle` lets through the first `burst` lines of each key per `window` seconds; the
rest are counted, and the next line of that key after the window says how many were left out
(`suppressed`). Keys are small tuples (path, status, error codes, caller): a client repeating
the same mistake writes a handful of lines a minute, whatever its request rate. Memory is
bounded too: at most `max_keys` keys are tracked (the oldest window is dropped first).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass
class _Window:
    started: float
    written: int = 0
    suppressed: int = 0


class LogThrottle:
    """Decides per line whether to write it, and how many of its kind were left out."""

    def __init__(self, burst: int = 10, window: float = 60.0, max_keys: int = 10_000) -> None:
        self.burst = burst
        self.window = window
        self.max_keys = max_keys
        self._windows: OrderedDict[Hashable, _Window] = OrderedDict()

    def admit(self, key: Hashable) -> int | None:
        """None: drop this line. Otherwise write it, noting the returned count of lines of
        this key that were dropped since the last one written (0 usually)."""
        now = time.monotonic()
        state = self._windows.get(key)
        if state is None or now - state.started >= self.window:
            carried = state.suppressed if state is not None else 0
            state = _Window(started=now)
            self._windows[key] = state
            self._windows.move_to_end(key)
            while len(self._windows) > self.max_keys:
                self._windows.popitem(last=False)
            state.written = 1
            return carried
        if state.written < self.burst:
            state.written += 1
            return 0
        state.suppressed += 1
        return None
