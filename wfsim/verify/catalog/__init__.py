"""The property catalog: the seed's checkable properties (overview §3) whose subsystem
exists in wfsim, one module per subject.

* :mod:`~wfsim.verify.catalog.lifecycle` — P1–P3, workflow states;
* :mod:`~wfsim.verify.catalog.dependencies` — P4–P6, task dependencies;
* :mod:`~wfsim.verify.catalog.resources` — P17, P18, placement and node capacity;
* :mod:`~wfsim.verify.catalog.scheduling` — P23 (in part), run once on one node;
* :mod:`~wfsim.verify.catalog.migration` — P24, task migration;
* :mod:`~wfsim.verify.catalog.balancing` — P25 (in part), health and rebalancing;
* :mod:`~wfsim.verify.catalog.edge` — P19, edge autonomy;
* :mod:`~wfsim.verify.catalog.raft` — P12, Raft safety;
* :mod:`~wfsim.verify.catalog.faults` — P20–P22, failure detection, partition
  safety and leases;
* :mod:`~wfsim.verify.catalog.consistency` — P10, P11, P14–P16 and P21's merge
  clause, replicated state.

A property is one module-level :class:`~wfsim.verify.properties.Property` in one of
them: :data:`CATALOG` collects them all, ordered by seed id (then by definition
order), and each is importable from here under its module-level name.  Run them with
:func:`check_catalog` (or ``wfsim verify DIR``)::

    from wfsim.verify.catalog import check_catalog
    for verdict in check_catalog(trace):
        print(verdict.summary())

Checked elsewhere, being about models rather than runs: P7–P9
(:mod:`wfsim.verify.models`, :mod:`wfsim.verify.composition`); the history checkers
behind P11 are :mod:`wfsim.verify.history`.  Pending: P13 and P26–P30.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable

from wfsim.verify.catalog.common import NODE_ATOMS, node_projection, node_slice, task_projection, workflow_projection
from wfsim.verify.catalog.consistency import KEY_ATOMS, key_projection, key_slice
from wfsim.verify.ltl import Formula
from wfsim.verify.properties import (
    Property,
    PropertyVerdict,
    TemporalProperty,
    TraceView,
)


def _seed_order(pid: str) -> tuple[float, str]:
    """``P4`` before ``P17``: by the id's number; ids without one go last."""
    number = re.fullmatch(r"P(\d+)", pid)
    return (int(number.group(1)) if number else float("inf"), pid)


def _collect() -> dict[str, Property]:
    """Every :class:`Property` bound at module level in this package's modules, under
    that name, in catalog order (seed id, then module, then definition order).

    Raises:
        RuntimeError: One property is bound in two modules or under two names, or two
            properties share a registry name: the catalog would be ambiguous.
    """
    found: list[tuple[tuple[float, str], str, int, str, Property]] = []
    for info in pkgutil.iter_modules(__path__, f"{__name__}."):
        module = importlib.import_module(info.name)
        for position, (attr, value) in enumerate(vars(module).items()):
            if isinstance(value, Property):
                found.append((_seed_order(value.pid), info.name, position, attr, value))
    found.sort(key=lambda entry: entry[:3])
    by_attr: dict[str, Property] = {}
    for _, module_name, _, attr, prop in found:
        if attr in by_attr or any(prop is other for other in by_attr.values()):
            raise RuntimeError(f"{module_name}.{attr}: each property is defined in one place, under one name")
        by_attr[attr] = prop
    names = [p.name for p in by_attr.values()]
    if len(set(names)) != len(names):
        raise RuntimeError(f"property names must be unique: {names}")
    return by_attr


#: Module-level name → property (``LIFECYCLE`` → the ``lifecycle`` property).
_PROPERTIES = _collect()

#: Registry name → property, in catalog order.
CATALOG: dict[str, Property] = {p.name: p for p in _PROPERTIES.values()}


def __getattr__(name: str) -> Property:
    """The collected properties, by the name their module binds them to (PEP 562)."""
    try:
        return _PROPERTIES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PROPERTIES))


def resolve(names: Iterable[str] | None = None) -> list[Property]:
    """The catalog entries named by registry name or seed id (``P23`` selects both
    of its parts), case-insensitive, in catalog order; all of them for ``None``.

    Raises:
        KeyError: For an unknown name; the message lists the allowed ones.
    """
    if names is None:
        return list(CATALOG.values())
    wanted = [n.strip().lower() for n in names]
    chosen = []
    for n in wanted:
        hits = [p for p in CATALOG.values() if n in (p.name.lower(), p.pid.lower())]
        if not hits:
            allowed = ", ".join(f"{p.name} ({p.pid})" for p in CATALOG.values())
            raise KeyError(f"unknown property {n!r}; allowed: {allowed}")
        chosen.extend(hits)
    return [p for p in CATALOG.values() if p in chosen]


def check_formula(trace: object, formula: str | Formula, per: str = "workflow",
                  liveness: bool = True) -> PropertyVerdict:
    """Check your own LTLf formula on every workflow, task instance or node of a trace.

    Atoms are the entity's event kinds: ``created, running, completed, failed`` per
    workflow; ``placed, ready, start, end, failed`` per task instance.  Per node
    (:func:`~wfsim.verify.catalog.common.node_projection`), one step per record about
    the node, in time order (at equal times in the order of the tables below), whose
    atoms are:

    * ``faults``: ``crash``, ``recover`` (the node, or every node of a crashed site),
      ``partition``, ``heal`` (the node is in the partition), ``link_down``,
      ``link_up``, ``spike``, ``spike_end`` (a link of the node), ``handover`` (the
      device moved);
    * ``detections``: ``healthy``, ``partitioned``, ``failed`` (the detector's new
      state of the node; ``detected_degraded`` for its never-produced Degraded);
    * ``recoveries``: ``reconcile``, ``restart``, ``state_transfer``, ``failover``,
      with ``recovered`` on the row where the action was done and
      ``recovery_failed`` where it could not be;
    * ``connectivity``: the status ``connected``, ``degraded``, ``intermittent``,
      ``disconnected`` together with the level ``fully_dependent``,
      ``semi_autonomous``, ``highly_autonomous``, ``fully_autonomous``;
    * ``decisions``: the decider ``cloud``, ``local`` or ``fallback``, with a
      fallback's action ``retry``, ``use_cache``, ``execute_local``, ``defer``,
      ``reject``, ``use_approximation``;
    * ``task_events`` on the node: ``start``, ``end``, ``lost``, ``cancelled``;
    * ``writes``: ``write`` (accepted) or ``write_refused``;
    * ``leases`` (at the holder): ``acquire``, ``renew``, ``refuse``, ``release``,
      ``revoke``, ``expire``.

    Per key (:func:`~wfsim.verify.catalog.consistency.key_projection`), one step per
    attempt on the key (the ``operations`` rows, in call order), whose atoms are
    :data:`~wfsim.verify.catalog.consistency.KEY_ATOMS`: the operation ``read`` or
    ``write``; its outcome ``ok``, ``fail`` or ``unknown`` (timed out); the level it
    was served at, ``linearizable``, ``sequential``, ``causal`` or ``eventual``; and
    ``downgraded`` for an attempt after a timeout (``G(unknown -> X downgraded)``).

    Args:
        trace: A :class:`~wfsim.trace.trace.Trace`.
        formula: Text (``"G(start -> F end)"``) or a formula object.
        per: ``"workflow"``, ``"task"``, ``"node"`` or ``"key"``.
        liveness: Judge entities still open at the horizon of a truncated run with
            the three-valued semantics (``inconclusive`` while an obligation is
            pending); otherwise judge every entity's recorded events as final.  A
            node or key is always open: its obligations are judged so on a
            truncated run.

    Returns:
        A :class:`PropertyVerdict` with counterexamples, like a catalog property's
        (a node's carry its steps around the violation).

    Raises:
        ValueError: ``per`` is none of the above, or the formula names an atom the
            entity's projection does not have (the message lists them).

    Example:
        >>> from wfsim import Poisson, Simulation, Workload, chain, hierarchical
        >>> trace = Simulation(hierarchical(devices=2, edge=1, regional=1),
        ...                    [Workload("w", chain(3), Poisson(1.0))], duration=5, seed=1).run().trace
        >>> check_formula(trace, "G(ready -> F start)", per="task").verdict
        'true'
        >>> check_formula(trace, "G(crash -> F failed)", per="node").verdict
        'true'
    """
    projections = {"workflow": (workflow_projection, "workflows"), "task": (task_projection, "task instances"),
                   "node": (node_projection, "nodes"), "key": (key_projection, "keys")}
    if per not in projections:
        raise ValueError(f"per must be one of {list(projections)}, got {per!r}")
    projection, unit = projections[per]
    prop = TemporalProperty("-", "formula", "user formula", "A formula checked with check_formula().",
                            formula, projection, unit=unit, liveness=liveness)
    if per in ("node", "key"):
        atoms, around = (NODE_ATOMS, node_slice) if per == "node" else (KEY_ATOMS, key_slice)
        unknown = sorted(prop.formula.atoms() - set(atoms))
        if unknown:
            raise ValueError(f"per={per!r} has no atom {', '.join(unknown)}; its atoms: {', '.join(atoms)}")
        view = TraceView.of(trace)
        verdict = prop.check(view)
        for cex in verdict.counterexamples:
            cex.events = around(view, cex.entity, cex.time if cex.time is not None else view.horizon)
        return verdict
    return prop.check(trace)


def check_catalog(trace: object, names: Iterable[str] | None = None) -> list[PropertyVerdict]:
    """Check catalog properties on a trace, sharing one :class:`TraceView`.

    Args:
        trace: A :class:`~wfsim.trace.trace.Trace` (or a view of one).
        names: Registry names or seed ids; ``None`` for the whole catalog.

    Returns:
        One :class:`PropertyVerdict` per property, in catalog order.
    """
    view = TraceView.of(trace)
    return [prop.check(view) for prop in resolve(names)]


__all__ = ["CATALOG", "check_catalog", "check_formula", "resolve", "task_projection", "workflow_projection"]
__all__ += list(_PROPERTIES)  # the properties, collected above
