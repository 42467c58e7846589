"""Integration tests: runs, flows, the GX gate, the CLI, Prefect, publishing, Chromium pages."""
