"""The sandbox's JSON admin API under `/_sandbox/` (errors as RFC 9457 problem details).

POST   /_sandbox/reset           empty ledger, tickets, faults and request log
GET    /_sandbox/clock           {"now": iso, "frozen": bool}
POST   /_sandbox/clock           {"freeze": iso} | {"advance_seconds": n} | {"unfreeze": true}
GET    /_sandbox/faults          active faults
POST   /_sandbox/faults          add one: {"kind": "latency", "seconds": 2, "count": 3, ...}
DELETE /_sandbox/faults          remove all
GET    /_sandbox/requests        the request log
GET    /_sandbox/stats           login counts, voucher and request totals
POST   /_sandbox/certificates    {"csr": pem} -> {"certificate": pem};
                                 {"cuit": n, "alias"?: s} -> {"key": pem, "certificate": pem}
GET    /_sandbox/ca.pem          the CA certificate
GET    /_sandbox/events          the Events/Evt every WSFE answer carries
POST   /_sandbox/events          add one: {"code": n, "msg": s}
DELETE /_sandbox/events          remove all
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from arca.sandbox.ca import CertificateRequestRefused
from arca.sandbox.faults import Fault

if TYPE_CHECKING:
    from arca.sandbox.app import Sandbox


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str = "") -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail


def handle_admin(sandbox: Sandbox, request: Request) -> Response:
    """Route an admin request; every failure becomes a problem+json response."""
    route = (request.path.removeprefix("/_sandbox/").rstrip("/"), request.method)
    handler = _ROUTES.get(route)
    try:
        if handler is None:
            known = {path for path, _ in _ROUTES}
            if route[0] in known:
                raise Problem(405, "Method Not Allowed", f"{request.method} /_sandbox/{route[0]}")
            raise Problem(404, "Not Found", f"no admin resource /_sandbox/{route[0]}")
        return handler(sandbox, request)
    except Problem as problem:
        return _problem(problem)


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status, content_type="application/json")


def _problem(problem: Problem) -> Response:
    body = {"type": "about:blank", "title": problem.title, "status": problem.status}
    if problem.detail:
        body["detail"] = problem.detail
    return Response(json.dumps(body), problem.status, content_type="application/problem+json")


def _body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(request.get_data() or b"{}")
    except ValueError as error:
        raise Problem(400, "Bad Request", f"the body is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise Problem(400, "Bad Request", "the body must be a JSON object")
    return data


def _reset(sandbox: Sandbox, request: Request) -> Response:
    sandbox.reset()
    return _json({"reset": True})


def _clock(sandbox: Sandbox, request: Request) -> Response:
    return _json({"now": sandbox.clock.now().isoformat(), "frozen": sandbox.clock.frozen})


def _set_clock(sandbox: Sandbox, request: Request) -> Response:
    data = _body(request)
    try:
        if "freeze" in data:
            sandbox.clock.freeze(datetime.fromisoformat(str(data["freeze"])))
        elif "advance_seconds" in data:
            sandbox.clock.advance(float(data["advance_seconds"]))
        elif data.get("unfreeze"):
            sandbox.clock.unfreeze()
        else:
            raise Problem(400, "Bad Request", "expected freeze, advance_seconds or unfreeze")
    except (TypeError, ValueError) as error:
        raise Problem(400, "Bad Request", str(error)) from error
    return _clock(sandbox, request)


def _faults(sandbox: Sandbox, request: Request) -> Response:
    return _json([fault.to_json() for fault in sandbox.faults.active()])


def _add_fault(sandbox: Sandbox, request: Request) -> Response:
    try:
        fault = Fault.from_json(_body(request))
        sandbox.faults.add(fault)
    except ValueError as error:
        raise Problem(400, "Bad Request", str(error)) from error
    return _json(fault.to_json(), 201)


def _clear_faults(sandbox: Sandbox, request: Request) -> Response:
    sandbox.faults.clear()
    return _json([])


def _requests(sandbox: Sandbox, request: Request) -> Response:
    return _json([entry.to_json() for entry in sandbox.request_log])


def _stats(sandbox: Sandbox, request: Request) -> Response:
    log = sandbox.request_log
    logins = Counter(e.cuit or "" for e in log if e.service == "wsaa")
    return _json(
        {
            "logins": sandbox.login_count(),
            "logins_by_cuit": dict(logins),
            "requests": len(log),
            "requests_by_operation": dict(Counter(e.operation for e in log)),
            "vouchers": sandbox.ledger.voucher_count(),
        }
    )


def _certificates(sandbox: Sandbox, request: Request) -> Response:
    data = _body(request)
    try:
        if "csr" in data:
            certificate = sandbox.ca.issue_certificate(
                str(data["csr"]).encode(), int(data.get("days", 730))
            )
            return _json({"certificate": certificate.decode()}, 201)
        if "cuit" in data:
            key, cert = sandbox.ca.issue_key_and_certificate(
                str(data["cuit"]), str(data.get("alias", "talonario"))
            )
            return _json({"key": key.decode(), "certificate": cert.decode()}, 201)
    except CertificateRequestRefused as error:
        raise Problem(422, "Unprocessable Content", str(error)) from error
    raise Problem(400, "Bad Request", "expected csr (PEM) or cuit")


def _ca_pem(sandbox: Sandbox, request: Request) -> Response:
    return Response(sandbox.ca.certificate_pem, 200, content_type="application/x-pem-file")


def _events(sandbox: Sandbox, request: Request) -> Response:
    return _json([{"code": code, "msg": msg} for code, msg in sandbox.events])


def _add_event(sandbox: Sandbox, request: Request) -> Response:
    data = _body(request)
    try:
        code, msg = int(data["code"]), str(data["msg"])
    except (KeyError, TypeError, ValueError) as error:
        raise Problem(400, "Bad Request", "expected code (integer) and msg") from error
    sandbox.announce(code, msg)
    return _json({"code": code, "msg": msg}, 201)


def _clear_events(sandbox: Sandbox, request: Request) -> Response:
    sandbox.events = []
    return _json([])


_ROUTES = {
    ("reset", "POST"): _reset,
    ("clock", "GET"): _clock,
    ("clock", "POST"): _set_clock,
    ("faults", "GET"): _faults,
    ("faults", "POST"): _add_fault,
    ("faults", "DELETE"): _clear_faults,
    ("requests", "GET"): _requests,
    ("stats", "GET"): _stats,
    ("certificates", "POST"): _certificates,
    ("ca.pem", "GET"): _ca_pem,
    ("events", "GET"): _events,
    ("events", "POST"): _add_event,
    ("events", "DELETE"): _clear_events,
}
