"""Every script in examples/ runs cleanly and says what it shows."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py")) if EXAMPLES_DIR.is_dir() else []
TIMEOUT_SECONDS = 300


@pytest.mark.parametrize("script", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    """The example script exits with status 0 when run from an empty directory."""
    try:
        result = subprocess.run(  # noqa: S603 (our own script, run with our Python)
            [sys.executable, str(script)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(
            f"{script.name} did not finish in {TIMEOUT_SECONDS} s\n"
            f"--- stdout ---\n{error.stdout}\n--- stderr ---\n{error.stderr}",
            pytrace=False,
        )
    assert result.returncode == 0, (
        f"{script.name} exited with {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )


@pytest.mark.parametrize("script", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_has_module_docstring(script: Path) -> None:
    """The example script opens with a module docstring saying what it shows."""
    module = ast.parse(script.read_text(encoding="utf-8"), filename=str(script))
    docstring = ast.get_docstring(module)
    assert docstring, f"{script.name} must start with a docstring saying what it shows"
