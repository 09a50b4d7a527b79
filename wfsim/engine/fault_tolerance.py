"""Task-level fault tolerance: retries with backoff, checkpoints and the four
:class:`~wfsim.model.enums.FaultToleranceMode` s.

:class:`FaultToleranceSettings` declares what a user or the tuner sets;
:class:`FaultTolerantExecutor` is the :class:`~wfsim.engine.executor.WorkflowExecutor`
a simulation runs with them. A task is placed as one or more *copies* (the replicas
of ActiveActive and Quorum, else one); each copy is a real execution in the trace
(``placed``, ``ready``, ``start`` and ``end``, ``lost`` or ``cancelled`` on its node).
What happened to the task is in the trace's ``task_faults`` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import simpy

from wfsim.engine.cluster import Cluster
from wfsim.engine.executor import WorkflowExecutor, WorkflowRun
from wfsim.engine.network import Network
from wfsim.engine.node import NodeRuntime
from wfsim.engine.randomness import RandomStreams
from wfsim.model.enums import DRAINED, FaultToleranceMode, WorkflowState
from wfsim.model.events import (
    CANCELLED,
    DISAGREE,
    EXHAUSTED,
    FAILED,
    LOST,
    LOST_TASK,
    ORIGIN,
    PLACED,
    READY,
    REPLICA,
    RETRY,
    TAKEOVER,
)
from wfsim.model.parameters import Tunable, param
from wfsim.trace.recorder import TraceRecorder

if TYPE_CHECKING:
    from wfsim.policies.placement import PlacementStrategy

#: When a lost task is noticed: at the crash (an oracle), or when the failure
#: detector suspects its node (:meth:`FaultTolerantExecutor.on_node_suspected`).
NOTICES = ("immediate", "detector")
#: The ``mode`` choices: plain retries, or a :class:`FaultToleranceMode`.
MODES = ("none", *(m.value for m in FaultToleranceMode))


@dataclass(frozen=True)
class FaultToleranceSettings(Tunable):
    """How tasks survive the loss of their node (YAML: the ``fault_tolerance:`` group).

    A lost task is retried after a backoff: the ``k``-th retry (``k = 0, 1, …``) waits
    ``min(max_backoff, backoff * backoff_factor ** k)`` seconds, times a uniform draw
    in ``[1 - jitter, 1 + jitter]`` (stream ``fault_tolerance/backoff``), and is then
    placed anew (recorded with attempt ``k + 1``; attempt 0 is the first run). After
    ``max_retries`` retries it is *exhausted*: it fails, and so does its workflow.
    With ``checkpoint_interval`` > 0 a running task checkpoints every that many
    seconds of computing and a retry redoes only the work after its last checkpoint;
    each checkpoint costs ``checkpoint_overhead`` seconds (default 0: free), spread
    over the interval (see :meth:`NodeRuntime.set_checkpointing
    <wfsim.engine.node.NodeRuntime.set_checkpointing>`).

    ``mode`` (see :class:`~wfsim.model.enums.FaultToleranceMode`):

    * ``none``: one copy; retries only.
    * ``ActivePassive``: a standby is chosen at placement (the next of the placement
      candidates); when the primary is lost the standby takes over at once from the
      last checkpoint (replicated to it, with the inputs): no backoff, no transfer.
      A second loss goes through the retry path.
    * ``ActiveActive``: ``replicas`` copies run on distinct nodes; the first to finish
      wins and the others are cancelled. Only losing all of them retries.
    * ``Quorum``: ``quorum`` copies run; a copy's result is wrong with probability
      ``corruption`` (stream ``fault_tolerance/corruption``); the task completes when
      a majority (``quorum // 2 + 1``) returned the right one, and is retried when a
      majority can no longer agree.
    * ``MultiMaster``: one copy; when the chosen node cannot receive its inputs (a
      partition), any candidate on the origin's side that can runs it instead of
      waiting; the partition write gate lets its writes through on every master.
    """

    name = "fault_tolerance"
    max_retries: int = param(3, low=0, high=20, doc="retries of a lost task before it fails its workflow")
    backoff: float = param(1.0, low=0.0, high=600.0, doc="delay before the first retry, s")
    backoff_factor: float = param(2.0, low=1.0, high=10.0, doc="growth of the delay per retry")
    max_backoff: float = param(60.0, low=0.0, high=3600.0, doc="cap of a retry's delay, s")
    jitter: float = param(0.0, low=0.0, high=1.0, doc="relative spread of a retry's delay (uniform)")
    checkpoint_interval: float = param(0.0, low=0.0, high=3600.0,
                                       doc="seconds of computing between checkpoints (0: none)")
    checkpoint_overhead: float = param(0.0, low=0.0, high=600.0, doc="seconds a checkpoint costs")
    notice: str = param("immediate", choices=NOTICES,
                        doc="a loss is noticed at the crash, or when the detector suspects the node")
    mode: str = param("none", choices=MODES, doc="how tasks are replicated")
    replicas: int = param(2, low=2, high=9, doc="ActiveActive: copies run at once")
    quorum: int = param(3, low=2, high=9, doc="Quorum: copies run; a majority must agree")
    corruption: float = param(0.0, low=0.0, high=1.0, doc="Quorum: probability a copy's result is wrong")

    @property
    def fault_mode(self) -> FaultToleranceMode | None:
        """``mode`` as a :class:`~wfsim.model.enums.FaultToleranceMode` (None for ``none``)."""
        return None if self.mode == "none" else FaultToleranceMode(self.mode)

    def delay(self, retry: int, rng: np.random.Generator | None = None) -> float:
        """Seconds the ``retry``-th retry (0-based) waits; ``rng`` draws the jitter."""
        base = min(self.max_backoff, self.backoff * self.backoff_factor ** retry)
        if self.jitter and rng is not None:
            base *= rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return float(base)


class _Copy:
    """One execution site of a task: inbound (inputs on their way), ready (queued or
    running at ``node``), or gone (lost, cancelled or finished)."""

    __slots__ = ("node", "waiting", "work", "ready", "gone")

    def __init__(self, node: NodeRuntime) -> None:
        self.node = node
        self.waiting = 0
        self.work = 0.0  # ops reserved on the node for it, until it is queued or released
        self.ready = False
        self.gone = False


class _Task:
    """A task being placed, run or retried, with its copies."""

    __slots__ = ("run", "task", "attempt", "copies", "standby", "left", "ok", "timer")

    def __init__(self, run: WorkflowRun, task: int) -> None:
        self.run = run
        self.task = task
        self.attempt = 0
        self.copies: list[_Copy] = []
        self.standby: NodeRuntime | None = None
        self.left: float | None = None  # ops the next attempt must do (None: all of them)
        self.ok = 0  # Quorum: right results so far
        self.timer: simpy.Event | None = None  # a pending retry


class FaultTolerantExecutor(WorkflowExecutor):
    """A :class:`~wfsim.engine.executor.WorkflowExecutor` whose tasks survive node
    crashes as :class:`FaultToleranceSettings` say.

    :meth:`on_node_crash` records every copy the crash took (``task_faults`` ``lost``
    rows with the work lost since the last checkpoint); the loss is *noticed* at once
    (``notice: immediate``) or when :meth:`on_node_suspected` is called for the node
    (``notice: detector``; also at once if the node is already suspected). Noticing
    it starts the mode's reaction: a takeover, nothing while another replica survives,
    or a retry after the backoff. An unreachable node or input at placement (a
    partition, or an input on a crashed node: outputs survive a crash but are served
    only once the node is back) also goes through the retry path when
    ``max_retries`` > 0.

    Args:
        env, cluster, network, placement, recorder: As for the plain executor.
        settings: The fault-tolerance settings.
        random: The run's streams (``fault_tolerance/backoff`` and
            ``fault_tolerance/corruption`` are drawn from).
    """

    def __init__(self, env: simpy.Environment, cluster: Cluster, network: Network,
                 placement: PlacementStrategy, recorder: TraceRecorder, settings: FaultToleranceSettings,
                 random: RandomStreams) -> None:
        super().__init__(env, cluster, network, placement, recorder)
        self.settings = settings
        self.mode = settings.fault_mode
        mode = self.mode
        self._copies = (settings.replicas if mode is FaultToleranceMode.ACTIVE_ACTIVE
                        else settings.quorum if mode is FaultToleranceMode.QUORUM else 1)
        self._replicated = self._copies > 1
        self._majority = settings.quorum // 2 + 1 if mode is FaultToleranceMode.QUORUM else 1
        self._tasks: dict[tuple[int, int], _Task] = {}
        self._unnoticed: dict[int, list[_Task]] = {}
        self._backoff_rng = random.stream("fault_tolerance/backoff")
        self._corruption_rng = random.stream("fault_tolerance/corruption")
        self._record_fault = recorder.record_task_fault
        if settings.checkpoint_interval > 0:
            for node in self.nodes:
                node.set_checkpointing(settings.checkpoint_interval, settings.checkpoint_overhead)

    # --- placement -------------------------------------------------------------------
    def _place(self, run: WorkflowRun, task: int) -> None:
        key = (run.id, task)
        state = self._tasks.get(key)
        if state is None:
            state = self._tasks[key] = _Task(run, task)
        self._launch(state)

    def _sources(self, run: WorkflowRun, task: int) -> list[int]:
        preds = run.spec.predecessors[task]
        return [run.node_of[p] for p in preds] if preds else [run.origin]

    def _reachable(self, sources: list[int], node: NodeRuntime) -> bool:
        """Whether every input can reach ``node``: its source is up (a crashed node
        keeps its outputs, but serves them only once it is back) and routed to it."""
        route = self.network.topology.route
        nodes = self.nodes
        return all(nodes[src].up and route(src, node.index) is not None for src in sources)

    def assign(self, run: WorkflowRun, task: int, node: NodeRuntime | None) -> None:
        """Place task ``task`` of ``run`` on ``node``, chosen by someone other than the
        placement strategy (an edge node deciding alone, :mod:`wfsim.engine.autonomy`):
        it runs, and survives losses, like any task here."""
        key = (run.id, task)
        state = self._tasks.get(key)
        if state is None:
            state = self._tasks[key] = _Task(run, task)
        self._launch(state, chosen=node, decided=True)

    def complete_unrun(self, run: WorkflowRun, task: int, node: NodeRuntime) -> None:
        """Complete the task at once from a result ``node`` holds (see
        :meth:`WorkflowExecutor.complete_unrun`); nothing of it is left to protect."""
        self._tasks.pop((run.id, task), None)
        super().complete_unrun(run, task, node)

    def _launch(self, state: _Task, chosen: NodeRuntime | None = None, decided: bool = False) -> None:
        """Place ``state``'s task anew: choose its copies (and standby) and send each
        its inputs. An edge node cut off from the cloud decides first (edge autonomy),
        unless ``decided`` already (then ``chosen`` is its node)."""
        run, task = state.run, state.task
        spec = run.spec.tasks[task]
        if not decided:
            if self.autonomy is not None and self.autonomy.place(run, task):
                return  # the edge decided: it calls assign, completes, defers or rejects
            # A strategy returns one of ``cluster.nodes`` (typed as the view it reads).
            chosen = self.placement.place(run, task, self.cluster)  # type: ignore[assignment]
        node = chosen
        if node is None:
            self._unplaceable(state, -1, f"no feasible node for task {spec.id!r}")
            return
        mode = self.mode
        sources = self._sources(run, task)
        others: list[NodeRuntime] = []
        if mode is not None:
            others = [c for c in self.cluster.candidates(spec, run.origin) if c is not node]
        if not self._reachable(sources, node):
            if mode is FaultToleranceMode.MULTI_MASTER:
                # The origin's side of a partition: any candidate its inputs reach.
                node = next((c for c in others if self._reachable(sources, c)), None)
            if node is None or mode is not FaultToleranceMode.MULTI_MASTER:
                where = "its inputs" if node is None else f"node {node.spec.id!r}"
                self._unplaceable(state, -1, f"task {spec.id!r}: {where} unreachable")
                return
        nodes = [node]
        state.standby = None
        if self._replicated:
            nodes += [c for c in others if c is not node and self._reachable(sources, c)][:self._copies - 1]
            if len(nodes) < self._majority:
                self._unplaceable(state, -1, f"task {spec.id!r}: fewer than {self._majority} nodes for a quorum")
                return
        elif mode is FaultToleranceMode.ACTIVE_PASSIVE:
            state.standby = next((c for c in others if c is not node), None)
        state.copies = []
        state.ok = 0
        run.node_of[task] = node.index
        for n in nodes:
            copy = _Copy(n)
            state.copies.append(copy)
            if self._replicated:
                self._record_fault((self.env.now, run.id, task, n.index, REPLICA, state.attempt, 0.0))
            self._send_inputs(state, copy, sources)

    def _send_inputs(self, state: _Task, copy: _Copy, sources: list[int]) -> None:
        run, task = state.run, state.task
        spec = run.spec
        now = self.env.now
        node = copy.node
        dst = node.index
        copy.work = run.work_of(task)
        node.reserve(copy.work)
        self.recorder.record_task((now, run.id, task, PLACED, dst))
        preds = spec.predecessors[task]
        send = self.network.send
        if not preds:
            copy.waiting = 1
            send(run.origin, dst, spec.input_bytes, self._copy_input, state, copy, ORIGIN, run.origin, now,
                 spec.input_bytes)
            return
        copy.waiting = len(preds)
        edge_bytes = spec.edge_bytes
        for p, src in zip(preds, sources):
            nbytes = edge_bytes[(p, task)]
            send(src, dst, nbytes, self._copy_input, state, copy, p, src, now, nbytes)

    def _copy_input(self, state: _Task, copy: _Copy, source_task: int, src: int, start: float,
                    nbytes: float) -> None:
        node = copy.node
        now = self.env.now
        run, task = state.run, state.task
        if src != node.index:
            self._record_transfer((start, now, run.id, source_task, task, src, node.index, nbytes))
        copy.waiting -= 1
        if copy.waiting:
            return
        if copy.gone or run.state is not WorkflowState.RUNNING or not node.up:
            work, copy.work = copy.work, 0.0
            node.reserve(-work)  # never runs here
            if not copy.gone and run.state is WorkflowState.RUNNING:  # the node is down
                self.recorder.record_task((now, run.id, task, LOST, node.index))
                self._lose(state, copy, 0.0, work)
                self._noticed_at(node, [state])
            return
        copy.ready = True
        self.recorder.record_task((now, run.id, task, READY, node.index))
        node.submit(run, task)

    def _unplaceable(self, state: _Task, node: int, reason: str) -> None:
        if self.settings.max_retries > 0:
            self._retry(state, reason)
        else:
            self._tasks.pop((state.run.id, state.task), None)
            self._give_up(state.run, state.task, node, reason)

    # --- results ---------------------------------------------------------------------
    def on_task_end(self, run: WorkflowRun, task: int, node: NodeRuntime, duration: float) -> None:
        """Called by a node when a copy of task ``task`` of ``run`` has finished on it:
        the first (ActiveActive) or the majority-making (Quorum) result wins, the
        other copies are cancelled and the task's successors go on. A result the write
        gate refuses to store is a failed attempt: the task runs again after its
        backoff, like a lost one."""
        key = (run.id, task)
        state = self._tasks.get(key)
        if state is None:  # not ours (a task finishing after its state was dropped)
            super().on_task_end(run, task, node, duration)
            return
        copy = self._copy_on(state, node)
        if copy is not None:
            copy.gone = True
        if self.mode is FaultToleranceMode.QUORUM:
            if self._corruption_rng.random() < self.settings.corruption:
                self._record_fault((self.env.now, run.id, task, node.index, DISAGREE, state.attempt, 0.0))
                if not self._can_agree(state):
                    self._cancel_live(state)
                    self._retry(state, f"task {run.spec.tasks[task].id!r}: no majority of its replicas agrees")
                return
            state.ok += 1
            if state.ok < self._majority:
                return
        if self.end_check is not None and run.state is WorkflowState.RUNNING:
            reason = self.end_check(run, task, node)
            if reason is not None:  # its result could not be stored (the write gate): try again
                self._cancel_live(state)
                self._retry(state, reason)
                return
        self._cancel_live(state)
        del self._tasks[key]
        run.node_of[task] = node.index  # successors fetch the winner's output
        self._finished(run, task, node, duration)

    def _copy_on(self, state: _Task, node: NodeRuntime) -> _Copy | None:
        live = [c for c in state.copies if c.ready and not c.gone]
        for c in live:
            if c.node is node:
                return c
        if not self._replicated and live:  # migrated: the one copy moved with run.node_of
            live[0].node = node
            return live[0]
        return None

    def _can_agree(self, state: _Task) -> bool:
        return state.ok + sum(not c.gone for c in state.copies) >= self._majority

    def _cancel_live(self, state: _Task) -> None:
        run, task = state.run, state.task
        for c in state.copies:
            if c.gone:
                continue
            c.gone = True
            if c.ready:
                c.node.cancel(run, task)
            else:  # inbound: its inputs, when they arrive, release its reservation
                self.recorder.record_task((self.env.now, run.id, task, CANCELLED, c.node.index))

    # --- losses ----------------------------------------------------------------------
    def on_node_crash(self, node: NodeRuntime) -> None:
        """``node`` has just crashed: empty it (:meth:`NodeRuntime.crash
        <wfsim.engine.node.NodeRuntime.crash>`) and record each copy it held or was
        about to receive as lost (a ``lost`` task event and ``task_faults`` row with
        the work lost since the last checkpoint); then notice the losses now or, with
        ``notice: detector``, when :meth:`on_node_suspected` is called for it."""
        lost = {(x.run.id, x.task): x for x in node.crash()}
        hit: list[_Task] = []
        for state in list(self._tasks.values()):
            info = lost.get((state.run.id, state.task))
            for copy in state.copies:
                if copy.gone:
                    continue
                if copy.ready and info is not None and (copy.node is node or not self._replicated):
                    copy.work = 0.0  # the crash forgot its reservation
                    self._lose(state, copy, info.done - info.saved, info.work - info.saved)
                elif not copy.ready and copy.node is node:
                    self.recorder.record_task((self.env.now, state.run.id, state.task, LOST, node.index))
                    self._lose(state, copy, 0.0, copy.work)
                else:
                    continue
                hit.append(state)
        self._noticed_at(node, hit)

    def on_node_suspected(self, node: NodeRuntime) -> None:
        """The failure detector suspects ``node`` (Partitioned or Failed): the losses
        there not yet noticed are now (``notice: detector``)."""
        self._notice(self._unnoticed.pop(node.index, []))

    def _lose(self, state: _Task, copy: _Copy, work_lost: float, left: float) -> None:
        copy.gone = True
        state.left = left if state.left is None else min(state.left, left)
        self._record_fault((self.env.now, state.run.id, state.task, copy.node.index, LOST_TASK, state.attempt,
                            work_lost))

    def _noticed_at(self, node: NodeRuntime, hit: list[_Task]) -> None:
        if self.settings.notice == "immediate" or node.health in DRAINED:
            self._notice(hit)
        elif hit:
            self._unnoticed.setdefault(node.index, []).extend(hit)

    def _notice(self, hit: list[_Task]) -> None:
        """React to known losses: a takeover, nothing while enough copies live, or a retry."""
        for state in dict.fromkeys(hit):  # once each, in order
            if self._tasks.get((state.run.id, state.task)) is not state or state.timer is not None:
                continue  # finished, failed, or already waiting for its retry
            if state.run.state is not WorkflowState.RUNNING:
                del self._tasks[(state.run.id, state.task)]  # its workflow failed: nothing to redo
                continue
            live = sum(not c.gone for c in state.copies)
            reason = f"task {state.run.spec.tasks[state.task].id!r} lost"
            if self.mode is FaultToleranceMode.QUORUM:
                if not self._can_agree(state):
                    self._cancel_live(state)
                    self._retry(state, reason)
            elif live:
                continue
            elif state.standby is not None:
                self._takeover(state)
            else:
                self._retry(state, reason)

    def _resume_work(self, state: _Task) -> None:
        """Make the task's next copies do only the work after its last checkpoint."""
        run = state.run
        if state.left is not None:
            if run.work is None:
                run.work = [t.work for t in run.spec.tasks]
            run.work[state.task] = state.left
            state.left = None

    def _takeover(self, state: _Task) -> None:
        standby = state.standby
        assert standby is not None
        state.standby = None
        if not standby.up or standby.health in DRAINED:
            self._retry(state, f"task {state.run.spec.tasks[state.task].id!r}: its standby is gone too")
            return
        run, task = state.run, state.task
        now = self.env.now
        self._record_fault((now, run.id, task, standby.index, TAKEOVER, state.attempt, 0.0))
        self._resume_work(state)
        copy = _Copy(standby)
        state.copies = [copy]
        run.node_of[task] = standby.index
        # The checkpoint and the inputs were replicated to the standby: it starts now.
        standby.reserve(run.work_of(task))
        self.recorder.record_task((now, run.id, task, PLACED, standby.index))
        self.recorder.record_task((now, run.id, task, READY, standby.index))
        copy.ready = True
        standby.submit(run, task)

    def _retry(self, state: _Task, reason: str) -> None:
        """Place the task again after its backoff, or fail it when its retries are spent."""
        run, task = state.run, state.task
        settings = self.settings
        if state.attempt >= settings.max_retries:
            self._tasks.pop((run.id, task), None)
            if settings.max_retries > 0 or state.left is not None:
                self._record_fault((self.env.now, run.id, task, -1, EXHAUSTED, state.attempt, 0.0))
                reason = f"{reason}; no retries left after {state.attempt}"
            self._give_up(run, task, -1, reason)
            return
        delay = settings.delay(state.attempt, self._backoff_rng)
        state.attempt += 1
        timer = state.timer = self.env.timeout(delay)
        timer.callbacks.append(lambda _e: self._retry_due(state))

    def _retry_due(self, state: _Task) -> None:
        state.timer = None
        run, task = state.run, state.task
        if run.state is not WorkflowState.RUNNING:
            self._tasks.pop((run.id, task), None)
            self.recorder.record_task((self.env.now, run.id, task, FAILED, -1))
            return
        self._record_fault((self.env.now, run.id, task, -1, RETRY, state.attempt, 0.0))
        self._resume_work(state)
        self._launch(state)
