"""The trace's codes: what the engine records and every reader decodes.

The engine appends these small integers on its hot path; the trace turns them into
categoricals named by the tuples below, in code order.
"""

from __future__ import annotations

from wfsim.model.enums import (
    ConnectivityStatus,
    ConsistencyLevel,
    EdgeAutonomyLevel,
    FallbackAction,
    MigrationState,
    MigrationTrigger,
    NodeState,
    RaftRole,
    RecoveryAction,
    SystemHealth,
    WorkflowState,
)

#: Task events, in lifecycle order. placed: a node was chosen and inputs are on their
#: way; ready: all inputs are on the node and the task is queued; start/end: it holds
#: cores; failed: it will never run (no feasible node, unreachable, …); checkpointed:
#: a running task was stopped for a migration, its progress saved and its cores
#: released (it is ready and starts again on the migration's target, or back on its
#: source if the migration fails); lost: its node crashed under it, queued or running
#: (work since its last checkpoint is lost; it may be placed again, see
#: ``task_faults``); cancelled: a replica stopped because another replica's result
#: won (``FaultToleranceMode`` ActiveActive, Quorum).
TASK_EVENTS = ("placed", "ready", "start", "end", "failed", "checkpointed", "lost", "cancelled")
PLACED, READY, START, END, FAILED, CHECKPOINTED, LOST, CANCELLED = range(len(TASK_EVENTS))
#: The task events that stop an execution early: migrated, lost in a crash, or
#: cancelled as a spare replica.
STOPPED_EARLY = ("checkpointed", "lost", "cancelled")
#: The task events that close an execution (a ``start`` on the same node).
SEGMENT_ENDS = ("end", *STOPPED_EARLY)

#: Workflow states in code order.
WORKFLOW_STATES = tuple(WorkflowState)

#: Migration phases and triggers in code order.
MIGRATION_STATES = tuple(state.value for state in MigrationState)
MIGRATION_TRIGGERS = tuple(trigger.value for trigger in MigrationTrigger)

#: Source/target task index of a transfer from or to the workflow's origin.
ORIGIN = -1

#: Injected faults (the ``faults`` table), each the start or end of a fault's effect.
#: crash/recover: a node stops (its executions are lost, it forwards nothing) and comes
#: back empty; link_down/link_up: one link; partition/heal: every link between a set of
#: nodes and the rest; spike/spike_end: a link's latency multiplied for a while;
#: handover: a device moves to another edge access point.
FAULT_KINDS = ("crash", "recover", "link_down", "link_up", "partition", "heal", "spike", "spike_end",
               "handover")
CRASH, RECOVER, LINK_DOWN, LINK_UP, PARTITION, HEAL, SPIKE, SPIKE_END, HANDOVER = range(len(FAULT_KINDS))

#: Task-level fault handling (the ``task_faults`` table). lost: the task's node crashed
#: (or was found dead) under it; retry: it is placed again after its backoff;
#: exhausted: it ran out of retries and fails its workflow; replica: a replica of it
#: was placed (ActiveActive, Quorum); takeover: its ActivePassive standby took over;
#: disagree: a Quorum replica's result was wrong (outvoted).
TASK_FAULT_KINDS = ("lost", "retry", "exhausted", "replica", "takeover", "disagree")
LOST_TASK, RETRY, EXHAUSTED, REPLICA, TAKEOVER, DISAGREE = range(len(TASK_FAULT_KINDS))

#: Detector states, recovery actions, connectivity and autonomy levels in code order.
NODE_STATES = tuple(state.value for state in NodeState)
RECOVERY_ACTIONS = tuple(action.value for action in RecoveryAction)
#: A recovery action's phases: it began, it finished, it could not be done.
RECOVERY_PHASES = ("start", "done", "failed")
CONNECTIVITY_STATES = tuple(status.value for status in ConnectivityStatus)
AUTONOMY_LEVELS = tuple(level.value for level in EdgeAutonomyLevel)
FALLBACK_ACTIONS = tuple(action.value for action in FallbackAction)

#: Who decided what to do with a task an edge node could not hand to the cloud (the
#: ``decisions`` table): the cloud (connected), the edge by its own rules (local), or a
#: fallback action.
DECIDERS = ("cloud", "local", "fallback")

#: Lease events (the ``leases`` table): acquire and renew succeed; refuse is an acquire
#: or a renewal turned down (the resource is held, or the lease has expired); release
#: and revoke end a lease early; expire ends it on time.
LEASE_EVENTS = ("acquire", "renew", "refuse", "release", "revoke", "expire")
ACQUIRE, RENEW, REFUSE, RELEASE, REVOKE, EXPIRE = range(len(LEASE_EVENTS))

#: Replicated state (the ``operations``, ``raft``, ``health`` tables): consistency
#: levels strongest first, operations, outcomes (ok: took effect and returned; fail:
#: certainly did not take effect; unknown: the client stopped waiting, it may have),
#: store health states best first.
LEVELS = tuple(level.value for level in ConsistencyLevel)
OPERATIONS = ("read", "write")
OUTCOMES = ("ok", "fail", "unknown")
SYSTEM_HEALTH = tuple(health.value for health in SystemHealth)
#: Raft events: a member became follower, candidate or leader (its role, lower case);
#: the leader committed an entry; a member applied one.
RAFT_EVENTS = (*(role.value.lower() for role in RaftRole), "commit", "apply")
