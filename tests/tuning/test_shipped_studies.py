"""Every study shipped in experiments/studies/ loads: its experiment, space,
objectives, constraints and sampler pass every check."""

from __future__ import annotations

from pathlib import Path

import pytest

from wfsim.tuning import load_study

STUDIES = sorted((Path(__file__).resolve().parents[2] / "experiments" / "studies").glob("*.yaml"))


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.name)
def test_study_loads(path: Path) -> None:
    study = load_study(path)
    assert study.space.distributions and study.space.defaults() is not None
    assert len(study.seeds) == study.file.replications
