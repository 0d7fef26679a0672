"""How the Auditoría page names actions and detail fields: in words, in the user's language
(the CSV in Spanish, like its headers). An action without a label shows its code."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext

from blueprints.customers.rules import fold
from core.i18n import N_

ACTIONS = {
    "audit.exported": N_("Exportó la auditoría"),
    "auth.login": N_("Inició sesión"),
    "auth.login_failed": N_("Intento de ingreso fallido"),
    "auth.logout": N_("Cerró sesión"),
    "auth.password_changed": N_("Cambió su contraseña"),
    "auth.password_reset": N_("Restableció su contraseña"),
    "auth.two_factor_enabled": N_("Activó la verificación en dos pasos"),
    "auth.two_factor_disabled": N_("Desactivó la verificación en dos pasos"),
    "auth.sessions_revoked": N_("Cerró sus otras sesiones"),
    "membership.invited": N_("Invitó a una persona"),
    "membership.invitation_revoked": N_("Revocó una invitación"),
    "membership.accepted": N_("Aceptó una invitación"),
    "membership.role_changed": N_("Cambió un rol"),
    "membership.removed": N_("Quitó a una persona del equipo"),
    "organization.settings_changed": N_("Cambió los datos de la organización"),
    "organization.two_factor_policy": N_("Cambió la exigencia de verificación en dos pasos"),
    "organization.closed": N_("Cerró la organización"),
    "organization.exported": N_("Exportó todos los datos"),
    "certificate.generate": N_("Generó un pedido de certificado"),
    "certificate.upload": N_("Cargó un certificado"),
    "certificate.import": N_("Importó un certificado"),
    "certificate.activate": N_("Activó un certificado"),
    "certificate.delete": N_("Borró un certificado"),
    "keys.rotate": N_("Rotó las claves de cifrado"),
    "api_key.created": N_("Creó una clave de API"),
    "api_key.revoked": N_("Revocó una clave de API"),
    "webhook.created": N_("Creó un webhook"),
    "webhook.updated": N_("Modificó un webhook"),
    "webhook.deleted": N_("Borró un webhook"),
    "webhook.secret_rotated": N_("Rotó el secreto de un webhook"),
    "webhook.disabled": N_("Se desactivó un webhook"),
    "invoice.save": N_("Guardó un comprobante"),
    "invoice.delete": N_("Borró un borrador"),
    "invoice.authorized": N_("ARCA autorizó un comprobante"),
    "invoice.rejected": N_("ARCA rechazó un comprobante"),
    "invoice.needs_attention": N_("Un comprobante necesita revisión"),
    "invoice.adopted_by_verify": N_("La verificación adoptó un comprobante"),
    "invoice.released_by_verify": N_("La verificación liberó un comprobante"),
    "customer.created": N_("Agregó un cliente"),
    "customer.updated": N_("Modificó un cliente"),
    "customer.archive": N_("Archivó un cliente"),
    "customer.unarchive": N_("Restauró un cliente"),
    "customer.delete": N_("Borró un cliente"),
    "customer.erased": N_("Borró los datos personales de un cliente"),
    "customer.exported": N_("Exportó los datos de un cliente"),
    "customers.import": N_("Importó clientes"),
    "point_of_sale.add": N_("Agregó un punto de venta"),
    "point_of_sale.update": N_("Modificó un punto de venta"),
    "points_of_sale.sync": N_("Sincronizó los puntos de venta con ARCA"),
    "export.downloaded": N_("Descargó una exportación"),
}

SUBJECTS = {
    "invoice": N_("Comprobante"),
    "customer": N_("Cliente"),
    "certificate": N_("Certificado"),
    "point_of_sale": N_("Punto de venta"),
    "webhook_endpoint": N_("Webhook"),
    "api_key": N_("Clave de API"),
    "membership": N_("Integrante"),
    "export": N_("Exportación"),
    "customer_import": N_("Importación"),
    "user": N_("Usuario"),
    "organization": N_("Organización"),
}

FIELDS = {
    "role": N_("rol"),
    "legal_name": N_("razón social"),
    "trade_name": N_("nombre de fantasía"),
    "address": N_("domicilio"),
    "iva_condition": N_("condición frente al IVA"),
    "cuit": N_("CUIT"),
    "iibb": N_("ingresos brutos"),
    "a_with_legend": N_("factura A con leyenda"),
    "email_invoices": N_("enviar comprobantes por email"),
    "email": N_("email"),
    "name": N_("nombre"),
    "number": N_("número"),
    "total": N_("total"),
    "kind": N_("tipo"),
    "codes": N_("códigos de ARCA"),
    "activity_start": N_("inicio de actividades"),
    "logo": N_("logo"),
    "require_two_factor": N_("exigir verificación en dos pasos"),
    "url": N_("dirección"),
    "events": N_("eventos"),
    "enabled": N_("activo"),
    "all_sessions": N_("todas, también esta"),
    "second_factor": N_("segundo paso"),
}


def action_label(action: str, spanish: bool = False) -> str:
    label = ACTIONS.get(action)
    if label is None:
        return action
    return label if spanish else gettext(label)


def subject_label(kind: str | None) -> str:
    if not kind:
        return ""
    label = SUBJECTS.get(kind)
    return gettext(label) if label else kind


def field_label(name: str) -> str:
    label = FIELDS.get(name)
    return gettext(label) if label else name


def matching_actions(text: str) -> list[str]:
    """The actions whose label (Spanish or the user's language) contains `text`."""
    wanted = fold(text)
    return [
        code
        for code, label in ACTIONS.items()
        if wanted in fold(label) or wanted in fold(gettext(label))
    ]


def detail_lines(details: dict[str, Any]) -> list[tuple[str, str]]:
    """Details as (field, text) lines; a change `[old, new]` reads "old → new"."""
    lines: list[tuple[str, str]] = []
    for key, value in sorted((details or {}).items()):
        if key == "changes" and isinstance(value, dict):
            lines.extend((field_label(str(name)), show(change)) for name, change in value.items())
        else:
            lines.append((field_label(key), show(value)))
    return lines


def show(value: Any) -> str:
    if (
        isinstance(value, list)
        and len(value) == 2
        and not any(isinstance(v, (list, dict)) for v in value)
    ):
        return f"{plain(value[0])} → {plain(value[1])}"
    return plain(value)


def plain(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("sí") if value else gettext("no")
    if isinstance(value, list):
        return ", ".join(plain(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}: {plain(item)}" for key, item in value.items())
    return str(value)
