"""A third format file goes through a whole run (`nianbao run`: the GX suites built for the loaded formats, the
gate, publishing) and into the data dictionary, with no code change (the format files' own checks: unit/test_formats.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from paths import ROOT
from unit.test_formats import _copy_formats, _write


@pytest.mark.slow
def test_a_third_format_goes_through_the_gate_and_into_the_dictionary(tmp_path):
    """The 2099 draft (NIANBAO_FORMATS_DIR): a run parses, validates (GX suites built for the loaded
    formats in the run's own context; the committed ones untouched) and publishes its report as
    template 2099, and the data dictionary lists the template."""
    d = _copy_formats(tmp_path)
    _write(d, "2099.yaml", {
        "format": "2099", "extends": "2021", "notice": "draft",
        "tables": {"active_disclosure": {"blocks": [{"code": "article20_item5", "columns": [
            {"label": "本年新增事项数量", "code": "new_items", "kind": "count"}]}]}},
    })
    src = tmp_path / "src"
    src.mkdir()
    (src / "r.txt").write_text("某某县人民政府2099年政府信息公开工作年度报告\n"
                               "二、主动公开政府信息情况\n第二十条第（五）项\n信息内容\t本年处理决定数量\t本年新增事项数量\n"
                               "行政许可\t5\t2\n", encoding="utf-8")
    committed = {p.name: p.read_bytes() for p in (ROOT / "expectations" / "gx" / "expectations").glob("*.json")}
    env = {**os.environ, "NIANBAO_FORMATS_DIR": str(d)}
    dest = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--source", str(src), "--dest", str(dest),
                          "--no-prefect", "--no-progress", "--no-quality-report"],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    show = ("import json, pandas as pd; r = pd.read_parquet('{d}/current/reports'); "
            "a = pd.read_parquet('{d}/current/active_disclosure'); "
            "print(json.dumps([r['template'].astype(str).tolist(), r['verdict'].astype(str).tolist(), "
            "sorted(zip(a['column_path'].astype(str), a['value'].tolist()))], ensure_ascii=False))").format(d=dest)
    templates, verdicts, cells = json.loads(subprocess.run([sys.executable, "-c", show], capture_output=True,
                                                           text=True, env=env, cwd=ROOT, check=True).stdout)
    assert templates == ["2099"] and verdicts != ["fail"]
    assert ["本年新增事项数量", 2.0] in cells and ["本年处理决定数量", 5.0] in cells
    allowed = json.loads((dest / ".gx" / "expectations" / "reports.json").read_text(encoding="utf-8"))
    assert "2099" in json.dumps(allowed, ensure_ascii=False)
    assert committed == {p.name: p.read_bytes() for p in (ROOT / "expectations" / "gx" / "expectations").glob("*.json")}
    dictionary = subprocess.run([sys.executable, "-c", "from transforms.dictionary import render; print(render())"],
                                capture_output=True, text=True, env=env, cwd=ROOT, check=True).stdout
    assert "2099" in dictionary
