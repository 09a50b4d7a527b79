"""`wfsim compare`: variants on common seeds, a Markdown table, user errors."""

from __future__ import annotations

from pathlib import Path

import yaml

from wfsim.experiments.compare import compare
from wfsim.experiments.summaries import METRICS

from cli_support import assert_user_error, cli

CONFIG = {
    "name": "cmp", "seed": 0, "duration": 20,
    "topology": {"hierarchical": {"devices": 4, "edge": 1, "regional": 1}},
    "workloads": [{"name": "w", "workflow": {"generator": "chain", "length": 2, "work": 1.0e9},
                   "arrivals": {"process": "poisson", "rate": 0.3}}],
}


def write(tmp_path: Path) -> Path:
    path = tmp_path / "cmp.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


def test_variants_share_seeds_and_differ_where_they_should(tmp_path: Path) -> None:
    results = compare(write(tmp_path), {"placement": ["cloud_only", "nearest_edge"]}, seeds=[1, 2], workers=1).runs
    assert list(results["placement"]) == ["cloud_only", "cloud_only", "nearest_edge", "nearest_edge"]
    assert set(METRICS) <= set(results.columns)
    by = results.set_index(["placement", "seed"])
    # Same seeds: the same workflows arrive under both strategies...
    assert (by.loc["cloud_only", "workflows.completed"] == by.loc["nearest_edge", "workflows.completed"]).all()
    # ...and a 1e9-op task is three times faster on a cloud core than on a device.
    assert (by.loc["cloud_only", "latency.mean"] < by.loc["nearest_edge", "latency.mean"]).all()


def test_cli_prints_and_writes_a_markdown_table(tmp_path: Path, capsys) -> None:
    out = tmp_path / "table.md"
    rc, stdout, err = cli(capsys, "compare", write(tmp_path), "-q", "--seeds", "1", "2",
                          "--vary", "placement=cloud_only,nearest_edge", "--vary", "network=fast,shared", "--out", out)
    assert rc == 0, err
    lines = stdout.strip().splitlines()
    assert lines[0].startswith("| placement | network | completed |")
    assert len(lines) == 2 + 4  # header, rule, 2 × 2 variants
    marker, table = out.read_text().split("\n", 1)
    assert marker == "<!-- written by wfsim compare -->" and table.strip() == stdout.strip()


def test_bad_variant_is_a_user_error_before_anything_runs(tmp_path: Path, capsys) -> None:
    rc, _, err = cli(capsys, "compare", write(tmp_path), "-q", "--vary", "placement=nearest_edge,teleport")
    assert_user_error(rc, err, "placement.strategy", "'teleport'", "allowed:")
    rc, _, err = cli(capsys, "compare", write(tmp_path), "-q", "--vary", "placement")
    assert_user_error(rc, err, "--vary", "key.path=value1,value2")
