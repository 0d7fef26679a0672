"""Email through the durable outbox: a message is a `mail_messages` row (its MIME bytes stored)
written in the caller's transaction, with a `core.tasks` request ("mail.send") that sends it.

- `TALONARIO_MAIL_URL`: `smtp://user:pass@host:port` (STARTTLS when the server offers it) or
  `smtps://…` (implicit TLS); `TALONARIO_MAIL_FROM` is the From header. Without a URL (the
  embedded default) messages are written as `.eml` files under `instance/mail/` and the log
  says where.
- `build_message` makes an `EmailMessage` with text and HTML parts, inline images (a logo) and
  attachments; `queue_mail` stores it and asks for it to be sent; the caller commits, then
  `wake`s the returned task.
- The worker's run sends it and marks it sent. SMTP and connection errors are retried with the
  tasks' back-off (the row stays pending, its `error` says why); a permanent refusal (5xx) or
  the tasks' give-up marks it failed.

At least once, not exactly once: a crash between the server's "250 OK" and the commit that
marks the row sent makes the retry send it again. Each message keeps its `Message-ID`, so a
duplicate can be told apart (and most clients collapse it).
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import getaddresses, make_msgid, parseaddr
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from core.db import DbSession, TimestampMixin, db, utcnow
from core.tasks import Again, Task, handles, submit

log = logging.getLogger(__name__)

SEND = "mail.send"
DEFAULT_FROM = "Talonario <no-reply@localhost>"
SMTP_TIMEOUT_SECONDS = 15


class MailStatus(StrEnum):
    PENDING = "pending"  # stored, not sent yet (queued, or waiting to retry: see `error`)
    SENT = "sent"
    FAILED = "failed"  # refused for good, or given up after the tasks' retries


class MailMessage(TimestampMixin, db.Model):  # type: ignore[name-defined]
    """One email, as it will go out (or went out): `mime` is the whole message."""

    __tablename__ = "mail_messages"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        Index("ix_mail_messages_organization_id_invoice_id", "organization_id", "invoice_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    to: Mapped[str] = mapped_column(String(1000))  # the To header: comma-separated addresses
    subject: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))  # "invoice", "certificate.expiring", …
    invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", ondelete="SET NULL"), index=True
    )
    # The event this message tells about (a certificate alert): a fan-out run twice sends once.
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[MailStatus] = mapped_column(String(16), default=MailStatus.PENDING)
    sent_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    mime: Mapped[bytes] = mapped_column(LargeBinary)

    @property
    def recipients(self) -> list[str]:
        return [address for _name, address in getaddresses([self.to]) if address]


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


@dataclass(frozen=True)
class InlineImage:
    """An image the HTML part shows as `<img src="cid:{cid}">` (`cid` without brackets)."""

    cid: str
    content: bytes
    mimetype: str


@dataclass(frozen=True)
class Queued:
    mail_id: int
    task_id: int | None  # wake it after the commit


# --- building ------------------------------------------------------------------------------------


def mail_from() -> str:
    return str(current_app.config.get("MAIL_FROM") or DEFAULT_FROM)


def build_message(
    *,
    to: list[str],
    subject: str,
    text: str,
    html: str,
    attachments: tuple[Attachment, ...] = (),
    images: tuple[InlineImage, ...] = (),
    sender: str | None = None,
    reply_to: str | None = None,
) -> EmailMessage:
    """Text and HTML alternatives (the HTML with its inline images), then the attachments."""
    sender = sender or mail_from()
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = utcnow()
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    html_part = message.get_body(preferencelist=("html",))
    if images and isinstance(html_part, EmailMessage):
        for image in images:
            maintype, _slash, subtype = image.mimetype.partition("/")
            html_part.add_related(image.content, maintype, subtype, cid=f"<{image.cid}>")
    for attachment in attachments:
        maintype, _slash, subtype = attachment.mimetype.partition("/")
        message.add_attachment(attachment.content, maintype, subtype, filename=attachment.filename)
    return message


def queue_mail(
    session: DbSession,
    organization_id: int,
    message: EmailMessage,
    kind: str,
    invoice_id: int | None = None,
    event_id: int | None = None,
) -> Queued:
    """Store the message and its sending request in the session's transaction. The caller
    commits, then `wake([queued.task_id])`."""
    mail = MailMessage(
        organization_id=organization_id,
        to=str(message["To"]),
        subject=str(message["Subject"])[:300],
        kind=kind,
        invoice_id=invoice_id,
        event_id=event_id,
        status=MailStatus.PENDING,
        mime=message.as_bytes(policy=SMTP),
    )
    session.add(mail)
    session.flush()
    task_id = submit(
        session, SEND, {"mail_id": mail.id}, organization_id=organization_id, key=f"mail:{mail.id}"
    )
    return Queued(mail.id, task_id)


def mailed_events(session: DbSession, event_ids: list[int]) -> set[int]:
    """Which of these events already have their messages (a fan-out that runs again must not
    send them twice)."""
    if not event_ids:
        return set()
    rows = session.scalars(select(MailMessage.event_id).where(MailMessage.event_id.in_(event_ids)))
    return {event_id for event_id in rows if event_id is not None}


def invoice_mails(session: DbSession, organization_id: int, invoice_id: int) -> list[MailMessage]:
    """The invoice's emails, newest first (its "sent to … on …" history)."""
    return list(
        session.scalars(
            select(MailMessage)
            .where(
                MailMessage.organization_id == organization_id,
                MailMessage.invoice_id == invoice_id,
            )
            .order_by(MailMessage.id.desc())
        )
    )


# --- sending -------------------------------------------------------------------------------------


def _give_up(session: DbSession, task: Task, why: str) -> None:
    mail = session.get(MailMessage, int(task.payload["mail_id"]))
    if mail is not None and mail.status == MailStatus.PENDING:
        mail.status, mail.error = MailStatus.FAILED, why[:2000]


@handles(SEND, give_up=_give_up)
def send_task(session: DbSession, task: Task) -> Again | None:
    """Send the stored message once it is pending; a sent or failed one is left alone."""
    mail_id = int(task.payload["mail_id"])
    mail = session.get(MailMessage, mail_id)
    if mail is None or mail.status != MailStatus.PENDING:
        session.commit()
        return None
    raw, recipients = mail.mime, mail.recipients
    session.commit()  # no transaction held open across the SMTP conversation
    try:
        where = deliver(mail_id, raw, recipients)
    except smtplib.SMTPResponseException as error:
        why = f"SMTP {error.smtp_code}: {error.smtp_error!r}"[:2000]
        if error.smtp_code >= 500 and not isinstance(error, smtplib.SMTPAuthenticationError):
            _mark(session, mail_id, MailStatus.FAILED, why)  # refused for good
            return None
        _mark(session, mail_id, MailStatus.PENDING, why)
        return Again(why)
    except smtplib.SMTPRecipientsRefused as error:
        why = f"recipients refused: {sorted(error.recipients)}"[:2000]
        _mark(session, mail_id, MailStatus.FAILED, why)
        return None
    except (smtplib.SMTPException, OSError) as error:  # OSError: refused, timeout, TLS, DNS
        why = f"{type(error).__name__}: {error}"[:2000]
        _mark(session, mail_id, MailStatus.PENDING, why)
        return Again(why)
    _mark(session, mail_id, MailStatus.SENT, None)
    log.info("mail %s sent (%s)", mail_id, where)
    return None


def _mark(session: DbSession, mail_id: int, status: MailStatus, error: str | None) -> None:
    mail = session.get_one(MailMessage, mail_id)
    mail.status, mail.error = status, error
    if status == MailStatus.SENT:
        mail.sent_at = utcnow()
    session.commit()


def deliver(mail_id: int, raw: bytes, recipients: list[str]) -> str:
    """Hand the message to the configured server, or write it under `instance/mail/`; returns
    where it went. Raises smtplib/OSError errors."""
    url = current_app.config.get("MAIL_URL")
    if not url:
        return str(write_eml(mail_id, raw))
    parts = urlsplit(str(url))
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("TALONARIO_MAIL_URL must read smtp://host[:port] or smtps://host[:port]")
    sender = _envelope_sender()
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(
            parts.hostname, parts.port or 465, timeout=SMTP_TIMEOUT_SECONDS, context=context
        )
    else:
        client = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        client.ehlo()
        if parts.scheme == "smtp" and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.sendmail(sender, recipients, raw)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"


def _envelope_sender() -> str:
    address = parseaddr(mail_from())[1]
    return address or Address(addr_spec="no-reply@localhost").addr_spec


def write_eml(mail_id: int, raw: bytes) -> Path:
    """The embedded default: `instance/mail/<id>.eml` (the same name on a retry)."""
    folder = Path(current_app.instance_path) / "mail"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{mail_id:08d}.eml"
    path.write_bytes(raw)
    log.warning("TALONARIO_MAIL_URL is not set: mail %s written to %s", mail_id, path)
    return path
