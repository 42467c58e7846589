"""Writes notebooks/explore.ipynb (source of truth for the analysts' notebook): python -m flows.make_notebook"""
from pathlib import Path

import nbformat as nbf

CELLS = [
    ("md", "# Exploring the nianbao datasets\n\nLoads the published datasets with **pandas**, **DuckDB** and "
           "**polars** (no partitioning argument: every file holds its `report_year`, a nullable integer; "
           "reports with no year are in the `unknown/` folders) and answers two questions:\n\n"
           "1. What share of handled applications was granted (fully or partly), by report year and format?\n"
           "2. Which bodies' carry-over does not add up (新收 + 上年结转 ≠ 总计 + 结转下年度)?\n\n"
           "Set `NIANBAO_DATA` to read another output folder (default `../data/processed`)."),
    ("code", "import os\nfrom pathlib import Path\n\nimport duckdb\nimport pandas as pd\nimport polars as pl\n"
             "\n"
             "DATA = Path(os.environ.get('NIANBAO_DATA', '../data/processed'))\n"
             "def glob(name):\n    return str(DATA / name / '**' / '*.parquet')\nDATA"),
    ("md", "## pandas"),
    ("code", "apps = pd.read_parquet(DATA / 'applications')\n"
             "reports = pd.read_parquet(DATA / 'reports')\n"
             "print(len(reports), 'reports,', len(apps), 'application cells')\n"
             "reports[['organization', 'report_year', 'template', 'verdict']].head()"),
    ("md", "## Q1 — share of applications granted, by year and format (DuckDB)\n\n"
           "Applicant column `total`; granted = `granted` + `partially_granted`, over `total_handled` (（七）总计)."),
    ("code", "q1 = duckdb.sql(f'''\n"
             "SELECT report_year, template,\n"
             "       count(DISTINCT report_id) AS reports,\n"
             "       sum(value) FILTER (WHERE outcome_code = 'granted') AS granted,\n"
             "       sum(value) FILTER (WHERE outcome_code = 'partially_granted') AS partially_granted,\n"
             "       sum(value) FILTER (WHERE outcome_code = 'total_handled') AS handled,\n"
             "       round((granted + partially_granted) / nullif(handled, 0), 3) AS share_granted\n"
             "FROM read_parquet('{glob('applications')}')\n"
             "WHERE applicant_code = 'total'\n"
             "GROUP BY ALL ORDER BY report_year, template''').df()\nq1"),
    ("code", "assert len(q1) > 0 and q1['share_granted'].dropna().between(0, 1).all()"),
    ("md", "## Q2 — bodies whose carry-over does not add up (polars)\n\n"
           "Per report and applicant column: 一、本年新收 + 二、上年结转 − （七）总计 − 四、结转下年度. "
           "Non-zero means the table's balance identity is broken."),
    ("code", "wide = (pl.scan_parquet(glob('applications'))\n"
             "        .filter(pl.col('outcome_code').is_in(['new_applications', 'carried_over_from_previous_year',\n"
             "                                              'total_handled', 'carried_forward_to_next_year']))\n"
             "        .group_by('report_id', 'organization', 'report_year', 'applicant_code')\n"
             "        .agg([pl.col('value').filter(pl.col('outcome_code') == c).sum().alias(c)\n"
             "              for c in ['new_applications', 'carried_over_from_previous_year',\n"
             "                        'total_handled', 'carried_forward_to_next_year']])\n"
             "        .with_columns(gap=pl.col('new_applications') + pl.col('carried_over_from_previous_year')\n"
             "                      - pl.col('total_handled') - pl.col('carried_forward_to_next_year'))\n"
             "        .collect())\n"
             "q2 = (wide.filter(pl.col('gap').abs() > 1e-9)\n"
             "      .group_by('organization', 'report_year')\n"
             "      .agg(columns=pl.len(), worst_gap=pl.col('gap').abs().max())\n"
             "      .sort('worst_gap', descending=True))\nq2"),
    ("md", "The quality gate records the same identity as `applications_balance` in `quality_checks`:"),
    ("code", "qc = duckdb.sql(f'''SELECT organization, report_year, \"check\", status, observed\n"
             "FROM read_parquet('{glob('quality_checks')}')\n"
             "WHERE \"check\" = 'applications_balance' AND status <> 'pass' ORDER BY 1, 2''').df()\nqc"),
    ("code", "assert wide.height > 0\n"
             "print(f'{q2.height} of {wide[\"report_id\"].n_unique()} reports have a carry-over gap')"),
]


def build() -> nbf.NotebookNode:
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbf.v4.new_markdown_cell(s) if k == "md" else nbf.v4.new_code_cell(s) for k, s in CELLS]
    return nb


def main(path: str = "notebooks/explore.ipynb") -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    nbf.write(build(), p)
    return p


if __name__ == "__main__":
    print(main())
