"""Background timers: the pending events of a periodic process (heartbeats, protocol
rounds, checks) that must not keep a run going on its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy


class Timers:
    """Timers of a periodic process whose pending events are the simulation's
    background (``Simulation.add_background``): a run without ``until`` ends when
    nothing but such events is left.

    Args:
        env: The simulation's environment.
        background: Registers the pending events (the simulation's ``add_background``).
    """

    def __init__(self, env: simpy.Environment, background: Callable[[Callable[[], set[simpy.Event]]], None]) -> None:
        self.env = env
        self.pending: set[simpy.Event] = set()
        background(lambda: self.pending)

    def after(self, delay: float, action: Callable[..., None], *args: Any) -> simpy.Event:
        """Run ``action(*args)`` in ``delay`` seconds. Returns the timer (give it to
        :meth:`cancel` to stop it)."""
        event = self.env.timeout(delay)
        self.pending.add(event)

        def fire(e: simpy.Event) -> None:
            if e in self.pending:  # else cancelled
                self.pending.discard(e)
                action(*args)

        event.callbacks.append(fire)
        return event

    def cancel(self, timer: simpy.Event | None) -> None:
        """Stop a timer from :meth:`after` (nothing if it has fired or is None)."""
        if timer is not None:
            self.pending.discard(timer)
