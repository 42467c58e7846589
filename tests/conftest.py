"""Shared test setup: offline, quiet, a private PREFECT_HOME and cache folder, a Prefect harness that only starts
(once per session, ~15 s) when a test asks for the ``prefect_server`` fixture."""
import os
import tempfile

for _k, _v in {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false",
               "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL", "PREFECT_LOGGING_LEVEL": "WARNING",
               "DASK_LOGGING__DISTRIBUTED": "warning"}.items():
    os.environ.setdefault(_k, _v)
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="nianbao-prefect-home-"))
# transforms/cache.py's entries in a folder of the session, not the user's cache
os.environ.setdefault("NIANBAO_CACHE", tempfile.mkdtemp(prefix="nianbao-cache-"))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def prefect_server():
    """A temporary Prefect server for the session; yields its API URL. Heartbeats off (1.1 s/flow)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness
    with prefect_test_harness(server_startup_timeout=120):
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield PREFECT_API_URL.value()
