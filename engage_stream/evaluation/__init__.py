"""Offline evaluation of pipeline runs: models and decisions against labels, run against run.

`runs` loads a run (a replay directory, the live topics, or a replay's shadow topics),
`labels` the ground truth, `metrics` and `compare` compute, `evaluate` gathers everything,
`report` writes `eval.json` and a self-contained `report.html` (charts from `charts`).
No module here but `runs` and `labels` touches Kafka, and those only to read.
"""

from engage_stream.evaluation.evaluate import Evaluation, as_json, evaluate
from engage_stream.evaluation.labels import Label, Labels, LabelsError, load_labels_file
from engage_stream.evaluation.report import ReportPaths, render_html, write_report
from engage_stream.evaluation.runs import Run, RunLoadError, load_run_dir, load_run_topics

__all__ = [
    "Evaluation",
    "Label",
    "Labels",
    "LabelsError",
    "ReportPaths",
    "Run",
    "RunLoadError",
    "as_json",
    "evaluate",
    "load_labels_file",
    "load_run_dir",
    "load_run_topics",
    "render_html",
    "write_report",
]
