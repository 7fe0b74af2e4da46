"""Typed dependencies of the HTTP routes: who is asking, and the objects the lifespan opened.

The audience is decided here, by the server, from the `Authorization` header alone: a valid staff
key makes the caller staff, no header makes them a visitor, and anything else is refused with 401
(never silently treated as a visitor). Nothing the client puts in a body or query changes it.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from assistant.answering.service import AssistantService
from assistant.resources import Resources
from assistant.retrieval.audience import Audience, visibilities_for
from assistant.settings import Settings
from vectorstore.records import DocumentRecord

# Declared for the OpenAPI document (the "Authorize" button); the decision is made from the raw
# header below, because `HTTPBearer(auto_error=False)` turns a malformed header into "no key".
_bearer_scheme = HTTPBearer(
    auto_error=False,
    description="A staff API key. Without an Authorization header the caller is a visitor "
    "and sees public documents only; a wrong key is refused with 401.",
)

_INVALID_KEY = (
    "Invalid API key. Send 'Authorization: Bearer <staff key>', "
    "or no Authorization header at all to ask as a visitor."
)


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with.

    This and the other dependencies that neither wait nor read a file are `async`: FastAPI
    runs a plain function dependency on a worker thread, a hop to another thread and back for
    each one on every request."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def _unauthorized() -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=_INVALID_KEY,
        headers={"WWW-Authenticate": "Bearer"},
    )


def is_staff_key(token: str, settings: Settings) -> bool:
    """Whether `token` is one of the configured staff keys (constant-time, checks every key)."""
    given = token.encode("utf-8")
    matched = False
    for key in settings.staff_api_keys:
        expected = key.get_secret_value().encode("utf-8")
        if expected and hmac.compare_digest(given, expected):
            matched = True
    return matched


async def get_audience(
    request: Request,
    settings: SettingsDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Audience:
    """`staff` for a valid bearer key, `public` without an Authorization header, else 401."""
    headers = request.headers.getlist("authorization")
    if not headers:
        return "public"
    if len(headers) > 1:
        raise _unauthorized()
    scheme, _, token = headers[0].strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or not is_staff_key(token, settings):
        raise _unauthorized()
    return "staff"


AudienceDep = Annotated[Audience, Depends(get_audience)]


def not_ready(request: Request) -> HTTPException:
    error = request.app.state.load_error
    detail = "start-up failed; see /readyz" if error else "starting"
    return HTTPException(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        detail=detail,
        headers={"Retry-After": "5"},
    )


async def get_resources(request: Request) -> Resources:
    """The opened stores, or 503 while they are still loading."""
    resources: Resources | None = request.app.state.resources
    if resources is None:
        raise not_ready(request)
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_assistant(request: Request) -> AssistantService:
    """The assistant, or 503 while the model and stores are still loading."""
    assistant: AssistantService | None = request.app.state.assistant
    if assistant is None:
        raise not_ready(request)
    return assistant


AssistantDep = Annotated[AssistantService, Depends(get_assistant)]

DocIdPath = Annotated[
    str, Path(min_length=1, max_length=128, description="A document id from a citation.")
]


def get_visible_document(
    doc_id: DocIdPath, audience: AudienceDep, resources: ResourcesDep
) -> DocumentRecord:
    """The document, if the caller's audience may see it; otherwise the same 404 as for a
    document that does not exist (so visitors cannot learn that an internal one does)."""
    document = resources.facts.get_document(doc_id)
    if document is None or document.visibility not in visibilities_for(audience):
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="document not found")
    return document


VisibleDocumentDep = Annotated[DocumentRecord, Depends(get_visible_document)]
