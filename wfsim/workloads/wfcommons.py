"""Import of WfCommons workflow instances (WfFormat JSON) as :class:`Workflow` s.

`WfFormat <https://github.com/wfcommons/WfFormat>`_ 1.5 describes a recorded run of a
workflow: ``workflow.specification`` holds the DAG (``tasks`` with ``id``, ``parents``,
``children``, ``inputFiles``, ``outputFiles``; ``files`` with ``id`` and
``sizeInBytes``) and ``workflow.execution`` what happened (``tasks`` with
``runtimeInSeconds``, ``coreCount``, ``memoryInBytes``, ``machines``; ``machines`` with
``nodeName`` and ``cpu.speedInMHz``; ``makespanInSeconds``).

:func:`load_wfformat` reads a 1.5 document, or a 1.3/1.4 one by converting it, checked
offline against the bundled schema (:func:`wfformat_schema`); its docstring gives the
mapping to tasks and edges. :func:`recorded_makespan` reads the makespan recorded.

Example (with the instance shipped for the tests; run from the project's root):
    >>> from wfsim.workloads.wfcommons import load_wfformat, recorded_makespan
    >>> wf = load_wfformat("tests/data/workflows/wfsim-mosaic-10.json")
    >>> len(wf.tasks), len(wf.edges)
    (10, 15)
    >>> recorded_makespan("tests/data/workflows/wfsim-mosaic-10.json")
    131.0
"""

from __future__ import annotations

import functools
import json
import math
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wfsim.model.workflow import Edge, Task, Workflow, WorkflowValidationError

__all__ = [
    "DEFAULT_SPEED", "LEGACY_VERSIONS", "SUPPORTED_VERSION", "load_wfformat", "recorded_makespan",
    "wfformat_schema",
]

SUPPORTED_VERSION = "1.5"
"""The WfFormat version of the bundled schema."""

LEGACY_VERSIONS = ("1.3", "1.4")
"""Older versions read by converting them to the 1.5 layout."""

DEFAULT_SPEED = 1e9
"""Operations/s per core assumed for a machine whose speed is not recorded."""

_SCHEMA_URI = "urn:wfsim:wfcommons-schema.json"


# --- public API --------------------------------------------------------------------
def load_wfformat(
    path: str | os.PathLike[str],
    *,
    reference_speed: float | None = None,
    name: str | None = None,
    validate: bool = True,
) -> Workflow:
    """Read a WfFormat JSON file as a :class:`Workflow`.

    With ``validate=True`` (the default) the document is checked against the official
    WfFormat 1.5 JSON schema bundled with wfsim (``schemas/wfcommons-schema.json``,
    LGPL-3.0, see ``schemas/README.md``) before it is read. Validation is offline: the
    schema is loaded from the package and ``$ref`` s resolve only within it; nothing is
    fetched. ``format`` keywords (date-time, hostname, …) are annotations, not checked.

    Mapping to :class:`~wfsim.model.workflow.Task` and
    :class:`~wfsim.model.workflow.Workflow`:

    * ``id``: the WfFormat task ``id``.
    * ``cores``: the execution record's ``coreCount`` rounded up to an integer
      (default 1).
    * ``work`` (operations) = ``runtimeInSeconds`` × *speed* × ``cores``, where *speed*
      (operations/s per core) is ``reference_speed`` if given, else ``speedInMHz × 1e6``
      of the first machine the task lists in ``machines``, else :data:`DEFAULT_SPEED`
      (1e9, the default :class:`~wfsim.model.topology.Node` speed) when that machine is
      unknown or has no speed. A node of that speed running the task on that many
      cores therefore reproduces the recorded runtime.
    * ``memory``: ``memoryInBytes`` of the execution record (default 0).
    * Edges: one per parent/child pair, taken from the union of every task's
      ``parents`` and ``children`` lists (either end may declare it). Its bytes are the
      total size of the distinct files that the parent outputs and the child inputs
      (0 for a pure control dependency). Files shared without a declared dependency
      create no edge.
    * ``input_bytes``: workflow-input files are files that no task outputs. For each
      root task, add up the sizes of the distinct workflow-input files it reads;
      ``input_bytes`` is the largest of those totals. wfsim sends the same payload to
      every root, so the largest one is the conservative choice (every root receives
      at least what it really reads); workflow inputs read by non-root tasks are not
      modelled.
    * ``result_bytes`` is None (no return transfer) and ``deadline`` None.
    * The workflow's name is ``name`` if given, else the file's stem.

    Every task of the specification needs an execution record (wfsim needs a recorded
    runtime); a record, parent, child or file naming something that does not exist, a
    negative runtime, or a cycle raises :class:`WorkflowValidationError` naming the file
    and, where there is one, the JSON path of the offending field.

    Documents with ``schemaVersion`` 1.3 or 1.4 (tasks in ``workflow.tasks`` with
    ``runtime``/``runtimeInSeconds``, files inline with ``link: input|output`` and
    ``size``/``sizeInBytes``, tasks referring to each other by ``name``) are converted
    to the 1.5 layout first, then validated and read the same way; JSON paths in error
    messages then refer to the converted document (task and file indices are kept).
    Other versions raise :class:`WorkflowValidationError` naming the version.

    Args:
        path: The WfFormat 1.5 (or 1.3/1.4) JSON file.
        reference_speed: Operations/s per core used to turn every recorded runtime into
            work, instead of each machine's recorded speed.
        name: Workflow name; defaults to the file's stem.
        validate: Check the document against the bundled WfFormat schema first.

    Returns:
        The workflow, tasks in the file's order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        WorkflowValidationError: invalid JSON, an unsupported version, a schema
            violation, an inconsistent DAG or a cycle; the message names the file.
        ValueError: ``reference_speed`` is not positive.
    """
    if reference_speed is not None and not reference_speed > 0:
        raise ValueError(f"reference_speed must be > 0, got {reference_speed}")
    source = str(path)
    doc, legacy = _read_document(path)
    if validate:
        _validate(doc, source, legacy)
    try:
        return _build(doc, source, reference_speed, name or Path(path).stem)
    except WorkflowValidationError as exc:
        if str(exc).startswith(source):
            raise
        raise WorkflowValidationError(f"{source}: {exc}") from exc
    except (KeyError, TypeError, AttributeError) as exc:  # only reachable with validate=False
        raise WorkflowValidationError(
            f"{source}: malformed WfFormat document ({type(exc).__name__}: {exc}); "
            "load with validate=True for the offending field"
        ) from exc


def recorded_makespan(path: str | os.PathLike[str]) -> float | None:
    """The makespan in seconds recorded in a WfFormat file, or None if it has none.

    Reads ``workflow.execution.makespanInSeconds`` (1.5) or, for 1.3/1.4 documents,
    ``workflow.makespanInSeconds`` / ``workflow.makespan``. The file is not validated.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        WorkflowValidationError: the file is not JSON or of an unsupported version.
    """
    doc, _ = _read_document(path)
    workflow = doc.get("workflow")
    execution = workflow.get("execution") if isinstance(workflow, dict) else None
    value = execution.get("makespanInSeconds") if isinstance(execution, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@functools.cache
def wfformat_schema() -> dict[str, Any]:
    """The bundled WfFormat 1.5 JSON schema (treat as read-only)."""
    text = resources.files("wfsim.workloads").joinpath("schemas", "wfcommons-schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# --- reading and validation ----------------------------------------------------------
def _read_document(path: str | os.PathLike[str]) -> tuple[dict[str, Any], str | None]:
    """The document in the 1.5 layout, and the version it was converted from (or None)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"WfFormat file not found: {source}") from None
    except UnicodeDecodeError as exc:
        raise WorkflowValidationError(f"{source}: not UTF-8 text ({exc})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkflowValidationError(
            f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(doc, dict):
        raise WorkflowValidationError(f"{source}: $: a WfFormat document is a JSON object, got {type(doc).__name__}")
    version = doc.get("schemaVersion")
    if version in LEGACY_VERSIONS:
        return _from_legacy(doc), version
    if version is not None and version != SUPPORTED_VERSION:
        raise WorkflowValidationError(
            f"{source}: $.schemaVersion: unsupported WfFormat version {version!r} "
            f"(wfsim reads {SUPPORTED_VERSION}, and {' and '.join(LEGACY_VERSIONS)} by conversion)"
        )
    return doc, None


if TYPE_CHECKING:
    from jsonschema import Draft202012Validator


@functools.cache
def _validator() -> Draft202012Validator:
    # Imported here: jsonschema takes about a second to import (it compiles format
    # grammars), which every simulation would otherwise pay.
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.exceptions import NoSuchResource
    from referencing.jsonschema import DRAFT202012

    def no_network(uri: str) -> Resource:
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # attrs fields: typed for pyright only

    schema = wfformat_schema()
    # The schema's "$schema" (http://json-schema.org/schema#) means "latest draft";
    # naming the draft avoids jsonschema's unknown-metaschema warning. Every $ref must
    # resolve inside this registry: remote retrieval always fails, so nothing is fetched.
    resource = Resource.from_contents(schema, default_specification=DRAFT202012)
    registry = Registry(retrieve=no_network).with_resource(  # type: ignore[call-arg]  # as above
        _SCHEMA_URI, resource)
    return Draft202012Validator(schema, registry=registry)


def _validate(doc: dict[str, Any], source: str, legacy: str | None) -> None:
    errors = list(_validator().iter_errors(doc))
    if not errors:
        return
    from jsonschema.exceptions import best_match

    error = best_match(errors)
    more = f" (and {len(errors) - 1} more schema error(s))" if len(errors) > 1 else ""
    note = f" [path in the {legacy} document converted to the {SUPPORTED_VERSION} layout]" if legacy else ""
    raise WorkflowValidationError(f"{source}: {error.json_path}: {error.message}{more}{note}")


# --- building ------------------------------------------------------------------------
_SPEC = "$.workflow.specification"
_EXEC = "$.workflow.execution"


def _build(doc: dict[str, Any], source: str, reference_speed: float | None, name: str) -> Workflow:
    spec = doc["workflow"]["specification"]
    execution = doc["workflow"].get("execution", {})

    sizes: dict[str, float] = {f["id"]: f["sizeInBytes"] for f in spec.get("files", [])}
    machines: dict[str, dict[str, Any]] = {m["nodeName"]: m for m in execution.get("machines", [])}

    index: dict[str, int] = {}
    for i, t in enumerate(spec["tasks"]):
        if t["id"] in index:
            raise WorkflowValidationError(f"{source}: {_SPEC}.tasks[{i}].id: duplicate task id {t['id']!r}")
        index[t["id"]] = i
        for key in ("inputFiles", "outputFiles"):
            for k, file_id in enumerate(t.get(key, [])):
                if file_id not in sizes:
                    raise WorkflowValidationError(
                        f"{source}: {_SPEC}.tasks[{i}].{key}[{k}]: unknown file {file_id!r} "
                        f"(not in {_SPEC}.files)"
                    )

    records: dict[str, tuple[int, dict[str, Any]]] = {}
    for j, rec in enumerate(execution.get("tasks", [])):
        where = f"{_EXEC}.tasks[{j}]"
        if rec["id"] not in index:
            raise WorkflowValidationError(f"{source}: {where}.id: execution record of unknown task {rec['id']!r}")
        if rec["id"] in records:
            raise WorkflowValidationError(f"{source}: {where}.id: duplicate execution record {rec['id']!r}")
        records[rec["id"]] = (j, rec)

    # Dependencies: union of both ends' declarations, in file order.
    pairs: dict[tuple[str, str], None] = {}
    for i, t in enumerate(spec["tasks"]):
        for key in ("parents", "children"):
            for k, other in enumerate(t.get(key, [])):
                if other not in index:
                    kind = "parent" if key == "parents" else "child"
                    raise WorkflowValidationError(
                        f"{source}: {_SPEC}.tasks[{i}].{key}[{k}]: task {t['id']!r} names unknown {kind} {other!r}"
                    )
                pairs[(other, t["id"]) if key == "parents" else (t["id"], other)] = None

    tasks = []
    for i, t in enumerate(spec["tasks"]):
        if t["id"] not in records:
            raise WorkflowValidationError(
                f"{source}: {_SPEC}.tasks[{i}]: task {t['id']!r} has no execution record in {_EXEC}.tasks "
                "(a recorded runtime is needed)"
            )
        j, rec = records[t["id"]]
        runtime = rec["runtimeInSeconds"]
        if not runtime >= 0:
            raise WorkflowValidationError(
                f"{source}: {_EXEC}.tasks[{j}].runtimeInSeconds: runtime must be >= 0, got {runtime}"
            )
        cores = max(1, math.ceil(rec.get("coreCount", 1)))
        speed = reference_speed if reference_speed is not None else _machine_speed(rec, machines)
        tasks.append(Task(t["id"], work=runtime * speed * cores, cores=cores, memory=rec.get("memoryInBytes", 0)))

    outputs = {t["id"]: set(t.get("outputFiles", ())) for t in spec["tasks"]}
    inputs = {t["id"]: set(t.get("inputFiles", ())) for t in spec["tasks"]}
    edges = [Edge(p, c, float(sum(sizes[f] for f in outputs[p] & inputs[c]))) for p, c in pairs]

    produced = set().union(*outputs.values())
    has_parent = {c for _, c in pairs}
    roots = [task_id for task_id in index if task_id not in has_parent]
    input_bytes = max((sum(sizes[f] for f in inputs[r] - produced) for r in roots), default=0)
    return Workflow(name, tasks, edges, input_bytes=float(input_bytes))


def _machine_speed(record: dict[str, Any], machines: dict[str, dict[str, Any]]) -> float:
    """Operations/s per core of the first machine a task ran on (``speedInMHz × 1e6``),
    or :data:`DEFAULT_SPEED` when that machine is unknown or has no speed."""
    for node_name in record.get("machines", [])[:1]:
        mhz = machines.get(node_name, {}).get("cpu", {}).get("speedInMHz")
        if mhz:
            return float(mhz) * 1e6
    return DEFAULT_SPEED


# --- WfFormat 1.3 / 1.4 ----------------------------------------------------------------
def _from_legacy(doc: dict[str, Any]) -> dict[str, Any]:
    """Convert a 1.3/1.4 document (everything under ``workflow.tasks``) to the 1.5 layout.

    Tasks refer to each other by ``name`` in these versions, so the name becomes the id.
    Only what :func:`load_wfformat` reads is carried over; missing fields stay missing so
    that schema validation reports them.
    """
    workflow = doc.get("workflow")
    wf: dict[str, Any] = workflow if isinstance(workflow, dict) else {}
    files: dict[str | None, Any] = {}  # a file without a name is left to the schema to report
    spec_tasks, exec_tasks = [], []
    for t in wf.get("tasks", []) if isinstance(wf.get("tasks"), list) else []:
        if not isinstance(t, dict):
            spec_tasks.append(t)
            continue
        task_id = t.get("name", t.get("id"))
        inputs: list[Any] = []
        outputs: list[Any] = []
        for f in t.get("files", []):
            if not isinstance(f, dict):
                continue
            file_id = f.get("name")
            files.setdefault(file_id, f.get("sizeInBytes", f.get("size")))
            (inputs if str(f.get("link", "")).lower() == "input" else outputs).append(file_id)
        spec_task = {"name": t.get("name", task_id), "id": task_id, "parents": t.get("parents", []),
                     "children": t.get("children", []), "inputFiles": inputs, "outputFiles": outputs}
        spec_tasks.append({k: v for k, v in spec_task.items() if v is not None})
        rec: dict[str, Any] = {"id": task_id, "runtimeInSeconds": t.get("runtimeInSeconds", t.get("runtime"))}
        if "cores" in t:
            rec["coreCount"] = t["cores"]
        if "memoryInBytes" in t:
            rec["memoryInBytes"] = t["memoryInBytes"]
        elif "memory" in t:  # 1.3: kilobytes
            rec["memoryInBytes"] = t["memory"] * 1000
        if "machine" in t:
            rec["machines"] = [t["machine"]]
        exec_tasks.append({k: v for k, v in rec.items() if v is not None})

    machines = []
    for m in wf.get("machines", []):
        m = dict(m)
        cpu = dict(m.get("cpu", {}))
        for old, new in (("count", "coreCount"), ("speed", "speedInMHz")):
            if old in cpu:
                cpu[new] = cpu.pop(old)
        if cpu:
            m["cpu"] = cpu
        machines.append(m)

    execution: dict[str, Any] = {"tasks": exec_tasks}
    makespan = wf.get("makespanInSeconds", wf.get("makespan"))
    for key, value in (("makespanInSeconds", makespan), ("executedAt", wf.get("executedAt"))):
        if value is not None:
            execution[key] = value
    if machines:
        execution["machines"] = machines
    converted = {k: v for k, v in doc.items() if k not in ("workflow", "wms", "schemaVersion")}
    converted["schemaVersion"] = SUPPORTED_VERSION
    converted["workflow"] = {
        "specification": {"tasks": spec_tasks, "files": [{"id": k, "sizeInBytes": v} for k, v in files.items()]},
        "execution": execution,
    }
    return converted
