"""Throughput of wfsim against the same model written in plain SimPy (the floor).

Usage::

    .venv/bin/python benchmarks/bench_continuum.py --devices 1000 --json
    .venv/bin/python benchmarks/bench_continuum.py --devices 5000 --json

Scenario (the issue's benchmark): ``N`` devices -> ``N/20`` edge clouds ->
``N/100`` regional clouds -> one cloud, as :func:`wfsim.hierarchical` builds it with
its tier and link defaults (device ``i`` on edge ``i mod E``, edge ``j`` on regional
``j mod R``). Every device submits requests Poisson(``--rate``) over ``--duration``
simulated seconds; a request is a 2-task chain:

1. the request payload (:data:`INPUT_BYTES`) goes device -> its edge node
   (one hop: 5 ms, 100 Mbit/s);
2. task ``edge`` (:data:`EDGE_WORK` ops, 1 core) runs on that edge node
   (16 cores x 2e9 ops/s, so 0.05 s);
3. :data:`DATA_BYTES` go edge -> regional -> cloud (store and forward, 10 ms at
   1 Gbit/s then 30 ms at 10 Gbit/s);
4. task ``cloud`` (:data:`CLOUD_WORK` ops, 1 core) runs in the cloud
   (512 cores x 3e9 ops/s, so 0.05 s). No result is sent back.

Load at 5000 devices: cloud 5000 x 1.5e8 / (512 x 3e9) = 0.49 of its cores, each
edge node 20 x 1e8 / (16 x 2e9) = 0.06, the busiest link (edge -> regional) 0.016.
So nothing saturates and queues stay short; both sides do the same work.

What each side does (each runs in its own fresh subprocess, so peak RSS is its own):

* **wfsim** (``--side wfsim``): builds the topology with ``hierarchical(N, N/20,
  N/100)``, one :class:`~wfsim.Workload` (Poisson, every device an origin), placement
  :class:`~wfsim.NearestEdge` (task ``edge`` has ``Specific(EdgeCloud)``, task
  ``cloud`` ``Specific(Cloud)``), FIFO scheduling, the ``fast`` network, tracing on
  (the trace recorder is always on in wfsim: every placed/ready/start/end task event,
  every transfer, every link hop, every workflow state change is recorded).
  ``wfsim_wall_s`` is :attr:`RunResult.wall_seconds`, the ``env.run()`` of
  :meth:`Simulation.run` (events plus recording tuples); ``wfsim_trace_build_s`` is the
  rest of that call (turning the tuples into typed DataFrames); ``wfsim_total_s``
  covers importing wfsim, building the topology and the simulation, the run and the
  trace. Afterwards
  (untimed) it checks in the trace that every ``edge`` task ran on its device's own
  edge node and every ``cloud`` task in the cloud.
* **plain SimPy** (``--side simpy``): the same model as a competent SimPy user would
  write it, without wfsim: one process per device generating arrivals, one process
  per request; each node's cores a ``simpy.Resource(capacity=cores)``; each link
  direction used (device -> edge, edge -> regional, regional -> cloud) a
  ``simpy.Resource(capacity=1)`` held for ``bytes / bandwidth``, then a
  ``timeout(latency)`` for propagation (store and forward per hop); task duration
  ``work / speed``. It records nothing but a count of task executions and a running
  sum of request latencies (for the cross-check below). ``simpy_wall_s`` is its
  ``env.run()``.

Both sides draw each device's arrivals from the same numpy stream (seed derived as
:class:`wfsim.engine.randomness.RandomStreams` does, for the stream name wfsim uses),
so they simulate the very same requests: the task counts must be equal, and the mean
request latency must agree (up to tie-breaking between simultaneous events). The
script reports both, so a floor that silently does less work would show.

Metrics:

* ``*_task_execs_per_s``: task executions (``end`` events in ``trace.task_events``;
  the floor's counter) per wall-clock second of ``env.run()``. ``ratio`` is wfsim
  over plain SimPy (best of ``--repeat`` runs on each side).
* ``events_per_task_exec``: SimPy events scheduled by the run over task executions.
  It reads ``next(env._eid)`` after the run: a SimPy internal (SimPy 4 numbers every
  scheduled event from this counter), so it is the number of events *scheduled*; both
  sides run until the queue is empty, so every one was also processed.
* ``peak_rss_mb``: ``ru_maxrss`` of the side's own process (after the trace is built,
  for wfsim), max over repeats.

Targets (from the issue): ``ratio >= 0.6``; ``events_per_task_exec <= 8``; the
5000-device run (wfsim side, ``wfsim_total_s``: from importing wfsim to the built
trace) in under 15 s and 2 GB. ``targets_met`` gives each check; the scale check is
null below 5000 devices.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import simpy

# --- the model (shared by both sides) -----------------------------------------------
EDGE_WORK = 1e8        # ops of task 1, on the device's edge node
CLOUD_WORK = 1.5e8     # ops of task 2, in the cloud
INPUT_BYTES = 1e4      # request payload, device -> edge
DATA_BYTES = 1e5       # task 1 -> task 2, edge -> regional -> cloud
WORKLOAD = "continuum"  # workload name; also names the arrival streams

# wfsim's hierarchical() defaults (the wfsim side checks they still hold).
EDGE_CORES, EDGE_SPEED = 16, 2e9
CLOUD_CORES, CLOUD_SPEED = 512, 3e9
DEVICE_EDGE = (0.005, 12.5e6)       # (latency s, bandwidth B/s)
EDGE_REGIONAL = (0.010, 125e6)
REGIONAL_CLOUD = (0.030, 1.25e9)

ARRIVAL_BATCH = 256  # exponential gaps drawn per numpy call, as wfsim's Poisson does

TARGET_RATIO = 0.6
TARGET_EVENTS = 8.0
TARGET_SCALE_DEVICES, TARGET_SCALE_S, TARGET_SCALE_MB = 5000, 15.0, 2048.0


def scale(devices: int) -> tuple[int, int]:
    """``(edge, regional)`` for ``devices``: N/20 and N/100, at least one each."""
    return max(1, devices // 20), max(1, devices // 100)


def arrival_rng(seed: int, device: int) -> np.random.Generator:
    """The arrival stream wfsim gives ``device`` (same derivation as ``RandomStreams``)."""
    name = f"arrivals/{WORKLOAD}/device-{device}"
    digest = hashlib.blake2b(name.encode(), digest_size=16).digest()
    key = tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux: ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- wfsim side ------------------------------------------------------------------------
def run_wfsim(devices: int, duration: float, rate: float, seed: int,
              placement: str = "nearest_edge", scheduling: str = "fifo") -> dict[str, Any]:
    """Run the scenario through wfsim; return raw figures."""
    t_total = time.perf_counter()
    from wfsim import Edge, LocationRequirement, Poisson, Simulation, Task, Tier, Workflow, Workload, hierarchical
    from wfsim.policies.registry import PLACEMENT_STRATEGIES, SCHEDULING_POLICIES

    edge, regional = scale(devices)
    topology = hierarchical(devices, edge, regional)
    check_defaults(topology)
    workflow = Workflow(
        "edge_cloud_chain",
        [Task("edge", work=EDGE_WORK, location=LocationRequirement.specific(Tier.EDGE_CLOUD)),
         Task("cloud", work=CLOUD_WORK, location=LocationRequirement.specific(Tier.CLOUD))],
        [Edge("edge", "cloud", DATA_BYTES)],
        input_bytes=INPUT_BYTES,
    )
    sim = Simulation(topology, [Workload(WORKLOAD, workflow, Poisson(rate))],
                     placement=PLACEMENT_STRATEGIES[placement](),
                     scheduling=SCHEDULING_POLICIES[scheduling], duration=duration, seed=seed)
    cpu = time_cpu_of_run(sim.env)
    t_run = time.perf_counter()
    result = sim.run()
    run_s = time.perf_counter() - t_run
    total_s = time.perf_counter() - t_total
    rss = peak_rss_mb()
    events = next(sim.env._eid)  # SimPy internal: number of events scheduled

    # Untimed checks on the trace.
    trace = result.trace
    te = trace.task_events
    ends = te[te["event"] == "end"]
    starts = te[te["event"] == "start"]
    origin = trace.workflows.set_index("workflow")["origin"].astype(str)
    node = starts["node"].astype(str).to_numpy()
    device = origin.loc[starts["workflow"]].str.removeprefix("device-").astype(int).to_numpy()
    expected = np.where(starts["task"].astype(str).to_numpy() == "edge",
                        np.char.add("edge-", (device % edge).astype(str)), "cloud")
    we = trace.workflow_events
    done = we[we["state"] == "Completed"].set_index("workflow")["time"]
    arrival = trace.workflows.set_index("workflow")["arrival"]
    return {
        "task_execs": len(ends),
        "requests": len(trace.workflows),
        "completed": len(done),
        "wall_s": result.wall_seconds,
        "trace_build_s": run_s - result.wall_seconds,
        "cpu_s": cpu[0],
        "total_s": total_s,
        "events": events,
        "peak_rss_mb": rss,
        "mean_latency_s": float((done - arrival.loc[done.index]).mean()) if len(done) else None,
        "placement_ok": bool(len(starts) == len(ends) and (node == expected).all()),
    }


def time_cpu_of_run(env: simpy.Environment) -> list[float]:
    """Wrap ``env.run`` (on this instance only) to add its CPU seconds to the returned
    one-element list: on a busy machine process time is steadier than wall time."""
    spent = [0.0]
    run = env.run

    def timed_run(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return run(*args, **kwargs)
        finally:
            spent[0] += time.process_time() - start

    env.run = timed_run  # type: ignore[method-assign]
    return spent


def check_defaults(topology: Any) -> None:
    """Fail loudly if wfsim's tier or link defaults drifted from the floor's constants."""
    from wfsim import Tier

    def first(prefix: str) -> Any:
        return next(n for n in topology.nodes if n.id.startswith(prefix))

    link = {(lk.a.split("-")[0], lk.b.split("-")[0]): (lk.latency, lk.bandwidth) for lk in topology.links}
    actual = {
        "edge": (first("edge-").tier, first("edge-").cores, first("edge-").speed),
        "cloud": (first("cloud").cores, first("cloud").speed),
        "links": (link[("device", "edge")], link[("edge", "regional")], link[("regional", "cloud")]),
    }
    wanted = {
        "edge": (Tier.EDGE_CLOUD, EDGE_CORES, EDGE_SPEED),
        "cloud": (CLOUD_CORES, CLOUD_SPEED),
        "links": (DEVICE_EDGE, EDGE_REGIONAL, REGIONAL_CLOUD),
    }
    if actual != wanted:
        raise SystemExit(f"wfsim defaults changed; update the floor's constants: {actual} != {wanted}")


# --- plain SimPy side ------------------------------------------------------------------
class PlainSimPyModel:
    """The same scenario written directly in SimPy: a process per request, resources
    for cores and link directions. Records only counts and a latency sum."""

    def __init__(self, devices: int, duration: float, rate: float, seed: int) -> None:
        self.env = simpy.Environment()
        self.devices = devices
        self.edge, self.regional = scale(devices)
        self.duration = duration
        self.rate = rate
        self.seed = seed
        env = self.env
        self.edge_cores = [simpy.Resource(env, EDGE_CORES) for _ in range(self.edge)]
        self.cloud_cores = simpy.Resource(env, CLOUD_CORES)
        self.device_up = [simpy.Resource(env, 1) for _ in range(devices)]       # device -> edge
        self.edge_up = [simpy.Resource(env, 1) for _ in range(self.edge)]       # edge -> regional
        self.regional_up = [simpy.Resource(env, 1) for _ in range(self.regional)]  # regional -> cloud
        self.requests = 0
        self.task_execs = 0
        self.completed = 0
        self.latency_sum = 0.0

    def start(self) -> None:
        """One arrival process per device."""
        for d in range(self.devices):
            self.env.process(self.source(d, arrival_rng(self.seed, d)))

    def source(self, device: int, rng: np.random.Generator) -> Iterator[simpy.Event]:
        """Poisson arrivals of ``device`` in ``[0, duration)``."""
        env, t, mean_gap = self.env, 0.0, 1.0 / self.rate
        while True:
            for gap in rng.exponential(mean_gap, ARRIVAL_BATCH).tolist():
                t += gap
                if t >= self.duration:
                    return
                yield env.timeout(t - env.now)
                self.requests += 1
                env.process(self.request(device))

    def hop(self, link: simpy.Resource, nbytes: float, latency: float, bandwidth: float) -> Iterator[simpy.Event]:
        """Store and forward over one link direction: transmit (holding it), then propagate."""
        with link.request() as req:
            yield req
            yield self.env.timeout(nbytes / bandwidth)
        yield self.env.timeout(latency)

    def request(self, device: int) -> Iterator[simpy.Event]:
        """One request: payload up, task at the edge, data to the cloud, task in the cloud."""
        env = self.env
        arrival = env.now
        e = device % self.edge
        r = e % self.regional
        yield from self.hop(self.device_up[device], INPUT_BYTES, *DEVICE_EDGE)
        with self.edge_cores[e].request() as req:
            yield req
            yield env.timeout(EDGE_WORK / EDGE_SPEED)
        self.task_execs += 1
        yield from self.hop(self.edge_up[e], DATA_BYTES, *EDGE_REGIONAL)
        yield from self.hop(self.regional_up[r], DATA_BYTES, *REGIONAL_CLOUD)
        with self.cloud_cores.request() as req:
            yield req
            yield env.timeout(CLOUD_WORK / CLOUD_SPEED)
        self.task_execs += 1
        self.completed += 1
        self.latency_sum += env.now - arrival


def run_simpy(devices: int, duration: float, rate: float, seed: int) -> dict[str, Any]:
    """Run the plain-SimPy floor; return raw figures."""
    t_total = time.perf_counter()
    model = PlainSimPyModel(devices, duration, rate, seed)
    model.start()
    t_run, c_run = time.perf_counter(), time.process_time()
    model.env.run()
    wall_s, cpu_s = time.perf_counter() - t_run, time.process_time() - c_run
    return {
        "task_execs": model.task_execs,
        "requests": model.requests,
        "completed": model.completed,
        "wall_s": wall_s,
        "cpu_s": cpu_s,
        "total_s": time.perf_counter() - t_total,
        "events": next(model.env._eid),  # SimPy internal: number of events scheduled
        "peak_rss_mb": peak_rss_mb(),
        "mean_latency_s": model.latency_sum / model.completed if model.completed else None,
    }


# --- driver ----------------------------------------------------------------------------
def run_side(side: str, args: argparse.Namespace) -> dict[str, Any]:
    """Best (shortest ``wall_s``) of ``--repeat`` fresh subprocesses of one side;
    ``peak_rss_mb`` is the max over them."""
    runs = []
    for _ in range(args.repeat):
        cmd = [sys.executable, __file__, "--side", side, "--devices", str(args.devices),
               "--duration", str(args.duration), "--rate", str(args.rate), "--seed", str(args.seed),
               "--placement", args.placement, "--scheduling", args.scheduling]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out))
    best = min(runs, key=lambda r: r["wall_s"])
    return {**best, "peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}


def summarize(args: argparse.Namespace, w: dict[str, Any], s: dict[str, Any] | None) -> dict[str, Any]:
    """The benchmark's JSON object."""
    edge, regional = scale(args.devices)
    w_rate = w["task_execs"] / w["wall_s"]
    s_rate = s["task_execs"] / s["wall_s"] if s else None
    ratio = w_rate / s_rate if s_rate else None
    ratio_cpu = (w["task_execs"] / w["cpu_s"]) / (s["task_execs"] / s["cpu_s"]) if s else None
    events = w["events"] / w["task_execs"]
    at_scale = args.devices >= TARGET_SCALE_DEVICES
    return {
        "devices": args.devices, "edge": edge, "regional": regional,
        "duration": args.duration, "rate": args.rate, "seed": args.seed, "repeat": args.repeat,
        "requests": w["requests"], "task_execs": w["task_execs"],
        "wfsim_task_execs_per_s": w_rate,
        "simpy_task_execs_per_s": s_rate,
        "ratio": ratio,
        "ratio_cpu": ratio_cpu,
        "events_per_task_exec": events,
        "peak_rss_mb": w["peak_rss_mb"],
        "wfsim_wall_s": w["wall_s"],
        "wfsim_cpu_s": w["cpu_s"],
        "wfsim_trace_build_s": w["trace_build_s"],
        "wfsim_total_s": w["total_s"],
        "wfsim_mean_latency_s": w["mean_latency_s"],
        "wfsim_placement_ok": w["placement_ok"],
        "simpy_wall_s": s["wall_s"] if s else None,
        "simpy_cpu_s": s["cpu_s"] if s else None,
        "simpy_task_execs": s["task_execs"] if s else None,
        "simpy_events_per_task_exec": s["events"] / s["task_execs"] if s else None,
        "simpy_peak_rss_mb": s["peak_rss_mb"] if s else None,
        "simpy_mean_latency_s": s["mean_latency_s"] if s else None,
        "same_task_execs": (s["task_execs"] == w["task_execs"]) if s else None,
        "targets_met": {
            f"ratio>={TARGET_RATIO}": (ratio >= TARGET_RATIO) if ratio is not None else None,
            f"events_per_task_exec<={TARGET_EVENTS:g}": events <= TARGET_EVENTS,
            f"{TARGET_SCALE_DEVICES}_devices_under_{TARGET_SCALE_S:g}s_and_{TARGET_SCALE_MB:g}MB": (
                w["total_s"] < TARGET_SCALE_S and w["peak_rss_mb"] < TARGET_SCALE_MB) if at_scale else None,
        },
    }


def print_table(result: dict[str, Any]) -> None:
    """Human-readable form of :func:`summarize`'s output."""
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
        return str(v)

    print(f"wfsim vs plain SimPy: {result['devices']} devices, {result['edge']} edge, "
          f"{result['regional']} regional, 1 cloud; {result['duration']:g} s at {result['rate']:g}/s per device")
    rows = [
        ("task executions", result["task_execs"], result["simpy_task_execs"]),
        ("wall s (env.run)", result["wfsim_wall_s"], result["simpy_wall_s"]),
        ("CPU s (env.run)", result["wfsim_cpu_s"], result["simpy_cpu_s"]),
        ("task execs / s", result["wfsim_task_execs_per_s"], result["simpy_task_execs_per_s"]),
        ("events / task exec", result["events_per_task_exec"], result["simpy_events_per_task_exec"]),
        ("peak RSS MB", result["peak_rss_mb"], result["simpy_peak_rss_mb"]),
        ("mean latency s", result["wfsim_mean_latency_s"], result["simpy_mean_latency_s"]),
    ]
    print(f"  {'':22}{'wfsim':>14}{'plain SimPy':>14}")
    for name, a, b in rows:
        print(f"  {name:22}{fmt(a):>14}{fmt(b):>14}")
    print(f"  ratio (wfsim / SimPy) {fmt(result['ratio'])} (wall), {fmt(result['ratio_cpu'])} (CPU)")
    print(f"  wfsim trace build s   {fmt(result['wfsim_trace_build_s'])}; total s {fmt(result['wfsim_total_s'])}; "
          f"placement ok: {result['wfsim_placement_ok']}")
    for name, ok in result["targets_met"].items():
        print(f"  target {name}: {'n/a' if ok is None else 'met' if ok else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000, help="devices; edge = N/20, regional = N/100")
    parser.add_argument("--duration", type=float, default=60.0, help="simulated seconds of arrivals")
    parser.add_argument("--rate", type=float, default=1.0, help="requests per second per device")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="best of K runs of each side")
    parser.add_argument("--skip-simpy", action="store_true", help="run the wfsim side only")
    parser.add_argument("--placement", default="nearest_edge",
                        help="wfsim placement strategy (any registry name; the floor always does "
                             "nearest edge, so other strategies show their overhead in the ratio)")
    parser.add_argument("--scheduling", default="fifo", help="wfsim scheduling policy (any registry name)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--side", choices=["wfsim", "simpy"],
                        help="internal: run one side in this process and print its raw figures")
    args = parser.parse_args()

    if args.side == "wfsim":
        print(json.dumps(run_wfsim(args.devices, args.duration, args.rate, args.seed,
                                   args.placement, args.scheduling)))
        return
    if args.side == "simpy":
        print(json.dumps(run_simpy(args.devices, args.duration, args.rate, args.seed)))
        return
    w = run_side("wfsim", args)
    s = None if args.skip_simpy else run_side("simpy", args)
    result = {**summarize(args, w, s), "placement": args.placement, "scheduling": args.scheduling}
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)


if __name__ == "__main__":
    main()
