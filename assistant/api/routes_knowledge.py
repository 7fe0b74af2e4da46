"""Cooperation facts as data: `GET /v1/agreements` and `GET /v1/contacts`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import AudienceDep, ResourcesDep, SettingsDep
from assistant.api.schemas import ErrorBody
from assistant.knowledge.listing import agreement_rows, contact_rows
from assistant.knowledge.periods import parse_option

router = APIRouter(tags=["knowledge"])
_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "The Authorization header carries a wrong key."},
    503: {"model": ErrorBody, "description": "The stores are still loading."},
}
_PRIVATE_CACHING = {"Cache-Control": "private, no-cache", "Vary": "Authorization"}


@router.get(
    "/v1/agreements",
    summary="Agreements and when they expire",
    responses={
        **_RESPONSES,
        422: {"model": ErrorBody, "description": "The `expiring` period is not understood."},
    },
    response_description="Agreements the caller may see, soonest end first, each with the "
    "verbatim evidence it was found in; `without_end_date` counts those with no known end.",
)
async def get_agreements(
    audience: AudienceDep,
    resources: ResourcesDep,
    settings: SettingsDep,
    response: Response,
    expiring: Annotated[
        str | None,
        Query(
            max_length=16,
            description="this-year, next-year, a year (2027) or days ahead (60d); omit for all.",
            examples=["this-year"],
        ),
    ] = None,
) -> dict[str, Any]:
    """Visitors see agreements from public documents only; staff see internal ones too."""
    today = settings.today_date()
    try:
        period = parse_option(expiring, today) if expiring else None
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    response.headers.update(_PRIVATE_CACHING)
    return await run_in_threadpool(agreement_rows, resources.facts, audience, today, period)


@router.get("/v1/contacts", summary="Contacts found in the documents", responses=_RESPONSES)
async def get_contacts(
    audience: AudienceDep,
    resources: ResourcesDep,
    response: Response,
    q: Annotated[
        str,
        Query(
            max_length=200,
            description="Words every contact returned must mention.",
            examples=["internship"],
        ),
    ] = "",
) -> dict[str, Any]:
    """Contacts from the documents the caller may see, each with its verbatim evidence."""
    response.headers.update(_PRIVATE_CACHING)
    rows = await run_in_threadpool(contact_rows, resources.facts, audience, q)
    return {"contacts": rows}
