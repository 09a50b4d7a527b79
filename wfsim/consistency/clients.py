"""State clients: sessions issuing reads and writes beside the workflows, so a run's
history has many operations per client (what the history checkers need to tell the
levels apart).

Client ``i`` lives on a node (the users' devices in turn, or every node when there are
none), and issues one operation at a time: it thinks for an exponential time of mean
``1 / client_rate``, then reads (with probability ``read_fraction``) or writes a key
``kv:<k>`` drawn uniformly among ``client_keys``, and waits for the answer. Clients
start no operation at or after the arrival window's end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import simpy

from wfsim.consistency.protocols.base import Session
from wfsim.consistency.store import ReplicatedStore
from wfsim.model.enums import Tier


class StateClients:
    """The store's state clients (``clients`` > 0 in the settings).

    Args:
        env: The simulation's environment.
        store: The store they talk to.
        duration: The arrival window: no operation starts at or after it.
        stream: The run's named random streams (client ``i`` draws from
            ``consistency/clients/<i>``).

    Attributes:
        sessions: One session per client, ``client<i>``.
        homes: Each client's node index.
    """

    def __init__(self, env: simpy.Environment, store: ReplicatedStore, duration: float,
                 stream: Callable[[str], np.random.Generator]) -> None:
        self.env = env
        self.store = store
        self.duration = duration
        settings = store.settings
        topology = store.topology
        devices = [topology.index[n.id] for n in topology.nodes_of(Tier.LOCAL_DEVICE)]
        places = devices or list(range(len(topology.nodes)))
        self.sessions = [Session(f"client{i}") for i in range(settings.clients)]
        self.homes = [places[i % len(places)] for i in range(settings.clients)]
        self._rngs = [stream(f"consistency/clients/{i}") for i in range(settings.clients)]
        for i in range(settings.clients):
            self._think(i)

    def _think(self, i: int) -> None:
        delay = self._rngs[i].exponential(1.0 / self.store.settings.client_rate)
        if self.env.now + delay < self.duration:
            self.env.timeout(delay).callbacks.append(lambda _e: self._issue(i))

    def _issue(self, i: int) -> None:
        if not self.store.nodes[self.homes[i]].up:  # a client on a crashed node waits for it
            self._think(i)
            return
        s = self.store.settings
        rng = self._rngs[i]
        f = "read" if rng.random() < s.read_fraction else "write"
        key = f"kv:{int(rng.integers(s.client_keys))}"

        def done(outcome: str, output: Any, reason: str | None) -> None:
            self._think(i)

        self.store.request(self.sessions[i], self.homes[i], key, f, done)
