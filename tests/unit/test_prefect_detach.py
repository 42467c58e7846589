"""flows.prefect_flow.detach_ephemeral_server: Prefect's temporary server is started in its own session
(a Ctrl-C must not stop it before the run reports its state); with a Prefect server given by
PREFECT_API_URL there is no temporary server, and Prefect's server module (~0.5 s to import) is not
loaded."""
from __future__ import annotations

import os
import subprocess
import sys

from paths import ROOT

CODE = """
import sys, types
from flows import prefect_flow
prefect_flow.detach_ephemeral_server()
loaded = "prefect.server.api.server" in sys.modules
patched = loaded and isinstance(sys.modules["prefect.server.api.server"].subprocess, types.SimpleNamespace)
print(loaded, patched)
"""


def _detach(api_url: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True).stdout.split()


def test_the_temporary_server_is_started_in_its_own_session():
    assert _detach(None) == ["True", "True"]


def test_with_a_server_url_the_server_module_is_not_loaded():
    assert _detach("http://127.0.0.1:4200/api") == ["False", "False"]
