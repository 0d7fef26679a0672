"""GET /api/v1/organization: who the key speaks for, its ARCA environment and certificate."""

from __future__ import annotations

from flask import Response, g
from flask_babel import gettext as _
from flask_openapi3 import Tag

from arca.codes import ISSUER_CONDITION_LABELS, IssuerCondition
from blueprints.api import api
from blueprints.api.auth import api_auth
from blueprints.api.problems import ApiProblem, title_for
from blueprints.api.responses import respond
from blueprints.api.schemas.organization import (
    ApiKeyOut,
    CertificateOut,
    FceSettings,
    IssuerIvaCondition,
    OrganizationOut,
)
from blueprints.api.services import KeyIdentity
from blueprints.certificates.models import Certificate
from blueprints.certificates.services import active_certificate
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db, utcnow

TAG = Tag(name="Organization", description="The organization the key belongs to.")


@api.get("/organization", tags=[TAG], responses={200: OrganizationOut})
@api_auth("organization:read")
def get_organization() -> Response:
    """Who am I: the organization, its ARCA environment and certificate, and this key."""
    organization = db.session.get(Organization, g.organization_id)
    if organization is None:  # deleted with its keys while this one was still cached
        raise ApiProblem(401, title_for(401), _("La clave de la API ya no existe."))
    environment = get_arca().environment_name
    certificate = active_certificate(db.session, organization.id, environment)
    return respond(serialize(organization, environment, certificate, g.api_key))


def serialize(
    organization: Organization,
    environment: str,
    certificate: Certificate | None,
    key: KeyIdentity,
) -> OrganizationOut:
    condition = IssuerCondition(organization.iva_condition)
    return OrganizationOut(
        id=organization.id,
        name=organization.display_name,
        legal_name=organization.legal_name,
        trade_name=organization.trade_name,
        cuit=organization.cuit,
        iva_condition=IssuerIvaCondition(
            code=condition.value,
            name=ISSUER_CONDITION_LABELS[condition],
            receiver_condition_id=condition.receiver_condition_id,
        ),
        arca_environment=environment,
        certificate=serialize_certificate(certificate),
        fce=FceSettings(
            cbu=organization.cbu,
            cbu_alias=organization.cbu_alias,
            transfer=organization.fce_transfer,
        ),
        key=ApiKeyOut(
            name=key.name,
            prefix=key.prefix,
            scopes=list(key.scopes),
            environment=key.environment,
            rate_limit=key.rate_limit,
            expires_at=key.expires_at,
        ),
    )


def serialize_certificate(certificate: Certificate | None) -> CertificateOut | None:
    if certificate is None:
        return None
    now = utcnow()
    return CertificateOut(
        status=certificate.state(now).value,
        alias=certificate.alias,
        expires_at=certificate.not_valid_after,
        days_left=certificate.days_left(now),
    )
