"""Writes notebooks/explore.ipynb (source of truth for the analysts' notebook): python -m flows.make_notebook"""
from pathlib import Path

import nbformat as nbf

CELLS = [
    ("md", "# Exploring the nianbao datasets\n\nLoads the published datasets with **pandas**, **DuckDB** and "
           "**polars** (no partitioning argument: every file holds its `report_year`, a nullable integer; "
           "reports with no year are in the `unknown/` folders) and answers:\n\n"
           "1. Headline figures per report and the share of handled applications granted, by year and format "
           "(`report_summary`: one row per report, nothing counted twice).\n"
           "2. Why summing cells needs `is_total`: the cell datasets hold totals beside their parts.\n"
           "3. The outcome mix, comparable across the 2019 and 2021 formats (`codes`), with a plot.\n"
           "4. Which bodies' carry-over does not add up (新收 + 上年结转 ≠ 总计 + 结转下年度)?\n\n"
           "Set `NIANBAO_DATA` to read another output folder (default `../data/processed`)."),
    ("code", "import os\nfrom pathlib import Path\n\nimport duckdb\nimport pandas as pd\nimport polars as pl\n"
             "\n"
             "DATA = Path(os.environ.get('NIANBAO_DATA', '../data/processed'))\n"
             "def read(name):\n"
             "    return pd.read_parquet(DATA / name)\n"
             "def glob(name):\n    return str(DATA / name / '**' / '*.parquet')\nDATA"),
    ("md", "## Q1 — headline figures per report (pandas, `report_summary`)\n\n"
           "`verdict` is the final one (after the checks across years); `fail` means the report's numbers "
           "do not add up. A measure is null when its table was not printed (or not completely)."),
    ("code", "summary = read('report_summary')\n"
             "print(len(summary), 'reports')\n"
             "summary[['organization', 'report_year', 'template', 'verdict', 'new_applications', 'granted',\n"
             "         'partially_granted', 'total_handled', 'review_total', 'licensing_decisions']]"),
    ("code", "kept = summary[summary['verdict'] != 'fail']\n"
             "q1 = (kept.groupby(['report_year', 'template'])\n"
             "      [['new_applications', 'granted', 'partially_granted', 'total_handled']].sum(min_count=1))\n"
             "q1['share_granted'] = ((q1['granted'] + q1['partially_granted']) / q1['total_handled']).round(3)\n"
             "q1"),
    ("code", "assert len(q1) > 0 and q1['share_granted'].dropna().between(0, 1).all()\n"
             "assert summary['new_applications'].fillna(0).gt(0).any()"),
    ("md", "## Q2 — totals beside their parts (`is_total`)\n\n"
           "Every cell row says whether its row or column is a total or subtotal in its format. Summing "
           "everything counts each application two or three times."),
    ("code", "apps = read('applications')\n"
             "naive, parts = apps['value'].sum(), apps.loc[~apps['is_total'], 'value'].sum()\n"
             "print(f'sum of every cell: {naive:,.0f}; of the cells that are not totals: {parts:,.0f}')\n"
             "new = apps[(apps['outcome_code'] == 'new_applications') & ~apps['is_total']]\n"
             "by_applicant = new.groupby('applicant_code')['value'].sum().sort_values(ascending=False)\n"
             "by_applicant"),
    ("md", "## Q3 — the outcome mix across formats (DuckDB + `codes`)\n\n"
           "`codes.code_path` runs from the top of the format's tree; its second code is the outcome group "
           "（一）…（六）, the same in both formats (2021 splits （六）其他处理 into three rows, whose "
           "`harmonised_code` is the 2019 row's `other_handling`)."),
    ("code", "q3 = duckdb.sql(f\"\"\"\n"
             "WITH rows AS (SELECT DISTINCT \"table\", path, code_path, is_total\n"
             "              FROM read_parquet('{DATA / 'codes' / '*.parquet'}') WHERE axis = 'row')\n"
             "SELECT a.report_year, a.template, split_part(r.code_path, ' > ', 2) AS outcome,\n"
             "       sum(a.value) AS applications\n"
             "FROM read_parquet('{glob('applications')}') a\n"
             "JOIN rows r ON r.\"table\" = a.\"table\" AND r.path = a.row_path\n"
             "WHERE a.applicant_code = 'total' AND r.code_path LIKE 'outcomes > %' AND NOT r.is_total\n"
             "GROUP BY ALL ORDER BY ALL\"\"\").df()\n"
             "mix = q3.pivot_table(index=['report_year', 'template'], columns='outcome', values='applications',\n"
             "                     aggfunc='sum')\nmix"),
    ("code", "import matplotlib.pyplot as plt\n"
             "shares = mix.div(mix.sum(axis=1), axis=0)\n"
             "ax = shares.plot.barh(stacked=True, figsize=(8, 0.6 + 0.5 * len(shares)))\n"
             "ax.set_xlabel('share of the applications handled (applicant column: total)')\n"
             "ax.legend(loc='upper left', bbox_to_anchor=(1, 1))\nplt.tight_layout()\nplt.show()"),
    ("md", "## Q4 — bodies whose carry-over does not add up (polars)\n\n"
           "Per report and applicant column: 一、本年新收 + 二、上年结转 − （七）总计 − 四、结转下年度. "
           "Non-zero means the table's balance identity is broken; null (a blank or a row the copy does not "
           "have) is not evaluable, never a gap."),
    ("code", "wide = (pl.scan_parquet(glob('applications'))\n"
             "        .filter(pl.col('outcome_code').is_in(['new_applications', 'carried_over_from_previous_year',\n"
             "                                              'total_handled', 'carried_forward_to_next_year']))\n"
             "        .group_by('report_id', 'organization', 'report_year', 'applicant_code')\n"
             "        .agg([pl.col('value').filter(pl.col('outcome_code') == c).first().alias(c)\n"
             "              for c in ['new_applications', 'carried_over_from_previous_year',\n"
             "                        'total_handled', 'carried_forward_to_next_year']])\n"
             "        .with_columns(gap=pl.col('new_applications') + pl.col('carried_over_from_previous_year')\n"
             "                      - pl.col('total_handled') - pl.col('carried_forward_to_next_year'))\n"
             "        .collect())\n"
             "q4 = (wide.filter(pl.col('gap').abs() > 1e-9)\n"
             "      .group_by('organization', 'report_year')\n"
             "      .agg(columns=pl.len(), worst_gap=pl.col('gap').abs().max())\n"
             "      .sort('worst_gap', descending=True))\nq4"),
    ("md", "The quality gate records the same identity as `applications_balance` in `quality_checks`:"),
    ("code", "qc = duckdb.sql(f'''SELECT organization, report_year, \"check\", status, observed\n"
             "FROM read_parquet('{glob('quality_checks')}')\n"
             "WHERE \"check\" = 'applications_balance' AND status <> 'pass' ORDER BY 1, 2''').df()\nqc"),
    ("code", "assert wide.height > 0\n"
             "print(f'{q4.height} of {wide[\"report_id\"].n_unique()} reports have a carry-over gap')"),
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
