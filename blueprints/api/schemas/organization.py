"""Who am I: the key's organization, its ARCA standing and the key itself."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class IssuerIvaCondition(BaseModel):
    code: str = Field(examples=["responsable_inscripto"])
    name: str = Field(examples=["IVA Responsable Inscripto"])
    receiver_condition_id: int = Field(
        description="ARCA's CondicionIVAReceptorId for this condition (when it is the receiver)."
    )


class CertificateOut(BaseModel):
    status: str = Field(description="active, expiring (30 days or less), expired")
    alias: str
    expires_at: dt.datetime | None
    days_left: int | None


class ApiKeyOut(BaseModel):
    name: str
    prefix: str = Field(examples=["tal_ab12cd34"])
    scopes: list[str]
    environment: str
    rate_limit: int = Field(description="Requests per minute.")
    expires_at: dt.datetime | None


class FceSettings(BaseModel):
    """What the organization's FCE MiPyME invoices carry (copied onto each when saved)."""

    cbu: str | None = Field(description="Where the buyer pays (optional 2101); null: not set.")
    cbu_alias: str | None
    transfer: str = Field(
        description='"SCA" (Sistema de Circulación Abierta) or "ADC" (Agente de Depósito '
        "Colectivo), optional 27."
    )


class OrganizationOut(BaseModel):
    id: int
    name: str = Field(description="Trade name, else legal name.")
    legal_name: str
    trade_name: str | None
    cuit: str = Field(examples=["30712345678"])
    iva_condition: IssuerIvaCondition
    arca_environment: str = Field(description="sandbox, homologacion or produccion")
    certificate: CertificateOut | None = Field(
        description="The active certificate of that environment; null when there is none."
    )
    fce: FceSettings
    key: ApiKeyOut
