"""Verdicts on reference histories must match their ``verdicts.json``.

Each test runs on the project's own generated histories (``tests/data/histories``,
see ``tests/data/README.md``) and, when present, on the Porcupine test histories in
``../shared/data`` (skipped with a reason on a fresh clone).
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
import time
from types import ModuleType

import pytest

from wfsim.verify.history import Budget, check_history, load_history, parse_history

from reference_data import HISTORY_SETS, OWN, OWN_HISTORIES, SHARED_HISTORIES, HistorySet, params
from test_history_properties import brute_linearizable

EXPECTED = {"linearizable": "ok", "not-linearizable": "violation"}


def _cases(data: HistorySet, folder: str) -> list[tuple[str, str]]:
    return sorted(data.verdicts(folder).items())


@pytest.mark.parametrize("data", params((d, ()) for d in HISTORY_SETS))
def test_every_register_history_gets_its_verdict(data: HistorySet) -> None:
    cases = _cases(data, data.register)
    folder = data.root / data.register
    logs = {p.name for p in folder.glob("*.log") if p.stat().st_size}
    assert len(cases) == (data.register_count or len(logs))
    assert {name for name, _ in cases} <= logs
    start = time.perf_counter()
    wrong = []
    for name, expected in cases:
        history = load_history(folder / name, format="jepsen")
        assert len(history) > 0, name
        verdict = check_history(history, model="register", consistency="linearizable", budget=30)
        if verdict.verdict != EXPECTED[expected]:
            wrong.append((name, expected, verdict.verdict, verdict.reason))
    assert not wrong
    # Porcupine checks the etcd histories in a few seconds; keep us in the same league.
    assert time.perf_counter() - start < 30


@pytest.mark.parametrize("data", params((d, ()) for d in HISTORY_SETS))
def test_an_empty_log_is_not_a_case(data: HistorySet) -> None:
    # etcd_095.log: the etcd cluster failed to start in run 95, the log is empty and
    # has no verdict; the own fixtures mimic it with empty.log.
    path = data.root / data.register / data.empty
    if not path.exists():
        pytest.skip(f"{data.empty} absent")
    assert data.empty not in dict(_cases(data, data.register))
    assert len(load_history(path)) == 0


@pytest.mark.parametrize(("data", "name"), params((d, (n,)) for d in HISTORY_SETS for n in d.kv_names))
def test_kv_history_gets_its_verdict(data: HistorySet, name: str) -> None:
    expected = dict(_cases(data, data.kv))[name]
    history = load_history(data.root / data.kv / name)  # format auto-detected
    hard = name in data.kv_hard
    budget = Budget(time_s=10, max_states=2_000_000) if hard else Budget(time_s=60)
    verdict = check_history(history, model="kv", consistency="linearizable", budget=budget)
    if hard:
        assert verdict.verdict != "ok"  # may be unknown within a small budget, never ok
    else:
        assert verdict.verdict == EXPECTED[expected]
    if expected == "linearizable":
        # Weaker levels accept whatever linearizability accepts.
        for level in ("sequential", "causal"):
            assert check_history(history, "kv", level, budget=30).verdict == "ok"
    if verdict.verdict == "violation":
        cex = verdict.counterexample
        assert cex is not None and cex.blocked is not None and cex.blocked not in cex.prefix
        assert verdict.to_json()["counterexample"]["key"] == cex.key


def _register_violations() -> list[tuple[HistorySet, tuple[str]]]:
    own = [(OWN_HISTORIES, (name,)) for name, verdict in _cases(OWN_HISTORIES, "register")
           if verdict == "not-linearizable"]
    return [*own, (SHARED_HISTORIES, ("etcd_000.log",))]


@pytest.mark.parametrize(("data", "name"), params(_register_violations()))
def test_violation_counterexample_is_consistent(data: HistorySet, name: str) -> None:
    """The reported prefix replays legally, and the blocked op follows none of it."""
    from wfsim.verify.history.model import RegisterModel

    history = load_history(data.root / data.register / name)
    verdict = check_history(history, "register", "linearizable")
    cex = verdict.counterexample
    assert verdict.verdict == "violation" and cex is not None
    model, state = RegisterModel(), None
    ops = {op.id: op for op in history}
    for i in cex.prefix:
        legal, state = model.step(state, ops[i])
        assert legal
    assert state == cex.state
    assert set(cex.operations) >= set(cex.prefix) | {cex.blocked}
    json.dumps(verdict.to_json())


# --- the generator of the own histories --------------------------------------------


def _generator() -> ModuleType:
    """``tests/data/generate.py``, which is not in a package."""
    name = "wfsim_tests_data_generate"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, OWN / "generate.py")
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return sys.modules[name]


def test_own_histories_are_what_the_generator_writes() -> None:
    """The committed fixtures are up to date (``python tests/data/generate.py`` rewrites them)."""
    gen = _generator()
    assert gen.differences() == []
    files = [p for p in OWN.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert sum(p.stat().st_size for p in files) < 600_000  # small: well under 1 MB


@pytest.mark.parametrize("kind", ["register", "kv"])
def test_own_verdict_arguments_are_sound_on_small_histories(kind: str) -> None:
    """What the generator proves is what brute force finds.

    On histories small enough to try every order, a history as generated is
    linearizable, and every perturbation the generator keeps (because it proved
    a violation) makes it non-linearizable: the arguments behind the verdicts of
    the larger fixtures do not prove false things.
    """
    gen = _generator()
    perturbations = {
        "register": [gen.stale_read, gen.overwritten_read, gen.thin_air_read, gen.future_read,
                     gen.cas_from_wrong_value, gen.cas_failed_on_right_value, gen.resurrected_write],
        "kv": [gen.lost_append, gen.reordered_appends, gen.value_of_another_key, gen.lost_put],
    }[kind]
    write = gen.jepsen_log if kind == "register" else gen.edn_lines
    initial = None if kind == "register" else ""
    plans = []
    for seed in range(80):
        rng = random.Random(seed)
        clients, n = rng.randint(1, 3), rng.randint(3, 6)
        options = {"info": rng.choice([0.0, 0.3]), "timeout": rng.choice([0.0, 0.2]), "mix": rng.choice([0.2, 0.4])}
        if kind == "kv":
            options["keys"] = rng.choice([1, 2])
        plans.append((seed, clients, n, options))
    if kind == "register":
        # A resurrected write needs an indeterminate write, two reads and an
        # overwrite: rare at this size, so search the seeds for one.
        options = {"info": 0.4, "reads": 0.5}
        for seed in range(5000):
            ops = gen.plan(random.Random(seed), kind, 2, 6, **options)
            gen.set_lines(ops)
            gen.replay(ops, initial)
            if gen.resurrected_write(ops) is not None:
                plans.append((seed, 2, 6, options))
                break
    proved: dict[str, int] = dict.fromkeys((p.__name__ for p in perturbations), 0)
    for seed, clients, n, options in plans:
        for perturb in [None, *perturbations]:
            ops = gen.plan(random.Random(seed), kind, clients, n, **options)
            gen.set_lines(ops)
            gen.replay(ops, initial)
            if perturb is not None:
                if perturb(ops) is None:
                    continue
                proved[perturb.__name__] += 1
            history = parse_history(write(ops))
            assert brute_linearizable(kind, list(history)) == (perturb is None), (seed, perturb, write(ops))
    assert all(proved.values()), proved


def test_own_fixture_shapes() -> None:
    """The own register and kv fixtures contain the shapes the README promises."""
    text = "".join(p.read_text() for p in (OWN / "histories" / "register").glob("*.log"))
    for needle in (":info\t:write\t:timed-out", ":info\t:cas\t:timed-out", ":fail\t:read\t:timed-out",
                   ":fail\t:write\t:timed-out", ":fail\t:cas\t[", ":ok\t:cas\t["):
        assert needle in text, needle
    kv = "".join(p.read_text() for p in (OWN / "histories" / "kv").glob("*.txt"))
    for needle in (":type :info", ":type :fail, :f :get", ":f :put", ":f :append"):
        assert needle in kv, needle
    why = json.loads((OWN / "histories" / "register" / "verdicts.json").read_text())["why"]
    assert "took effect after its client gave up and was read" in why["r05-info-ok.log"]
