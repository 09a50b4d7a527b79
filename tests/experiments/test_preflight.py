"""Issue 8, item 4: inputs are judged up front.

Each reproduction is a config that validated and then could only fail (every
workflow failing, nothing arriving), run out of memory or never end (YAML that
blew up: test_yaml_loader.py). ``wfsim validate`` and ``wfsim run`` now refuse it: status 2, one line naming
the file, the field and what is allowed, and ``run`` refuses before building the
topology or simulating.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from wfsim.engine.simulation import Simulation
from wfsim.experiments import ConfigError, build_simulation, load_config, preflight, validate_config
from wfsim.experiments import building as building_module
from wfsim.experiments.loading import MAX_YAML_DEPTH
from wfsim.experiments.preflight import EVENTS_PER_TASK, expected_arrivals
from wfsim.model.enums import Tier
from wfsim.model.topology import Link, Node, Topology
from wfsim.model.workflow import LocationKind, LocationRequirement, Task, Workflow
from wfsim.workloads.arrivals import MMPP, Periodic, Poisson, TraceArrivals
from wfsim.workloads.workload import Workload

from cli_support import assert_user_error, cli

BASE: dict[str, Any] = {
    "name": "tiny",
    "seed": 3,
    "duration": 4,
    "topology": {"hierarchical": {"devices": 2, "edge": 1, "regional": 1}},
    "workloads": [{"name": "w", "workflow": {"generator": "chain", "length": 2},
                   "arrivals": {"process": "poisson", "rate": 0.5}}],
}
#: phone - edge, and a cloud no link reaches.
ISLAND = {"nodes": [{"id": "phone", "tier": "LocalDevice"}, {"id": "edge", "tier": "EdgeCloud"},
                    {"id": "far", "tier": "Cloud"}],
          "links": [{"a": "phone", "b": "edge"}]}


def _tasks(*tasks: dict[str, Any], **workload: Any) -> Callable[[dict[str, Any]], None]:
    """An inline workflow ``a -> b -> …`` of these tasks."""
    ids = [t["id"] for t in tasks]
    flow = {"tasks": list(tasks), "edges": [[x, y] for x, y in zip(ids, ids[1:])]}
    return lambda c: c["workloads"][0].update(workflow=flow, **workload)


def _set(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda c: c.update(fields)


def _wl(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda c: c["workloads"][0].update(fields)


def _both(*mutations: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(c: dict[str, Any]) -> None:
        for mutate in mutations:
            mutate(c)
    return apply


# id -> (mutation of BASE; files beside it; needles in the one-line message)
CASES: dict[str, tuple[Any, dict[str, str], list[str]]] = {
    # tasks no node can host
    "cores-above-every-node": (_tasks({"id": "a"}, {"id": "b", "cores": 1024}), {},
                               ["workloads[0].workflow.tasks[1].cores", "task 'b'", "1024 cores", "cores <= 512"]),
    "min-cores-above-every-node": (_tasks({"id": "a", "cores": 1024, "min_cores": 600}), {},
                                   ["workloads[0].workflow.tasks[0].min_cores", "600", "min_cores <= 512"]),
    "memory-above-every-node": (_tasks({"id": "a", "memory": 1e15}), {},
                                ["workloads[0].workflow.tasks[0].memory", "1 PB", "2.2 TB", "memory <= "]),
    "generator-task-cores": (_wl(workflow={"generator": "chain", "length": 2, "task": {"cores": 1024}}), {},
                             ["workloads[0].workflow.task.cores", "task 't0'", "cores <= 512"]),
    # autoscaling may grow an edge cloud to 16 cores, but placement checks the 4 it has
    "autoscaling-does-not-count": (_both(_tasks({"id": "a", "cores": 8, "location": "Specific",
                                                 "tiers": ["EdgeCloud"]}),
                                         lambda c: c["topology"]["hierarchical"].update(
                                             nodes={"EdgeCloud": {"cores": 4}}),
                                         _set(autoscaling={"strategy": "threshold", "tiers": ["EdgeCloud"],
                                                           "max_factor": 4})), {},
                                   ["workloads[0].workflow.tasks[0].cores", "cores <= 4"]),
    "specific-tier-absent": (_both(_tasks({"id": "a", "location": "Specific", "tiers": ["RegionalCloud"]}),
                                   lambda c: c["topology"]["hierarchical"].update(regional=0)), {},
                             ["workloads[0].workflow.tasks[0].location", "Specific [RegionalCloud]",
                              "no node of that tier", "allowed: LocalDevice, EdgeCloud, Cloud"]),
    "any-of-tiers-absent": (_both(_tasks({"id": "a", "location": "AnyOf", "tiers": ["EdgeDevice", "RegionalCloud"]}),
                                  lambda c: c["topology"]["hierarchical"].update(regional=0)), {},
                            ["workloads[0].workflow.tasks[0].location", "AnyOf [EdgeDevice, RegionalCloud]",
                             "no node of those tiers"]),
    "other-users-device": (_tasks({"id": "a", "location": "Specific", "tiers": ["LocalDevice"]},
                                  origins=["edge-0"]), {},
                           ["workloads[0].workflow.tasks[0].location", "origin 'edge-0'", "private",
                            "origin's tier is EdgeCloud"]),
    "generator-own-task-tier-absent": (_both(_set(topology={"nodes": ISLAND["nodes"][:2],
                                                            "links": ISLAND["links"]}),
                                             _wl(workflow={"generator": "order_processing"})), {},
                                       ["workloads[0].workflow:", "task 'process_payment'", "Specific [Cloud]"]),
    # origins differ: one device too small for its own task, one on an island
    "own-device-too-small": (_both(_set(topology={"nodes": [{"id": "phone-a", "tier": "LocalDevice", "cores": 4},
                                                            {"id": "phone-b", "tier": "LocalDevice", "cores": 1},
                                                            {"id": "edge", "tier": "EdgeCloud"}],
                                                  "links": [{"a": "phone-a", "b": "edge"},
                                                            {"a": "phone-b", "b": "edge"}]}),
                                   _tasks({"id": "a", "cores": 2, "location": "Specific", "tiers": ["LocalDevice"]})),
                             {}, ["workloads[0].workflow.tasks[0].cores", "origin 'phone-b' can", "cores <= 1"]),
    "one-origin-on-an-island": (_both(_set(topology={"nodes": [*ISLAND["nodes"], {"id": "phone-b",
                                                                                 "tier": "LocalDevice"}],
                                                     "links": ISLAND["links"]}),
                                      _tasks({"id": "a", "location": "Specific", "tiers": ["EdgeCloud"]})), {},
                                ["topology.links", "origin 'phone-b' can", "no route", "(edge)"]),
    # nodes unreachable from the origins
    "unreachable-tier": (_both(_set(topology=ISLAND),
                               _tasks({"id": "a"}, {"id": "b", "location": "Specific", "tiers": ["Cloud"]})), {},
                         ["topology.links", "task 'b'", "origin 'phone'", "no route", "(far)"]),
    "unreachable-from-chosen-origin": (_both(_set(topology=ISLAND),
                                             _tasks({"id": "a", "location": "Specific", "tiers": ["EdgeCloud"]},
                                                    origins=["far"])), {},
                                       ["workloads[0].origins", "origin 'far'", "no route", "(edge)"]),
    # the only hosts drained by `health:` for the whole arrival window
    "hosts-drained-throughout": (_both(_tasks({"id": "a", "location": "Specific", "tiers": ["Cloud"]}),
                                       _set(health=[{"time": 0, "node": "cloud", "status": "Maintenance"}])), {},
                                 ["health", "task 'a'", "cloud (Maintenance)", "whole arrival window"]),
    # workloads in which nothing can arrive
    "duration-zero": (_set(duration=0), {}, ["duration", "[0, 0) is empty", "duration > 0"]),
    "end-before-start": (_wl(start=3, end=2), {}, ["workloads[0].end", "[3, 2) is empty", "end > start"]),
    "start-after-duration": (_wl(start=10), {}, ["workloads[0].start", "not before duration 4",
                                                 "start < duration"]),
    "until-before-start": (_both(_wl(start=2), _set(until=1)), {}, ["until", "not after workloads[0].start 2"]),
    "no-origins": (_wl(origins=[]), {}, ["workloads[0].origins", "at least 1 item"]),
    "periodic-phase-past-window": (_wl(arrivals={"process": "periodic", "period": 1, "phase": 5}), {},
                                   ["workloads[0].arrivals", "[0, 4)", "start + phase = 5"]),
    "trace-rows-outside-window": (_wl(arrivals={"process": "trace", "path": "a.csv"}), {"a.csv": "time\n7\n9\n"},
                                  ["workloads[0].arrivals", "[0, 4)", "a.csv"]),
    # too large to run
    "ten-million-devices": (lambda c: c["topology"]["hierarchical"].update(devices=10_000_000), {},
                            ["topology.hierarchical", "10000003 nodes", "270 GB", "limits.max_nodes = 100000",
                             "--set limits.max_nodes="]),
    "rate-1e9": (lambda c: c["workloads"][0]["arrivals"].update(rate=1e9), {},
                 ["workloads[0]", "8e+09 arrivals", "over 4 s from 2 origin(s)", "× 2 task(s) × 9",
                  "1.44e+11 events", "21.6 TB", "limits.max_events = 20000000", "--set limits.max_events="]),
    "duration-1e12": (_set(duration=1e12), {}, ["workloads[0]", "1e+12 arrivals", "PB", "limits.max_events"]),
    "chain-1e8-tasks": (_wl(workflow={"generator": "chain", "length": 100_000_000}), {},
                        ["workloads[0].workflow", "'chain' would make 100000000 tasks", "limits.max_events",
                         "at most 2222222 tasks"]),
    "layered-1e10-tasks": (_wl(workflow={"generator": "layered_random", "layers": 1e5, "width": 1e5}), {},
                           ["workloads[0].workflow", "10000000000 tasks"]),
    # a run stopped at `until` keeps rebalancing and autoscaling every interval until then
    "until-1e9-with-rebalancing": (_set(until=1e9, rebalance={"interval": 15},
                                        autoscaling={"strategy": "threshold", "interval": 10}), {},
                                   ["until", "until 1e+09 s", "5 nodes", "8.33e+08 events", "limits.max_events",
                                    "a longer rebalance or autoscaling interval"]),
}


def make_case(directory: Path, case: str) -> Path:
    """Write case ``case`` (BASE changed by its mutation, and its files) to ``directory``."""
    mutate, files, _ = CASES[case]
    data = copy.deepcopy(BASE)
    mutate(data)
    for name, text in {**files, "exp.yaml": yaml.safe_dump(data, sort_keys=False)}.items():
        (directory / name).write_text(text)
    return directory / "exp.yaml"


@pytest.fixture
def nothing_large_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a large hierarchical topology or workflow is built, or a run starts."""
    build = building_module.hierarchical

    def small_only(devices: int = 10, *args: Any, **kwargs: Any) -> Any:
        assert devices < 1000, "the topology was built before the size check"
        return build(devices, *args, **kwargs)

    def no_run(self: Simulation, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the run started")

    monkeypatch.setattr(building_module, "hierarchical", small_only)
    for name, generator in list(building_module.GENERATORS.items()):
        @functools.wraps(generator)  # the config reads the generator's parameters from its signature
        def small_workflow(*args: Any, _generator: Any = generator, **kwargs: Any) -> Any:
            assert all(kwargs.get(size, 0) < 1000 for size in ("length", "width", "layers")), \
                "the workflow was built before the size check"
            return _generator(*args, **kwargs)

        monkeypatch.setitem(building_module.GENERATORS, name, small_workflow)
    monkeypatch.setattr(Simulation, "run", no_run)


@pytest.mark.usefixtures("nothing_large_is_built")
@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", CASES)
def test_refused_up_front(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, case: str) -> None:
    cfg = make_case(tmp_path, case)
    extra = ["--out", tmp_path / "out"] if command == "run" else []
    rc, out, err = cli(capsys, command, cfg, *extra)
    assert_user_error(rc, err, f"wfsim: error: {cfg}: ", *CASES[case][2])
    assert out == ""
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fields", [
    {"cores": 1024, "min_cores": 2},                 # starts at its minimum
    {"memory": 1e15, "min_memory": 1e9},
    {"location": "PreferredOrder", "tiers": ["EdgeDevice", "Cloud"]},   # one preferred tier absent is fine
    {"location": "Specific", "tiers": ["LocalDevice"]},                 # its own device
])
def test_tasks_that_fit_somewhere_are_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               fields: dict[str, Any]) -> None:
    data = copy.deepcopy(BASE)
    _tasks({"id": "a", **fields})(data)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump(data))
    rc, _, err = cli(capsys, "validate", cfg)
    assert (rc, err) == (0, "")


@pytest.mark.parametrize("health", [
    [{"time": 0, "node": "cloud", "status": "Maintenance"}, {"time": 2, "node": "cloud", "status": "Healthy"}],
    [{"time": 1, "node": "cloud", "status": "Unhealthy"}],      # drained only after arrivals began
    [{"time": 0, "node": "cloud", "status": "Degraded"}],
])
def test_hosts_drained_for_part_of_the_window_are_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          health: list[dict[str, Any]]) -> None:
    data = copy.deepcopy(BASE)
    _both(_tasks({"id": "a", "location": "Specific", "tiers": ["Cloud"]}), _set(health=health))(data)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump(data))
    rc, _, err = cli(capsys, "validate", cfg)
    assert rc == 0, err


def test_limit_is_a_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The run over a lowered limit is refused; raising it with --set lets it through,
    and the manifest records only a limit that differs from the default."""
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump({**BASE, "limits": {"max_events": 30}}))
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "out", "-q")
    assert_user_error(rc, err, "limits.max_events = 30 ")
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "out", "-q", "--set", "limits.max_events=1e4")
    assert rc == 0, err
    manifest = yaml.safe_load((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["config"]["limits"] == {"max_events": 10_000, "max_nodes": preflight.DEFAULT_MAX_NODES}
    rc, _, err = cli(capsys, "run", cfg, "--out", tmp_path / "out", "-q", "--set", "limits.max_nodes=4")
    assert_user_error(rc, err, "topology.hierarchical", "5 nodes", "limits.max_nodes = 4")
    default = tmp_path / "default.yaml"
    default.write_text(yaml.safe_dump(BASE))
    assert cli(capsys, "run", default, "--out", tmp_path / "d", "-q")[0] == 0
    assert "limits" not in yaml.safe_load((tmp_path / "d" / "manifest.json").read_text())["config"]


def test_node_limit_applies_to_listed_nodes_and_topology_files(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "topo.yaml").write_text(yaml.safe_dump(ISLAND))
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump({**BASE, "topology": {"file": "topo.yaml"}, "limits": {"max_nodes": 2}}))
    rc, _, err = cli(capsys, "validate", cfg)
    assert_user_error(rc, err, f"{tmp_path / 'topo.yaml'}: topology.nodes: 3 nodes", "limits.max_nodes = 2")


# --- the estimate ------------------------------------------------------------------
@pytest.mark.parametrize("process", [Poisson(2.0), MMPP((0.5, 4.0), (3.0, 1.0)), Periodic(0.7, 0.3, 0.2)],
                         ids=lambda p: p.name)
def test_expected_arrivals_match_what_arrives(process: Any) -> None:
    import numpy as np

    origins = [f"o{i}" for i in range(40)]
    arrived = sum(len(list(process.times(np.random.default_rng(i), 5.0, 105.0))) for i in range(len(origins)))
    assert expected_arrivals(process, 5.0, 105.0, origins) == pytest.approx(arrived, rel=0.1)


def test_expected_arrivals_of_a_trace_count_its_rows_per_origin(tmp_path: Path) -> None:
    shared = tmp_path / "shared.csv"
    shared.write_text("time\n1\n2\n50\n")
    per_origin = tmp_path / "per.csv"
    per_origin.write_text("time,origin\n1,a\n2,b\n3,b\n50,a\n")
    assert expected_arrivals(TraceArrivals(str(shared)), 0, 10, ["a", "b", "c"]) == 6
    assert expected_arrivals(TraceArrivals(str(per_origin)), 0, 10, ["a", "b", "c"]) == 3


@pytest.mark.parametrize("name", ["quickstart", "campus", "maintenance", "compare-placement"])
def test_estimate_bounds_a_real_run(name: str) -> None:
    """Events per task bound what each shipped experiment records, and the estimate is
    within a factor of two of the rows its run records."""
    path = Path(__file__).resolve().parents[2] / "experiments" / f"{name}.yaml"
    config = load_config(path)
    sim = build_simulation(config, path.parent, str(path))
    predicted = sum(s.events for s in preflight.estimate(sim, config))
    trace = sim.run().trace
    rows = sum(len(getattr(trace, k)) for k in ("workflows", "workflow_events", "task_events", "transfers",
                                                 "link_usage", "allocations", "migrations", "states",
                                                 "rebalances"))
    executions = int((trace.task_events["event"] == "end").sum())
    assert rows / executions <= EVENTS_PER_TASK
    assert rows / 2 <= predicted <= 2 * rows


def test_readme_states_the_calibration_and_defaults() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"{EVENTS_PER_TASK} trace events per task at about {preflight.BYTES_PER_EVENT} bytes" in readme
    assert f"nodes at about {preflight.BYTES_PER_NODE // 1000} KB each" in readme
    assert (f"limits: {{max_events: {preflight.DEFAULT_MAX_EVENTS}, max_nodes: {preflight.DEFAULT_MAX_NODES}}}"
            in readme)
    assert f"nested deeper than {MAX_YAML_DEPTH} levels" in readme


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_placement_check_agrees_with_every_origins_candidates(data: st.DataObject) -> None:
    """Checking one origin per class (component, tier, size) refuses exactly the
    configs in which some origin has no candidate for some task."""
    tiers = [t.value for t in Tier]
    n = data.draw(st.integers(2, 7))
    # Mostly devices of few sizes, so that origins share classes and classes differ.
    device_heavy = st.sampled_from(tiers) | st.just(Tier.LOCAL_DEVICE.value)
    nodes = [{"id": f"n{i}", "tier": data.draw(device_heavy), "cores": data.draw(st.integers(1, 2)),
              "memory": data.draw(st.sampled_from([1e9, 4e9]))} for i in range(n)]
    pairs = data.draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
                              .filter(lambda p: p[0] < p[1]), max_size=n + 2))
    links = [{"a": f"n{a}", "b": f"n{b}"} for a, b in sorted(pairs)]
    task = {"id": "t", "cores": data.draw(st.integers(1, 2)), "memory": data.draw(st.sampled_from([0.0, 2e9])),
            "location": data.draw(st.sampled_from(["All", "Specific", "AnyOf"]))}
    if task["location"] != "All":
        task["tiers"] = data.draw(st.lists(st.sampled_from(tiers), min_size=1, max_size=1 if task["location"]
                                           == "Specific" else 3, unique=True))
    config = validate_config({**BASE, "topology": {"nodes": nodes, "links": links},
                              "workloads": [{**BASE["workloads"][0], "workflow": {"tasks": [task]}}]})
    topology = Topology([Node(**{**x, "tier": Tier.parse(x["tier"])}) for x in nodes],
                        [Link(**x) for x in links])
    fields = {k: v for k, v in task.items() if k != "tiers"}
    fields["location"] = LocationRequirement(LocationKind(task["location"]),
                                             tuple(Tier.parse(t) for t in task.get("tiers", ())))
    spec = Task(**fields)
    sim = Simulation(topology, [Workload("w", Workflow("w", [spec]), Poisson(0.5))], duration=4)
    stranded = any(not sim.cluster.candidates(spec, o) for o in sim._origins(sim.workloads[0]))
    error: ConfigError | None = None
    try:
        build_simulation(config)
    except ConfigError as exc:
        error = exc
    assert (error is not None) == stranded
    if error is not None:
        assert error.field is not None and error.field.startswith(("workloads[0].workflow.tasks[0]", "topology.links"))


def test_validate_prints_the_size_estimate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(yaml.safe_dump(BASE))
    rc, out, err = cli(capsys, "validate", cfg)
    config = load_config(cfg)
    events = preflight.expected_events(build_simulation(config, tmp_path, str(cfg)), config)
    assert rc == 0 and out.strip().endswith(preflight.describe_size(events)), err
    assert events > 0
