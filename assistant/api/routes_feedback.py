"""`POST /v1/feedback` (a thumbs up or down, and a comment, on an answer) and
`GET /v1/feedback.csv` (staff: every rating next to the question and answer it is about)."""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from assistant.api.deps import AudienceDep
from assistant.api.schemas import ErrorBody
from assistant.feedback import (
    FEEDBACK_FILE,
    MAX_COMMENT_CHARS,
    FeedbackStore,
    Rating,
    UnknownAnswerError,
)
from assistant.settings import Settings

router = APIRouter(prefix="/v1", tags=["feedback"])

AnswerId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_COMMENT_CHARS)]

_EXAMPLE_ANSWER_ID = "9b2f6c1d8e4a4b7f9c0d1e2f3a4b5c6d"

_UNKNOWN_ANSWER = (
    "No such answer: send the `answer_id` of an answer this API gave you, "
    "with the same Authorization header you asked with."
)
_STAFF_ONLY = (
    "A staff API key is needed to export feedback: send 'Authorization: Bearer <staff key>'."
)
_CSV_EXAMPLE = (
    "answer_id,rated_at,rating,comment,audience,channel,question,answer,found,mode,language,"
    "sources\r\n"
    f"{_EXAMPLE_ANSWER_ID},2025-05-14T09:30:12.345+00:00,down,Wrong date,public,api,"
    '"When was the agreement signed?","According to the documents: ... [1]",yes,extractive,'
    'en,"[1] sample/002_34b770f422913c14.txt (4bd99084fc88d19c)"\r\n'
)


class FeedbackRequest(BaseModel):
    """A rating of one answer. Rating it again replaces the earlier rating and comment.

    Other fields (for example `audience`) are ignored: who is rating is decided by the server
    from the API key, exactly as for the question.
    """

    model_config = ConfigDict(extra="ignore")

    answer_id: AnswerId = Field(
        description="The `answer_id` of the answer being rated (32 lowercase hex digits)."
    )
    rating: Rating = Field(description='"up" for a helpful answer, "down" for an unhelpful one.')
    comment: Comment | None = Field(
        default=None,
        description=f"What was right or wrong, up to {MAX_COMMENT_CHARS} characters "
        "(surrounding whitespace does not count).",
    )


class FeedbackReceipt(BaseModel):
    """The rating was stored."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "recorded", "answer_id": _EXAMPLE_ANSWER_ID, "rating": "up"}]
        }
    )

    status: Literal["recorded"] = "recorded"
    answer_id: str
    rating: Rating


def get_feedback_store(request: Request) -> FeedbackStore:
    """The store `install` opened."""
    store: FeedbackStore = request.app.state.feedback
    return store


FeedbackStoreDep = Annotated[FeedbackStore, Depends(get_feedback_store)]

_WRONG_KEY: dict[str, Any] = {
    "model": ErrorBody,
    "description": "The Authorization header carries a wrong key.",
}


@router.post(
    "/feedback",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackReceipt,
    summary="Rate an answer: thumbs up or down, with an optional comment",
    responses={
        401: _WRONG_KEY,
        404: {
            "model": ErrorBody,
            "description": "No answer with this id was given to this caller (visitors cannot "
            "rate staff answers, nor staff visitors' answers).",
        },
    },
)
async def post_feedback(
    body: Annotated[
        FeedbackRequest,
        Body(
            openapi_examples={
                "up": {
                    "summary": "A helpful answer",
                    "value": {"answer_id": _EXAMPLE_ANSWER_ID, "rating": "up"},
                },
                "down": {
                    "summary": "An unhelpful answer, with a comment",
                    "value": {
                        "answer_id": _EXAMPLE_ANSWER_ID,
                        "rating": "down",
                        "comment": "The agreement was signed in 2021, not 2020.",
                    },
                },
            }
        ),
    ],
    audience: AudienceDep,
    store: FeedbackStoreDep,
) -> FeedbackReceipt:
    """Stores a rating of an answer returned by `POST /v1/ask` (its `answer_id`). Send the same
    Authorization header as for the question: an answer can only be rated by the audience it
    was given to. One rating counts per answer; rating again replaces it."""
    try:
        record = await run_in_threadpool(
            store.add_feedback,
            body.answer_id,
            audience=audience,
            rating=body.rating,
            comment=body.comment,
        )
    except UnknownAnswerError:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=_UNKNOWN_ANSWER) from None
    return FeedbackReceipt(answer_id=record.answer_id, rating=record.rating)


@router.get(
    "/feedback.csv",
    response_class=Response,
    summary="Export every rating with its question and answer as CSV (staff)",
    responses={
        200: {
            "description": "UTF-8 CSV with a byte-order mark (so Excel reads Cyrillic), one row "
            "per rated answer, oldest rating first.",
            "content": {"text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE}},
        },
        401: {
            "model": ErrorBody,
            "description": "No staff key was sent, or the key is wrong.",
        },
    },
)
async def get_feedback_csv(audience: AudienceDep, store: FeedbackStoreDep) -> Response:
    """Downloads `feedback.csv`: answer id, when it was rated, the rating and comment, who was
    answered (audience, channel), the question, the answer, whether it was found, the answering
    mode, its language and the cited sources. Cells that a spreadsheet would run as a formula
    start with an apostrophe."""
    if audience != "staff":
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=_STAFF_ONLY,
            headers={"WWW-Authenticate": "Bearer"},
        )
    buffer = io.StringIO()
    await run_in_threadpool(store.write_csv, buffer)
    return Response(
        content=buffer.getvalue().encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="feedback.csv"',
            "Cache-Control": "no-store",
        },
    )


def install(app: FastAPI, settings: Settings) -> None:
    """Open the feedback store (closed at shutdown with the app's other stores) and add the
    feedback routes."""
    store = FeedbackStore(settings.data_dir / FEEDBACK_FILE)
    app.state.feedback = store
    app.state.closers.append(store.close)
    app.include_router(router)
