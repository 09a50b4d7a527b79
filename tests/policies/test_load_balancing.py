"""Load balancing strategies and the executor score: FNV-1a against published vectors,
the ring's remapping and balance (P25), nginx's smooth WRR sequence, each rule against
a hand computation, session affinity and health (P25), and every strategy end to end."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from wfsim import (
    Link,
    LocationRequirement,
    Node,
    Poisson,
    Simulation,
    Task,
    Tier,
    Topology,
    Workflow,
    Workload,
    hierarchical,
    layered_random,
)
from wfsim.engine.executor import WorkflowRun
from wfsim.model.parameters import validate_params
from wfsim.policies.load_balancing import (
    LB_STRATEGIES,
    STRATEGIES,
    ConsistentHashRing,
    ExecutorScore,
    LBAdaptive,
    LBConsistentHashing,
    LBLeastConnections,
    LBResourceBased,
    LBResponseTime,
    LBRoundRobin,
    LBWeightedRoundRobin,
    LoadBalancer,
    adaptive_score,
    fit_score,
    fnv1a_64,
    io_load,
    resource_score,
    smooth_weighted_pick,
)
from wfsim.policies.placement import PlacementStrategy

GiB = 2**30


# --- FNV-1a 64 and the ring -----------------------------------------------------------
@pytest.mark.parametrize("data, expected", [
    ("", 0xCBF29CE484222325), ("a", 0xAF63DC4C8601EC8C), ("foobar", 0x85944171F73967E8),
    (b"b", 0xAF63DF4C8601F1A5), ("chongo was here!\n", 0x46810940EFF5F915),
])
def test_fnv1a_64_published_vectors(data, expected) -> None:
    assert fnv1a_64(data) == expected


def test_ring_lookup_is_first_point_at_or_after_the_key() -> None:
    ring = ConsistentHashRing(["a", "b", "c"], virtual_nodes=3, finalize=False)
    points = sorted((fnv1a_64(f"{m}:{i}"), m) for m in "abc" for i in range(3))
    for key in (f"k{i}" for i in range(200)):
        h = fnv1a_64(key)
        expected = next((m for p, m in points if p >= h), points[0][1])
        assert ring.get(key) == expected


@pytest.mark.parametrize("finalize", [True, False])
def test_removing_a_ring_node_remaps_only_its_keys(finalize: bool) -> None:
    members = [f"node-{i}" for i in range(6)]
    keys = [f"session-{i}" for i in range(2000)]
    ring = ConsistentHashRing(members, virtual_nodes=20, finalize=finalize)
    before = {k: ring.get(k) for k in keys}
    ring.remove("node-3")
    after = {k: ring.get(k) for k in keys}
    moved = {k for k in keys if before[k] != after[k]}
    assert moved == {k for k in keys if before[k] == "node-3"}
    assert all(after[k] != "node-3" for k in keys)
    ring.add("node-3")
    assert {k: ring.get(k) for k in keys} == before
    # Skipping a member with ``accept`` is the same as removing it.
    ring2 = ConsistentHashRing(members, virtual_nodes=20, finalize=finalize)
    assert {k: ring2.get(k, lambda m: m != "node-3") for k in keys} == after


def test_share_per_node_approaches_one_over_n_as_virtual_nodes_grow() -> None:
    members = [f"node-{i}" for i in range(5)]
    rng = random.Random(1)
    keys = [f"{rng.getrandbits(64):x}" for _ in range(20_000)]

    def max_deviation(vnodes: int) -> float:
        ring = ConsistentHashRing(members, virtual_nodes=vnodes)
        counts = dict.fromkeys(members, 0)
        for k in keys:
            counts[ring.get(k)] += 1
        return max(abs(c / len(keys) - 1 / len(members)) for c in counts.values())

    few, many = max_deviation(1), max_deviation(200)
    assert many < few
    assert many < 0.05


# --- smooth weighted round robin --------------------------------------------------------
def test_smooth_wrr_is_nginx_sequence() -> None:
    current: dict = {}
    picks = [smooth_weighted_pick(current, [("a", 5), ("b", 1), ("c", 1)]) for _ in range(14)]
    assert "".join(picks) == "aabacaa" * 2


# --- a small cluster for unit tests -------------------------------------------------------
CLOUD = LocationRequirement.specific("Cloud")


def small_topology(cores=(4, 4, 4), speeds=(1e9, 1e9, 1e9)) -> Topology:
    nodes = [Node("o", Tier.LOCAL_DEVICE)] + [
        Node(f"n{i}", Tier.CLOUD, cores=c, speed=s, memory=8 * GiB) for i, (c, s) in enumerate(zip(cores, speeds))]
    links = [Link("o", f"n{i}", 0.001 * (i + 1), 1e9) for i in range(len(cores))]
    return Topology(nodes, links)


class Bench:
    """A cluster with no workloads, to call ``place`` directly."""

    def __init__(self, strategy: LoadBalancer | ExecutorScore, topology: Topology | None = None,
                 tasks: list[Task] | None = None, edges=()) -> None:
        self.sim = Simulation(topology or small_topology(), [], placement=strategy, duration=0)
        self.strategy = self.sim.placement
        self.cluster = self.sim.cluster
        self.workflow = Workflow("w", tasks or [Task("t", location=CLOUD, cores=1, memory=GiB)], list(edges))
        self._next = 0

    def node(self, node_id: str):
        return next(n for n in self.cluster.nodes if n.spec.id == node_id)

    def run(self, origin: str = "o") -> WorkflowRun:
        self._next += 1
        return WorkflowRun(self._next, self.workflow, "w", self.node(origin).index, 0.0, None)

    def place(self, run: WorkflowRun | None = None, task: int = 0) -> str:
        run = run or self.run()
        node = self.strategy.place(run, task, self.cluster)
        run.node_of[task] = node.index
        return node.spec.id

    def end(self, run: WorkflowRun, task: int, at: float) -> None:
        self.sim.env.run(until=at) if at > self.sim.env.now else None
        self.strategy.on_task_end(run, task, self.cluster.nodes[run.node_of[task]], 0.0)


def test_round_robin_cycles_nearest_first() -> None:
    bench = Bench(LBRoundRobin())
    assert [bench.place() for _ in range(7)] == ["n0", "n1", "n2", "n0", "n1", "n2", "n0"]


def test_weighted_round_robin_uses_cores_times_speed() -> None:
    # weights 5·1e9, 1·1e9, 1·1e9 → nginx's a a b a c a a
    bench = Bench(LBWeightedRoundRobin(), small_topology(cores=(5, 1, 1)))
    assert [bench.place() for _ in range(7)] == ["n0", "n0", "n1", "n0", "n2", "n0", "n0"]
    # speed counts as much as cores: 1 core at 5e9 ≡ 5 cores at 1e9
    bench = Bench(LBWeightedRoundRobin(), small_topology(cores=(1, 1, 1), speeds=(1e9, 5e9, 1e9)))
    assert [bench.place() for _ in range(7)] == ["n1", "n1", "n0", "n1", "n2", "n1", "n1"]


def test_least_connections_picks_the_least_loaded() -> None:
    bench = Bench(LBLeastConnections())
    n0, n1, n2 = (bench.node(f"n{i}") for i in range(3))
    n0.running, n1.running, n2.running = 3, 1, 2
    assert bench.place() == "n1"
    # its own placements count until they end (inputs in transit are invisible to the node)
    assert bench.place() == "n1"          # n1: max(1, 1) = 1 < 2
    assert bench.place() == "n1"          # n1: max(1, 2) = 2 = n2's 2, n1 is nearer
    assert bench.place() == "n2"          # n1: 3 > n2: 2


def test_resource_based_matches_hand_computation() -> None:
    node = SimpleNamespace(spec=SimpleNamespace(cores=8, memory=16.0), capacity=8, free_cores=2, free_memory=12.0,
                           queue=[])
    assert resource_score(node) == pytest.approx(1 - (6 / 8 + 4 / 16) / 2)
    bench = Bench(LBResourceBased())
    n0, n1, n2 = (bench.node(f"n{i}") for i in range(3))
    n0.free_cores, n0.free_memory = 1, 8 * GiB        # cpu .75, mem 0   → .625
    n1.free_cores, n1.free_memory = 4, 1 * GiB        # cpu 0, mem .875  → .5625
    n2.free_cores, n2.free_memory = 2, 6 * GiB        # cpu .5, mem .25  → .625 (n0 nearer)
    assert bench.place() == "n0"
    n0.free_memory = 7 * GiB                          # n0 → .5625
    assert bench.place() == "n2"


def test_adaptive_matches_hand_computation() -> None:
    node = SimpleNamespace(spec=SimpleNamespace(cores=4, memory=10.0), capacity=4, free_cores=1, free_memory=5.0,
                           queue=[1, 2, 3, 4])
    assert io_load(node) == 0.5
    expected = 0.4 * (1 - 0.75) + 0.3 * (1 - 0.5) + 0.15 * (1 - 0.5) + 0.15 * 1.0
    assert adaptive_score(node) == pytest.approx(expected)
    assert adaptive_score(node, (0, 0, 0, 1), network=0.25) == pytest.approx(0.75)

    class NetworkAware(LBAdaptive):
        def network_load(self, node, cluster):
            return 1.0 if node.spec.id == "n0" else 0.0

    bench = Bench(LBAdaptive())
    n0, n1 = bench.node("n0"), bench.node("n1")
    n0.free_cores = 3                              # cpu .25 → .9
    n1.free_memory = 4 * GiB                       # mem .5 → .85
    assert bench.place() == "n2"                   # idle: 1.0
    bench.node("n2").free_cores = 0                # cpu 1 → .6
    assert bench.place() == "n0"
    assert Bench(NetworkAware()).place() == "n1"   # n0 loses .15 for its network


def test_response_time_follows_observed_ewmas() -> None:
    bench = Bench(LBResponseTime(alpha=0.5))
    runs = [bench.run() for _ in range(3)]
    # unobserved nodes first, each gets a sample
    assert [bench.place(r) for r in runs] == ["n0", "n1", "n2"]
    for i, at in ((1, 1.0), (2, 2.0), (0, 3.0)):   # response times 3, 1, 2 (placed at 0)
        bench.end(runs[i], 0, at)
    lb = bench.strategy
    assert [lb.response_time(bench.node(f"n{i}")) for i in range(3)] == [3.0, 1.0, 2.0]
    r = bench.run()
    assert bench.place(r) == "n1"                  # lowest EWMA
    bench.end(r, 0, 7.0)                           # sample 7 - 3 = 4: EWMA .5·1 + .5·4 = 2.5
    assert lb.response_time(bench.node("n1")) == pytest.approx(2.5)
    assert bench.place() == "n2"                   # 2 < 2.5 < 3


def test_consistent_hashing_sends_a_session_to_its_ring_node() -> None:
    bench = Bench(LBConsistentHashing(virtual_nodes=50))
    ring = ConsistentHashRing(["n0", "n1", "n2"], virtual_nodes=50)
    assert bench.place() == ring.get("o") == bench.place()


def test_consistent_hashing_key_can_include_the_task() -> None:
    tasks = [Task(f"t{i}", location=CLOUD) for i in range(30)]
    bench = Bench(LBConsistentHashing(session_key="origin_task"), tasks=tasks)
    ring = ConsistentHashRing(["n0", "n1", "n2"], virtual_nodes=10)
    run = bench.run()
    placed = [bench.place(run, i) for i in range(30)]
    assert placed == [ring.get(f"o:t{i}") for i in range(30)]
    assert len(set(placed)) > 1


# --- health and session affinity (P25) ----------------------------------------------------
def sick(cls, **kwargs):
    """A subclass whose ``healthy`` consults a mutable set of unhealthy node ids."""
    down: set[str] = set()

    class Sick(cls):
        def healthy(self, node) -> bool:
            return node.spec.id not in down

    return Sick(**kwargs), down


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_only_healthy_nodes_are_selected(name: str) -> None:
    strategy, down = sick(STRATEGIES[name])
    down.update({"n0", "n2"})
    bench = Bench(strategy)
    assert {bench.place() for _ in range(10)} == {"n1"}
    down.add("n1")
    run = bench.run()
    assert bench.strategy.place(run, 0, bench.cluster) is None


def test_unhealthy_preferred_tier_falls_back_to_the_next() -> None:
    strategy, down = sick(LBRoundRobin)
    topo = hierarchical(devices=2, edge=2, regional=1)
    order = LocationRequirement.preferred_order(["EdgeCloud", "Cloud"])
    bench = Bench(strategy, topo, tasks=[Task("t", location=order)])
    assert {bench.place(bench.run("device-0")) for _ in range(4)} == {"edge-0", "edge-1"}
    down.update({"edge-0", "edge-1"})
    assert bench.place(bench.run("device-0")) == "cloud"


def test_consistent_hashing_moves_only_the_unhealthy_nodes_keys() -> None:
    strategy, down = sick(LBConsistentHashing, session_key="origin_task", virtual_nodes=20)
    tasks = [Task(f"t{i}", location=CLOUD) for i in range(60)]
    bench = Bench(strategy, tasks=tasks)
    before = [bench.place(bench.run(), i) for i in range(60)]
    down.add("n1")
    after = [bench.place(bench.run(), i) for i in range(60)]
    assert "n1" in before and "n1" not in after
    assert all(b == a for b, a in zip(before, after) if b != "n1")


def test_session_affinity_holds_while_healthy_and_moves_when_not() -> None:
    strategy, down = sick(LBRoundRobin, session_affinity=True)
    bench = Bench(strategy)
    assert [bench.place() for _ in range(4)] == ["n0"] * 4      # round robin would cycle
    down.add("n0")
    moved = bench.place()
    assert moved != "n0"
    assert [bench.place() for _ in range(3)] == [moved] * 3      # rebound
    down.clear()
    assert bench.place() == moved                                # stays on the new binding


def test_session_affinity_binding_expires_after_idle_timeout() -> None:
    bench = Bench(LBRoundRobin(session_affinity=True, sticky_session_timeout=10.0))
    assert bench.place() == "n0"
    bench.sim.env.run(until=9.0)
    assert bench.place() == "n0"                                # used at 9: refreshed
    bench.sim.env.run(until=19.0)
    assert bench.place() == "n0"
    bench.sim.env.run(until=29.5)                               # idle 10.5 s > 10
    assert bench.place() == "n1"                                # the rule chooses again
    assert bench.place() == "n1"


def test_sessions_are_per_origin() -> None:
    topo = Topology([Node("a", Tier.LOCAL_DEVICE), Node("b", Tier.LOCAL_DEVICE)]
                    + [Node(f"n{i}", Tier.CLOUD, cores=4) for i in range(2)],
                    [Link("a", "n0", 0.001, 1e9), Link("b", "n0", 0.001, 1e9), Link("n0", "n1", 0.001, 1e9)])
    bench = Bench(LBRoundRobin(session_affinity=True), topo)
    # round robin cursors are per origin too, so both sessions start on n0; bind b elsewhere
    assert bench.place(bench.run("a")) == "n0"
    bench.strategy._sessions.clear()
    assert bench.place(bench.run("a")) == "n1"
    assert bench.place(bench.run("b")) == "n0"
    assert [bench.place(bench.run(o)) for o in "abab"] == ["n1", "n0", "n1", "n0"]


# --- executor score ------------------------------------------------------------------------
def test_fit_is_the_seed_formula() -> None:
    node = SimpleNamespace(free_cores=4, free_memory=8.0)
    assert fit_score(node, 2, 2.0) == pytest.approx((1 / (1 + 2 / 2) + 1 / (1 + 6 / 2)) / 2)
    assert fit_score(node, 2, 0.0) == pytest.approx(0.5)      # memory unused: left out
    assert fit_score(node, 0, 0.0) == 1.0


def test_executor_score_matches_hand_computation_and_learns() -> None:
    bench = Bench(ExecutorScore())
    es = bench.strategy
    n0, n1, n2 = (bench.node(f"n{i}") for i in range(3))
    run = bench.run()
    # task: 1 core, 1 GiB; nodes 4 cores, 8 GiB
    n0.free_cores = 2                     # fit (1/2 + 1/8)/2, load (.5 + 0)/2
    n2.free_cores = 1                     # fit (1 + 1/8)/2,  load (.75 + 0)/2
    s0 = 0.4 * (0.5 + 0.125) / 2 + 0.2 + 0.2 * (1 - 0.25)
    s1 = 0.4 * (0.25 + 0.125) / 2 + 0.2 + 0.2 * 1.0
    s2 = 0.4 * (1 + 0.125) / 2 + 0.2 + 0.2 * (1 - 0.375)
    assert [es.score(run, 0, n) for n in (n0, n1, n2)] == pytest.approx([s0, s1, s2])
    assert bench.place(run) == "n2"       # s2 = .55 > s0 = s1 = .475
    # failures there: success .9^k, s2 = .35 + .2·.9^k: .4812 at k = 4, .4681 at k = 5
    for _ in range(4):
        es.on_task_failed(run, 0, n2, "boom")
    assert es.stats(n2)["success_rate"] == pytest.approx(0.9**4)
    assert es.stats(n2)["tasks"] == 4
    assert bench.place() == "n2"
    es.on_task_failed(run, 0, n2, "boom")
    assert bench.place() == "n0"          # s0 = s1 = .475, n0 nearer
    es.on_task_end(run, 0, n1, 2.0)
    es.on_task_end(run, 0, n1, 4.0)
    assert es.stats(n1)["avg_time"] == pytest.approx(0.1 * 2.0 * 0.9 + 0.1 * 4.0)


def test_executor_score_prefers_the_node_holding_an_input() -> None:
    tasks = [Task("a", location=CLOUD), Task("b", location=CLOUD)]
    bench = Bench(ExecutorScore(), tasks=tasks, edges=[("a", "b", 1e6)])
    run = bench.run()
    run.node_of[0] = bench.node("n2").index
    assert ExecutorScore.local(run, 1, bench.node("n2"))
    assert bench.place(run, 1) == "n2"    # +0.2 locality
    root = bench.run()                    # a root: local = the origin, not a Cloud node
    assert not any(ExecutorScore.local(root, 0, n) for n in bench.cluster.nodes[1:])


def test_executor_score_skips_full_nodes_unless_all_are_full() -> None:
    bench = Bench(ExecutorScore())
    n0, n1, n2 = (bench.node(f"n{i}") for i in range(3))
    n1.free_cores = n2.free_cores = 0
    n0.free_cores = 1
    assert bench.place() == "n0"          # the only one with room, whatever its score
    n0.free_cores = 0
    n1.free_memory = 2 * GiB              # all full; n1 is the most loaded
    assert bench.place() == "n2"          # n0 and n2 equally loaded; n0 has one in flight
    assert bench.place() == "n0"          # one in flight each: the nearer


# --- parameters -------------------------------------------------------------------------------
def test_registry_names_and_parameters() -> None:
    assert sorted(STRATEGIES) == sorted([f"lb_{s}" if s != "adaptive" else "lb_adaptive" for s in LB_STRATEGIES]
                                        + ["executor_score"])
    for name, cls in STRATEGIES.items():
        assert cls.name == name
        for p in cls.parameters:
            assert p.kind in ("int", "float", "bool", "categorical")
            if p.kind in ("int", "float"):
                assert p.low is not None and p.high is not None and p.low <= p.default <= p.high
        defaults = {p.name: p.default for p in cls.parameters}
        strategy = cls(**validate_params(name, cls.parameters, defaults))
        assert isinstance(strategy, PlacementStrategy)
    assert {p.name for p in LBConsistentHashing.parameters} >= {"virtual_nodes", "session_affinity",
                                                                 "sticky_session_timeout", "session_key"}
    vnodes = next(p for p in LBConsistentHashing.parameters if p.name == "virtual_nodes")
    assert (vnodes.default, vnodes.low, vnodes.high) == (10, 1, 200)
    assert [p.default for p in LBAdaptive.parameters if p.name.startswith("w_")] == [0.4, 0.3, 0.15, 0.15]
    assert [p.default for p in ExecutorScore.parameters if p.name.startswith("w_")] == [0.4, 0.2, 0.2, 0.2]
    assert {p.name for p in LoadBalancer.parameters} >= {"strategy", "virtual_nodes", "alpha", "w_cpu"}


@pytest.mark.parametrize("name, params", [
    ("lb_consistent_hashing", {"virtual_nodes": 0}),
    ("lb_consistent_hashing", {"virtual_nodes": 201}),
    ("lb_consistent_hashing", {"virtual_nodes": 2.5}),
    ("lb_response_time", {"alpha": 0.6}),
    ("executor_score", {"alpha": 0.001}),
    ("executor_score", {"w_fit": 1.5}),
    ("lb_adaptive", {"w_io": -0.1}),
    ("lb_round_robin", {"sticky_session_timeout": 1.0}),
    ("lb_round_robin", {"session_affinity": "yes"}),
    ("lb_round_robin", {"session_key": "user"}),
    ("lb_round_robin", {"virtual_nodes": 10}),          # not a parameter of this rule
])
def test_out_of_range_parameters_are_rejected(name, params) -> None:
    cls = STRATEGIES[name]
    with pytest.raises(ValueError, match=name):
        validate_params(name, cls.parameters, params)


def test_constructors_reject_bad_values() -> None:
    with pytest.raises(ValueError, match="strategy"):
        LoadBalancer("fastest")
    with pytest.raises(ValueError, match="weights"):
        ExecutorScore(w_fit=0, w_success=0, w_load=0, w_locality=0)
    with pytest.raises(TypeError):
        LBRoundRobin(virtual_nodes=3)
    assert LoadBalancer("consistent_hashing", virtual_nodes=7).virtual_nodes == 7


# --- end to end -------------------------------------------------------------------------------





def test_bookkeeping_is_empty_after_a_run() -> None:
    topo = hierarchical(devices=4, edge=2, regional=1)
    sim = Simulation(topo, [Workload("l", layered_random(3, 3, seed=2), Poisson(0.3))],
                     placement=LBLeastConnections(), duration=20, seed=1)
    sim.run()
    assert sim.placement._placed == {}
    assert all(v == 0 for v in sim.placement._inflight.values())
