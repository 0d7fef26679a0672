"""Certificate expiry alerts: "certificate.expiring" 30, 7 and 1 days before the active
certificate's end, "certificate.expired" once it ended — each an event emitted once (its key
names the certificate and the threshold), delivered to webhooks and emailed to every owner and
admin. An hourly job of the scheduler (`core.scheduler`); `flask --app app scheduler run
certificates.expiry` from a shell.

A check that was not run for a while sends only the alert due now (a certificate found 5 days
from its end gets the 7-day alert, not the 30-day one as well).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from blueprints.certificates.models import Certificate, CertificateStatus
from blueprints.organizations.models import Organization
from blueprints.organizations.notices import Notice, notify_managers, public_url
from core.arca import get_arca
from core.db import DbSession
from core.events import Event, emit_once, listen
from core.i18n import format_day
from core.mail import mailed_events
from core.scheduler import scheduled

ALERT_DAYS = (30, 7, 1)
KIND = "certificate.alert"


@scheduled("certificates.expiry", every=dt.timedelta(hours=1))
def check_expiry(session: DbSession, now: dt.datetime) -> list[int]:
    """Emit the alerts due now (at most one per certificate); returns the fan-out tasks'.
    Judged by ARCA's clock (the sandbox's may be moved), as the dashboard's banner is."""
    gateway = get_arca()
    now = gateway.now()
    horizon = now + dt.timedelta(days=max(ALERT_DAYS))
    certificates = session.scalars(
        select(Certificate).where(
            Certificate.status == CertificateStatus.ACTIVE,
            Certificate.environment == gateway.environment_name,
            Certificate.not_valid_after.is_not(None),
            Certificate.not_valid_after <= horizon,
        )
    ).all()
    task_ids = [_alert(session, certificate, now) for certificate in certificates]
    return [task_id for task_id in task_ids if task_id is not None]


def _alert(session: DbSession, certificate: Certificate, now: dt.datetime) -> int | None:
    end = certificate.not_valid_after
    if end is None:  # the query asked for a date; for the type checker
        return None
    if end <= now:
        type, key, days = "certificate.expired", f"certificate.expired:{certificate.id}", 0
    else:
        left = end - now
        days = min(limit for limit in ALERT_DAYS if left <= dt.timedelta(days=limit))
        type, key = "certificate.expiring", f"certificate.expiring:{certificate.id}:{days}"
    payload = certificate_payload(certificate, now, days)
    return emit_once(session, certificate.organization_id, type, payload, key=key)


def certificate_payload(certificate: Certificate, now: dt.datetime, days: int) -> dict[str, Any]:
    end = certificate.not_valid_after
    return {
        "object": "certificate",
        "id": certificate.id,
        "environment": certificate.environment,
        "alias": certificate.alias,
        "serial_number": certificate.serial_number,
        "fingerprint": certificate.fingerprint,
        "issuer": certificate.issuer,
        "not_valid_before": _iso(certificate.not_valid_before),
        "not_valid_after": _iso(end),
        "alert_days": days,  # 30, 7, 1 (0: expired)
        "days_left": max(0, (end - now).days) if end else None,
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None


@listen("certificate_mail")
def email_managers(session: DbSession, events: list[Event]) -> list[int]:
    """Each certificate alert emailed to every owner and admin, once per event (a fan-out run
    again finds the messages it already queued)."""
    alerts = [event for event in events if event.type.startswith("certificate.")]
    if not alerts:
        return []
    done = mailed_events(session, [event.id for event in alerts])
    task_ids: list[int] = []
    for event in alerts:
        if event.id not in done:
            compose = _compose(event.type, event.payload)
            task_ids += notify_managers(
                session, event.organization_id, KIND, compose, event_id=event.id
            )
    return task_ids


def _compose(type: str, payload: dict[str, Any]) -> Any:
    end = dt.datetime.fromisoformat(str(payload["not_valid_after"]).replace("Z", "+00:00"))

    def compose(organization: Organization) -> Notice:
        facts = {
            "alias": payload["alias"],
            "organization": organization.display_name,
            "date": format_day(end.date()),
        }
        if type == "certificate.expired":
            subject = _("Venció el certificado de ARCA de %(organization)s", **facts)
            first = _(
                "El certificado «%(alias)s» de %(organization)s venció el %(date)s: ARCA ya no "
                "autoriza comprobantes con él.",
                **facts,
            )
        else:
            days = int(payload["days_left"] or 0)
            subject = ngettext(
                "El certificado de ARCA de %(organization)s vence mañana",
                "El certificado de ARCA de %(organization)s vence en %(num)s días",
                max(days, 1),
                **facts,
            )
            first = _(
                "El certificado «%(alias)s» de %(organization)s vence el %(date)s. Después de "
                "esa fecha ARCA no autoriza comprobantes con él.",
                **facts,
            )
        return Notice(
            subject=subject,
            paragraphs=[
                first,
                _(
                    "Generá una nueva solicitud (CSR) en Talonario, pedí el certificado en ARCA "
                    "y subilo: el nuevo reemplaza al anterior sin cortar la facturación."
                ),
            ],
            link=public_url("certificates.index"),
            link_text=_("Ir a Certificados"),
        )

    return compose
