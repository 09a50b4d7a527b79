"""The views in a real browser: JupyterLab on localhost, driven in Debian's chromium.

The test writes a notebook (:data:`SETUP`, then a cell per view of :data:`VIEWS`) into
a private directory, starts ``jupyter lab`` on a free port of 127.0.0.1 with private
config, data, runtime, settings and workspace directories, opens the notebook in
headless chromium through Playwright, runs it from the Run menu, and checks that every
view renders its figure and that a filter of the first view, clicked, changes what is
drawn (its image's ``src``: the kernel sends an image only when its bytes change). It
saves a screenshot of each view, named after its CSS class: into the test's tmp
directory, or into ``$WFSIM_SCREENSHOTS`` (``make screenshots`` writes
``docs/screenshots``).

The browser is Debian's ``chromium`` (``.ci/chromium.sh`` installs it; Playwright never
downloads one). Without it the test is skipped, except in CI (``CI`` set, as hosted CI
does, or ``WFSIM_CI``, as ``.ci/run`` does), where it fails. The network may be closed: chromium is started with
its background networking off and JupyterLab with news and update checks off.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

playwright = pytest.importorskip("playwright.sync_api")

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}
#: Seconds to wait for JupyterLab to start, for a view to appear once the cells run, and
#: for a figure to change after a click (generous: CI machines may be busy).
STARTUP_TIMEOUT = 120
RENDER_TIMEOUT = 180
REDRAW_TIMEOUT = 60

#: JupyterLab settings (plugin → values): start the notebook's kernel without asking,
#: fetch no news, check for no updates, keep every cell in the page.
SETTINGS = {
    "@jupyterlab/notebook-extension:tracker": {"autoStartDefaultKernel": True, "windowingMode": "none"},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False,
                                                   "doNotDisturbMode": True},
}

#: The notebook: a setup cell running a small simulation, then one cell per view.
SETUP = """\
import wfsim
from wfsim import (EarliestFinishTime, HealthChange, LocationRequirement, Poisson, Simulation, Task, Workflow,
                   Workload, hierarchical)
from wfsim.verify import check_catalog, check_formula
from wfsim.widgets import ComparisonView, StudyExplorer, TopologyView, TraceExplorer, VerificationPanel
from wfsim.workloads import layered_random

sense = Workflow("sense", [
    Task("sample", work=2e8, location=LocationRequirement.specific("LocalDevice")),
    Task("filter", work=5e8, location=LocationRequirement.specific("EdgeCloud")),
    Task("model", work=4e9, cores=2, location=LocationRequirement.specific("RegionalCloud")),
    Task("alert", work=2e8, location=LocationRequirement.preferred_order(["EdgeCloud", "Cloud"])),
], edges=[("sample", "filter", 1e6), ("filter", "model", 5e6), ("model", "alert", 1e4)], input_bytes=1e5)
workloads = [Workload("sense", sense, Poisson(0.3)), Workload("layers", layered_random(4, 4, seed=5), Poisson(0.1))]
degraded = [HealthChange(20, "edge-1", "Degraded"), HealthChange(40, "edge-1", "Healthy")]
result = Simulation(hierarchical(devices=8, edge=3, regional=2), workloads, placement=EarliestFinishTime(),
                    health=degraded, duration=60, seed=7).run()
"""

#: CSS class of a view's top-level widget → the cell that shows it. The first view is
#: the one whose filter the test clicks (:func:`click_filter`).
VIEWS = {
    "wfsim-trace-explorer": "TraceExplorer(result.trace)",
    "wfsim-topology-view": "TopologyView(result.trace)",
    "wfsim-verification-panel": """\
# The catalog, and a formula that fails (no workflow fails): its counterexamples in a trace explorer.
VerificationPanel([*check_catalog(result.trace), check_formula(result.trace, "F failed")], trace=result.trace)
""",
    "wfsim-comparison-view": """\
experiment = {"name": "two-tiers", "duration": 20,
              "topology": {"hierarchical": {"devices": 6, "edge": 2, "regional": 1}},
              "workloads": [{"name": "w", "workflow": {"generator": "chain", "length": 3, "work": 1.0e9},
                             "arrivals": {"process": "poisson", "rate": 0.2}}]}
batch = wfsim.batch({"experiment": experiment, "grid": {"placement": ["nearest_edge", "heft", "earliest_finish_time"]}},
                    replications=3, workers=1)
ComparisonView(batch)
""",
    "wfsim-study-explorer": """\
import yaml

with open("two-tiers.yaml", "w") as file:
    yaml.safe_dump(experiment, file)
study = wfsim.tune({"experiment": "two-tiers.yaml", "objective": "Latency", "seed": 3, "replications": 1,
                    "held_out": 0, "pruner": "none",
                    "space": {"placement": {"strategy": ["hybrid_dynamic", "heft"],
                                            "params": {"latency_weight": {"low": 0.0, "high": 1.0}}}}},
                   n_trials=8)
StudyExplorer(study)
""",
}


def click_filter(view: playwright.Locator) -> None:
    """Show only the edge clouds in the trace explorer: pick that tier in its filter."""
    view.locator(".widget-select-multiple", has_text="tier").locator("select").select_option(label="EdgeCloud")


@dataclass
class Lab:
    """A JupyterLab starting in the background: :attr:`url` waits until it answers."""

    server: subprocess.Popen[bytes]
    runtime: Path
    token: str
    log: Path

    @functools.cached_property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, with the port the server chose (from its
        ``jpserver-PID.json``), once it answers."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                pytest.fail(f"jupyter lab exited with status {self.server.returncode}:\n{self.log.read_text()}")
            info = self.runtime / f"jpserver-{self.server.pid}.json"
            if info.exists():
                url = f"http://127.0.0.1:{json.loads(info.read_text())['port']}"
                try:
                    with urllib.request.urlopen(f"{url}/api/status?token={self.token}", timeout=5):
                        return url
                except OSError:
                    pass
            time.sleep(0.2)
        pytest.fail(f"jupyter lab did not answer within {STARTUP_TIMEOUT} s:\n{self.log.read_text()}")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """JupyterLab serving ``tmp_path/root`` (holding ``views.ipynb``), stopped afterwards.

    It is not waited for: the browser starts meanwhile."""
    if CHROMIUM is None:
        if os.environ.get("CI") or os.environ.get("WFSIM_CI"):
            pytest.fail("chromium is missing; .ci/chromium.sh installs it")
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium, or bash .ci/chromium.sh)")
    root = tmp_path / "root"
    root.mkdir()
    write_notebook(root / "views.ipynb")
    for plugin, values in SETTINGS.items():
        package, name = plugin.split(":")
        path = tmp_path / "settings" / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    token = secrets.token_hex(16)
    # The kernel inherits this: it imports wfsim from this checkout and draws off-screen.
    env = {**os.environ, "MPLBACKEND": "Agg", "IPYTHONDIR": str(tmp_path / "ipython"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           **{f"JUPYTER_{kind}_DIR": str(tmp_path / kind.lower()) for kind in ("CONFIG", "DATA", "RUNTIME")}}
    log = tmp_path / "jupyterlab.log"
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--port=0",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
               f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"]
    with log.open("w") as output:
        # A session of its own, so that the server and whatever it started stop together.
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield Lab(server, tmp_path / "runtime", token, log)
    finally:
        _stop(server)


def write_notebook(path: Path) -> None:
    """The notebook of :data:`SETUP` and :data:`VIEWS`, for the ``python3`` kernel."""
    cells = [nbformat.v4.new_code_cell(source) for source in (SETUP, *VIEWS.values())]
    kernel = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernel}), path)


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server (it shuts its kernels down); kill its session if it lingers."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def page(tmp_path: Path) -> Iterator[playwright.Page]:
    """A page of headless chromium with a fresh profile."""
    with playwright.sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path / "chromium"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport=VIEWPORT)
        try:
            yield context.new_page()
        finally:
            context.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the screenshots go: ``$WFSIM_SCREENSHOTS``, or the test's tmp directory."""
    directory = Path(os.environ.get("WFSIM_SCREENSHOTS") or tmp_path / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def test_views_render_in_jupyterlab_and_a_filter_redraws(lab: Lab, page: playwright.Page, screenshots: Path,
                                                          tmp_path: Path):
    page.goto(f"{lab.url}/doc/tree/views.ipynb?token={lab.token}")
    # Running before the kernel is up does nothing: wait until the status bar shows it idle.
    page.locator("#jp-main-statusbar").get_by_text(re.compile(r"Python 3 .*\| Idle")).wait_for(
        timeout=STARTUP_TIMEOUT * 1000)
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    for css in VIEWS:
        view = page.locator(f".{css}").first   # the view itself, before any view it holds
        _rendered(page, view, tmp_path / "failed.png")
        _screenshot(page, view, screenshots / f"{css.removeprefix('wfsim-')}.png")

    first = page.locator(f".{next(iter(VIEWS))}").first
    figure = first.locator(".wfsim-figure").first
    before = figure.get_attribute("src")
    click_filter(first)
    playwright.expect(figure).not_to_have_attribute("src", before or "", timeout=REDRAW_TIMEOUT * 1000)


def _screenshot(page: playwright.Page, view: playwright.Locator, path: Path) -> None:
    """Save a PNG of ``view``, the page made tall enough to show all of it at once."""
    box = view.bounding_box()
    height = math.ceil(box["height"]) + 200 if box else 0   # the menu, toolbars and status bar
    page.set_viewport_size({**VIEWPORT, "height": max(VIEWPORT["height"], height)})
    try:
        view.screenshot(path=path, animations="disabled")
    finally:
        page.set_viewport_size(VIEWPORT)


def _rendered(page: playwright.Page, view: playwright.Locator, failed_png: Path) -> None:
    """Wait until ``view`` shows its figure; fail with the notebook's tracebacks as soon as
    one shows (and a screenshot of the page in ``failed_png``)."""
    figure = view.locator(".wfsim-figure").and_(page.locator("img[src^='blob:']")).first
    failed = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                          has_text="Traceback")
    with contextlib.suppress(AssertionError):  # neither shows up: said below
        playwright.expect(figure.or_(failed).first).to_be_visible(timeout=RENDER_TIMEOUT * 1000)
    if not figure.is_visible():
        page.screenshot(path=failed_png, full_page=True)
        pytest.fail(f"{view} did not render (the page: {failed_png}); the notebook's tracebacks:\n"
                    + "\n".join(failed.all_inner_texts()), pytrace=False)
