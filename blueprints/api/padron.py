"""ARCA's padrón over the API: what the customer form fills from a CUIT, with the lookup's date.

The view parses, calls the customers page's service (`lookup_taxpayer`, cached a day) and
serializes; errors are problem details (404 unknown CUIT, 409 no active certificate, 422 an
invalid CUIT, 503 ARCA unavailable or refusing).
"""

from __future__ import annotations

import datetime as dt

from flask import Response, g
from flask_openapi3 import Tag
from flask_openapi3.types import ResponseDict
from pydantic import BaseModel, Field

from arca.padron import Taxpayer
from blueprints.api import api
from blueprints.api.auth import api_auth
from blueprints.api.problems import problem_responses
from blueprints.api.responses import respond
from blueprints.customers.padron import lookup_taxpayer, padron_values, taxpayer_warning
from core.arca import get_arca
from core.db import db

TAG = Tag(
    name="Padrón",
    description="ARCA's register (constancia de inscripción): name, address and IVA condition "
    "of a CUIT, as the customer form fills them.",
)


class PadronPath(BaseModel):
    cuit: str = Field(
        min_length=11, max_length=13, pattern=r"^[0-9-]+$", description="With or without dashes."
    )


class PadronAddress(BaseModel):
    street: str
    city: str
    province: str
    postal_code: str
    one_line: str = Field(description="What the customer form puts in «Domicilio».")


class PadronActivity(BaseModel):
    id: int
    description: str


class PadronTaxpayer(BaseModel):
    """ARCA's answer for a CUIT, and when it was read (answers are cached for a day)."""

    cuit: str
    name: str = Field(description="Razón social, or last and first names.")
    kind: str = Field(description="FISICA (a person) or JURIDICA (a company).")
    state: str = Field(description="ACTIVO or INACTIVO.")
    active: bool
    deceased_on: dt.date | None
    address: PadronAddress | None
    iva_condition: int | None = Field(
        description="Receiver IVA condition code (1 RI, 4 exento, 5 consumidor final, 6 "
        "monotributo), null when ARCA's answer does not settle it."
    )
    monotributo_category: str | None
    activities: list[PadronActivity]
    notices: list[str] = Field(description="ARCA's own texts about missing or refused data.")
    warning: str | None = Field(description="Why the data should not be used as is.")
    looked_up_at: dt.datetime


def documented() -> ResponseDict:
    """200, and the problems besides the API's common ones: 409 no active certificate, 503
    ARCA unavailable or refusing (400: a path with control characters)."""
    responses: ResponseDict = {200: PadronTaxpayer}
    for code, response in problem_responses(400, 409, 503).items():
        responses[code] = response
    return responses


@api.get("/padron/<string:cuit>", tags=[TAG], responses=documented())
@api_auth("customers:read")
def get_padron(path: PadronPath) -> Response:
    """Look a CUIT up in ARCA's padrón

    The constancia de inscripción of the CUIT, asked with the organization's active
    certificate (its relation must include `ws_sr_constancia_inscripcion`); an answer read
    within the last day comes from the cache, with its original `looked_up_at`.
    """
    lookup = lookup_taxpayer(db.session, g.organization_id, path.cuit, get_arca())
    return respond(taxpayer_of(lookup.taxpayer, lookup.looked_up_at))


def taxpayer_of(taxpayer: Taxpayer, looked_up_at: dt.datetime) -> PadronTaxpayer:
    address = taxpayer.address
    values = padron_values(taxpayer)
    return PadronTaxpayer(
        cuit=taxpayer.cuit,
        name=taxpayer.name,
        kind=taxpayer.kind,
        state=taxpayer.state,
        active=taxpayer.is_active,
        deceased_on=taxpayer.deceased_on,
        address=PadronAddress(
            street=address.street,
            city=address.city,
            province=address.province,
            postal_code=address.postal_code,
            one_line=values.get("address", ""),
        )
        if address
        else None,
        iva_condition=taxpayer.iva_condition,
        monotributo_category=taxpayer.monotributo_category,
        activities=[
            PadronActivity(id=item.id, description=item.description) for item in taxpayer.activities
        ],
        notices=list(taxpayer.notices),
        warning=taxpayer_warning(taxpayer),
        looked_up_at=looked_up_at,
    )
