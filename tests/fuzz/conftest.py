"""One server for the fuzzers, with the guessing limits out of the way (fuzzed logins and joins fail by
the hundred from one address) and the control-message limits raised (thousands of invalid messages)."""

import pytest
from hypothesis import HealthCheck, settings

from tests.support.server import ServerProcess

# CI runs a fixed, bounded amount: derandomized (the same examples every run) and a fixed count
settings.register_profile("fuzz", max_examples=25, deadline=None, derandomize=True, database=None,
                          suppress_health_check=list(HealthCheck))

FUZZ_SETTINGS = {
    "sweep_interval": 0.1, "login_ip_max_failures": 100000, "login_max_failures": 1000, "login_delay": 0.0,
    "join_max_attempts": 100000, "control_rate": 100000, "control_burst": 100000, "control_max_invalid": 100000,
}


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    proc = ServerProcess(str(tmp_path_factory.mktemp("fuzz")), FUZZ_SETTINGS).start()
    yield proc
    proc.stop()


def assert_server_healthy(proc: ServerProcess) -> None:
    """No 5xx, and nothing the server did not expect (a traceback) in its log."""
    text = proc.log_text()
    for marker in ("Traceback", "Uncaught exception", " 500 ", "ERROR"):
        assert marker not in text, "\n".join(line for line in proc.lines if marker in line)[:4000]
