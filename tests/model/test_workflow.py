"""Tests of wfsim.model.workflow (Workflow, Task, LocationRequirement) and the enums'
parsers, with networkx as the independent oracle for graph queries."""

from __future__ import annotations

import re

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.model import (
    Edge,
    LocationKind,
    LocationRequirement,
    Task,
    TaskPriority,
    Tier,
    Workflow,
    WorkflowValidationError,
)
from wfsim.workloads.generators import layered_random


def tasks(*ids: str, **kw) -> list[Task]:
    return [Task(i, **kw) for i in ids]


# --- validation errors name the problem -------------------------------------------
def test_unknown_task_in_edge_is_named() -> None:
    with pytest.raises(WorkflowValidationError, match=r"edge 'a' -> 'ghost' names unknown task 'ghost'"):
        Workflow("w", tasks("a", "b"), [("a", "ghost")])
    with pytest.raises(WorkflowValidationError, match=r"unknown task 'nobody'"):
        Workflow("w", tasks("a"), [Edge("nobody", "a")])


def test_duplicate_task_id_is_named() -> None:
    with pytest.raises(WorkflowValidationError, match=r"duplicate task id 'a'"):
        Workflow("w", tasks("a", "b", "a"))


def test_duplicate_edge_is_named() -> None:
    with pytest.raises(WorkflowValidationError, match=r"duplicate edge 'a' -> 'b'"):
        Workflow("w", tasks("a", "b"), [("a", "b", 1.0), Edge("a", "b", 2.0)])


def test_self_loop_is_reported_as_a_cycle() -> None:
    with pytest.raises(WorkflowValidationError, match=r"cycle a -> a"):
        Workflow("w", tasks("a", "b"), [("a", "b"), ("a", "a")])


def _printed_cycle(message: str) -> list[str]:
    m = re.search(r"has a cycle: (.+)$", message)
    assert m, message
    return m.group(1).split(" -> ")


@pytest.mark.parametrize(
    "edges",
    [
        [("a", "b"), ("b", "c"), ("c", "a")],
        [("a", "b"), ("b", "c"), ("c", "d"), ("d", "b"), ("a", "e")],
        [("e", "d"), ("d", "c"), ("c", "b"), ("b", "a"), ("a", "e")],
        [("a", "b"), ("b", "a"), ("c", "d")],
    ],
)
def test_cycle_message_prints_a_real_cycle(edges: list[tuple[str, str]]) -> None:
    with pytest.raises(WorkflowValidationError) as info:
        Workflow("w", tasks("a", "b", "c", "d", "e"), edges)
    path = _printed_cycle(str(info.value))
    assert path[0] == path[-1] and len(path) >= 3
    assert len(set(path[:-1])) == len(path) - 1, "a simple cycle visits each task once"
    edge_set = set(edges)
    for u, v in zip(path, path[1:]):
        assert (u, v) in edge_set, f"{u} -> {v} printed but not an edge of the graph"


@given(st.integers(3, 9), st.randoms(use_true_random=False))
@settings(max_examples=40, deadline=None)
def test_any_cyclic_graph_is_rejected_with_a_real_cycle(n: int, rnd) -> None:
    ids = [f"t{i}" for i in range(n)]
    # a DAG (forward edges) plus one back edge closing a cycle
    edges = {(ids[i], ids[j]) for i in range(n) for j in range(i + 1, n) if rnd.random() < 0.3}
    i, j = sorted(rnd.sample(range(n), 2))
    edges |= {(ids[k], ids[k + 1]) for k in range(i, j)}
    edges.add((ids[j], ids[i]))
    with pytest.raises(WorkflowValidationError) as info:
        Workflow("w", tasks(*ids), sorted(edges))
    path = _printed_cycle(str(info.value))
    assert path[0] == path[-1]
    assert all((u, v) in edges for u, v in zip(path, path[1:]))


def test_negative_edge_bytes_is_named() -> None:
    with pytest.raises(WorkflowValidationError, match=r"edge 'a' -> 'b' has negative size -1"):
        Workflow("w", tasks("a", "b"), [("a", "b", -1.0)])


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"work": -1.0}, r"task 't': work must be >= 0, got -1"),
        ({"work": float("nan")}, r"task 't': work must be >= 0"),
        ({"memory": -5.0}, r"task 't': memory must be >= 0, got -5"),
        ({"cores": 0}, r"task 't': cores must be >= 1, got 0"),
        ({"deadline": 0.0}, r"task 't': deadline must be > 0, got 0"),
        ({"deadline": -2.0}, r"task 't': deadline must be > 0"),
    ],
)
def test_bad_task_fields_are_named(kwargs: dict, pattern: str) -> None:
    with pytest.raises(WorkflowValidationError, match=pattern):
        Task("t", **kwargs)


def test_empty_task_id_is_rejected() -> None:
    with pytest.raises(WorkflowValidationError, match="non-empty"):
        Task("")


@pytest.mark.parametrize("deadline", [0.0, -1.0])
def test_non_positive_workflow_deadline_is_rejected(deadline: float) -> None:
    with pytest.raises(WorkflowValidationError, match=r"workflow 'w': deadline must be > 0"):
        Workflow("w", tasks("a"), deadline=deadline)


def test_negative_payloads_are_rejected() -> None:
    with pytest.raises(WorkflowValidationError, match="input/result bytes"):
        Workflow("w", tasks("a"), input_bytes=-1)
    with pytest.raises(WorkflowValidationError, match="input/result bytes"):
        Workflow("w", tasks("a"), result_bytes=-1)


def test_empty_workflow_is_rejected() -> None:
    with pytest.raises(WorkflowValidationError, match=r"workflow 'nothing' has no tasks"):
        Workflow("nothing", [])


def test_validation_error_is_a_value_error() -> None:
    assert issubclass(WorkflowValidationError, ValueError)


# --- LocationRequirement -------------------------------------------------------------
def test_location_constructors() -> None:
    assert LocationRequirement.all() == LocationRequirement()
    assert LocationRequirement.all().kind is LocationKind.ALL and LocationRequirement.all().tiers == ()
    spec = LocationRequirement.specific("Cloud")
    assert spec.kind is LocationKind.SPECIFIC and spec.tiers == (Tier.CLOUD,)
    any_of = LocationRequirement.any_of(["EDGE_CLOUD", Tier.CLOUD])
    assert any_of.kind is LocationKind.ANY_OF and any_of.tiers == (Tier.EDGE_CLOUD, Tier.CLOUD)
    pref = LocationRequirement.preferred_order([Tier.REGIONAL_CLOUD, "EdgeCloud"])
    assert pref.kind is LocationKind.PREFERRED_ORDER and pref.tiers == (Tier.REGIONAL_CLOUD, Tier.EDGE_CLOUD)


@pytest.mark.parametrize(
    ("kind", "tiers", "pattern"),
    [
        (LocationKind.SPECIFIC, (), "Specific takes exactly one tier"),
        (LocationKind.SPECIFIC, (Tier.CLOUD, Tier.EDGE_CLOUD), "Specific takes exactly one tier"),
        (LocationKind.ALL, (Tier.CLOUD,), "All takes no tiers"),
        (LocationKind.ANY_OF, (), "AnyOf needs at least one tier"),
        (LocationKind.PREFERRED_ORDER, (), "PreferredOrder needs at least one tier"),
    ],
)
def test_location_invariants(kind: LocationKind, tiers: tuple, pattern: str) -> None:
    with pytest.raises(WorkflowValidationError, match=pattern):
        LocationRequirement(kind, tiers)


@given(st.lists(st.sampled_from(list(Tier)), min_size=1, max_size=5, unique=True))
def test_allows_and_rank(listed: list[Tier]) -> None:
    everything = LocationRequirement.all()
    any_of = LocationRequirement.any_of(listed)
    pref = LocationRequirement.preferred_order(listed)
    for tier in Tier:
        assert everything.allows(tier) and everything.rank(tier) == 0
        assert any_of.allows(tier) == (tier in listed)
        assert pref.allows(tier) == (tier in listed)
        assert LocationRequirement.specific(tier).allows(tier)
    for position, tier in enumerate(listed):
        assert pref.rank(tier) == position
        assert any_of.rank(tier) == 0
    others = [t for t in Tier if t != listed[0]]
    assert not any(LocationRequirement.specific(listed[0]).allows(t) for t in others)


# --- enums ---------------------------------------------------------------------------
@pytest.mark.parametrize("tier", list(Tier))
def test_tier_parse_accepts_seed_and_enum_names(tier: Tier) -> None:
    assert Tier.parse(tier.value) is tier
    assert Tier.parse(tier.name) is tier
    assert Tier.parse(tier.value.lower()) is tier
    assert Tier.parse(tier) is tier


@pytest.mark.parametrize("bad", ["Edge", "cloudy", "", "EDGE-CLOUD"])
def test_tier_parse_rejects_others_listing_allowed(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        Tier.parse(bad)
    message = str(info.value)
    assert repr(bad) in message
    for tier in Tier:
        assert tier.value in message


def test_tier_order() -> None:
    assert [t.order for t in Tier] == [0, 1, 2, 3, 4]
    assert [t.is_edge for t in Tier] == [True, True, True, False, False]


def test_tier_parse_rejects_non_strings_with_value_error() -> None:
    with pytest.raises(ValueError, match="allowed: LocalDevice"):
        Tier.parse(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("priority", list(TaskPriority))
def test_priority_parse_accepts_names_and_values(priority: TaskPriority) -> None:
    assert TaskPriority.parse(priority.name) is priority           # CRITICAL
    assert TaskPriority.parse(priority.name.title()) is priority   # Critical (seed)
    assert TaskPriority.parse(priority.name.lower()) is priority
    assert TaskPriority.parse(int(priority)) is priority
    assert TaskPriority.parse(priority) is priority


@pytest.mark.parametrize("bad", ["Urgent", "", "NORMALISH"])
def test_priority_parse_rejects_others_listing_allowed(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        TaskPriority.parse(bad)
    message = str(info.value)
    assert repr(bad) in message
    for p in TaskPriority:
        assert p.name.title() in message


def test_priority_parse_rejects_bad_int_listing_allowed() -> None:
    with pytest.raises(ValueError, match="allowed: Critical"):
        TaskPriority.parse(99)


# --- graph queries agree with networkx ----------------------------------------------
def _check_against_networkx(wf: Workflow) -> None:
    g = nx.DiGraph()
    g.add_nodes_from(t.id for t in wf.tasks)
    g.add_edges_from((e.source, e.target) for e in wf.edges)
    ids = [t.id for t in wf.tasks]
    assert [ids[i] for i in wf.roots] == [n for n in ids if g.in_degree(n) == 0]
    assert [ids[i] for i in wf.sinks] == [n for n in ids if g.out_degree(n) == 0]
    for i, tid in enumerate(ids):
        assert sorted(ids[p] for p in wf.predecessors[i]) == sorted(g.predecessors(tid))
        assert sorted(ids[s] for s in wf.successors[i]) == sorted(g.successors(tid))
    order = [ids[i] for i in wf.topological_order]
    assert sorted(order) == sorted(ids)
    position = {t: k for k, t in enumerate(order)}
    assert all(position[u] < position[v] for u, v in g.edges)
    assert order == list(nx.lexicographical_topological_sort(g, key=wf.index.get))
    for e in wf.edges:
        assert wf.edge_bytes[(wf.index[e.source], wf.index[e.target])] == e.nbytes
    assert nx.is_isomorphic(g, wf.graph())


@given(
    layers=st.integers(1, 7), width=st.integers(1, 6),
    p=st.floats(0.0, 1.0), seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=60, deadline=None)
def test_layered_random_queries_match_networkx(layers: int, width: int, p: float, seed: int) -> None:
    _check_against_networkx(layered_random(layers, width, edge_probability=p, seed=seed))


@st.composite
def random_dags(draw):
    n = draw(st.integers(1, 12))
    perm = draw(st.permutations(range(n)))  # hidden topological order, ids shuffled
    pairs = [(perm[i], perm[j]) for i in range(n) for j in range(i + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=30)) if pairs else []
    nbytes = draw(st.lists(st.floats(0, 1e9), min_size=len(chosen), max_size=len(chosen)))
    work = draw(st.lists(st.floats(0, 1e3), min_size=n, max_size=n))
    cores = draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    task_list = [Task(f"t{i}", work=work[i], cores=cores[i]) for i in range(n)]
    edges = [Edge(f"t{a}", f"t{b}", nb) for (a, b), nb in zip(chosen, nbytes)]
    return Workflow("random", task_list, edges)


@given(random_dags())
@settings(max_examples=80, deadline=None)
def test_random_dag_queries_match_networkx(wf: Workflow) -> None:
    _check_against_networkx(wf)


@given(random_dags(), st.floats(0.5, 4.0))
@settings(max_examples=80, deadline=None)
def test_critical_path_matches_networkx_longest_path(wf: Workflow, speed: float) -> None:
    # Split each task into in/out nodes joined by an edge weighted with its duration;
    # dependency edges weigh 0. The longest path is then the critical path.
    g = nx.DiGraph()
    for t in wf.tasks:
        g.add_edge(("in", t.id), ("out", t.id), weight=t.work / (speed * t.cores))
    for e in wf.edges:
        g.add_edge(("out", e.source), ("in", e.target), weight=0.0)
    expected = nx.dag_longest_path_length(g, weight="weight")
    assert wf.critical_path_length(speed) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_critical_path_by_hand() -> None:
    # a(2) -> b(6, 2 cores => 3) -> d(1); a -> c(5) -> d: max(2+3, 2+5) + 1 = 8
    wf = Workflow("w", [Task("a", work=2), Task("b", work=6, cores=2), Task("c", work=5), Task("d", work=1)],
                  [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")])
    assert wf.critical_path_length() == 8
    assert wf.critical_path_length(speed=2.0) == 4
    assert wf.total_work() == 14


def test_with_tasks_replaces_by_id() -> None:
    wf = Workflow("w", tasks("a", "b"), [("a", "b", 7.0)], input_bytes=3, result_bytes=4, deadline=9)
    new = wf.with_tasks({"b": Task("b", work=42)})
    assert new.tasks[1].work == 42 and new.tasks[0] is wf.tasks[0]
    assert new.edges == wf.edges and (new.input_bytes, new.result_bytes, new.deadline) == (3, 4, 9)
