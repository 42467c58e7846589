"""Unit tests: pure functions and modules, no run, no GX (pytest tests/unit)."""
