"""Small runs with replicated state for the views' tests: stand-in protocols (one
copy at the first replica; or the primary acknowledging writes and copying them to
the other replicas later, reads served at the nearest replica, so reads can be
stale), injected in place of the registered protocols so the views are tested on
real traces without depending on the protocols' own behaviour."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from wfsim import Poisson, Simulation, Task, Workflow, Workload, hierarchical
from wfsim.consistency.protocols.base import OK, ReplicationProtocol, Request
from wfsim.consistency.settings import ConsistencySettings
from wfsim.faults.fault import Fault
from wfsim.faults.processes import Schedule
from wfsim.model.enums import ConsistencyLevel
from wfsim.policies.consistency import AdaptiveConsistency
from wfsim.trace.trace import Trace


class PrimaryCopy(ReplicationProtocol):
    """One copy on the first replica: requests travel there and back."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.data: dict[str, Any] = {}

    def submit(self, request: Request) -> None:
        self.net.send(request.node, self.replicas[0], "request", self._serve, request)

    def _serve(self, request: Request) -> None:
        if request.is_write:
            self.data[request.key] = request.value
        output = None if request.is_write else self.data.get(request.key)
        self.net.send(self.replicas[0], request.node, "reply", request.reply, OK, output)

    def snapshot(self) -> dict[str, dict[int, Any]]:
        return {k: {self.replicas[0]: v} for k, v in self.data.items()}


class LaggingCopies(ReplicationProtocol):
    """Writes at the first replica, copied to the others ``lag`` seconds later; reads
    at the replica nearest the client (stale until the copy arrives)."""

    lag = 2.0

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.data: dict[int, dict[str, Any]] = {r: {} for r in self.replicas}

    def submit(self, request: Request) -> None:
        target = self.replicas[0] if request.is_write else self.net.nearest(request.node, self.replicas)
        self.net.send(request.node, target, "request", self._serve, target, request)

    def _serve(self, at: int, request: Request) -> None:
        if request.is_write:
            self.data[at][request.key] = request.value
            for other in self.replicas[1:]:
                self.net.after(self.lag, self._copy, other, request.key, request.value)
        output = None if request.is_write else self.data[at].get(request.key)
        self.net.send(at, request.node, "reply", request.reply, OK, output)

    def _copy(self, at: int, key: str, value: Any) -> None:
        self.data[at][key] = value

    def snapshot(self) -> dict[str, dict[int, Any]]:
        return {k: {r: d[k] for r, d in self.data.items() if k in d} for k in self.data[self.replicas[0]]}


#: The stand-ins by level: the two strong levels one copy, the weak ones lagging.
STAND_INS = {ConsistencyLevel.LINEARIZABLE: PrimaryCopy, ConsistencyLevel.SEQUENTIAL: PrimaryCopy,
             ConsistencyLevel.CAUSAL: LaggingCopies, ConsistencyLevel.EVENTUAL: LaggingCopies}

STATEFUL = Workflow("order", [Task("fetch", work=1e8, state_keys=frozenset({"order:<id>"})),
                              Task("pay", work=1e8, state_keys=frozenset({"payment:<id>", "order:<id>"}))],
                    [("fetch", "pay")])


def state_run(settings: ConsistencySettings, *, partition: bool = False, duration: float = 20.0,
              seed: int = 3) -> Trace:
    """A short run of :data:`STATEFUL` with ``settings`` and the stand-in protocols;
    with ``partition``, the cloud is cut off from 5 s to 12 s."""
    faults = (Schedule(faults=(Fault("partition", ("cloud",), 5.0, 12.0),)),) if partition else ()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("wfsim.engine.simulation.PROTOCOLS", STAND_INS)
        sim = Simulation(hierarchical(devices=4, edge=2, regional=1), [Workload("w", STATEFUL, Poisson(1.0))],
                         duration=duration, seed=seed, faults=faults, consistency=settings)
        return sim.run().trace


@functools.cache
def adaptive_under_partition() -> Trace:
    """The adaptive strategy with three state clients, the cloud cut off from 5 s to
    12 s: every level served, downgrades, health changes and stale reads."""
    return state_run(ConsistencySettings(strategy=AdaptiveConsistency(), clients=3, monitor_period=1.0),
                     partition=True)  # one run for every module that reads it (none changes it)
