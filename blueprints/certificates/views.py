from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, current_app, flash, g, make_response, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from blueprints.auth.recovery import verified_email_required
from blueprints.certificates.connection import test_connection
from blueprints.certificates.forms import (
    EmptyForm,
    GenerateForm,
    ImportPairForm,
    Pkcs12Form,
    UploadForm,
    uploaded,
)
from blueprints.certificates.models import Certificate
from blueprints.certificates.services import (
    activate_certificate,
    default_alias,
    delete_certificate,
    generate_request,
    get_certificate,
    has_active_certificate,
    import_pair,
    import_pkcs12,
    install_certificate,
    issue_with_sandbox_ca,
    list_certificates,
)
from blueprints.dashboard.services import SETUP_CHECKS
from blueprints.organizations.models import MANAGER_ROLES
from core.arca import ArcaGateway, get_arca
from core.crypto import get_keyring
from core.db import DbSession, db
from core.errors import DomainError
from core.tenancy import current_organization_id, organization_required, role_required
from core.web import attach_error, render, see_other

bp = Blueprint("certificates", __name__, url_prefix="/certificates")


def certificate_step_done(session: DbSession, organization_id: int) -> bool:
    environment = current_app.config["ARCA_ENVIRONMENT"]
    return has_active_certificate(session, organization_id, environment)


SETUP_CHECKS["certificate"] = certificate_step_done


@bp.get("/")
@organization_required
def index() -> Response:
    return render_index()


@bp.post("/generate")
@role_required(*MANAGER_ROLES)
@verified_email_required
def generate() -> Response:
    form = GenerateForm()
    if form.validate_on_submit():
        try:
            certificate = generate_request(
                db.session,
                g.membership.organization,
                current_user,
                get_arca().environment_name,
                form.alias.data,
                get_keyring(),
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(
                _("Generamos la clave y el pedido (CSR) «%(alias)s».", alias=certificate.alias),
                "success",
            )
            return see_other(url_for("certificates.index", _anchor=f"certificate-{certificate.id}"))
    return render_index("certificates/_generate.html", 422, generate_form=form)


@bp.get("/<int:certificate_id>/csr")
@organization_required
def csr(certificate_id: int) -> Response:
    certificate = get_certificate(db.session, current_organization_id(), certificate_id)
    if certificate.csr_pem is None:
        return Response(status=404)
    response = make_response(certificate.csr_pem)
    response.content_type = "application/pkcs10"
    response.headers["Content-Disposition"] = f'attachment; filename="{certificate.alias}.csr"'
    return response


@bp.post("/<int:certificate_id>/upload")
@role_required(*MANAGER_ROLES)
@verified_email_required
def upload(certificate_id: int) -> Response:
    certificate = get_certificate(db.session, current_organization_id(), certificate_id)
    form = UploadForm()
    if form.validate_on_submit():
        try:
            install_certificate(
                db.session,
                g.membership.organization,
                current_user,
                certificate,
                uploaded(form.certificate_file.data),
                get_arca().now(),
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            flash(
                _("Certificado «%(alias)s» cargado y activo.", alias=certificate.alias), "success"
            )
            return see_other(url_for("certificates.index"))
    return render_pending(certificate, form)


@bp.post("/<int:certificate_id>/issue-sandbox")
@role_required(*MANAGER_ROLES)
@verified_email_required
def issue_sandbox(certificate_id: int) -> Response:
    certificate = get_certificate(db.session, current_organization_id(), certificate_id)
    EmptyForm()  # CSRF is checked globally
    issue_with_sandbox_ca(
        db.session, g.membership.organization, current_user, certificate, get_arca()
    )
    flash(
        _(
            "La CA de prueba emitió el certificado «%(alias)s»: ya está activo.",
            alias=certificate.alias,
        ),
        "success",
    )
    return see_other(url_for("certificates.index"))


@bp.post("/import")
@role_required(*MANAGER_ROLES)
@verified_email_required
def import_files() -> Response:
    form = ImportPairForm()

    def import_it(gateway: ArcaGateway) -> Certificate:
        return import_pair(
            db.session,
            g.membership.organization,
            current_user,
            gateway.environment_name,
            uploaded(form.key_file.data),
            uploaded(form.certificate_file.data),
            form.password.data or "",
            gateway.now(),
            get_keyring(),
        )

    return finish_import(form, import_it, "pair_form")


@bp.post("/import-pkcs12")
@role_required(*MANAGER_ROLES)
@verified_email_required
def import_bundle() -> Response:
    form = Pkcs12Form()

    def import_it(gateway: ArcaGateway) -> Certificate:
        return import_pkcs12(
            db.session,
            g.membership.organization,
            current_user,
            gateway.environment_name,
            uploaded(form.bundle.data),
            form.password.data or "",
            gateway.now(),
            get_keyring(),
        )

    return finish_import(form, import_it, "pkcs12_form")


def finish_import(
    form: FlaskForm, import_it: Callable[[ArcaGateway], Certificate], form_name: str
) -> Response:
    """Both imports: run the service on a valid form; on refusal, the form again with why."""
    if form.validate_on_submit():
        try:
            certificate = import_it(get_arca())
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            flash(
                _("Certificado «%(alias)s» importado y activo.", alias=certificate.alias), "success"
            )
            return see_other(url_for("certificates.index"))
    return render_import(**{form_name: form})


@bp.post("/<int:certificate_id>/activate")
@role_required(*MANAGER_ROLES)
@verified_email_required
def activate(certificate_id: int) -> Response:
    certificate = get_certificate(db.session, current_organization_id(), certificate_id)
    activate_certificate(db.session, current_user, certificate, get_arca().now())
    flash(_("«%(alias)s» es ahora el certificado activo.", alias=certificate.alias), "success")
    return see_other(url_for("certificates.index"))


@bp.post("/<int:certificate_id>/delete")
@role_required(*MANAGER_ROLES)
def delete(certificate_id: int) -> Response:
    certificate = get_certificate(db.session, current_organization_id(), certificate_id)
    alias = certificate.alias
    delete_certificate(db.session, current_user, certificate, get_arca().now())
    flash(_("Borramos el certificado «%(alias)s» y su clave.", alias=alias), "success")
    return see_other(url_for("certificates.index"))


@bp.post("/test-connection")
@organization_required
def connection() -> Response:
    EmptyForm()
    report = test_connection(db.session, current_organization_id(), get_arca())
    return render_index(fragment="certificates/_connection.html", report=report, status=200)


def render_index(fragment: str | None = None, status: int = 200, **forms: object) -> Response:
    organization_id = current_organization_id()
    gateway = get_arca()
    context: dict[str, object] = {
        "generate_form": GenerateForm(formdata=None, alias=default_alias(gateway.now().date())),
        "pair_form": ImportPairForm(formdata=None),
        "pkcs12_form": Pkcs12Form(formdata=None),
        "upload_form": UploadForm(formdata=None),
        "blank_upload_form": UploadForm(formdata=None),
        "failed_id": None,
        "action_form": EmptyForm(formdata=None),
        "report": None,
        **forms,
    }
    return render(
        "certificates/index.html",
        fragment,
        status=status,
        certificates=list_certificates(db.session, organization_id),
        environment=gateway.environment_name,
        now=gateway.now(),
        **context,
    )


def render_pending(certificate: Certificate, form: UploadForm) -> Response:
    return render_index(
        "certificates/_pending.html",
        422,
        upload_form=form,
        pending=certificate,
        failed_id=certificate.id,
    )


def render_import(**forms: object) -> Response:
    return render_index("certificates/_import.html", 422, **forms)
