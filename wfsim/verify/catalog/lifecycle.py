"""The workflow lifecycle (P1–P3): the order of a workflow's states, that a running
workflow ends, that an ended one stays ended, and the engine's own typestate check."""

from __future__ import annotations

import pandas as pd

from wfsim.verify.catalog.common import workflow_projection
from wfsim.verify.properties import Findings, Invariant, TemporalProperty, TraceView

LIFECYCLE = TemporalProperty(
    "P1", "lifecycle", "P1, overview §3; seed l.77–163 (typestate Workflow<S>)",
    """A workflow's status changes only along Created → Running → {Completed | Failed}.

    Per workflow, over its lifecycle events: the first is Created, Created is followed
    by Running, Running only by Completed or Failed (or nothing yet), and nothing
    follows a terminal state.  Any other edge, Created → Failed included, is a
    violation.  Safety: judged on the recorded events, so a workflow still Running at
    the horizon of a truncated run satisfies it.
    """,
    "created & G(created -> X running) & G(running -> WX(completed | failed))"
    " & G(completed | failed -> WX false)",
    workflow_projection, unit="workflows",
)

EVENTUAL_TERMINATION = TemporalProperty(
    "P2", "eventual-termination", "P2, overview §3; seed l.304–461 (temporal logic, prop1)",
    """Every Running workflow eventually Completes or Fails: G(running -> F(completed | failed)).

    Seed defect corrected (overview §6.2): the seed omits the outer G and checks only
    the first step; here the obligation is globally quantified.  Liveness: on a
    truncated run a workflow still Running at the horizon is inconclusive; on a
    drained run it is a violation.
    """,
    "G(running -> F(completed | failed))", workflow_projection, unit="workflows", liveness=True,
)

TERMINAL_STABILITY = TemporalProperty(
    "P3", "terminal-stability", "P3, overview §3; seed l.304–461 (temporal logic, prop2)",
    """Terminal states are final: G(completed -> G completed) & G(failed -> G failed).

    Seed defect corrected (overview §6.2): the outer G the seed omits.  Per workflow
    over its lifecycle events; the counterexample points at the first event after the
    terminal one.
    """,
    "G(completed -> G completed) & G(failed -> G failed)", workflow_projection, unit="workflows",
)


def _engine_lifecycle(view: TraceView) -> Findings:
    vi = view.trace.violations
    kind = vi["kind"].astype(str).str.lower()
    rows = vi[kind.str.contains("lifecycle") | kind.str.contains("typestate")]
    entity = rows["entity"].astype(str).to_numpy()
    workflow = pd.to_numeric(pd.Series(entity), errors="coerce").to_numpy()
    found = pd.DataFrame({
        "entity_kind": "workflow", "entity": entity, "time": rows["time"].to_numpy(dtype=float),
        "step": None, "explanation": rows["message"].astype(str).to_numpy(), "workflow": workflow,
    })
    return Findings(len(view.workflow_ids), found)


ENGINE_LIFECYCLE = Invariant(
    "P1", "engine.lifecycle", "P1, overview §3 and §5 (typestate as a run-time FSM); seed l.77–163",
    """The engine's run-time typestate enforcement recorded no illegal transition.

    :mod:`wfsim.engine.lifecycle` checks every lifecycle move against the
    allowed-transition table; a breach is logged in ``trace.violations`` (kind
    ``lifecycle``).  This reports those rows through the same verdict objects.
    """,
    _engine_lifecycle, unit="workflows",
)
