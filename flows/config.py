"""The settings of a run (no heavy imports: the CLI builds them before deciding what to load)."""
from __future__ import annotations

from dataclasses import dataclass, field

from flows import defaults, env
from transforms.read.limits import Limits

# What validates the run's suites: "auto" chooses by the run's size (the pandas evaluator for a run of
# at most expectations.gate.EVALUATOR_MAX_REPORTS reports that builds no Data Docs, else GX); "gx" and
# "pandas" force one (pandas still falls back to GX for a suite it cannot decide).
GATE_ENGINES = ("auto", "gx", "pandas")


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs, fixed before it starts (built by the CLI from its options, by the
    Prefect flow from its parameters). The steps get it or the parts they need as arguments: a worker
    process reads no run setting from a module global or the environment. The per-file limits
    (transforms' ``Limits``, ``NIANBAO_MAX_*``) and the HTTP deadlines (``NIANBAO_URL_DEADLINE``,
    ``NIANBAO_RETRY_AFTER_MAX``, flows/env.py) are read from the environment once, when the config is
    built, and handed to discovery, the crawler and every parse batch (a spawned or Dask worker gets
    them with the batch)."""
    source: str = defaults.SOURCE
    dest: str = defaults.DEST
    glob: str = defaults.GLOB
    batch_size: int = defaults.BATCH_SIZE
    workers: int = defaults.WORKERS
    validate_rows: int = defaults.VALIDATE_ROWS
    prune: bool = False
    dask_address: str | None = None
    http_concurrency: int = 8
    http_timeout: float = 10.0
    http_retries: int = 3
    quality_report: bool = True
    follow_symlinks: bool = False
    allow_empty: bool = False
    sites: str | None = None          # a sites file: crawl its columns into ``source`` first (flows/crawl.py)
    crawl_delay: float | None = None  # seconds between two requests to one host (default: each site's)
    reviews: str | None = None        # the reviews file (None: defaults.REVIEWS when it exists)
    # a run of one batch parses it in a worker process while this one imports GX and opens its context
    # (~2 s each): one report file as the source (flows/single.py)
    gate_while_parsing: bool = False
    gate_engine: str = "auto"         # one of GATE_ENGINES
    limits: Limits = field(default_factory=Limits.from_env)          # per file: bytes, seconds, memory …
    url_deadline: float = field(default_factory=env.url_deadline)    # seconds for one URL in all
    retry_after_max: float = field(default_factory=env.retry_after_max)  # longest Retry-After waited for

    def __post_init__(self) -> None:
        if self.gate_engine not in GATE_ENGINES:
            raise ValueError(f"gate_engine must be one of {', '.join(GATE_ENGINES)}, got {self.gate_engine!r}")
