"""Resource requirements of tasks (minimums, elasticity, scalability) from YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from wfsim.experiments import ConfigError, build_simulation, validate_config

BASE = {
    "name": "elastic", "seed": 1, "duration": 20,
    "placement": "earliest_finish_time",
    "topology": {"hierarchical": {"devices": 2, "edge": 1, "regional": 0}},
    "workloads": [{
        "name": "w",
        "workflow": {"tasks": [{"id": "a", "work": 4.0e9, "cores": 8, "min_cores": 2, "memory": 2.0e9,
                                "min_memory": 1.0e9, "elastic": True, "scalability": 0.5}],
                     "edges": []},
        "arrivals": {"process": "poisson", "rate": 0.5},
    }],
}


def _with_task(**fields) -> dict:
    data = {**BASE, "workloads": [{**BASE["workloads"][0]}]}
    task = {**BASE["workloads"][0]["workflow"]["tasks"][0], **fields}
    data["workloads"][0]["workflow"] = {"tasks": [task], "edges": []}
    return data


def test_task_resource_fields_reach_the_simulation(tmp_path: Path) -> None:
    sim = build_simulation(validate_config(BASE), tmp_path)
    task = sim.workloads[0].workflow.tasks[0]
    assert (task.cores, task.min_cores, task.memory, task.min_memory) == (8, 2, 2.0e9, 1.0e9)
    assert task.elastic and task.scalability == 0.5
    trace = sim.run().trace
    specs = trace.task_specs.iloc[0]
    assert (specs["min_cores"], specs["elastic"], specs["scalability"]) == (2, True, 0.5)


@pytest.mark.parametrize("fields, where, text", [
    ({"min_cores": 9}, "workloads[0].workflow", "min_cores must be in [1, cores=8]"),
    ({"scalability": 2.0}, "scalability", "less than or equal to 1"),
    ({"min_cores": 0}, "min_cores", "greater than or equal to 1"),
])
def test_bad_resource_fields_are_one_clear_error(tmp_path: Path, fields, where, text) -> None:
    with pytest.raises(ConfigError) as err:
        build_simulation(validate_config(_with_task(**fields), "exp.yaml"), tmp_path, "exp.yaml")
    message = str(err.value)
    assert message.startswith("exp.yaml: ") and where in message and text in message
