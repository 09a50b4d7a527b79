"""Runs workflow instances: placement, data movement, readiness, lifecycle.

Event-driven with plain callbacks rather than one SimPy process per task: a task
costs one SimPy event to run, plus one per link its data crosses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import simpy

from wfsim.engine.cluster import Cluster
from wfsim.engine.lifecycle import IllegalTransition, check_transition
from wfsim.engine.network import Network
from wfsim.engine.node import NodeRuntime
from wfsim.model.enums import FaultToleranceMode, WorkflowState
from wfsim.model.events import END, EXHAUSTED, FAILED, LOST, LOST_TASK, ORIGIN, PLACED, READY, START
from wfsim.model.workflow import Workflow
from wfsim.trace.recorder import TraceRecorder

if TYPE_CHECKING:
    from wfsim.consistency.store import ReplicatedStore
    from wfsim.engine.autonomy import EdgeAutonomy
    from wfsim.policies.placement import PlacementStrategy


class WorkflowRun:
    """One instance of a :class:`~wfsim.model.workflow.Workflow` in flight.

    Attributes:
        id: Instance id, unique in the run.
        spec: The workflow definition.
        workload: Name of the workload that generated it.
        origin: Node index of the device that submitted it.
        arrival: Submission time.
        state: Lifecycle state.
        node_of: Node index chosen for each task (-1 until placed).
        work: Per-instance work per task (ops), or None to use the definition's.
    """

    __slots__ = (
        "id", "spec", "workload", "origin", "arrival", "state", "node_of", "work",
        "_waiting_preds", "_waiting_inputs", "_pending",
    )

    def __init__(self, run_id: int, spec: Workflow, workload: str, origin: int, arrival: float,
                 work: np.ndarray | None) -> None:
        self.id = run_id
        self.spec = spec
        self.workload = workload
        self.origin = origin
        self.arrival = arrival
        self.state = WorkflowState.CREATED
        n = len(spec.tasks)
        self.node_of = [-1] * n
        self.work = None if work is None else work.tolist()
        self._waiting_preds = [len(p) for p in spec.predecessors]
        self._waiting_inputs = [0] * n
        # Tasks to end plus results to deliver before the instance completes.
        self._pending = n + (len(spec.sinks) if spec.result_bytes is not None else 0)

    def work_of(self, task: int) -> float:
        """Operations task ``task`` needs in this instance."""
        return self.spec.tasks[task].work if self.work is None else self.work[task]


class WorkflowExecutor:
    """Drives :class:`WorkflowRun` s through placement, transfers and execution.

    A task is placed once all its predecessors have *succeeded*; its inputs are then
    sent from each predecessor's node (or, for a root, the request payload from the
    origin), and it becomes ready, and joins its node's queue, when the last input
    arrives. A task that cannot be placed or reached fails, which fails the workflow;
    tasks already running finish, but no further task of a failed workflow starts.

    A node crash (:meth:`on_node_crash`) loses the tasks queued or running there, and
    those whose inputs later arrive there while it is down: without fault tolerance
    each fails its workflow at once, and its descendants are recorded ``failed``.
    :class:`~wfsim.engine.fault_tolerance.FaultTolerantExecutor` retries them instead.

    Attributes:
        mode: The :class:`~wfsim.model.enums.FaultToleranceMode` tasks run under (None:
            plain, one copy; e.g. the partition write gate lets MultiMaster writes through).
    """

    mode: FaultToleranceMode | None = None

    def __init__(
        self,
        env: simpy.Environment,
        cluster: Cluster,
        network: Network,
        placement: PlacementStrategy,
        recorder: TraceRecorder,
    ) -> None:
        self.env = env
        self.cluster = cluster
        self.nodes = cluster.nodes
        self.network = network
        self.placement = placement
        self.recorder = recorder
        self._record_task = recorder.record_task
        self._record_transfer = recorder.record_transfer
        self._next_id = 0
        self.active = 0
        #: Judges a task as it ends, before its successors are released: None lets
        #: it succeed, a reason fails it (the partition write gate,
        #: :meth:`WriteGate.check <wfsim.engine.partitions.WriteGate.check>`).
        self.end_check: Callable[[WorkflowRun, int, NodeRuntime], str | None] | None = None
        #: Edge autonomy, asked first where to place each task (None: the cloud places all).
        self.autonomy: EdgeAutonomy | None = None
        #: Replicated state: a task reads its state keys once its inputs are in and
        #: writes them when it ends, before its successors go on (None: no state).
        self.state: ReplicatedStore | None = None

    def submit(self, spec: Workflow, workload: str, origin: int, work: np.ndarray | None = None) -> WorkflowRun:
        """Start a new instance of ``spec`` submitted from node index ``origin``."""
        now = self.env.now
        run = WorkflowRun(self._next_id, spec, workload, origin, now, work)
        self._next_id += 1
        self.active += 1
        self.recorder.workflow(run.id, workload, spec, origin, now)
        self.recorder.workflow_state(now, run.id, WorkflowState.CREATED)
        self._transition(run, WorkflowState.RUNNING)
        self.placement.on_submit(run, self.cluster)
        for task in spec.roots:
            if run.state is not WorkflowState.RUNNING:
                break
            self._place(run, task)
        return run

    # --- internals ---------------------------------------------------------------
    def _transition(self, run: WorkflowRun, target: WorkflowState, reason: str | None = None) -> None:
        try:
            check_transition(run.id, run.state, target)
        except IllegalTransition as exc:
            # Recorded before raising, so a saved partial trace still shows it (P1).
            self.recorder.violations.append((self.env.now, "lifecycle", str(run.id), str(exc)))
            raise
        run.state = target
        self.recorder.workflow_state(self.env.now, run.id, target, reason)
        if target is WorkflowState.COMPLETED or target is WorkflowState.FAILED:
            self.active -= 1

    def _place(self, run: WorkflowRun, task: int) -> None:
        if self.autonomy is not None and self.autonomy.place(run, task):
            return
        # A strategy returns one of ``cluster.nodes`` (typed as the view it reads).
        self.assign(run, task, self.placement.place(run, task, self.cluster))  # type: ignore[arg-type]

    def assign(self, run: WorkflowRun, task: int, node: NodeRuntime | None) -> None:
        """Place task ``task`` of ``run`` on ``node`` and send it its inputs (None, or an
        unreachable node, fails it)."""
        spec = run.spec
        if node is None:
            self._fail(run, task, -1, f"no feasible node for task {spec.tasks[task].id!r}")
            return
        now = self.env.now
        dst = node.index
        run.node_of[task] = dst
        node.reserve(run.work_of(task))
        self._record_task((now, run.id, task, PLACED, dst))
        preds = spec.predecessors[task]
        if not preds:
            run._waiting_inputs[task] = 1
            if not self.network.send(run.origin, dst, spec.input_bytes, self._input_arrived,
                                     run, task, ORIGIN, run.origin, now, spec.input_bytes):
                self._fail(run, task, dst, f"node {node.spec.id!r} unreachable from the origin")
            return
        run._waiting_inputs[task] = len(preds)
        edge_bytes = spec.edge_bytes
        for p in preds:
            src = run.node_of[p]
            nbytes = edge_bytes[(p, task)]
            if not self.network.send(src, dst, nbytes, self._input_arrived, run, task, p, src, now, nbytes):
                self._fail(run, task, dst, f"node {node.spec.id!r} unreachable from {self.nodes[src].spec.id!r}")
                return

    def _input_arrived(self, run: WorkflowRun, task: int, source_task: int, src: int,
                       start: float, nbytes: float) -> None:
        dst = run.node_of[task]
        now = self.env.now
        if src != dst:
            self._record_transfer((start, now, run.id, source_task, task, src, dst, nbytes))
        run._waiting_inputs[task] -= 1
        if run._waiting_inputs[task]:
            return
        node = self.nodes[dst]
        if (self.state is not None and run.state is WorkflowState.RUNNING and node.up
                and self.state.read_keys(run, task, dst, lambda: self._ready(run, task, node),
                                         lambda reason: self._fail(run, task, dst, reason))):
            return  # ready once its state keys are read
        self._ready(run, task, node)

    def _ready(self, run: WorkflowRun, task: int, node: NodeRuntime) -> None:
        """Task ``task`` of ``run`` has its inputs (and its state) on ``node``: queue it."""
        now = self.env.now
        dst = node.index
        if run.state is not WorkflowState.RUNNING or not node.up:
            node.reserve(-run.work_of(task))  # never runs: the workflow failed, or the node is down
            if not node.up:
                self._record_task((now, run.id, task, LOST, dst))
                self._lost_for_good(run, task, node, 0.0)
            return
        self._record_task((now, run.id, task, READY, dst))
        node.submit(run, task)

    def complete_unrun(self, run: WorkflowRun, task: int, node: NodeRuntime) -> None:
        """Complete task ``task`` of ``run`` at once on ``node`` without running it (a
        result the node holds already): it is ``placed``, ``ready``, ``start`` s and
        ``end`` s there now, holding nothing for no time."""
        now = self.env.now
        run.node_of[task] = node.index
        for event in (PLACED, READY, START, END):
            self._record_task((now, run.id, task, event, node.index))
        self._task_done(run, task, node)

    def on_task_end(self, run: WorkflowRun, task: int, node: NodeRuntime, duration: float) -> None:
        """Called by a node when a task of ``run`` has finished on it."""
        if self.end_check is not None and run.state is WorkflowState.RUNNING:
            reason = self.end_check(run, task, node)
            if reason is not None:
                self._failed_at_end(run, task, node, reason)
                return
        if (self.state is not None and run.state is WorkflowState.RUNNING
                and self.state.write_keys(run, task, node.index, lambda: self._finished(run, task, node, duration),
                                          lambda reason: self._failed_at_end(run, task, node, reason))):
            return  # done once its state keys are written
        self._finished(run, task, node, duration)

    def _failed_at_end(self, run: WorkflowRun, task: int, node: NodeRuntime, reason: str) -> None:
        """Task ``task`` of ``run`` ran but its result could not be kept (its writes
        were refused or got no answer): it fails."""
        node.reserve(run.work_of(task))  # the end released it; _fail releases it again
        self._fail(run, task, node.index, reason)

    def _finished(self, run: WorkflowRun, task: int, node: NodeRuntime, duration: float) -> None:
        """Task ``task`` of ``run`` has succeeded on ``node``: tell the strategies and
        release its successors."""
        self.placement.on_task_end(run, task, node, duration)
        if self.autonomy is not None:
            self.autonomy.on_task_end(run, task, node)
        self._task_done(run, task, node)

    def _task_done(self, run: WorkflowRun, task: int, node: NodeRuntime) -> None:
        run._pending -= 1
        if run.state is not WorkflowState.RUNNING:
            return
        spec = run.spec
        successors = spec.successors[task]
        if successors:
            waiting = run._waiting_preds
            for s in successors:
                waiting[s] -= 1
                if not waiting[s]:
                    self._place(run, s)
                    # _place may fail the run; mypy keeps run.state narrowed to RUNNING
                    # across the call (python/mypy#11969), so it calls this unreachable.
                    if run.state is not WorkflowState.RUNNING:
                        return  # type: ignore[unreachable]
        elif spec.result_bytes is not None:
            now = self.env.now
            nbytes = spec.result_bytes
            if not self.network.send(node.index, run.origin, nbytes, self._result_arrived,
                                     run, task, node.index, now, nbytes):
                self._transition(run, WorkflowState.FAILED, f"origin unreachable from {node.spec.id!r}")
            return
        if not run._pending:
            self._transition(run, WorkflowState.COMPLETED)

    def _result_arrived(self, run: WorkflowRun, task: int, src: int, start: float, nbytes: float) -> None:
        now = self.env.now
        if src != run.origin:
            self._record_transfer((start, now, run.id, task, ORIGIN, src, run.origin, nbytes))
        run._pending -= 1
        if not run._pending and run.state is WorkflowState.RUNNING:
            self._transition(run, WorkflowState.COMPLETED)

    # --- faults ----------------------------------------------------------------------
    def on_node_crash(self, node: NodeRuntime) -> None:
        """``node`` has just crashed: empty it (:meth:`NodeRuntime.crash
        <wfsim.engine.node.NodeRuntime.crash>`) and handle the tasks it lost. Here each
        fails its workflow (a ``task_faults`` ``lost`` row, then ``exhausted``: there
        are no retries); tasks whose inputs are still on their way to it are lost
        when they arrive, if it is still down (one that recovered in between runs them)."""
        for lost in node.crash():
            self._lost_for_good(lost.run, lost.task, node, lost.done - lost.saved)

    def on_node_suspected(self, node: NodeRuntime) -> None:
        """The failure detector now suspects ``node`` (Partitioned or Failed): losses
        there become known. Nothing to do here (losses are handled when they
        happen); see :class:`~wfsim.engine.fault_tolerance.FaultTolerantExecutor`."""

    def _lost_for_good(self, run: WorkflowRun, task: int, node: NodeRuntime, work_lost: float) -> None:
        now = self.env.now
        record = self.recorder.record_task_fault
        record((now, run.id, task, node.index, LOST_TASK, 0, work_lost))
        record((now, run.id, task, -1, EXHAUSTED, 0, 0.0))
        self._give_up(run, task, -1, f"task {run.spec.tasks[task].id!r} lost on node {node.spec.id!r}")

    def _give_up(self, run: WorkflowRun, task: int, node: int, reason: str) -> None:
        """Fail ``task`` (recorded ``failed`` at node index ``node``, -1: none) and its
        workflow, and record every descendant not yet placed ``failed`` too: the
        failure propagates along the DAG (the workflow's reason names the task). In a
        workflow that already failed, only ``task`` is recorded."""
        self.placement.on_task_failed(run, task, self.nodes[node] if node >= 0 else None, reason)
        now = self.env.now
        self._record_task((now, run.id, task, FAILED, node))
        if run.state is not WorkflowState.RUNNING:
            return  # already failed: its unplaced tasks were recorded then
        self._transition(run, WorkflowState.FAILED, reason)
        successors = run.spec.successors
        seen = {task}
        stack = list(successors[task])
        while stack:
            d = stack.pop()
            if d in seen:
                continue
            seen.add(d)
            stack.extend(successors[d])
            if run.node_of[d] < 0:
                self._record_task((now, run.id, d, FAILED, -1))

    def _fail(self, run: WorkflowRun, task: int, node: int, reason: str) -> None:
        self.placement.on_task_failed(run, task, self.nodes[node] if node >= 0 else None, reason)
        if node >= 0:
            self.nodes[node].reserve(-run.work_of(task))
        self._record_task((self.env.now, run.id, task, FAILED, node))
        if run.state is WorkflowState.RUNNING:
            self._transition(run, WorkflowState.FAILED, reason)
