"""Dead-end pruning shared by the searches: values that can no longer come back."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from .model import KVModel, Model, Operation, RegisterModel


class Liveness:
    """Which values the operations not yet placed can still produce and still need.

    Moving a key away from value ``v`` is a dead end if some unplaced operation needs
    ``v`` (a read returning it, a successful ``cas`` from it) and no unplaced operation
    can produce it again (a write of it, a ``cas`` to it, definite or indeterminate):
    that operation could never be placed. This prunes whole subtrees of the search,
    e.g. every order that overwrites the value a stale read returned before placing
    the read. Only for the built-in models without ``append`` (whose values are not
    simply written).
    """

    def __init__(self, ops: Sequence[Operation], model: Model, op_key: dict[int, int] | None = None) -> None:
        """Count the needs and products of ``ops``.

        Args:
            ops: Prepared operations, none placed yet.
            model: The model.
            op_key: Op id -> key index (default: every op on one key).
        """
        self.enabled = type(model) in (RegisterModel, KVModel) and not any(op.f == "append" for op in ops)
        self.reads = model.read_functions
        self.op_key = op_key if op_key is not None else dict.fromkeys((op.id for op in ops), 0)
        self.producers: dict[tuple[int, Hashable], int] = {}
        self.needers: dict[tuple[int, Hashable], int] = {}
        if self.enabled:
            for op in ops:
                self._count(op, 1)

    def _effects(self, op: Operation) -> tuple[Hashable | None, Hashable | None, bool, bool]:
        """(needed value, produced value, needs?, produces?)."""
        if op.f in self.reads:
            return op.output, None, True, False
        if op.f != "cas":
            return None, op.value, False, True
        if op.status == "fail":
            return None, None, False, False
        return op.value[0], op.value[1], op.status == "ok", True

    def _count(self, op: Operation, delta: int) -> None:
        need, made, needs, makes = self._effects(op)
        k = self.op_key[op.id]
        if needs:
            self.needers[(k, need)] = self.needers.get((k, need), 0) + delta
        if makes:
            self.producers[(k, made)] = self.producers.get((k, made), 0) + delta

    def consume(self, op: Operation) -> None:
        """``op`` was placed."""
        if self.enabled:
            self._count(op, -1)

    def restore(self, op: Operation) -> None:
        """``op`` was taken back."""
        if self.enabled:
            self._count(op, 1)

    def kills(self, op: Operation, k: int, old: Hashable, new: Hashable) -> bool:
        """Whether placing ``op`` (state of key ``k`` from ``old`` to ``new``) is a dead end."""
        if new == old or self.producers.get((k, old), 0) > 0:
            return False
        need, _, needs, _ = self._effects(op)
        own = 1 if needs and need == old else 0
        return self.needers.get((k, old), 0) - own > 0
