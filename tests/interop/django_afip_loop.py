"""Driver run inside `.venv-interop/`: django-afip's whole loop against the sandbox over HTTP.

Usage: django_afip_loop.py BASE_URL CUIT
Prints one JSON object (the last line of stdout) with what the library saw.

As a django-afip user starts: the library makes the key and the CSR (TaxPayer.generate_key,
generate_csr: an MD5-signed CSR, issue #17 item 5), the CSR goes to the CA's portal (here the
sandbox's POST /_sandbox/certificates, where a user would use ARCA's WSASS page) and the
certificate comes back into the TaxPayer. Then only django-afip's public API is used (TaxPayer,
PointOfSales, the type managers' populate, Receipt.objects, ReceiptQuerySet.validate). The one
change is the one any user makes to reach another server: the WSDL URLs in
`django_afip.clients.WSDLS`; the endpoints then come from the sandbox's WSDLs (`soap:address`),
as they do from ARCA's.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import django
from django.conf import settings

BATCH = (Decimal("100.00"), Decimal("250.50"), Decimal("1000.00"))
VAT_21 = Decimal("0.21")


def configure(workdir: Path) -> None:
    """A minimal Django project: django-afip on in-memory SQLite (this one process is its only
    user; a file would fsync through 19 migrations), key and certificate files under `workdir`."""
    settings.configure(
        INSTALLED_APPS=["django_afip"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        MEDIA_ROOT=str(workdir / "media"),
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def certify(afip: Any, base_url: str, cuit: str) -> dict[str, str]:
    """A TaxPayer with the library's own key and CSR, certified by the sandbox's CA."""
    import requests
    from cryptography import x509
    from django.core.files.base import ContentFile

    taxpayer = afip.TaxPayer(
        name="Interop SA", cuit=int(cuit), is_sandboxed=True, active_since=date(2020, 1, 1)
    )
    taxpayer.generate_key()
    csr = taxpayer.generate_csr().read()
    answer = requests.post(
        f"{base_url}/_sandbox/certificates", json={"csr": csr.decode()}, timeout=30
    )
    answer.raise_for_status()
    taxpayer.certificate = ContentFile(answer.json()["certificate"].encode(), name="interop.crt")
    taxpayer.save()
    algorithm = x509.load_pem_x509_csr(csr).signature_hash_algorithm
    return {"csr_signature_hash": algorithm.name if algorithm else "none"}


def point_at(base_url: str) -> None:
    """Both environments' WSAA and WSFEv1 WSDLs at the sandbox (serializers use "production")."""
    from django_afip import clients

    for environment in clients.WSDLS.values():
        environment["wsaa"] = f"{base_url}/ws/services/LoginCms?wsdl"
        environment["wsfe"] = f"{base_url}/wsfev1/service.asmx?WSDL"


def main(base_url: str, cuit: str) -> dict[str, Any]:
    configure(Path.cwd())
    point_at(base_url)
    from django_afip import models as afip

    timings: dict[str, float] = {}

    def timed(step: str, started: float) -> None:
        timings[step] = round(time.monotonic() - started, 3)

    started = time.monotonic()
    certificate = certify(afip, base_url, cuit)
    taxpayer = afip.TaxPayer.objects.get(cuit=int(cuit))
    timed("certificate", started)

    started = time.monotonic()
    ticket = taxpayer.get_or_create_ticket("wsfe")
    timed("login", started)

    started = time.monotonic()
    taxpayer.fetch_points_of_sales(ticket)
    timed("points_of_sale", started)

    started = time.monotonic()
    tables = populate_tables(afip, ticket)
    timed("parameters", started)

    pos = afip.PointOfSales.objects.get(owner=taxpayer, number=1)
    factura_b = first(afip.ReceiptType, "6")

    started = time.monotonic()
    last_before = afip.Receipt.objects.fetch_last_receipt_number(pos, factura_b)
    timed("last_before", started)

    receipts = create_batch(afip, pos, factura_b)
    started = time.monotonic()
    errors = afip.Receipt.objects.filter(pk__in=[r.pk for r in receipts]).validate(ticket)
    timed("authorize", started)

    started = time.monotonic()
    issued = [describe(afip, receipt) for receipt in receipts]
    timed("consult", started)
    last_after = afip.Receipt.objects.fetch_last_receipt_number(pos, factura_b)

    return {
        "library": "django-afip",
        "certificate": certificate,
        "ticket": {"token_length": len(ticket.token), "sign_length": len(ticket.signature)},
        "tickets_stored": afip.AuthTicket.objects.count(),
        "points_of_sale": sorted(
            [p.number, p.issuance_type, p.blocked]
            for p in afip.PointOfSales.objects.filter(owner=taxpayer)
        ),
        "tables": tables,
        "last_before": last_before,
        "errors": errors,
        "receipts": issued,
        "last_after": last_after,
        "timings": timings,
    }


def populate_tables(afip: Any, ticket: Any) -> dict[str, list[list[str | None]]]:
    """Every FEParamGet* table django-afip knows, as a user gets them: its shipped fixtures
    (`load_metadata`, its copy of ARCA's tables) and then the WS's answers merged into them.
    `populate` get_or_creates on every field, so any difference from ARCA's text or dates
    shows up as a second row with the same code (issue #17 item 6)."""
    afip.load_metadata()
    managers = {
        "FEParamGetTiposCbte": afip.ReceiptType.objects,
        "FEParamGetTiposConcepto": afip.ConceptType.objects,
        "FEParamGetTiposDoc": afip.DocumentType.objects,
        "FEParamGetTiposIva": afip.VatType.objects,
        "FEParamGetTiposTributos": afip.TaxType.objects,
        "FEParamGetTiposMonedas": afip.CurrencyType.objects,
        "FEParamGetTiposOpcional": afip.OptionalType.objects,
    }
    tables: dict[str, list[list[str | None]]] = {}
    for operation, manager in managers.items():
        manager.populate(ticket)
        tables[operation] = [
            [row.code, row.description, _iso(row.valid_from), _iso(row.valid_to)]
            for row in manager.order_by("pk")
        ]
    afip.ClientVatCondition.objects.populate(ticket)
    tables["FEParamGetCondicionIvaReceptor"] = [
        [row.code, row.description, row.cmp_clase]
        for row in afip.ClientVatCondition.objects.order_by("pk")
    ]
    return tables


def create_batch(afip: Any, pos: Any, receipt_type: Any) -> list[Any]:
    """Factura B to final consumers (DocTipo 99, IVA condition 5), 21 % VAT, issued today."""
    from django_afip.clients import TZ_AR

    today = datetime.now(TZ_AR).date()
    receipts = []
    for net in BATCH:
        vat = (net * VAT_21).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        receipt = afip.Receipt.objects.create(
            point_of_sales=pos,
            receipt_type=receipt_type,
            concept=first(afip.ConceptType, "1"),
            document_type=first(afip.DocumentType, "99"),
            document_number=0,
            issued_date=today,
            total_amount=net + vat,
            net_untaxed=0,
            net_taxed=net,
            exempt_amount=0,
            currency=first(afip.CurrencyType, "PES"),
            currency_quote=1,
            client_vat_condition=first(afip.ClientVatCondition, "5"),
        )
        afip.Vat.objects.create(
            vat_type=first(afip.VatType, "5"),
            base_amount=net,
            amount=vat,
            receipt=receipt,
        )
        receipts.append(receipt)
    return receipts


def describe(afip: Any, receipt: Any) -> dict[str, Any]:
    """What the library stored from FECAESolicitar, and what FECompConsultar returns for it."""
    receipt.refresh_from_db()
    validation = getattr(receipt, "validation", None) if receipt.receipt_number else None
    consulted = afip.Receipt.objects.fetch_receipt_data(
        receipt.receipt_type.code, receipt.receipt_number, receipt.point_of_sales
    )
    return {
        "number": receipt.receipt_number,
        "total": str(receipt.total_amount),
        "cae": validation.cae if validation else None,
        "cae_expiration": _iso(validation.cae_expiration) if validation else None,
        "consulted": None
        if consulted is None
        else {
            "CodAutorizacion": consulted.CodAutorizacion,
            "Resultado": consulted.Resultado,
            "EmisionTipo": consulted.EmisionTipo,
            "CbteDesde": consulted.CbteDesde,
            "CbteHasta": consulted.CbteHasta,
            "CbteTipo": consulted.CbteTipo,
            "PtoVta": consulted.PtoVta,
            "DocTipo": consulted.DocTipo,
            "ImpTotal": str(consulted.ImpTotal),
            "ImpIVA": str(consulted.ImpIVA),
            "FchVto": consulted.FchVto,
        },
    }


def first(model: Any, code: str) -> Any:
    """The row with this code; the first one if the merge duplicated it (the test reports that
    from the tables instead of this script dying on MultipleObjectsReturned)."""
    return model.objects.filter(code=code).order_by("pk").first()


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:3]), default=str))
