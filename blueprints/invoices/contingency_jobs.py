"""The contingency's durable work (`core.tasks`): informing ARCA once it is back, asking for the
fortnight's CAEA ahead. Chores look for work every few minutes and open one request per
organization; a request that finds ARCA still down waits with back-off (and, when it gives up,
the next chore opens another): nobody has to remember to click."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select

from blueprints.certificates.connection import NoActiveCertificate
from blueprints.invoices.contingency import (
    awaiting_no_movement,
    caeas_of,
    fortnights_to_request,
    inform_pending,
    request_caeas,
)
from blueprints.invoices.locks import SequenceBusy
from blueprints.invoices.models import CaeaReport, CaeaReportStatus
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.points_of_sale.models import PointOfSale
from blueprints.points_of_sale.services import ArcaCallFailed
from core.arca import get_arca
from core.db import DbSession
from core.scheduler import scheduled
from core.tasks import Again, Task, handles, submit

log = logging.getLogger(__name__)

INFORM = "invoices.caea_inform"
REQUEST = "invoices.caea_request"


def inform_key(organization_id: int) -> str:
    return f"caea:{organization_id}:inform"


def request_key(organization_id: int) -> str:
    return f"caea:{organization_id}:request"


def submit_inform(session: DbSession, organization_id: int) -> int | None:
    """Open the organization's informing request (none if one is open). The caller commits and
    wakes it."""
    return submit(
        session,
        INFORM,
        {"organization_id": organization_id},
        organization_id=organization_id,
        key=inform_key(organization_id),
    )


@handles(INFORM)
def inform_task(session: DbSession, task: Task) -> Again | None:
    """Inform what waits; again (with back-off) while ARCA is down or a sequence is busy."""
    organization_id = int(task.payload["organization_id"])
    try:
        outcome = inform_pending(session, organization_id, get_arca())
    except (ArcaCallFailed, SequenceBusy) as error:
        session.rollback()
        return Again(error.message)
    except NoActiveCertificate as error:  # a person must act; the chore asks again later
        session.rollback()
        log.warning("organization %s: CAEA vouchers wait: %s", organization_id, error.message)
        return None
    log.info(
        "organization %s: %s CAEA vouchers informed, %s refused, %s without movement",
        organization_id,
        len(outcome.informed),
        len(outcome.rejected),
        len(outcome.no_movement),
    )
    return None


@handles(REQUEST)
def request_task(session: DbSession, task: Task) -> Again | None:
    organization_id = int(task.payload["organization_id"])
    try:
        request_caeas(session, organization_id, get_arca())
    except ArcaCallFailed as error:
        session.rollback()
        return Again(error.message)
    except NoActiveCertificate:
        session.rollback()
        return None
    return None


@scheduled("invoices.caea_inform", every=dt.timedelta(minutes=5))
def inform_chore(session: DbSession, now: dt.datetime) -> list[int]:
    """An informing request for each organization with vouchers waiting or a fortnight whose
    points of sale without movement are still to be reported."""
    pending = set(
        session.scalars(
            select(CaeaReport.organization_id)
            .where(CaeaReport.status == CaeaReportStatus.PENDING)
            .distinct()
        ).all()
    )
    today = arca_today(get_arca())
    pending |= {
        organization_id
        for organization_id in _with_caea_points(session)
        if awaiting_no_movement(session, organization_id, today)
    }
    task_ids = [submit_inform(session, organization_id) for organization_id in sorted(pending)]
    session.commit()
    return [task_id for task_id in task_ids if task_id is not None]


@scheduled("invoices.caea_request", every=dt.timedelta(hours=6))
def request_chore(session: DbSession, now: dt.datetime) -> list[int]:
    """Ask ahead: every organization with a CAEA point of sale holds the current fortnight's
    CAEA, and the next one's from 5 days before it starts (ARCA's window)."""
    wanted = set(fortnights_to_request(arca_today(get_arca())))
    task_ids = []
    for organization_id in _with_caea_points(session):
        held = {(code.period, code.fortnight) for code in caeas_of(session, organization_id)}
        if wanted - held:
            task_ids.append(
                submit(
                    session,
                    REQUEST,
                    {"organization_id": organization_id},
                    organization_id=organization_id,
                    key=request_key(organization_id),
                )
            )
    session.commit()
    return [task_id for task_id in task_ids if task_id is not None]


def _with_caea_points(session: DbSession) -> list[int]:
    return list(
        session.scalars(
            select(PointOfSale.organization_id)
            .where(func.upper(PointOfSale.emission_type).like("CAEA%"))
            .distinct()
        ).all()
    )
