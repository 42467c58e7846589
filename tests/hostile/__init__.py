"""The hostile inputs (corpus.py, check.py, browser.py: shared with bench/robustness.py) and the tests that feed
them to nianbao: mutated and hostile files, containment, page safety and value safety (pytest tests/hostile)."""
