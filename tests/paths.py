"""The folders the tests read, in one place. Test files live a level down (unit/, integration/, golden/,
hostile/), so a path built from a test's own ``__file__`` breaks whenever a file moves between them.

Imported as ``from paths import ...``: tests/ is on the path (pyproject.toml, pytest ``pythonpath``), as for
the helpers launch.py and published.py and the hostile package."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]          # the repository
TESTS = ROOT / "tests"
FIXTURES = TESTS / "fixtures"                        # real documents and answer keys (each folder's README)
SEEDS = FIXTURES / "seeds"                           # the five all-zero seed reports
REALWORLD = FIXTURES / "realworld"                   # real copies (raw/) and their answer keys (expected/)
GOLDEN = TESTS / "golden" / "data"                   # the golden comparisons' committed outputs
