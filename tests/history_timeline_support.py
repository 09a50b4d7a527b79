"""Reading an operation-history timeline back from its axes (tests of the timeline and of
the verification panel that draws it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    """One operation's bar as drawn."""

    face: tuple[float, ...]
    linewidth: float
    start: float
    end: float
    hatch: str | None


def drawn_bars(ax) -> dict[int, Bar]:
    """Op id → its bar, read from the timeline's collections."""
    bars = {}
    for c in ax.collections:
        if c.get_gid() in ("history-ops", "history-ops-open"):
            faces, widths = c.get_facecolors(), c.get_linewidths()
            for i, (url, path) in enumerate(zip(c.get_urls(), c.get_paths(), strict=True)):
                xs = path.vertices[:, 0]
                bars[int(url.removeprefix("#op-"))] = Bar(tuple(faces[i]), float(widths[i % len(widths)]),
                                                          float(xs.min()), float(xs.max()), c.get_hatch())
    return bars
