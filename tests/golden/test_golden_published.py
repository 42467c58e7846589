"""Every published dataset of a run on the seeds and the real copies, row for row and value for value,
against the snapshot committed in tests/golden/data/published/ (tests/golden/data/*.csv pin the engine's cells
of the seeds; this pins what a run publishes from them: tidy rows, reports, checks, quarantine,
summaries, statements, codes, and each file's schema and metadata).

A change of the published data that is meant fails here until the snapshot is rewritten with
`python tests/published.py snapshot` and the diff is read and committed with the change. The same
comparison between two source trees at scale: bench/golden_compare.py.
"""
from __future__ import annotations

import json

import pytest
from published import diff_rows, read_snapshot, snapshot_of_this_tree, snapshot_rows


@pytest.fixture(scope="module")
def outputs():
    return snapshot_of_this_tree(), read_snapshot()


@pytest.mark.slow
def test_published_datasets_match_the_snapshot(outputs):
    now, golden = outputs
    assert sorted(now) == sorted(golden), "datasets published differ from the snapshot's"
    problems = {}
    for name in sorted(n for n in now if n.endswith(".jsonl.gz")):
        lines = diff_rows(name.removesuffix(".jsonl.gz"), snapshot_rows(golden[name]), snapshot_rows(now[name]))
        if lines:
            problems[name] = lines
    assert not problems, "published rows differ from tests/golden/data/published (A = snapshot, B = now):\n" + \
        "\n".join(f"{n}:\n" + "\n".join(ls) for n, ls in problems.items())


@pytest.mark.slow
def test_published_schemas_match_the_snapshot(outputs):
    now, golden = outputs
    a, b = json.loads(golden["schemas.json"]), json.loads(now["schemas.json"])
    assert a.keys() == b.keys()
    for name in a:
        assert a[name]["files"] == b[name]["files"], f"{name}: partition files differ"
        assert a[name]["schemas"] == b[name]["schemas"], f"{name}: schema, metadata or pandas dtypes differ"


def test_the_snapshot_covers_every_input_kind():
    """The snapshot is not vacuous: reports of each folder were published or quarantined."""
    golden = read_snapshot()
    reports = snapshot_rows(golden["reports.jsonl.gz"])
    quarantine = snapshot_rows(golden["quarantine.jsonl.gz"])
    folders = {r["source_file"].split("/")[0] for r in reports + quarantine}
    assert folders == {"seeds", "realworld", "narrative", "identity", "site"}
    assert len(snapshot_rows(golden["applications.jsonl.gz"])) > 1000
    assert {r["verdict"] for r in reports} >= {"warn", "pass"}


def test_diff_rows_names_the_changed_field():
    a = [{"report_id": "r", "table": "t", "row_path": "x", "column_path": "y", "value": 1.0}]
    b = [{"report_id": "r", "table": "t", "row_path": "x", "column_path": "y", "value": 1}]
    lines = diff_rows("applications", a, b)
    assert lines[0] == "1 row(s) only in A, 1 only in B" and "value: 1.0 → 1" in lines[1]
    assert diff_rows("applications", a, list(a)) == []
