"""`GET` and `DELETE /v1/sessions/{session_id}`: what a conversation remembers, and forgetting it.

A session is scoped to the audience that asked in it: a visitor who sends a staff member's
session id sees nothing (404), exactly as for a session that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from assistant.answering.sessions import SessionStore
from assistant.api.deps import AudienceDep, not_ready
from assistant.api.schemas import ErrorBody

router = APIRouter(prefix="/v1/sessions", tags=["assistant"])

SessionIdPath = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="A `session_id` from an answer."),
]
_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "The Authorization header carries a wrong key."},
    404: {"model": ErrorBody, "description": "No such session for this caller, or it expired."},
    503: {"model": ErrorBody, "description": "The stores are still loading."},
}


class SessionTurn(BaseModel):
    """One question of the conversation."""

    question: str
    cited_doc_ids: list[str] = Field(description="The documents its answer cited.")


class Session(BaseModel):
    """The turns a follow-up question is understood against (the last 6, for an hour)."""

    session_id: str
    turns: list[SessionTurn]


def _store(request: Request) -> SessionStore:
    store: SessionStore | None = getattr(request.app.state, "sessions", None)
    if store is None:
        raise not_ready(request)
    return store


@router.get(
    "/{session_id}",
    response_model=Session,
    summary="What a conversation remembers",
    responses=_RESPONSES,
)
async def get_session(
    session_id: SessionIdPath, audience: AudienceDep, request: Request
) -> Session:
    """The session's recent questions, oldest first, for the caller's audience."""
    turns = await run_in_threadpool(_store(request).recent, session_id, audience)
    if not turns:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such session, or it has expired.")
    return Session(
        session_id=session_id,
        turns=[SessionTurn(question=t.question, cited_doc_ids=list(t.doc_ids)) for t in turns],
    )


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Forget a conversation",
    responses=_RESPONSES,
)
async def delete_session(
    session_id: SessionIdPath, audience: AudienceDep, request: Request
) -> Response:
    """Deletes the session's turns; the next question with this id starts afresh."""
    if not await run_in_threadpool(_store(request).forget, session_id, audience):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such session, or it has expired.")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
