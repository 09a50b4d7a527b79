"""Load balancing (seed part 4 §A, ``LoadBalancer::select_node``) and the scheduler's
executor score (seed part 3, ``select_executor``) as placement strategies.

=========================== ==================== ====================================================
name (YAML)                 class                rule (within the pool, ties to the nearer node)
=========================== ==================== ====================================================
``lb_round_robin``          LBRoundRobin         cycle through the pool, one cursor per class
``lb_least_connections``    LBLeastConnections   fewest tasks in flight (see *connections*)
``lb_weighted_round_robin`` LBWeightedRoundRobin smooth weighted round robin, weight cores×speed
``lb_consistent_hashing``   LBConsistentHashing  FNV-1a 64 ring with ``virtual_nodes`` per node
``lb_resource_based``       LBResourceBased      max 1 − (cpu + mem)/2
``lb_response_time``        LBResponseTime       min EWMA of observed response times
``lb_adaptive``             LBAdaptive           max .4(1−cpu)+.3(1−mem)+.15(1−io)+.15(1−net)
``executor_score``          ExecutorScore        max .4 fit + .2 success + .2 (1−load) + .2 locality
=========================== ==================== ====================================================

:class:`LoadBalancer` takes the rule as its ``strategy`` parameter, so a tuner can treat
the rule as one categorical dimension; each ``lb_*`` class fixes the rule, declares only
the parameters it uses and describes it. Every strategy chooses within the same pool
(the healthy candidates of the most preferred tier) and may keep a session on one node:
see :class:`_Balancer`. Periodic rebalancing and task migration are in
:mod:`wfsim.engine.migration`.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from wfsim.model.enums import HealthStatus
from wfsim.model.parameters import Tunable, param
from wfsim.policies.placement import PlacementStrategy
from wfsim.policies.planning import Nodes, _preferred, _Stateful
from wfsim.policies.views import ClusterView, NodeView, RunView

# --- FNV-1a and the ring ------------------------------------------------------------
FNV64_OFFSET = 14695981039346656037
FNV64_PRIME = 1099511628211
_MASK64 = 2**64 - 1


def fnv1a_64(data: str | bytes) -> int:
    """FNV-1a 64-bit hash of ``data`` (a str is hashed as UTF-8)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    h = FNV64_OFFSET
    for byte in data:
        h = ((h ^ byte) * FNV64_PRIME) & _MASK64
    return h


def fmix64(h: int) -> int:
    """MurmurHash3's 64-bit finaliser (a bijection that spreads every input bit)."""
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _MASK64
    return h ^ (h >> 33)


class ConsistentHashRing:
    """A consistent hash ring (seed ``ConsistentHashRing``): ``virtual_nodes`` points
    per member at ``hash(f"{member}:{i}")``; a key belongs to the member of the first
    point at or after ``hash(key)``, wrapping around.

    ``hash`` is FNV-1a 64, followed by :func:`fmix64` when ``finalize`` is true. Plain
    FNV-1a (the seed's, ``finalize=False``) maps strings that differ only in their last
    characters (``device-0`` … ``device-7``, ``edge-1:0`` … ``edge-1:9``) to nearby
    values, since the last byte changes the hash by at most 255 × prime ≈ 2^48 of 2^64:
    such keys and virtual nodes bunch in one arc and one node gets them all. The
    finaliser is a bijection, so the ring's properties are unchanged.
    """

    def __init__(self, members: Iterable[str] = (), virtual_nodes: int = 10, finalize: bool = True) -> None:
        if virtual_nodes < 1:
            raise ValueError(f"virtual_nodes must be >= 1, got {virtual_nodes}")
        self.virtual_nodes = virtual_nodes
        self.finalize = finalize
        self._points: list[tuple[int, str]] = []
        self._hashes: list[int] = []
        self._members: set[str] = set()
        for member in members:
            self.add(member)

    @property
    def members(self) -> frozenset[str]:
        return frozenset(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def hash(self, data: str | bytes) -> int:
        """The ring position of ``data``."""
        h = fnv1a_64(data)
        return fmix64(h) if self.finalize else h

    def add(self, member: str) -> None:
        """Put ``member``'s virtual nodes on the ring (no-op if already there)."""
        if member in self._members:
            return
        self._members.add(member)
        for i in range(self.virtual_nodes):
            bisect.insort(self._points, (self.hash(f"{member}:{i}"), member))
        self._hashes = [h for h, _ in self._points]

    def remove(self, member: str) -> None:
        """Take ``member``'s virtual nodes off the ring (no-op if absent)."""
        if member not in self._members:
            return
        self._members.discard(member)
        self._points = [p for p in self._points if p[1] != member]
        self._hashes = [h for h, _ in self._points]

    def get(self, key: str | bytes, accept: Callable[[str], bool] | None = None) -> str | None:
        """The member owning ``key``; with ``accept``, the first member at or after the
        key's point that ``accept`` allows (None if the ring has none)."""
        points = self._points
        if not points:
            return None
        start = bisect.bisect_left(self._hashes, self.hash(key))
        n = len(points)
        for k in range(n):
            member = points[(start + k) % n][1]
            if accept is None or accept(member):
                return member
        return None


# --- smooth weighted round robin ------------------------------------------------------
def smooth_weighted_pick(current: dict[Any, float], weights: Sequence[tuple[Any, float]]) -> Any:
    """One step of nginx's smooth weighted round robin over ``weights`` ((key, weight)
    pairs in tie-break order), updating the ``current`` weights in place."""
    total = 0.0
    best = None
    best_weight = 0.0
    for key, weight in weights:
        value = current.get(key, 0.0) + weight
        current[key] = value
        total += weight
        if best is None or value > best_weight:
            best, best_weight = key, value
    if best is not None:
        current[best] -= total
    return best


# --- per-node load figures ---------------------------------------------
def cpu_load(node: NodeView) -> float:
    """Share of the node's current capacity held by running tasks: ``(capacity −
    free_cores) / capacity``.

    ``capacity`` is the node's cores now, which autoscaling changes, not the
    ``spec.cores`` it was provisioned with. Only running tasks count, as in the seed:
    tasks placed at the same instant all see the same load.
    """
    cores = node.capacity
    return (cores - node.free_cores) / cores


def memory_load(node: NodeView) -> float:
    """Share of the node's memory held by running tasks (0 for a node without memory)."""
    memory = node.spec.memory
    return (memory - node.free_memory) / memory if memory > 0 else 0.0


def io_load(node: NodeView) -> float:
    """Ready-queue pressure ``len(queue) / (len(queue) + capacity)`` (current capacity,
    as :func:`cpu_load`)."""
    q = len(node.queue)
    return q / (q + node.capacity)


def resource_score(node: NodeView) -> float:
    """ResourceBased score ``1 − (cpu + mem)/2`` (higher is better)."""
    return 1.0 - (cpu_load(node) + memory_load(node)) / 2.0


def adaptive_score(node: NodeView, weights: Sequence[float] = (0.4, 0.3, 0.15, 0.15),
                   network: float = 0.0) -> float:
    """AdaptiveLoadAware score ``w0(1−cpu) + w1(1−mem) + w2(1−io) + w3(1−net)`` with
    :func:`cpu_load`, :func:`memory_load`, :func:`io_load` and ``network`` the net load."""
    w_cpu, w_mem, w_io, w_net = weights
    return (w_cpu * (1.0 - cpu_load(node)) + w_mem * (1.0 - memory_load(node))
            + w_io * (1.0 - io_load(node)) + w_net * (1.0 - network))


def fit_score(node: NodeView, cores: float, memory: float) -> float:
    """The seed's fit ``mean_r 1/(1 + (avail_r − use_r)/use_r)`` over the resources the
    task uses (cores, memory); 1 when it uses neither. Assumes enough is free.

    ``avail`` is the node's free amount and ``use`` the task's demand, so each term
    equals ``use/avail`` (1 = perfect fit, smaller = more slack). A resource the task
    does not use (``use = 0``) is left out of the mean, as the formula divides by it.
    """
    terms = []
    for use, avail in ((cores, node.free_cores), (memory, node.free_memory)):
        if use > 0:
            terms.append(1.0 / (1.0 + (avail - use) / use))
    return sum(terms) / len(terms) if terms else 1.0


def node_load(node: NodeView) -> float:
    """Mean of :func:`cpu_load` and :func:`memory_load`."""
    return (cpu_load(node) + memory_load(node)) / 2.0


# --- parameters ------------------------------------------------------------------------
LB_STRATEGIES = ("round_robin", "least_connections", "weighted_round_robin", "consistent_hashing",
                 "resource_based", "response_time", "adaptive")

# Parameter groups, each declared once; a strategy lists the groups it accepts among its
# bases. Dataclasses collect fields from the last base first, so bases are listed in
# the reverse of the order the parameters are declared in.


@dataclass(eq=False, kw_only=True)
class _Affinity(Tunable):
    """Session affinity: every load-balancing rule accepts it (the rule is in
    :class:`_Balancer`)."""

    session_affinity: bool = param(False, doc="send a session key's tasks to its bound node while that stays eligible")
    sticky_session_timeout: float = param(300.0, low=10.0, high=3600.0,
                                          doc="seconds a session binding survives without use")
    session_key: str = param("origin", choices=("origin", "origin_task"),
                             doc="session (and hash) key: the workflow's origin id, or origin id:task id")


@dataclass(eq=False, kw_only=True)
class _Hashing(Tunable):
    """The consistent hash ring."""

    virtual_nodes: int = param(10, low=1, high=200, doc="ring points per node")
    hash_finalizer: bool = param(
        True, doc="apply fmix64 after FNV-1a 64 (false: the seed's plain FNV-1a, which bunches similar keys)")


@dataclass(eq=False, kw_only=True)
class _Smoothing(Tunable):
    """The weight of the EWMAs of observations."""

    alpha: float = param(0.1, low=0.01, high=0.5, doc="EWMA weight of a new observation")


@dataclass(eq=False, kw_only=True)
class _LoadWeights(Tunable):
    """AdaptiveLoadAware's weights; :attr:`weights` is the tuple of the four.

    They are tunable on a simplex: each in [0, 1], not all 0. They need not sum to 1, as
    only the argmax matters.
    """

    w_cpu: float = param(0.4, low=0.0, high=1.0, doc="weight of 1 − cpu load")
    w_memory: float = param(0.3, low=0.0, high=1.0, doc="weight of 1 − memory load")
    w_io: float = param(0.15, low=0.0, high=1.0, doc="weight of 1 − queue pressure")
    w_network: float = param(0.15, low=0.0, high=1.0, doc="weight of 1 − network load")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.weights = _check_weights(self.name, (self.w_cpu, self.w_memory, self.w_io, self.w_network))


@dataclass(eq=False)
class _Rule(Tunable):
    """The rule, for :class:`LoadBalancer` (one categorical for a tuner)."""

    strategy: str = param("round_robin", choices=LB_STRATEGIES, doc="the seed's LoadBalancingStrategy")


def _check_weights(owner: str, weights: Sequence[float]) -> tuple[float, ...]:
    """The weights, of which at least one must be positive (the ranges are checked by
    their declarations; the sum need not be 1, as only the argmax matters)."""
    weights = tuple(float(w) for w in weights)
    if not sum(weights) > 0:
        raise ValueError(f"{owner}: weights must be in [0, 1] and not all 0, got {weights}")
    return weights


# --- the strategies --------------------------------------------------------------------
class _Balancer(_Stateful):
    """Pool selection (health, preferred tier), session affinity and the bookkeeping
    shared by the rules: tasks in flight per node and observed response times.

    **The pool.** A task's eligible nodes are ``cluster.candidates(task, origin)`` (they
    satisfy its location requirement, fit its cores and memory in total and are
    reachable) that are :meth:`healthy`, restricted to the most preferred
    ``PreferredOrder`` tier present among them (so when a whole preferred tier is
    unhealthy the next tier is used). Candidates come nearest first, so "ties to the
    nearer node" means the first in the pool. An empty pool returns None (the task fails).

    **Health.** Only ``Healthy`` nodes are ever chosen (the seed: only Healthy nodes are
    eligible). A node's health is :attr:`NodeRuntime.health <wfsim.engine.node.NodeRuntime>`,
    set at run time by :meth:`Simulation.set_health
    <wfsim.engine.simulation.Simulation.set_health>` (or a config's ``health:`` list).
    ``Unhealthy`` and ``Maintenance`` nodes are not even candidates
    (:meth:`Cluster.candidates <wfsim.engine.cluster.Cluster.candidates>` drops them for
    every strategy); ``Degraded`` nodes are candidates that :meth:`healthy` keeps out of
    the pool, so load balancing avoids them while other strategies may still use them.
    Subclasses may override :meth:`healthy` to exclude more nodes.

    **Session affinity** (``session_affinity``, default off). The *session key* of a task
    is its workflow's origin node id (``session_key: origin``, the default: one user, one
    session) or ``"<origin id>:<task id>"`` (``origin_task``). With affinity on, the first
    choice for a key is made by the rule and *bound*; later tasks with that key go to the
    bound node as long as it is still in their pool (healthy, a candidate of the most
    preferred tier) and the binding has been used within the last
    ``sticky_session_timeout`` seconds (an idle timeout: each use refreshes it). Otherwise
    the rule chooses again and the new node is bound. A binding is kept per session key
    *and* requirement class (the task's location requirement, cores and memory, the key
    of one candidate list), so a workflow whose tasks run on different tiers keeps one
    binding per class instead of rebinding at every tier change.

    Every strategy keeps per-run state; each :class:`~wfsim.engine.simulation.Simulation`
    runs its own copy. The class attributes are the values for strategies that do not
    declare them.
    """

    only_healthy: ClassVar[bool] = True  # the pool holds only Healthy nodes (see healthy())
    session_affinity: bool = False
    sticky_session_timeout: float = 300.0
    session_key: str = "origin"
    alpha: float = 0.1

    def _reset(self) -> None:
        super()._reset()
        self._cluster: ClusterView | None = None
        self._placed: dict[tuple[int, int], tuple[int, float]] = {}   # (run, task) -> (node, time)
        self._inflight: dict[int, int] = {}
        self._response: dict[int, float] = {}                         # node -> EWMA (s)
        self._sessions: dict[tuple, tuple[int, float]] = {}           # key -> (node, last use)

    # -- hooks for subclasses
    def healthy(self, node: NodeView) -> bool:
        """Whether ``node`` may be chosen: only ``Healthy`` nodes (the seed's rule);
        override to exclude more."""
        return node.health is HealthStatus.HEALTHY

    def choose(self, run: RunView, task: int, pool: Nodes, full: Nodes, cluster: ClusterView,
               key: str) -> NodeView:
        raise NotImplementedError

    # -- machinery
    def pool(self, run: RunView, task: int, cluster: ClusterView) -> tuple[Nodes, Nodes]:
        """(all candidates, the healthy ones of the most preferred tier among them)."""
        full, preferred = self.allowed(run, task, cluster)
        healthy = self.healthy
        if all(healthy(n) for n in full):
            return full, preferred
        return full, _preferred(run.spec.tasks[task], tuple(n for n in full if healthy(n)))

    def key_of(self, run: RunView, task: int, cluster: ClusterView) -> str:
        """The session key of task ``task`` of ``run``."""
        origin = cluster.nodes[run.origin].spec.id
        if self.session_key == "origin_task":
            return f"{origin}:{run.spec.tasks[task].id}"
        return origin

    def connections(self, node: NodeView) -> int:
        """Tasks on ``node``: max(running + queued, placed here by this balancer and not
        yet ended or failed).

        The second term also counts the tasks whose inputs are still in transit, which
        the node cannot see yet, so a burst placed at one instant spreads out; the first
        is what the node itself reports.
        """
        return max(node.running + len(node.queue), self._inflight.get(node.index, 0))

    def response_time(self, node: NodeView) -> float | None:
        """EWMA of observed response times on ``node`` (None before the first)."""
        return self._response.get(node.index)

    def place(self, run: RunView, task: int, cluster: ClusterView) -> NodeView | None:
        self._cluster = cluster
        full, pool = self.pool(run, task, cluster)
        if not pool:
            return None
        key = self.key_of(run, task, cluster)
        now = cluster.now
        node = None
        if self.session_affinity:
            t = run.spec.tasks[task]
            skey = (key, t.location, t.cores, t.memory)
            bound = self._sessions.get(skey)
            if bound is not None and now - bound[1] <= self.sticky_session_timeout:
                node = next((n for n in pool if n.index == bound[0]), None)
        if node is None:
            node = self.choose(run, task, pool, full, cluster, key)
        if self.session_affinity:
            self._sessions[skey] = (node.index, now)
        self._placed[(run.id, task)] = (node.index, now)
        self._inflight[node.index] = self._inflight.get(node.index, 0) + 1
        return node

    def _settle(self, run: RunView, task: int) -> tuple[int, float] | None:
        placed = self._placed.pop((run.id, task), None)
        if placed is not None:
            self._inflight[placed[0]] -= 1
        return placed

    def _ewma(self, table: dict[int, float], index: int, value: float, initial: float | None = None) -> None:
        old = table.get(index, initial)
        table[index] = value if old is None else (1.0 - self.alpha) * old + self.alpha * value

    def on_task_end(self, run: RunView, task: int, node: NodeView, duration: float) -> None:
        placed = self._settle(run, task)
        if placed is not None and self._cluster is not None:
            self._ewma(self._response, node.index, self._cluster.now - placed[1])

    def on_task_failed(self, run: RunView, task: int, node: NodeView | None, reason: str) -> None:
        self._settle(run, task)


class _LoadBalancing(_Balancer):
    """The seed's ``LoadBalancer`` rules (each described on its ``lb_*`` class):
    ``strategy`` names the rule in use. Not a dataclass: each concrete class below declares the
    parameters it accepts (its rule's) and nothing else.

    The annotations are those of the parameters a rule reads; only classes with that
    rule have them.
    """

    strategy: str
    virtual_nodes: int
    hash_finalizer: bool
    weights: tuple[float, ...]

    def _reset(self) -> None:
        super()._reset()
        self._cursor: dict[tuple, int] = {}
        self._current: dict[tuple, dict[int, float]] = {}
        self._rings: dict[int, tuple[Nodes, ConsistentHashRing, dict[str, NodeView]]] = {}

    def network_load(self, node: NodeView, cluster: ClusterView) -> float:
        """Network load of ``node`` in [0, 1] for AdaptiveLoadAware: 0 (not measured:
        the network keeps no cheap, public per-node link utilisation; override to supply
        one, e.g. outbound link utilisation)."""
        return 0.0

    def ring(self, full: Nodes) -> tuple[ConsistentHashRing, dict[str, NodeView]]:
        """The ring over candidate list ``full`` (cached by its identity)."""
        entry = self._rings.get(id(full))
        if entry is None or entry[0] is not full:
            by_id = {n.spec.id: n for n in full}
            ring = ConsistentHashRing(by_id, self.virtual_nodes, self.hash_finalizer)
            entry = self._rings[id(full)] = (full, ring, by_id)
        return entry[1], entry[2]

    def choose(self, run: RunView, task: int, pool: Nodes, full: Nodes, cluster: ClusterView,
               key: str) -> NodeView:
        rule = self.strategy
        if len(pool) == 1 and rule not in ("round_robin", "weighted_round_robin"):
            return pool[0]   # (the cyclic rules still advance their state)
        if rule == "round_robin" or rule == "weighted_round_robin":
            t = run.spec.tasks[task]
            ckey = (run.origin, t.location, t.cores, t.memory)
            if rule == "round_robin":
                i = self._cursor.get(ckey, 0)
                self._cursor[ckey] = i + 1
                return pool[i % len(pool)]
            current = self._current.setdefault(ckey, {})
            index = smooth_weighted_pick(current, [(n.index, n.spec.cores * n.spec.speed) for n in pool])
            return next(n for n in pool if n.index == index)
        if rule == "least_connections":
            return min(pool, key=self.connections)
        if rule == "consistent_hashing":
            ring, by_id = self.ring(full)
            allowed = {n.spec.id for n in pool}
            member = ring.get(key, allowed.__contains__)
            return by_id[member]  # type: ignore[index]  # pool is non-empty and a subset of the ring
        if rule == "resource_based":
            return max(pool, key=resource_score)  # max keeps the first of equals
        if rule == "response_time":
            def rank(n: NodeView) -> tuple[int, float]:
                r = self._response.get(n.index)
                return (0, float(self._inflight.get(n.index, 0))) if r is None else (1, r)
            return min(pool, key=rank)
        weights = self.weights
        return max(pool, key=lambda n: adaptive_score(n, weights, self.network_load(n, cluster)))


@dataclass(eq=False)
class LoadBalancer(_LoadBalancing, _LoadWeights, _Smoothing, _Hashing, _Affinity, _Rule):
    """The seed's ``LoadBalancer`` as a placement strategy; ``strategy`` picks one of
    the seven rules of :data:`LB_STRATEGIES`, and every rule's parameters are accepted.

    The ``lb_*`` classes below fix the rule, and each describes its own:
    ``round_robin`` is :class:`LBRoundRobin`, ``least_connections``
    :class:`LBLeastConnections`, ``weighted_round_robin`` :class:`LBWeightedRoundRobin`,
    ``consistent_hashing`` :class:`LBConsistentHashing`, ``resource_based``
    :class:`LBResourceBased`, ``response_time`` :class:`LBResponseTime` and ``adaptive``
    :class:`LBAdaptive`. The pool, health and session affinity are :class:`_Balancer`'s.
    """

    name = "load_balancer"


@dataclass(eq=False)
class LBRoundRobin(_LoadBalancing, _Affinity):
    """Load balancing: round robin over the pool (one cursor per class).

    The node is ``pool[cursor % len(pool)]``, with one cursor per requirement class and
    origin (as :class:`~wfsim.policies.planning.RoundRobin`).
    """

    name = "lb_round_robin"
    strategy = "round_robin"


@dataclass(eq=False)
class LBLeastConnections(_LoadBalancing, _Affinity):
    """Load balancing: the node with the fewest tasks in flight.

    Tasks in flight are :meth:`~_Balancer.connections`: ``max(running + len(queue), in
    flight)``, where *in flight* counts the tasks this balancer placed there that have
    not ended or failed.
    """

    name = "lb_least_connections"
    strategy = "least_connections"


@dataclass(eq=False)
class LBWeightedRoundRobin(_LoadBalancing, _Affinity):
    """Load balancing: smooth weighted round robin, weights cores × speed.

    This is nginx's smooth weighted round robin (``ngx_http_upstream_get_peer``,
    :func:`smooth_weighted_pick`): each pick adds every pool node's weight to its current
    weight, picks the largest current weight (ties to the nearer node) and subtracts the
    pool's total weight from it. Weights are ``spec.cores × speed`` (the node's total ops/s
    as provisioned, whatever autoscaling does), so the share of picks is proportional to
    capacity. Current weights are kept per requirement class and origin. (The seed's
    weighted *random* pick is not used.)
    """

    name = "lb_weighted_round_robin"
    strategy = "weighted_round_robin"


@dataclass(eq=False)
class LBConsistentHashing(_LoadBalancing, _Hashing, _Affinity):
    """Load balancing: FNV-1a 64 consistent hashing of the session key.

    The ring (:class:`ConsistentHashRing`) has ``virtual_nodes`` points per node at
    ``h("<node id>:<i>")``, ``i = 0 … virtual_nodes − 1``; a key goes to the owner of the
    first point ``>= h(key)``, wrapping around. ``h`` is FNV-1a 64 followed by
    MurmurHash3's ``fmix64`` finaliser; ``hash_finalizer: false`` gives the seed's plain
    FNV-1a, under which similar names (``device-0`` … ``device-7``) all land on one node.
    The ring is built over all of a task's candidates; the lookup walks on to the next
    point whose owner is in the pool, so an unhealthy (or non-preferred) node hands
    exactly its own keys to its ring successors and every other key stays put. The key is
    the session key (:class:`_Balancer`).
    """

    name = "lb_consistent_hashing"
    strategy = "consistent_hashing"


@dataclass(eq=False)
class LBResourceBased(_LoadBalancing, _Affinity):
    """Load balancing: max 1 − (cpu + mem)/2.

    That is :func:`resource_score`, with ``cpu`` the share of the node's current cores
    held by running tasks (:func:`cpu_load`) and ``mem`` that of its memory
    (:func:`memory_load`, 0 for a node without memory). Like the seed, it sees only
    running tasks: tasks placed at the same instant all see the same loads.
    """

    name = "lb_resource_based"
    strategy = "resource_based"


@dataclass(eq=False)
class LBResponseTime(_LoadBalancing, _Smoothing, _Affinity):
    """Load balancing: lowest EWMA of observed response times.

    A task's *response time* runs from its placement to its end (input transfer +
    queueing + execution), observed in ``on_task_end``; per node an EWMA ``r ← (1−α) r +
    α·sample`` (the first sample initialises it; ``alpha`` default 0.1). Nodes with no
    sample yet come first (fewest tasks in flight first, then nearest), so every pool node
    gets measured; then the lowest EWMA. The seed used CPU as a stand-in; this does not.
    """

    name = "lb_response_time"
    strategy = "response_time"


@dataclass(eq=False)
class LBAdaptive(_LoadBalancing, _LoadWeights, _Affinity):
    """Load balancing: AdaptiveLoadAware, max .4(1−cpu)+.3(1−mem)+.15(1−io)+.15(1−net).

    The score is :func:`adaptive_score` ``w_cpu(1−cpu) + w_memory(1−mem) + w_io(1−io) +
    w_network(1−net)``, cpu and mem as for :class:`LBResourceBased`, ``io`` the ready
    queue's pressure ``len(queue) / (len(queue) + capacity)`` and ``net`` =
    :meth:`~_LoadBalancing.network_load`, which is **0** here: the network keeps no cheap,
    public per-node link utilisation. Override it (a value in [0, 1]) to use one. The
    weights need not sum to 1 (:class:`_LoadWeights`).
    """

    name = "lb_adaptive"
    strategy = "adaptive"


@dataclass(eq=False)
class ExecutorScore(_Balancer, _Smoothing):
    """The scheduler's executor score (seed ``select_executor``): the node that best
    combines resource fit, success rate, low load and locality.

    Within the pool of :class:`_Balancer`, the node with the largest ::

        score = w_fit·fit + w_success·success + w_load·(1 − load) + w_locality·[local]

    is chosen, where:

    * ``fit`` is :func:`fit_score` (``use/avail`` averaged over cores and memory; 1 =
      perfect fit);
    * ``success`` = EWMA of task outcomes on the node, ``s ← (1−α) s + α·[succeeded]``
      from ``on_task_end`` (1) and ``on_task_failed`` with a node (0), initially 1 (the
      seed's weights 0.9/0.1 are ``alpha = 0.1``). The mean run time EWMA is kept as
      well (:meth:`stats`);
    * ``load`` = :func:`node_load`, the mean of cpu and memory load;
    * ``local`` = the node already holds an input of the task: a predecessor ran there,
      or, for a root, it is the workflow's origin (where the request payload is).

    Nodes without enough *free* cores and memory for the task right now are skipped if
    any pool node has enough; if none has, the least loaded one is taken (lowest
    ``load``, then fewest in flight, then nearest). The weights are tunable on a simplex
    (each in [0, 1], not all 0; they need not sum to 1, as only the argmax matters).

    Attributes:
        weights: ``(w_fit, w_success, w_load, w_locality)``.
    """

    name = "executor_score"

    w_fit: float = param(0.4, low=0.0, high=1.0, doc="weight of resource fit")
    w_success: float = param(0.2, low=0.0, high=1.0, doc="weight of the success-rate EWMA")
    w_load: float = param(0.2, low=0.0, high=1.0, doc="weight of 1 − load")
    w_locality: float = param(0.2, low=0.0, high=1.0, doc="weight of holding an input")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.weights = _check_weights(self.name, (self.w_fit, self.w_success, self.w_load, self.w_locality))

    def _reset(self) -> None:
        super()._reset()
        self._success: dict[int, float] = {}
        self._time: dict[int, float] = {}
        self._count: dict[int, int] = {}

    def stats(self, node: NodeView) -> dict[str, float]:
        """Per-node statistics: tasks ended or failed there, success-rate EWMA
        (initially 1) and mean run time EWMA (0 before the first)."""
        i = node.index
        return {"tasks": self._count.get(i, 0), "success_rate": self._success.get(i, 1.0),
                "avg_time": self._time.get(i, 0.0)}

    @staticmethod
    def local(run: RunView, task: int, node: NodeView) -> bool:
        """Whether ``node`` already holds an input of the task."""
        preds = run.spec.predecessors[task]
        if not preds:
            return node.index == run.origin
        return any(run.node_of[p] == node.index for p in preds)

    def score(self, run: RunView, task: int, node: NodeView) -> float:
        """The executor score of ``node`` for the task (assumes enough is free)."""
        t = run.spec.tasks[task]
        w_fit, w_success, w_load, w_locality = self.weights
        return (w_fit * fit_score(node, t.cores, t.memory)
                + w_success * self._success.get(node.index, 1.0)
                + w_load * (1.0 - node_load(node))
                + (w_locality if self.local(run, task, node) else 0.0))

    def choose(self, run: RunView, task: int, pool: Nodes, full: Nodes, cluster: ClusterView,
               key: str) -> NodeView:
        t = run.spec.tasks[task]
        ready = [n for n in pool if n.free_cores >= t.cores and n.free_memory >= t.memory]
        if not ready:
            return min(pool, key=lambda n: (node_load(n), self._inflight.get(n.index, 0)))
        return max(ready, key=lambda n: self.score(run, task, n))

    def _outcome(self, node: NodeView, success: bool, duration: float | None) -> None:
        i = node.index
        self._count[i] = self._count.get(i, 0) + 1
        self._ewma(self._success, i, 1.0 if success else 0.0, initial=1.0)
        if duration is not None:
            self._ewma(self._time, i, duration, initial=0.0)

    def on_task_end(self, run: RunView, task: int, node: NodeView, duration: float) -> None:
        super().on_task_end(run, task, node, duration)
        self._outcome(node, True, duration)

    def on_task_failed(self, run: RunView, task: int, node: NodeView | None, reason: str) -> None:
        super().on_task_failed(run, task, node, reason)
        if node is not None:
            self._outcome(node, False, None)


#: Names usable in YAML (to be merged into ``PLACEMENT_STRATEGIES`` by the registry).
STRATEGIES: dict[str, type[PlacementStrategy]] = {
    cls.name: cls for cls in (LBRoundRobin, LBLeastConnections, LBWeightedRoundRobin, LBConsistentHashing,
                              LBResourceBased, LBResponseTime, LBAdaptive, ExecutorScore)
}

__all__ = [
    "FNV64_OFFSET", "FNV64_PRIME", "LB_STRATEGIES", "STRATEGIES", "ConsistentHashRing", "ExecutorScore",
    "LBAdaptive", "LBConsistentHashing", "LBLeastConnections", "LBResourceBased", "LBResponseTime",
    "LBRoundRobin", "LBWeightedRoundRobin", "LoadBalancer", "adaptive_score", "cpu_load", "fit_score",
    "fmix64", "fnv1a_64", "io_load", "memory_load", "node_load", "resource_score", "smooth_weighted_pick",
]
