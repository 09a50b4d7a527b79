"""Failure detection by heartbeats over the simulated network, and the recovery
actions a node's return calls for.

Every monitored node that is up sends a heartbeat to the monitor every ``period``
seconds; it travels like any message (latency, queueing behind traffic) and is lost
when no route is up. Every ``check_period`` seconds the detector counts a miss for
each node whose last heartbeat is older than ``timeout``: ``partitioned_after``
consecutive misses make it ``Partitioned``, ``failed_after`` make it ``Failed``
(:class:`~wfsim.model.enums.NodeState`). A heartbeat makes it ``Healthy`` again and
runs the :data:`~wfsim.model.enums.RECOVERY_PLAN` of the state it was in (the seed
runs the plan of the state after the reset, that is none).

A run without ``until`` ends when nothing but the detector's timers is scheduled:
once its work is done (:attr:`FailureDetector.quiet`), no more heartbeats are sent, and
the last ones in flight end the run when they arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import simpy

from wfsim._timers import Timers
from wfsim.engine.network import Network
from wfsim.engine.node import NodeRuntime
from wfsim.model.enums import HEALTH_OF_NODE_STATE, RECOVERY_PLAN, HealthStatus, NodeState, RecoveryAction, Tier
from wfsim.model.events import NODE_STATES, RECOVERY_ACTIONS, RECOVERY_PHASES
from wfsim.model.parameters import Tunable, param
from wfsim.model.topology import Topology
from wfsim.trace.recorder import TraceRecorder

#: Tiers monitored unless told otherwise: every tier but the users' own devices.
MONITORED_TIERS: tuple[Tier, ...] = tuple(t for t in Tier if t is not Tier.LOCAL_DEVICE)

_STATE_CODE = {NodeState(v): i for i, v in enumerate(NODE_STATES)}
_ACTION_CODE = {RecoveryAction(v): i for i, v in enumerate(RECOVERY_ACTIONS)}
START, DONE, FAILED = (RECOVERY_PHASES.index(p) for p in ("start", "done", "failed"))


@dataclass(frozen=True)
class DetectionSettings(Tunable):
    """Heartbeat failure detection and recovery (:class:`FailureDetector`; YAML: the
    ``detection:`` group).

    Attributes:
        monitor: Id of the node receiving heartbeats (None: the first Cloud node).
        tiers: Tiers whose nodes are monitored (default: all but LocalDevice).

    Raises:
        ValueError: For ``failed_after < partitioned_after`` or an unknown tier.

    Example:
        >>> DetectionSettings(timeout=2.0).failed_after
        3
    """

    name = "detection"
    period: float = param(1.0, low=0.1, high=30.0, doc="seconds between a node's heartbeats")
    timeout: float = param(3.0, low=0.1, high=30.0,
                           doc="age of the last heartbeat, seconds, beyond which a check counts a miss")
    check_period: float = param(1.0, low=0.1, high=30.0, doc="seconds between the detector's checks")
    partitioned_after: int = param(1, low=1, high=10, doc="consecutive misses that make a node Partitioned")
    failed_after: int = param(3, low=1, high=10, doc="consecutive misses that make a node Failed")
    heartbeat_bytes: float = param(64.0, low=0.0, high=1e6, doc="size of a heartbeat message, bytes")
    restart_delay: float = param(5.0, low=0.0, high=600.0,
                                 doc="seconds a node back from Failed restarts before it gets work again")
    state_bytes: float = param(1e7, low=0.0, high=1e11,
                               doc="state sent from the monitor to a node back from Failed (StateTransfer), bytes")
    monitor: str | None = None
    tiers: tuple[Tier, ...] = MONITORED_TIERS

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.failed_after < self.partitioned_after:
            raise ValueError(f"detection: failed_after ({self.failed_after}) must be >= partitioned_after "
                             f"({self.partitioned_after})")
        object.__setattr__(self, "tiers", tuple(Tier.parse(t) for t in self.tiers))


class FailureDetector:
    """The monitor's heartbeat failure detector and the recovery actions it runs.

    Attributes:
        settings: Its :class:`DetectionSettings`.
        monitor: Node index receiving heartbeats.
        monitored: Indices of the monitored nodes (the monitor is not among them).
        state: Each node's :class:`~wfsim.model.enums.NodeState` as believed (indexed
            by node index; unmonitored nodes stay ``Healthy``).
        missed: Consecutive missed checks per node.
        on_suspect: Called with the :class:`~wfsim.engine.node.NodeRuntime` each time
            a node becomes ``Partitioned`` or ``Failed`` (read :attr:`state` for which).
        on_clear: Called with the node when a heartbeat clears it (before its recovery
            actions start).
        on_reconciled: Called with ``(node index, since)`` when a node back from
            ``Partitioned`` has reconciled the writes it accepted since ``since``.
        on_check: Called after each round of checks.
        quiet: True once the run is only waiting for its end (no work left, none to
            come): no more messages are sent, so the run can end (the simulation
            sets it for runs without ``until``).
        version: Bumped by every change of :attr:`state`, so what is derived from it
            can be cached.

    Args:
        env: The simulation's environment.
        topology: Its topology.
        nodes: Its nodes, in topology order.
        network: The network heartbeats travel through.
        recorder: Where detections and recoveries are recorded.
        settings: What to monitor, and how.
        set_health: ``(node index, status)``: changes a node's health for placement
            and records it (the simulation's).
        background: Registers the detector's pending timers (the simulation's
            ``add_background``).

    Raises:
        ValueError: For an unknown monitor, or a topology without a Cloud node when no
            monitor is named.
    """

    def __init__(self, env: simpy.Environment, topology: Topology, nodes: list[NodeRuntime], network: Network,
                 recorder: TraceRecorder, settings: DetectionSettings,
                 set_health: Callable[[int, HealthStatus], None],
                 background: Callable[[Callable[[], set[simpy.Event]]], None]) -> None:
        self.env = env
        self.topology = topology
        self.nodes = nodes
        self.network = network
        self.settings = settings
        if settings.monitor is None:
            clouds = topology.nodes_of(Tier.CLOUD)
            if not clouds:
                raise ValueError("detection: the topology has no Cloud node; name the monitor "
                                 f"(one of {', '.join(n.id for n in topology.nodes[:12])})")
            self.monitor = topology.index[clouds[0].id]
        else:
            try:
                self.monitor = topology.index_of(settings.monitor)
            except ValueError as exc:
                raise ValueError(f"detection: monitor: {exc}") from None
        tiers = set(settings.tiers)
        self.monitored = [i for i, n in enumerate(topology.nodes) if n.tier in tiers and i != self.monitor]
        n = len(topology.nodes)
        self.state = [NodeState.HEALTHY] * n
        self.missed = [0] * n
        self._last = [0.0] * n  # arrival of the last heartbeat (the run starts heard)
        self._since = [0.0] * n  # when the current state began
        self._epoch = [0] * n  # bumped on every state change: stale recoveries stop
        self._record = recorder.record_detection
        self._recovery = recorder.record_recovery
        self._set_health = set_health
        self.on_suspect: list[Callable[[NodeRuntime], None]] = []
        self.on_clear: list[Callable[[NodeRuntime], None]] = []
        self.on_reconciled: list[Callable[[int, float], None]] = []
        self.on_check: list[Callable[[], None]] = []
        self.quiet: Callable[[], bool] = lambda: False
        self.version = 0
        self._after = Timers(env, background).after
        self._after(0.0, self._beat)
        self._after(settings.check_period, self._check)

    def _beat(self) -> None:
        send, nodes, size, monitor = self.network.send, self.nodes, self.settings.heartbeat_bytes, self.monitor
        if not self.quiet():
            for i in self.monitored:
                if nodes[i].up:
                    send(i, monitor, size, self._heard, i)  # False: lost, no route is up
        self._after(self.settings.period, self._beat)

    def _check(self) -> None:
        s = self.settings
        now = self.env.now
        for i in self.monitored:
            state = self.state[i]
            if state is NodeState.FAILED or not now - self._last[i] > s.timeout:
                continue
            missed = self.missed[i] = self.missed[i] + 1
            if missed >= s.failed_after:
                new = NodeState.FAILED
            elif missed >= s.partitioned_after:
                new = NodeState.PARTITIONED
            else:
                continue
            if new is not state:
                self._enter(i, new)
                for listener in self.on_suspect:
                    listener(self.nodes[i])
        for done in self.on_check:
            done()
        self._after(s.check_period, self._check)

    # --- state changes -----------------------------------------------------------
    def _enter(self, i: int, state: NodeState, placement: bool = True) -> None:
        """Node ``i`` is now believed ``state``; with ``placement``, its health follows."""
        self.state[i] = state
        self._since[i] = self.env.now
        self._epoch[i] += 1
        self.version += 1
        self._record((self.env.now, i, _STATE_CODE[state], self.missed[i]))
        health = HEALTH_OF_NODE_STATE[state]
        if placement and self.nodes[i].health is not health:
            self._set_health(i, health)

    def _heard(self, i: int) -> None:
        self._last[i] = self.env.now
        self.missed[i] = 0
        was = self.state[i]
        if was is NodeState.HEALTHY:
            return
        since = self._since[i]
        # A node that must restart gets work again only once restarted (see _restarted).
        self._enter(i, NodeState.HEALTHY, placement=RecoveryAction.RESTART not in RECOVERY_PLAN[was])
        for listener in self.on_clear:
            listener(self.nodes[i])
        for action in RECOVERY_PLAN[was]:
            self._run(i, action, since)

    # --- recovery actions --------------------------------------------------------
    def record_recovery(self, node: int, action: RecoveryAction, phase: int) -> None:
        """Record a phase (:data:`START`, :data:`DONE`, :data:`FAILED`) of a recovery
        action on node index ``node`` now (also for actions run elsewhere: failover)."""
        self._recovery((self.env.now, node, _ACTION_CODE[action], phase))

    def _run(self, i: int, action: RecoveryAction, since: float) -> None:
        self.record_recovery(i, action, START)
        epoch = self._epoch[i]
        if action is RecoveryAction.RESTART:
            # Out of placement until restarted, unless it is suspected again meanwhile.
            self._after(self.settings.restart_delay, lambda: self._restarted(i, epoch))
        elif action is RecoveryAction.STATE_TRANSFER:
            self.transfer(i, self.settings.state_bytes, lambda: self.record_recovery(i, action, DONE),
                           lambda: self.record_recovery(i, action, FAILED))
        elif action is RecoveryAction.RECONCILE:
            # One round trip to the monitor: the local writes there, the merge back.
            round_trip = self.network.send(i, self.monitor, self.settings.heartbeat_bytes, self.transfer, i, 0.0,
                                           lambda: self._reconciled(i, since),
                                           lambda: self.record_recovery(i, action, FAILED))
            if not round_trip:
                self.record_recovery(i, action, FAILED)

    def transfer(self, i: int, nbytes: float, done: Callable[[], None], failed: Callable[[], None]) -> None:
        """Send ``nbytes`` from the monitor to node index ``i`` (a state transfer, a
        reply): ``done()`` on arrival, ``failed()`` at once if no route is up."""
        if not self.network.send(self.monitor, i, nbytes, done):
            failed()

    def _restarted(self, i: int, epoch: int) -> None:
        if self._epoch[i] != epoch:
            self.record_recovery(i, RecoveryAction.RESTART, FAILED)  # suspected again first
            return
        self.record_recovery(i, RecoveryAction.RESTART, DONE)
        if self.nodes[i].health is not HealthStatus.HEALTHY:
            self._set_health(i, HealthStatus.HEALTHY)

    def _reconciled(self, i: int, since: float) -> None:
        for listener in self.on_reconciled:
            listener(i, since)
        self.record_recovery(i, RecoveryAction.RECONCILE, DONE)
