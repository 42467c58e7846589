"""YAML of the catalogue files nianbao ships (formats, narrative, checks, overrides), read with libyaml
when PyYAML was built with it: the pure-Python loader took ~0.15 s of every process that imports the
catalogue (a one-file run, each parse worker) for the same documents (tests/unit/test_yamlfile.py).
Files a user writes (reviews, sites) keep the pure-Python loader for its line-exact errors."""
from __future__ import annotations

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str):
    """yaml.safe_load, with libyaml when available."""
    return yaml.load(text, Loader=LOADER)
