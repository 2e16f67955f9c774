"""Satisfaction surveys (SKM): the kiosks' endpoint, the table, and the officers' IKM page."""

import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Date, ForeignKey, Index, SmallInteger, String, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from central_server.auth import StaffUser
from central_server.db import Database
from central_server.errors import fail
from central_server.kiosk_auth import KioskGuard, KioskRef
from central_server.models import Base
from central_server.officer.common import PageContext, offices_for
from central_server.schemas import Error
from central_server.settings import now_wib
from kiosk_app.domain import ikm
from kiosk_app.domain.catalogue import SERVICES

log = logging.getLogger("central_server.surveys")

MAX_AGE_DAYS = 400  # a kiosk offline for long still delivers its surveys; older is a bug
VISIT_TITLES = {"status": "Cek status permohonan", "print": "Cetak dokumen"}
ServiceKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{8,128}$")]


class SurveyResponse(Base):
    """One citizen's answers (1..4) to the nine elements; nothing personal is kept."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("kiosk_id", "idempotency_key", name="uq_survey_kiosk_idempotency_key"),
        Index("ix_survey_responses_office_date", "office_code", "survey_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.kiosk_id"))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    office_code: Mapped[str] = mapped_column(ForeignKey("offices.code"))
    service: Mapped[str] = mapped_column(String(40))
    survey_date: Mapped[date] = mapped_column(Date)
    u1: Mapped[int] = mapped_column(SmallInteger)
    u2: Mapped[int] = mapped_column(SmallInteger)
    u3: Mapped[int] = mapped_column(SmallInteger)
    u4: Mapped[int] = mapped_column(SmallInteger)
    u5: Mapped[int] = mapped_column(SmallInteger)
    u6: Mapped[int] = mapped_column(SmallInteger)
    u7: Mapped[int] = mapped_column(SmallInteger)
    u8: Mapped[int] = mapped_column(SmallInteger)
    u9: Mapped[int] = mapped_column(SmallInteger)
    received_at: Mapped[str] = mapped_column(String(40))

    def answers(self) -> dict[str, int]:
        """{U1: .., ..., U9: ..}."""
        return {code: int(getattr(self, code.lower())) for code in ikm.CODES}


Answer = Annotated[int, Field(ge=1, le=4)]


class Answers(BaseModel):
    """The nine IKM elements (Permenpan-RB 14/2017), each answered 1..4."""

    model_config = ConfigDict(extra="forbid")
    U1: Answer
    U2: Answer
    U3: Answer
    U4: Answer
    U5: Answer
    U6: Answer
    U7: Answer
    U8: Answer
    U9: Answer


class SurveyIn(BaseModel):
    """A survey sent by a kiosk: the visit's service, its local date and the nine answers."""

    service: ServiceKey
    survey_date: date
    answers: Answers


class SurveyOut(BaseModel):
    """The stored survey (replayed for the same Idempotency-Key)."""

    id: int
    service: str
    survey_date: date
    office_code: str
    received_at: str


def _out(row: SurveyResponse) -> dict[str, Any]:
    return SurveyOut(
        id=row.id,
        service=row.service,
        survey_date=row.survey_date,
        office_code=row.office_code,
        received_at=row.received_at,
    ).model_dump(mode="json")


def summarise_rows(
    session: Session, office_code: str, start: date, end: date
) -> list[tuple[str, ikm.IkmSummary]]:
    """(service, summary) for every service with answers in the range, plus "" for all."""
    sums = [func.sum(getattr(SurveyResponse, code.lower())) for code in ikm.CODES]
    where = (
        SurveyResponse.office_code == office_code,
        SurveyResponse.survey_date >= start,
        SurveyResponse.survey_date <= end,
    )
    query = select(SurveyResponse.service, func.count(), *sums).where(*where)
    rows = session.execute(
        query.group_by(SurveyResponse.service).order_by(SurveyResponse.service)
    ).all()
    result: list[tuple[str, ikm.IkmSummary]] = []
    grand = dict.fromkeys(ikm.CODES, 0)
    respondents = 0
    for service, count, *totals in rows:
        by_code = dict(zip(ikm.CODES, (int(t) for t in totals), strict=True))
        summary = ikm.summarise_totals(int(count), by_code)
        if summary is not None:
            result.append((service, summary))
        respondents += int(count)
        for code in ikm.CODES:
            grand[code] += by_code[code]
    overall = ikm.summarise_totals(respondents, grand)
    if overall is not None:
        result.append(("", overall))
    return result


def kiosk_router(
    db: Database, kiosk_dependency: KioskGuard, today: Callable[[], date]
) -> APIRouter:
    """POST /api/v1/surveys: a kiosk stores one survey."""
    r = APIRouter()
    KioskDep = Annotated[KioskRef, Depends(kiosk_dependency)]

    def replay(row: SurveyResponse, body: SurveyIn, answers: dict[str, int]) -> JSONResponse:
        same = (row.service, row.survey_date, row.answers()) == (
            body.service,
            body.survey_date,
            answers,
        )
        if not same:
            fail(409, "idempotency_conflict", "Idempotency-Key reused with a different survey")
        return JSONResponse(_out(row), 200, {"Idempotent-Replayed": "true"})

    def find(session: Session, kiosk_id: str, key: str) -> SurveyResponse | None:
        return session.scalar(
            select(SurveyResponse).where(
                SurveyResponse.kiosk_id == kiosk_id, SurveyResponse.idempotency_key == key
            )
        )

    @r.post(
        "/api/v1/surveys",
        status_code=201,
        response_model=SurveyOut,
        responses={
            200: {
                "model": SurveyOut,
                "description": "The survey stored earlier with this Idempotency-Key, replayed",
            },
            401: {"model": Error},
            409: {"model": Error},
            422: {"model": Error},
        },
    )
    def submit_survey(
        body: SurveyIn,
        kiosk: KioskDep,
        idempotency_key: Annotated[IdempotencyKey | None, Header()] = None,
    ) -> JSONResponse:
        """Store one survey of the kiosk's office; a repeated Idempotency-Key is counted once."""
        if idempotency_key is None:
            fail(400, "idempotency_key_required", "Idempotency-Key header of 8-128 chars required")
        try:
            answers = ikm.validate(body.answers.model_dump())
        except ikm.InvalidAnswers as exc:
            fail(422, "invalid_answers", str(exc))
        day = today()
        if not day - timedelta(days=MAX_AGE_DAYS) <= body.survey_date <= day + timedelta(days=1):
            fail(422, "bad_date", f"survey_date must lie within {MAX_AGE_DAYS} days before today")
        try:
            with db.transaction() as session:
                existing = find(session, kiosk.kiosk_id, idempotency_key)
                if existing is not None:
                    return replay(existing, body, answers)
                row = SurveyResponse(
                    kiosk_id=kiosk.kiosk_id,
                    idempotency_key=idempotency_key,
                    office_code=kiosk.office_code,
                    service=body.service,
                    survey_date=body.survey_date,
                    received_at=now_wib(),
                    **{code.lower(): value for code, value in answers.items()},
                )
                session.add(row)
                session.flush()
                out = _out(row)
        except IntegrityError:  # the same key raced in from a concurrent resend
            with db.transaction() as session:
                existing = find(session, kiosk.kiosk_id, idempotency_key)
                if existing is None:
                    raise
                return replay(existing, body, answers)
        log.info(
            "survey %s stored for office %s service %s", out["id"], kiosk.office_code, body.service
        )
        return JSONResponse(out, 201)

    return r


def officer_router(ctx: PageContext) -> APIRouter:
    """GET /officer/ikm: the satisfaction index of an office for officers."""
    r = APIRouter()
    Officer = Annotated[StaffUser, Depends(ctx.auth.require("officer", "admin"))]

    @r.get("/officer/ikm", response_class=HTMLResponse, include_in_schema=False)
    def ikm_page(
        request: Request, user: Officer, office: str = "", start: str = "", end: str = ""
    ) -> Response:
        """IKM per service of one office over a date range (default: this month so far)."""
        day = ctx.today()
        first, last = _parse(start, day.replace(day=1)), _parse(end, day)
        if first > last:
            first, last = last, first
        with ctx.db.transaction() as session:
            offices = offices_for(session, user)
            codes = [o.code for o in offices]
            office = office if office in codes else (user.office_code or codes[0])
            summaries = summarise_rows(session, office, first, last)
        titles = {k: s.title("id") for k, s in SERVICES.items()} | VISIT_TITLES
        return ctx.render(
            request,
            "ikm.html",
            user,
            offices=offices,
            office=office,
            start=first,
            end=last,
            summaries=summaries,
            titles=titles,
            elements=ikm.ELEMENTS,
            categories=ikm.CATEGORIES,
        )

    return r


def _parse(value: str, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default
