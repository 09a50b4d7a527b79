"""What every view shares: its output carries a still of its figure beside the live widget,
and an exported notebook shows that still where the widget cannot run."""

from __future__ import annotations

import base64

import nbformat

from wfsim.report.notebook import export
from wfsim.widgets import TraceExplorer

from trace_views_support import diamond_trace


def test_the_output_carries_the_widget_and_a_still_of_its_figure() -> None:
    explorer = TraceExplorer(diamond_trace())
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "text/plain" in bundle
    assert base64.b64decode(bundle["image/png"]) == bytes(explorer.canvas.image.value)


def test_an_exported_notebook_shows_the_still_not_an_empty_widget() -> None:
    bundle = TraceExplorer(diamond_trace())._repr_mimebundle_()
    cell = nbformat.v4.new_code_cell("TraceExplorer(trace)", execution_count=1, outputs=[
        nbformat.v4.new_output("display_data", data=bundle)])
    # As a notebook run by papermill has it: the widget's state saved with it, which
    # would make nbconvert choose the widget view, drawn by a script the report omits.
    model = bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
    state = {"state": {model: {"model_name": "VBoxModel", "model_module": "@jupyter-widgets/controls",
                               "model_module_version": "2.0.0", "state": {}}},
             "version_major": 2, "version_minor": 0}
    nb = nbformat.v4.new_notebook(cells=[cell], metadata={"widgets": {
        "application/vnd.jupyter.widget-state+json": state}})
    html = export(nb, "still")
    assert f'src="data:image/png;base64,{bundle["image/png"]}"' in html
    assert "application/vnd.jupyter.widget-view+json" not in html
