"""The catalogue files read with libyaml give the documents the pure-Python loader gives."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from transforms import yamlfile

SHIPPED = sorted((Path(yamlfile.__file__).parent).rglob("*.yaml"))


def test_libyaml_is_used_when_pyyaml_has_it():
    assert SHIPPED
    assert yamlfile.LOADER is (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_file_loads_as_with_the_pure_python_loader(path):
    text = path.read_text(encoding="utf-8")
    assert yamlfile.safe_load(text) == yaml.safe_load(text)


@pytest.mark.parametrize("text", ["a: [unclosed\n", "a: 1\n a: 2\n", "- !!python/object:os.system x\n"])
def test_bad_or_unsafe_yaml_is_a_yaml_error(text):
    with pytest.raises(yaml.YAMLError):
        yamlfile.safe_load(text)
