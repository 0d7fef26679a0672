from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    make_response,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from blueprints.organizations.forms import (
    EmptyForm,
    InviteForm,
    OrganizationForm,
    RoleForm,
    details_from,
    role_label,
)
from blueprints.organizations.mailing import invitation_url
from blueprints.organizations.models import (
    MANAGER_ROLES,
    Membership,
    MembershipStatus,
    Organization,
    Role,
)
from blueprints.organizations.services import (
    accept_invitation,
    active_memberships,
    change_role,
    create_organization,
    find_invitation,
    invite_member,
    list_members,
    normalize_email,
    remove_member,
    resend_invitation,
    resolve_membership,
    switch_organization,
    update_organization,
)
from core.db import db
from core.errors import DomainError, NotFound
from core.rowsecurity import enter_tenant
from core.tenancy import current_organization_id, get_scoped, organization_required, role_required
from core.web import attach_error, form_status, render, see_other

bp = Blueprint("organizations", __name__, url_prefix="/organizations")


@bp.before_app_request
def load_current_membership() -> None:
    """Pick the organization this request works in, from the user's own active memberships."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return
    membership = resolve_membership(db.session, current_user, session.get("organization_id"))
    g.membership = membership
    g.organization_id = membership.organization_id if membership else None
    g.role = membership.role if membership else None
    if membership is not None:
        enter_tenant(membership.organization_id, current_user.id, db.session)


@bp.app_context_processor
def inject_organization() -> dict[str, object]:
    membership = g.get("membership")
    return {
        "current_organization": membership.organization if membership else None,
        "current_role": g.get("role"),
        "is_manager": g.get("role") in MANAGER_ROLES,
        "user_memberships": lambda: active_memberships(db.session, current_user),
        "role_label": role_label,
    }


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Response:
    form = OrganizationForm()
    if form.validate_on_submit():
        try:
            membership = create_organization(db.session, current_user, details_from(form))
        except DomainError as error:
            attach_error(form, error)
        else:
            session["organization_id"] = membership.organization_id
            flash(_("Creaste %(name)s.", name=membership.organization.display_name), "success")
            return see_other(url_for("dashboard.index"))
    return render("organizations/new.html", form=form, status=form_status(form))


@bp.post("/<int:organization_id>/switch")
@login_required
def switch(organization_id: int) -> Response:
    EmptyForm()  # CSRF is checked globally; the form only documents the contract.
    membership = switch_organization(db.session, current_user, organization_id)
    session["organization_id"] = membership.organization_id
    flash(_("Ahora trabajás en %(name)s.", name=membership.organization.display_name), "info")
    return see_other(url_for("dashboard.index"))


@bp.route("/settings", methods=["GET", "POST"])
@role_required(*MANAGER_ROLES)
def settings() -> Response:
    organization = g.membership.organization
    form = OrganizationForm(obj=organization)
    if form.validate_on_submit():
        logo = form.logo.data.read() if form.logo.data else None
        try:
            update_organization(db.session, organization, details_from(form), logo, current_user)
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("Guardamos los datos de la organización."), "success")
            return see_other(url_for("organizations.settings"))
    return render("organizations/settings.html", form=form, status=form_status(form))


@bp.get("/logo")
@organization_required
def logo() -> Response:
    organization = get_scoped_organization()
    if organization.logo is None:
        abort(404)
    response = make_response(organization.logo)
    response.content_type = organization.logo_mime or "application/octet-stream"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def get_scoped_organization() -> Organization:
    organization = db.session.get(Organization, current_organization_id())
    if organization is None:
        abort(404)
    return organization


@bp.get("/members")
@organization_required
def members() -> Response:
    return render_members(InviteForm())


@bp.post("/members/invite")
@role_required(*MANAGER_ROLES)
def invite() -> Response:
    form = InviteForm()
    sent = None
    if form.validate_on_submit():
        try:
            membership, token = invite_member(
                db.session,
                current_organization_id(),
                current_user,
                Role(g.role),
                form.email.data,
                Role(form.role.data),
                current_app.config["INVITATION_DAYS"],
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            sent = SentInvitation(membership.email, invitation_url(token), resent=False)
            form = InviteForm(formdata=None)
    return render_members(form, sent=sent, status=form_status(form))


@bp.post("/members/<int:membership_id>/resend")
@role_required(*MANAGER_ROLES)
def resend(membership_id: int) -> Response:
    EmptyForm()  # CSRF is checked globally; the form only documents the contract.
    membership = get_scoped(Membership, membership_id)
    token = resend_invitation(
        db.session,
        membership,
        current_user,
        Role(g.role),
        current_app.config["INVITATION_DAYS"],
    )
    sent = SentInvitation(membership.email, invitation_url(token), resent=True)
    return render_members(InviteForm(formdata=None), sent=sent)


@bp.post("/members/<int:membership_id>/role")
@role_required(*MANAGER_ROLES)
def update_role(membership_id: int) -> Response:
    membership = get_scoped(Membership, membership_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return render_members(InviteForm(formdata=None), status=422)
    change_role(db.session, membership, Role(form.role.data), Role(g.role), current_user)
    return render_members(InviteForm(formdata=None))


@bp.post("/members/<int:membership_id>/remove")
@role_required(*MANAGER_ROLES)
def remove(membership_id: int) -> Response:
    membership = get_scoped(Membership, membership_id)
    removed_self = membership.user_id == current_user.id
    remove_member(db.session, membership, Role(g.role), current_user)
    if removed_self:
        return see_other(url_for("dashboard.index"))
    return render_members(InviteForm(formdata=None))


@dataclass(frozen=True)
class SentInvitation:
    """What the members page says after an invitation is emailed: to whom, and its link."""

    email: str
    url: str
    resent: bool


def render_members(
    form: InviteForm, sent: SentInvitation | None = None, status: int = 200
) -> Response:
    return render(
        "organizations/members.html",
        "organizations/_members.html",
        status=status,
        form=form,
        sent=sent,
        members=list_members(db.session, current_organization_id()),
        role_form=RoleForm,
        action_form=EmptyForm(),
    )


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str) -> Response:
    invitation = find_invitation(db.session, token)
    if not current_user.is_authenticated:
        return render("organizations/invitation.html", invitation=invitation, token=token)
    if normalize_email(current_user.email) != invitation.email:
        raise NotFound(_("La invitación no existe, ya se usó o venció. Pedí una nueva."))
    form = EmptyForm()
    if request.method == "POST" and form.validate_on_submit():
        membership = accept_invitation(db.session, token, current_user)
        if membership.status == MembershipStatus.PENDING:
            why = _(
                "Confirmá tu email para sumarte a %(name)s: abrí el enlace que te enviamos.",
                name=membership.organization.display_name,
            )
            flash(why, "info")
            return see_other(url_for("dashboard.index"))
        session["organization_id"] = membership.organization_id
        flash(_("Te sumaste a %(name)s.", name=membership.organization.display_name), "success")
        return see_other(url_for("dashboard.index"))
    return render("organizations/invitation.html", invitation=invitation, token=token, form=form)
