"""One report file as the source (``nianbao run --source FILE``): the run in this process, step after
step, and one line to say what became of the file.

Everything a folder run does is done — discovery, parse, the quality gate, the checks across years
against what is published, the maintainers' reviews, the atomic publication with its catalogue — so
the datasets are those a folder holding just that file gives. What is left out is fixed cost a single
report does not need: Prefect (its temporary server alone takes ~9 s to start, its import ~2 s;
``--prefect`` records the run there), the pool of steps (they run one after the other here), GX (the
committed suites are evaluated in pandas, expectations/evaluator.py, with GX's results: its import and
fixed cost per validation were ~5 s of CPU; GX runs instead when a suite holds what the evaluator
cannot decide) and, unless ``--quality-report`` asks for it (then GX validates, for its Data Docs), the
maintainers' page, which reads every published dataset: the next run that builds it lists this report
as validated without Data Docs, and ``nianbao validate`` builds them.
"""
from __future__ import annotations

from pathlib import Path

from flows import manifest as mf
from flows import sources as src


def report_file(source: str) -> str | None:
    """The local path when ``source`` is one local file that is not a list of URLs (so a report, or a
    file discovery will refuse with its reason); None for a folder, a URL or a URL list."""
    try:
        if src.classify(source) != "list":
            return None
    except src.SourceError:
        return None
    return None if src.url_list_in(source) is not None else source.removeprefix("file://")


def run(cfg) -> dict:
    """The run (pipeline.run_inline) and, under ``summary["file"]``, what became of the file."""
    import dataclasses

    import expectations.gate  # noqa: F401   the parser and the gate, imported before the collector is frozen:
    import transforms.engine  # noqa: F401   the parse step's full collection then does not scan their modules
    from flows import pipeline, runtime
    with runtime.collector_off():
        summary = pipeline.run_inline(dataclasses.replace(cfg, gate_while_parsing=True))
    summary["prefect"] = False
    summary["file"] = outcome(cfg.dest, cfg.source.removeprefix("file://"), summary)
    return summary


def outcome(dest: str, path: str, summary: dict) -> dict:
    """Where the file ended, read back from what is published: its manifest entry, then its row of
    ``reports`` (parsed) or ``quarantine``. Keys: source_file, state (published, unchanged, quarantined,
    skipped, withheld), version, report_id, status and the report's identity, verdict and cells, or
    reason_code and reason."""
    from flows import publish as pub
    from transforms.names import printable_name
    name = printable_name(path)
    out: dict = {"source_file": name, "version": summary.get("version")}
    for skip in summary.get("skipped") or []:
        if skip.get("source_file") == name:
            return {**out, "state": "skipped", "reason_code": skip.get("reason_code"), "reason": skip.get("reason")}
    version = pub.current_version(dest)
    entries = mf.load(version)
    sha, entry = next(((k, e) for k, e in entries.items() if e.get("source_file") == name), (None, None))
    if entry is None:            # not published: its chunk broke a structural expectation
        return {**out, "state": "withheld", "reason": "; ".join(summary.get("structural_failures") or [])
                or "not in the published version"}
    if entry.get("run_id") != summary.get("run_id"):
        out["state"] = "unchanged"
    else:
        out["state"] = "published" if entry.get("status") == "parsed" else "quarantined"
    out["report_id"] = sha
    if entry.get("status") == "parsed":
        out["status"] = "parsed"
        out.update(_row(version, "reports", sha, ("organization", "report_year", "template", "verdict", "n_cells",
                                                  "failed_checks")))
    else:
        out["status"] = "quarantined"
        out.update(_row(version, "quarantine", sha, ("reason_code", "reason")))
    return out


def _row(version: Path | None, dataset: str, report_id: str, columns: tuple[str, ...]) -> dict:
    """One report's published row (the row groups' report_id statistics skip the others)."""
    if version is None:
        return {}
    import pyarrow.dataset as pds

    from flows import publish as pub
    t = pub.read_table(version / dataset, dataset, columns=list(columns),
                       filter=pds.field("report_id") == report_id)
    return {c: t[c][0].as_py() for c in columns} if t.num_rows else {}


FAILED_SHOWN = 3      # failed checks named in the line (all are in reports.failed_checks)


def line(s: dict, seconds: float | None = None) -> tuple[str, bool]:
    """(the one line, whether it is an error): the file, then the report (id, body, year, format,
    verdict, cells) and where it is published, or why it is not."""
    from transforms.names import inert_line
    f = s["file"]
    name = inert_line(f["source_file"])
    state = f["state"]
    if state == "skipped":
        listed = f"; listed in {s.get('dest')}/quarantine, version {f['version']}" if f.get("version") else ""
        return f"{name}: not read [{f['reason_code']}]: {inert_line(f.get('reason') or '')}{listed}", True
    if state == "withheld":
        return f"{name}: not published: {inert_line(f['reason'])}", True
    how = ", ".join(p for p in (f"{seconds:.1f}s" if seconds is not None else None,
                                None if s.get("prefect") else "without Prefect",
                                None if s.get("quality_report") else "no quality report") if p)
    how = f" ({how})" if how else ""
    rid = (f.get("report_id") or "")[:12]
    if f.get("status") == "quarantined":
        reason = inert_line(" ".join(str(f.get("reason") or "").split()))
        return (f"{name}: quarantined [{f.get('reason_code')}]: {reason} (report {rid}; listed in "
                f"{s.get('dest')}/quarantine, version {f['version']}){how}"), True
    checks = list(f.get("failed_checks") or [])
    more = f", +{len(checks) - FAILED_SHOWN} more" if len(checks) > FAILED_SHOWN else ""
    failed = f" ({', '.join(checks[:FAILED_SHOWN])}{more})" if checks else ""
    report = (f"report {rid}, {inert_line(str(f.get('organization') or 'body unknown'))}, "
              f"{f.get('report_year') or 'year unknown'}, format {f.get('template') or 'unknown'}, "
              f"verdict {f.get('verdict')}{failed}, {f.get('n_cells')} cells")
    where = f"{s.get('dest')} version {f['version']}"
    if state == "unchanged":
        return f"{name} → {report}: unchanged, already published in {where}{how}", False
    return f"{name} → {report}: published in {where}{how}", False
