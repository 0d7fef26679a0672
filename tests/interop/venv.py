"""The interoperability tier's own virtualenv, `.venv-interop/`, built from PyPI on first use.

The third-party ARCA clients must not share the app's environment (they pin their own zeep,
Django, cryptography …), so they live in a separate venv that the test run itself builds: `make
test` on a fresh clone needs nothing more than network access to PyPI. The venv is reused while
its stamp equals `requirements.txt`; any change to the pins rebuilds it from scratch.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-interop"
REQUIREMENTS = Path(__file__).with_name("requirements.txt")
STAMP = VENV / "requirements.txt"
PIP_TIMEOUT_SECONDS = 900


def interop_python() -> Path:
    """The venv's interpreter, building the venv first when it is missing or its pins changed.

    A lock on requirements.txt keeps two concurrent test runs from building it at once.
    """
    python = VENV / "bin" / "python"
    with REQUIREMENTS.open("rb") as pins:
        fcntl.flock(pins, fcntl.LOCK_EX)
        try:
            if not _is_current(python):
                _build(python)
        finally:
            fcntl.flock(pins, fcntl.LOCK_UN)
    return python


def _is_current(python: Path) -> bool:
    return python.exists() and STAMP.exists() and STAMP.read_bytes() == REQUIREMENTS.read_bytes()


def _build(python: Path) -> None:
    """venv + exact pins, wheels only and no dependency resolution: what the file says, nothing
    else. The stamp is written last, so an interrupted build is redone next time."""
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)  # noqa: S603
    install = [
        str(python),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "--requirement",
        str(REQUIREMENTS),
    ]
    subprocess.run(install, check=True, timeout=PIP_TIMEOUT_SECONDS)  # noqa: S603
    shutil.copyfile(REQUIREMENTS, STAMP)
