"""Named random streams spawned from one :class:`numpy.random.SeedSequence`.

Each component asks for its stream by name (``"arrivals/sensors/device-3"``). The
stream depends only on the run seed and that name, never on which other streams exist
or in which order they were created, so two strategies compared on one seed see the
same arrivals and work draws (common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np


def _name_key(name: str) -> tuple[int, ...]:
    digest = hashlib.blake2b(name.encode(), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


class RandomStreams:
    """Factory of independent, reproducible generators keyed by name.

    Args:
        seed: The run seed (any non-negative int).
    """

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._cache: dict[str, np.random.Generator] = {}

    def sequence(self, name: str) -> np.random.SeedSequence:
        """The seed sequence of stream ``name``."""
        return np.random.SeedSequence(self.seed, spawn_key=_name_key(name))

    @property
    def names(self) -> frozenset[str]:
        """Names of the streams asked for so far."""
        return frozenset(self._cache)

    def stream(self, name: str) -> np.random.Generator:
        """The generator for ``name``; the same object on every call in one run."""
        try:
            return self._cache[name]
        except KeyError:
            rng = self._cache[name] = np.random.Generator(np.random.PCG64(self.sequence(name)))
            return rng
