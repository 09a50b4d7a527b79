"""Run-time enforcement of the workflow lifecycle (the seed's typestate, P1).

Rust enforces ``Workflow<Created> → Workflow<Running> → Completed | Failed`` at compile
time; here the allowed-transition table of :mod:`wfsim.model.enums` is checked on every move, and an illegal move is
recorded as a violation in the trace and raised.
"""

from __future__ import annotations

from wfsim.model.enums import ALLOWED_TRANSITIONS, WorkflowState


class IllegalTransition(RuntimeError):
    """A workflow was asked to move along an edge the lifecycle does not allow."""

    def __init__(self, workflow: int, current: WorkflowState, target: WorkflowState) -> None:
        allowed = ", ".join(s.value for s in ALLOWED_TRANSITIONS[current]) or "none (terminal)"
        super().__init__(
            f"workflow {workflow}: illegal transition {current.value} -> {target.value}; "
            f"allowed from {current.value}: {allowed}"
        )
        self.workflow = workflow
        self.current = current
        self.target = target


def check_transition(workflow: int, current: WorkflowState, target: WorkflowState) -> None:
    """Raise :class:`IllegalTransition` unless ``current → target`` is allowed."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise IllegalTransition(workflow, current, target)
