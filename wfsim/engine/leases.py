"""Leases on named resources, and lease-based failover.

:class:`LeaseManager` is the bookkeeping (at most one unexpired lease per resource;
an expired lease is never revived by a renewal, which the seed allows).
:class:`LeaseKeeper` runs it in the simulation as leadership of resources:

* The manager sits at the failure detector's monitor. Each resource starts held by
  one of the ``candidates`` (resource ``k`` by candidate ``k mod n``).
* The holder renews every ``renew_every`` seconds by a message to the monitor; the
  renewal takes effect when it arrives, if the lease is still unexpired there. A
  holder that is down or cut off cannot renew, and its lease expires.
* When the detector finds a holder ``Failed``, the manager sends it a revocation.
  Delivered, it revokes the lease at once; undeliverable (no route), the manager
  waits for the lease to expire (the seed's "Restart: wait for expiry"), or revokes
  it in answer to a renewal that still gets through first.
* After the revocation or the expiry, never before, the resource fails over to the
  first candidate believed ``Healthy`` and reachable from the monitor, which then
  receives the resource's state (``StateTransfer``). With none, the failover is
  recorded as failed, the resource stays vacant and failover is tried again at each
  renewal round.

Failover and the state transfer are recorded in ``recoveries`` (Failover on the old
holder: start when it was found Failed or its lease expired, done at the new
grant); every lease event in ``leases``, so P22 is checked from the trace
(:func:`~wfsim.trace.metrics.lease_violations`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import simpy

from wfsim._timers import Timers
from wfsim.engine.detection import DONE, FAILED, START, FailureDetector
from wfsim.engine.node import NodeRuntime
from wfsim.model.enums import NodeState, RecoveryAction
from wfsim.model.events import ACQUIRE, EXPIRE, REFUSE, RELEASE, RENEW, REVOKE
from wfsim.model.parameters import Tunable, param
from wfsim.trace.recorder import TraceRecorder


@dataclass(frozen=True)
class LeaseSettings(Tunable):
    """Leadership leases and lease-based failover (:class:`LeaseKeeper`; YAML: the
    ``leases:`` group). Needs failure detection.

    Attributes:
        resources: Names of the leased resources.
        candidates: Ids of the nodes that may hold them, in preference order (None:
            the detector's monitored nodes).

    Raises:
        ValueError: For ``renew_every >= duration`` (every lease would lapse) or no
            resources.

    Example:
        >>> LeaseSettings(duration=5.0, renew_every=1.0).resources
        ('leader',)
    """

    name = "leases"
    duration: float = param(10.0, low=0.1, high=60.0, doc="seconds a lease lasts from its grant or renewal")
    renew_every: float = param(3.0, low=0.05, high=60.0, doc="seconds between a holder's renewals")
    message_bytes: float = param(64.0, low=0.0, high=1e6, doc="size of a renewal or revocation message, bytes")
    resources: tuple[str, ...] = ("leader",)
    candidates: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.renew_every < self.duration:
            raise ValueError(f"leases: renew_every ({self.renew_every}) must be < duration ({self.duration})")
        if not self.resources:
            raise ValueError("leases: resources must name at least one resource")
        object.__setattr__(self, "resources", tuple(self.resources))


@dataclass
class Lease:
    """A granted lease.

    Attributes:
        holder: Node index holding it.
        expires: Time it lapses unless renewed.
    """

    holder: int
    expires: float


class LeaseManager:
    """At most one unexpired lease per resource.

    A lease is active while ``now < expires``. An acquire is refused while another
    (or the same) holder's lease is active; a renewal is refused unless the renewer
    holds an active lease (an expired lease stays expired); release (by its holder)
    and revoke end an active lease early. Every event is recorded as ``(time,
    resource, holder, event code, expires)`` (:data:`~wfsim.model.events.LEASE_EVENTS`;
    ``expires`` NaN once the lease ended or for a refusal); an expiry is recorded at
    the time the lease lapsed, when first noticed.

    Args:
        clock: The current time.
        record: Receives each event's row (a recorder's ``record_lease``).

    Example:
        >>> rows = []
        >>> now = [0.0]
        >>> m = LeaseManager(lambda: now[0], rows.append)
        >>> m.acquire(1, "leader", 5.0), m.acquire(2, "leader", 5.0)
        (True, False)
        >>> now[0] = 6.0
        >>> m.renew(1, "leader", 5.0), m.acquire(2, "leader", 5.0)
        (False, True)
    """

    def __init__(self, clock: Callable[[], float], record: Callable[[tuple], None]) -> None:
        self._clock = clock
        self._record = record
        self.leases: dict[str, Lease] = {}

    def holder(self, resource: str) -> int | None:
        """Who holds an active lease on ``resource`` now (None: nobody)."""
        lease = self._active(resource)
        return None if lease is None else lease.holder

    def _active(self, resource: str) -> Lease | None:
        lease = self.leases.get(resource)
        if lease is not None and not self._clock() < lease.expires:
            self.expire(resource)
            return None
        return lease

    def expire(self, resource: str) -> bool:
        """End ``resource``'s lease if it has lapsed (recorded at its expiry time)."""
        lease = self.leases.get(resource)
        if lease is None or self._clock() < lease.expires:
            return False
        del self.leases[resource]
        self._record((lease.expires, resource, lease.holder, EXPIRE, math.nan))
        return True

    def acquire(self, holder: int, resource: str, duration: float) -> bool:
        """Grant ``holder`` a lease of ``duration`` seconds on a resource nobody
        holds; False (recorded as refused) while an active lease exists."""
        now = self._clock()
        if self._active(resource) is not None:
            self._record((now, resource, holder, REFUSE, math.nan))
            return False
        self.leases[resource] = Lease(holder, now + duration)
        self._record((now, resource, holder, ACQUIRE, now + duration))
        return True

    def renew(self, holder: int, resource: str, duration: float) -> bool:
        """Extend ``holder``'s active lease to ``duration`` seconds from now; False
        (recorded as refused) if it holds none (never held, ended or expired)."""
        now = self._clock()
        lease = self._active(resource)
        if lease is None or lease.holder != holder:
            self._record((now, resource, holder, REFUSE, math.nan))
            return False
        lease.expires = now + duration
        self._record((now, resource, holder, RENEW, lease.expires))
        return True

    def release(self, holder: int, resource: str) -> bool:
        """End ``holder``'s own active lease early; False if it holds none."""
        lease = self._active(resource)
        if lease is None or lease.holder != holder:
            return False
        return self._end(resource, RELEASE)

    def revoke(self, resource: str) -> int | None:
        """End ``resource``'s active lease, whoever holds it; its former holder, or
        None if there was none."""
        lease = self._active(resource)
        if lease is None:
            return None
        self._end(resource, REVOKE)
        return lease.holder

    def _end(self, resource: str, event: int) -> bool:
        lease = self.leases.pop(resource)
        self._record((self._clock(), resource, lease.holder, event, math.nan))
        return True


class LeaseKeeper:
    """Leadership leases in the simulation: renewals over the network, revocation of
    a holder found ``Failed``, failover after revocation or expiry (see the module).

    Attributes:
        manager: The :class:`LeaseManager` (at the detector's monitor).
        candidates: Node indices that may hold a resource, in preference order.
        failovers: ``(resource, old holder, new holder, time)`` of each failover.

    Args:
        detector: The failure detector (its monitor hosts the manager; its beliefs
            trigger revocations and choose the new holder).
        recorder: Where lease events are recorded.
        settings: The leases.
        background: Registers the keeper's pending timers (the simulation's
            ``add_background``).

    Raises:
        ValueError: For an unknown candidate id, or no candidates.
    """

    def __init__(self, detector: FailureDetector, recorder: TraceRecorder, settings: LeaseSettings,
                 background: Callable[[Callable[[], set[simpy.Event]]], None]) -> None:
        self.detector = detector
        self.env = env = detector.env
        self.settings = settings
        self.network = detector.network
        topology = detector.topology
        if settings.candidates is None:
            self.candidates: Sequence[int] = list(detector.monitored)
        else:
            try:
                self.candidates = [topology.index_of(c) for c in settings.candidates]
            except ValueError as exc:
                raise ValueError(f"leases: candidates: {exc}") from None
        if not self.candidates:
            raise ValueError("leases: no candidate node may hold a lease")
        self.manager = LeaseManager(lambda: env.now, recorder.record_lease)
        self.failovers: list[tuple[str, int, int, float]] = []
        self._vacant: dict[str, int] = {}  # resource → its last holder, awaiting failover
        self._revoking: set[str] = set()
        self._holder: dict[str, int] = {}  # resource → its last granted holder
        self._after = Timers(env, background).after
        detector.on_suspect.append(self._suspected)
        for k, resource in enumerate(settings.resources):
            self._grant(self.candidates[k % len(self.candidates)], resource)
        self._after(settings.renew_every, self._round)

    def _grant(self, holder: int, resource: str) -> bool:
        if not self.manager.acquire(holder, resource, self.settings.duration):
            return False
        self._holder[resource] = holder
        self._watch(resource)
        return True

    def _watch(self, resource: str) -> None:
        """Check for expiry when the current lease would lapse."""
        expires, now = self.manager.leases[resource].expires, self.env.now
        delay = expires - now
        while now + delay < expires:  # never a rounding early, when the lease still holds
            delay = math.nextafter(delay, math.inf)
        self._after(delay, lambda: self._maybe_expired(resource))

    def _round(self) -> None:
        nodes, monitor, size = self.detector.nodes, self.detector.monitor, self.settings.message_bytes
        quiet = self.detector.quiet()
        for resource, lease in list(self.manager.leases.items()):
            if nodes[lease.holder].up and not quiet:
                self.network.send(lease.holder, monitor, size, self._renewal, lease.holder, resource)
        for resource, old in list(self._vacant.items()):
            self._failover(resource, old)
        self._after(self.settings.renew_every, self._round)

    def _renewal(self, holder: int, resource: str) -> None:
        if resource in self._revoking and self.manager.holder(resource) == holder:
            # Found Failed and not yet revoked (the revocation found no route): the
            # renewal shows the way back, and the revocation is its answer.
            self._revoked(holder, resource)
        elif self.manager.renew(holder, resource, self.settings.duration):
            self._watch(resource)

    def _maybe_expired(self, resource: str) -> None:
        # Held means renewed (or granted anew) since this check was set.
        if self.manager.holder(resource) is not None or resource in self._vacant:
            return
        old = self._holder[resource]
        if resource not in self._revoking:
            self.detector.record_recovery(old, RecoveryAction.FAILOVER, START)
        self._revoking.discard(resource)
        self._failover(resource, old)

    def _suspected(self, node: NodeRuntime) -> None:
        if self.detector.state[node.index] is not NodeState.FAILED:
            return
        for resource, lease in list(self.manager.leases.items()):
            if lease.holder != node.index or resource in self._revoking:
                continue
            self._revoking.add(resource)
            self.detector.record_recovery(node.index, RecoveryAction.FAILOVER, START)
            # Undeliverable: the lease's expiry will free the resource instead.
            self.network.send(self.detector.monitor, node.index, self.settings.message_bytes,
                              self._revoked, node.index, resource)

    def _revoked(self, holder: int, resource: str) -> None:
        if self.manager.holder(resource) != holder:
            return  # it expired (and failed over) while the revocation travelled
        self.manager.revoke(resource)
        self._revoking.discard(resource)
        self._failover(resource, holder)

    def _failover(self, resource: str, old: int) -> None:
        """Hand ``resource`` (free: revoked or expired) to the first healthy, reachable
        candidate other than ``old``, and send it the resource's state."""
        detector = self.detector
        route = detector.topology.route
        for new in self.candidates:
            if (new != old and detector.state[new] is NodeState.HEALTHY
                    and route(detector.monitor, new) is not None and self._grant(new, resource)):
                break
        else:
            if resource not in self._vacant:
                detector.record_recovery(old, RecoveryAction.FAILOVER, FAILED)
            self._vacant[resource] = old
            return
        self._vacant.pop(resource, None)
        detector.record_recovery(old, RecoveryAction.FAILOVER, DONE)
        self.failovers.append((resource, old, new, self.env.now))
        detector.record_recovery(new, RecoveryAction.STATE_TRANSFER, START)
        detector.transfer(new, detector.settings.state_bytes,
                           lambda: detector.record_recovery(new, RecoveryAction.STATE_TRANSFER, DONE),
                           lambda: detector.record_recovery(new, RecoveryAction.STATE_TRANSFER, FAILED))
