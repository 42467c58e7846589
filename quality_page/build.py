"""The quality report of a published version: GX Data Docs made offline, then the summary page."""
from __future__ import annotations

from pathlib import Path

from expectations.gate import KEEP_RUNS, copy_data_docs, validated_without_docs
from quality_page import offline, report


def build_data_docs(dest: Path, *, context_root=None, keep_runs: int = KEEP_RUNS) -> Path:
    """GX Data Docs of the stored validations in ``dest``, rewritten to work offline and hold no
    active content (quality_page.offline); the path of their index.html."""
    dest = copy_data_docs(dest, context_root=context_root, keep_runs=keep_runs)
    offline.make_offline(dest)
    return dest / "index.html"


def build_quality_report(processed_dir, out_dir, *, context_root=None, source_root=None,
                         keep_runs: int = KEEP_RUNS, docs_index: Path | None = None) -> Path:
    """Build GX Data Docs once (offline copy in out_dir/data_docs; skipped when ``docs_index`` names
    one built already) and the summary page out_dir/index.html."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if docs_index is None:
        docs_index = build_data_docs(out_dir / "data_docs", context_root=context_root, keep_runs=keep_runs)
    data = report.load_datasets(Path(processed_dir))
    return report.write_summary(data, out_dir, docs_index=docs_index, source_root=source_root,
                                without_docs=set(validated_without_docs(context_root)))
