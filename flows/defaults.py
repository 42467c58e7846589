"""Defaults of a run, shared by the CLI, the Prefect flow and the benchmarks (no heavy imports: the
CLI reads them before deciding what to load)."""

SOURCE = "data/raw"
DEST = "data/processed"
CRAWL_SOURCE = "data/crawl"      # where `run --sites` crawls to (and reads from) unless --source says
# Every file of a folder source: the type is sniffed from the bytes, and what is not taken is listed
GLOB = "**/*"
# HTTP sources: total seconds one URL may take (NIANBAO_URL_DEADLINE), longest Retry-After waited for
URL_DEADLINE = 60.0
RETRY_AFTER_MAX = 30.0
# Reports per parse task: a batch has a fixed cost (the gate's frames, the worker's garbage collection)
# that 750 reports share ~8 % cheaper than 500; a worker then peaks at ~0.5 GB (1,000: ~0.6 GB)
BATCH_SIZE = 750
WORKERS = 2
# GX validates this many view rows of a dataset at once (memory: 500k cost ~0.2 GB more on 60k reports)
VALIDATE_ROWS = 300_000
# The maintainers' decisions on failed checks, kept in git (transforms/checks/reviews.py); absent: no reviews
REVIEWS = "reviews/reviews.yaml"
