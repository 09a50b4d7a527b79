"""The trace's codes: what the engine records and every reader decodes.

The engine appends these small integers on its hot path; the trace turns them into
categoricals named by the tuples below, in code order.
"""

from __future__ import annotations

from wfsim.model.enums import MigrationState, MigrationTrigger, WorkflowState

#: Task events, in lifecycle order. placed: a node was chosen and inputs are on their
#: way; ready: all inputs are on the node and the task is queued; start/end: it holds
#: cores; failed: it will never run (no feasible node, unreachable, …); checkpointed:
#: a running task was stopped for a migration, its progress saved and its cores
#: released (it is ready and starts again on the migration's target, or back on its
#: source if the migration fails).
TASK_EVENTS = ("placed", "ready", "start", "end", "failed", "checkpointed")
PLACED, READY, START, END, FAILED, CHECKPOINTED = range(len(TASK_EVENTS))

#: Workflow states in code order.
WORKFLOW_STATES = tuple(WorkflowState)

#: Migration phases and triggers in code order.
MIGRATION_STATES = tuple(state.value for state in MigrationState)
MIGRATION_TRIGGERS = tuple(trigger.value for trigger in MigrationTrigger)

#: Source/target task index of a transfer from or to the workflow's origin.
ORIGIN = -1
