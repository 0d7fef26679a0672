"""Serializing a response model: JSON with the status and headers the view chose."""

from __future__ import annotations

from flask import Response, jsonify
from pydantic import BaseModel


def respond(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`model` as JSON (decimals as strings, dates ISO 8601, nulls kept)."""
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    response.headers.extend(headers or {})
    return response
