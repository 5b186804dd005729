"""``.ci/run``'s verdict on ``make test`` (its ``run_make_test``): any failure fails CI,
pytest's "no tests collected" (exit 5) and a timeout included, and nothing in the caller's
environment narrows the suite. A copy of the script is sourced beside a stand-in
Makefile whose ``test`` target reports what it was given and exits as told, so even a
script that ran in full would reach only the stand-in: Herald's ``make test`` never runs
here."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CI_RUN = Path(__file__).resolve().parents[2] / ".ci" / "run"

# Prints the make variable PYTEST_ARGS and the environment's PYTEST_ADDOPTS, then exits
# with $TEST_EXIT after $TEST_SLEEP_S seconds.
STAND_IN_MAKEFILE = """\
test:
\t@echo "PYTEST_ARGS=[$(PYTEST_ARGS)]"
\t@echo "PYTEST_ADDOPTS=[$$PYTEST_ADDOPTS]"
\t@sleep $${TEST_SLEEP_S:-0}
\t@exit $${TEST_EXIT:-0}
"""

pytestmark = pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("timeout") is None,
    reason="needs make and timeout (.ci/run installs make)",
)


def source_ci_run(tmp_path: Path, then: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """Make ``tmp_path`` a stand-in checkout (the stand-in Makefile and a copy of
    ``.ci/run``), source the copy there and run the shell command ``then``, with
    ``environ`` added to this process's environment."""
    (tmp_path / "Makefile").write_text(STAND_IN_MAKEFILE)
    (tmp_path / ".ci").mkdir()
    script = tmp_path / ".ci" / "run"
    shutil.copy(CI_RUN, script)
    return subprocess.run(
        ["bash", "-c", f'source "$1" && {then}', "bash", str(script)],
        cwd=tmp_path,
        env={**os.environ, **environ},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run_make_test(tmp_path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    return source_ci_run(tmp_path, "run_make_test", **environ)


def test_sourcing_only_defines_the_functions(tmp_path: Path) -> None:
    # Given .ci/run
    # When it is sourced
    result = source_ci_run(tmp_path, "declare -F main run_make_test")

    # Then its functions are defined and none of its steps ran
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["main", "run_make_test"]


def test_a_passing_make_test_passes(tmp_path: Path) -> None:
    # Given a make test that succeeds
    # When .ci/run runs it
    result = run_make_test(tmp_path, TEST_EXIT="0")

    # Then CI passes
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "pytest_exit",
    [
        1,  # a test failed
        2,  # interrupted, or a usage error
        5,  # no test collected: a suite that checks nothing is not a pass
    ],
)
def test_any_failure_of_make_test_fails_ci(tmp_path: Path, pytest_exit: int) -> None:
    # Given a make test whose pytest exits non-zero
    # When .ci/run runs it
    result = run_make_test(tmp_path, TEST_EXIT=str(pytest_exit))

    # Then CI fails, saying so
    assert result.returncode != 0
    assert "make test failed" in result.stderr


def test_a_make_test_past_its_timeout_fails_ci(tmp_path: Path) -> None:
    # Given a make test that outlasts MAKE_TEST_TIMEOUT
    # When .ci/run runs it
    result = run_make_test(tmp_path, TEST_SLEEP_S="60", MAKE_TEST_TIMEOUT="1s")

    # Then CI fails as timed out
    assert result.returncode != 0
    assert "make test timed out after 1s" in result.stderr


def test_the_callers_environment_cannot_narrow_the_suite(tmp_path: Path) -> None:
    # Given a caller whose environment would select a subset of the tests, and would
    # have make ignore a failing step
    narrowing = {
        "PYTEST_ARGS": "tests/unit",
        "PYTEST_ADDOPTS": "-k nothing",
        "MAKEFLAGS": "-i",
    }

    # When .ci/run runs a make test that fails
    result = run_make_test(tmp_path, TEST_EXIT="1", **narrowing)

    # Then pytest gets no arguments from it, and the failure still fails CI
    assert "PYTEST_ARGS=[]" in result.stdout
    assert "PYTEST_ADDOPTS=[]" in result.stdout
    assert result.returncode != 0
    assert "make test failed" in result.stderr
