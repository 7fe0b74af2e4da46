"""The documents citations point into: `GET /v1/sources/{doc_id}` (JSON) and the HTML source
viewer `GET /sources/{doc_id}?start=&end=` that citation URLs open."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import HTMLResponse

from assistant.api.deps import VisibleDocumentDep
from assistant.api.schemas import ErrorBody, SourceDocument, json_error
from assistant.api.viewer import CONTENT_SECURITY_POLICY, OffsetError, check_offsets, render_source

router = APIRouter(tags=["sources"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "The Authorization header carries a wrong key."},
    404: {"model": ErrorBody, "description": "No such document, or not visible to the caller."},
    503: {"model": ErrorBody, "description": "The stores are still loading."},
}

# Documents differ by audience: never let a shared cache hand a staff response to a visitor.
_PRIVATE_CACHING = {"Cache-Control": "private, no-cache", "Vary": "Authorization"}


@router.get(
    "/v1/sources/{doc_id}",
    response_model=SourceDocument,
    summary="A document's canonical text (what citation offsets point into)",
    responses={
        **_RESPONSES,
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "doc_id": "4bd99084fc88d19c",
                        "title": "7 - 10 April, 2020, Sochi , Main media centre",
                        "source": "sample/002_34b770f422913c14.txt",
                        "text": "7 - 10 April, 2020, Sochi , Main media centre\n\n…",
                        "language": "en",
                        "format": "txt",
                        "visibility": "public",
                    }
                }
            }
        },
    },
)
def get_source(document: VisibleDocumentDep, response: Response) -> SourceDocument:
    """The document with its full text: for each citation, `text[start:end] == quote`.
    Internal documents need a staff key; for visitors they are 404, like missing ones."""
    response.headers.update(_PRIVATE_CACHING)
    return SourceDocument(
        doc_id=document.doc_id,
        title=document.title,
        source=document.source,
        text=document.text,
        language=document.language,
        format=document.format,
        visibility=document.visibility,
    )


@router.get(
    "/sources/{doc_id}",
    response_class=HTMLResponse,
    summary="The source viewer: a document with one quote highlighted",
    responses={
        401: json_error("The Authorization header carries a wrong key."),
        404: json_error("No such document, or not visible to the caller."),
        503: json_error("The stores are still loading."),
        200: {"content": {"text/html": {}}, "description": "The viewer page."},
        422: json_error("The offsets are not within the document."),
    },
)
def view_source(
    document: VisibleDocumentDep,
    start: Annotated[int | None, Query(ge=0, description="Where the quote starts.")] = None,
    end: Annotated[int | None, Query(ge=0, description="Where the quote ends.")] = None,
) -> HTMLResponse:
    """An HTML page with the document's title, source and full text; `text[start:end]` is
    highlighted and scrolled into view. This is where citation `url`s lead."""
    try:
        quote = check_offsets(document.text, start, end)
    except OffsetError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from exc
    return HTMLResponse(
        render_source(document, quote),
        headers={
            **_PRIVATE_CACHING,
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
        },
    )
