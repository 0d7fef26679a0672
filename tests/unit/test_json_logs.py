"""JSON log lines (TALONARIO_LOG_FORMAT=json): one object per line, the context of the moment,
and the redaction still applied to every record (core/logging.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from core.logging import (
    JsonFormatter,
    install_redaction,
    job_id_var,
    request_id_var,
    use_json_lines,
    valid_request_id,
)

SECRET_KEY = "tal_" + "Ab3" * 15
PASSWORD = "hunter2-correcto"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def lines() -> Iterator[Lines]:
    install_redaction()
    handler, logger = Lines(), logging.getLogger("talonario.test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def test_a_line_is_one_json_object_with_the_context_and_no_secret(lines: Lines) -> None:
    request_token, job_token = request_id_var.set("req-7"), job_id_var.set("job-9")
    try:
        logging.getLogger("talonario.test.json").warning(
            "login password=%s with key %s\nsecond line", PASSWORD, SECRET_KEY
        )
    finally:
        request_id_var.reset(request_token)
        job_id_var.reset(job_token)
    [line] = lines.lines
    assert "\n" not in line
    assert PASSWORD not in line and SECRET_KEY not in line
    record = json.loads(line)
    assert record["level"] == "WARNING"
    assert record["logger"] == "talonario.test.json"
    assert record["request_id"] == "req-7" and record["job_id"] == "job-9"
    assert "organization_id" not in record  # outside any organization's scope: unknown
    assert record["message"].startswith("login password=[redacted] with key tal_[redacted]")
    assert record["time"].endswith("+00:00")


def test_a_traceback_is_redacted_too(lines: Lines) -> None:
    try:
        raise ValueError(f"INSERT failed for {SECRET_KEY} password={PASSWORD}")
    except ValueError:
        logging.getLogger("talonario.test.json").exception("could not save")
    record = json.loads(lines.lines[0])
    assert "ValueError" in record["exception"]
    assert SECRET_KEY not in record["exception"] and PASSWORD not in record["exception"]
    assert "request_id" not in record  # no request, no job


def test_json_lines_go_to_stderr_through_one_root_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, level = logging.getLogger(), logging.getLogger().level
    before = list(root.handlers)
    try:
        use_json_lines("INFO")
        use_json_lines("INFO")  # twice: still one handler
        added = [handler for handler in root.handlers if handler not in before]
        assert len(added) == 1
        logging.getLogger("talonario.test.root").info("arranca con secret=%s", PASSWORD)
        logging.getLogger("talonario.test.root").debug("not at INFO")
    finally:
        for handler in root.handlers:
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)
    printed = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    ours = [record for record in printed if record["logger"] == "talonario.test.root"]
    assert [record["message"] for record in ours] == ["arranca con secret=[redacted]"]


@pytest.mark.parametrize(
    "given", ["3f2a9c1e-8d4b-4c2a-9e1f-0a1b2c3d4e5f", "req-42", "1-67891233-abcdef"]
)
def test_usable_request_ids_are_kept(given: str) -> None:
    assert valid_request_id(given) == given


@pytest.mark.parametrize("given", ["", None, "a b", "x" * 65, "id\r\nSet-Cookie: a=b", "<b>", "-a"])
def test_unusable_request_ids_are_refused(given: str | None) -> None:
    assert valid_request_id(given) is None
