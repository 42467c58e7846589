"""The pure checks of a batch of parsed reports (pandas only; no GX, no Prefect): the format
catalogue's lookups, the cell helper columns, the statutory identities, the per-report rules,
verdicts, quarantine rows, the checks across years and the maintainers' reviews. One entry point,
:func:`transforms.checks.gate.check_batch`, is what ``run``, ``validate`` and ``parse`` all call."""
