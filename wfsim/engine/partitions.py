"""The partition write gate: which state writes a node accepts while the network is
split (:class:`~wfsim.model.enums.PartitionHandlingStrategy`).

A task with ``state_keys`` writes them when it ends, at its node (``<id>`` in a key
stands for the workflow instance's id). The gate judges the write by the failure
detector's belief about that node, or, under ``LeaderOnly``, by the ground truth of
which links are up; a refused write fails the task (reason ``write refused:
<strategy>``). Every write is recorded in the ``writes`` table, and every change of
whether a node would accept writes in ``states`` (kind ``writes``, state ``refused``
or ``open``), so the time a node was unavailable for writes is read from the trace.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wfsim.engine.detection import FailureDetector
from wfsim.engine.node import NodeRuntime
from wfsim.model.enums import FaultToleranceMode, NodeState, PartitionHandlingStrategy
from wfsim.model.events import NODE_STATES
from wfsim.model.parameters import Tunable, param
from wfsim.trace.recorder import TraceRecorder

if TYPE_CHECKING:
    from wfsim.engine.executor import WorkflowRun

_STATE_CODE = {NodeState(v): i for i, v in enumerate(NODE_STATES)}


@dataclass(frozen=True)
class PartitionHandlingSettings(Tunable):
    """How writes are gated during partitions (:class:`WriteGate`; YAML: the
    ``partition_handling:`` group). Needs failure detection.

    Attributes:
        members: Ids of the nodes whose majority ``LeaderOnly`` counts (None: the
            detector's monitor and monitored nodes).

    Example:
        >>> PartitionHandlingSettings("LeaderOnly").strategy
        'LeaderOnly'
    """

    name = "partition_handling"
    strategy: str = param(PartitionHandlingStrategy.READ_ONLY.value,
                          choices=tuple(s.value for s in PartitionHandlingStrategy),
                          doc="which writes a node accepts while the network is partitioned")
    members: tuple[str, ...] | None = None


class WriteGate:
    """Accepts or refuses each state write (the seed's ``can_write``, made real).

    A node believed ``Failed`` accepts nothing. Otherwise, by strategy:
    ``ReadOnly``: a node believed ``Partitioned`` refuses writes. ``WriteLocal``:
    every node accepts; a partitioned node's writes are reconciled when it is back
    (:attr:`conflicts`). ``RejectWrites``: while any node is believed
    ``Partitioned``, every node refuses. ``LeaderOnly``: a node accepts only if its
    side of the partition (its connected component over the links that are up) holds
    a strict majority of the :attr:`members`; at most one side does.

    Whether each node would accept a write is re-evaluated at every write, every
    change of the detector's beliefs and every detector check (so a ``LeaderOnly``
    side's availability, which follows the links, is recorded to within a check
    period), and recorded in ``states`` as it changes.

    A run whose workflow is ``MultiMaster`` writes anywhere: give
    :attr:`fault_tolerance` a function from a run to its
    :class:`~wfsim.model.enums.FaultToleranceMode` (the task fault-tolerance
    settings) and such writes pass whatever the strategy.

    Attributes:
        strategy: The strategy.
        members: Node indices whose majority ``LeaderOnly`` counts.
        rejected: Writes refused so far (one per key).
        conflicts: Keys found written on two sides when partitioned nodes reconciled.
        fault_tolerance: Run → its fault-tolerance mode, or None (no run is MultiMaster).

    Args:
        detector: The failure detector whose beliefs the gate reads.
        recorder: Where writes and availability changes are recorded.
        settings: The strategy and members.

    Raises:
        ValueError: For an unknown member id.
    """

    def __init__(self, detector: FailureDetector, recorder: TraceRecorder,
                 settings: PartitionHandlingSettings) -> None:
        self.detector = detector
        self.topology = detector.topology
        self.env = detector.env
        self.strategy = PartitionHandlingStrategy(settings.strategy)
        if settings.members is None:
            self.members = sorted([detector.monitor, *detector.monitored])
        else:
            try:
                self.members = sorted({self.topology.index_of(m) for m in settings.members})
            except ValueError as exc:
                raise ValueError(f"partition_handling: members: {exc}") from None
        self.rejected = 0
        self.conflicts = 0
        self.fault_tolerance: Callable[[WorkflowRun], FaultToleranceMode | None] | None = None
        self._record_write = recorder.record_write
        self._record_state = recorder.states.append
        n = len(self.topology.nodes)
        self._open = [True] * n
        self._key: tuple[int, int] = (self.topology.version, detector.version)
        # Accepted writes (time, node, key, side, partitioned), in time order, for reconciling.
        self._accepted: list[tuple[float, int, str, int, bool]] = []
        self._times: list[float] = []
        detector.on_check.append(self._refresh)
        detector.on_suspect.append(lambda _node: self._refresh())
        detector.on_clear.append(lambda _node: self._refresh())
        detector.on_reconciled.append(self._reconcile)

    def accepts(self, node: int) -> bool:
        """Whether node index ``node`` would accept a write now."""
        self._refresh()
        return self._open[node]

    def _verdicts(self) -> list[bool]:
        state = self.detector.state
        strategy = self.strategy
        if strategy is PartitionHandlingStrategy.LEADER_ONLY:
            side = self.topology.side
            count: dict[int, int] = {}
            for m in self.members:
                count[side(m)] = count.get(side(m), 0) + 1
            majority = len(self.members) / 2
            return [s is not NodeState.FAILED and count.get(side(i), 0) > majority for i, s in enumerate(state)]
        if strategy is PartitionHandlingStrategy.WRITE_LOCAL:
            return [s is not NodeState.FAILED for s in state]
        if strategy is PartitionHandlingStrategy.REJECT_WRITES and NodeState.PARTITIONED in state:
            return [False] * len(state)
        return [s is not NodeState.FAILED and s is not NodeState.PARTITIONED for s in state]

    def _refresh(self) -> None:
        """Recompute each node's verdict if a link or a belief changed; record changes."""
        key = (self.topology.version, self.detector.version)
        if key == self._key:
            return
        self._key = key
        now = self.env.now
        ids = self.topology.nodes
        for i, (was, now_open) in enumerate(zip(self._open, self._verdicts())):
            if was != now_open:
                self._open[i] = now_open
                self._record_state((now, "writes", ids[i].id, "open" if now_open else "refused"))

    def check(self, run: WorkflowRun, task: int, node: NodeRuntime) -> str | None:
        """Judge and record the writes of ``task`` of ``run`` ending on ``node``:
        None if they are accepted (or it writes nothing), else the reason the task
        fails."""
        keys = run.spec.tasks[task].state_keys
        if not keys:
            return None
        i = node.index
        accepted = self.accepts(i) or (self.fault_tolerance is not None
                                       and self.fault_tolerance(run) is FaultToleranceMode.MULTI_MASTER)
        now = self.env.now
        state = self.detector.state[i]
        side = self.topology.side(i)
        partitioned = state is NodeState.PARTITIONED
        for template in sorted(keys):
            key = template.replace("<id>", str(run.id))
            self._record_write((now, i, key, run.id, accepted, _STATE_CODE[state], side))
            if accepted:
                self._accepted.append((now, i, key, side, partitioned))
                self._times.append(now)
        if accepted:
            return None
        self.rejected += len(keys)
        return f"write refused: {self.strategy.value}"

    def _reconcile(self, node: int, since: float) -> None:
        """Node ``node`` is back from a partition that began at ``since``: count the
        keys it wrote while partitioned that another node wrote from another side
        between ``since`` and now."""
        window = self._accepted[bisect.bisect_left(self._times, since):]
        mine: dict[str, set[int]] = {}
        for _t, i, key, side, partitioned in window:
            if i == node and partitioned:
                mine.setdefault(key, set()).add(side)
        # A conflict: another node wrote the key from a side other than one it was written on here.
        self.conflicts += len({key for _t, i, key, side, _p in window
                               if i != node and key in mine and mine[key] - {side}})
