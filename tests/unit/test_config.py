import os
import stat
from pathlib import Path

import pytest

from app import create_app
from core.crypto import KeyRing


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TALONARIO_"):
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("clean_env")
def test_embedded_default_generates_secrets_once(tmp_path: Path) -> None:
    first = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/talonario.db"
    assert first.config["ARCA_ENVIRONMENT"] == "sandbox"
    for name in ("secret_key", "encryption_keys"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600, name
    KeyRing.parse(first.config["ENCRYPTION_KEYS"])
    second = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    assert second.config["ENCRYPTION_KEYS"] == first.config["ENCRYPTION_KEYS"]


@pytest.mark.usefixtures("clean_env")
def test_environment_variables_configure_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TALONARIO_DATABASE_URL", "postgresql+psycopg://u@db.internal/talonario")
    monkeypatch.setenv("TALONARIO_ARCA_ENVIRONMENT", "homologacion")
    monkeypatch.setenv("TALONARIO_SECRET_KEY", "from-the-environment")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.internal/talonario"
    assert app.config["ARCA_ENVIRONMENT"] == "homologacion"
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.usefixtures("clean_env")
def test_unknown_arca_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="TALONARIO_ARCA_ENVIRONMENT"):
        create_app({"INSTANCE_PATH": str(tmp_path), "ARCA_ENVIRONMENT": "prod"})
