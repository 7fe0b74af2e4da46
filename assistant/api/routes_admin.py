"""Staff-only administration: `POST /v1/ingest` (upload documents and index them),
`GET /v1/ingest/{job_id}` (how that went) and `GET /v1/status` (what is indexed).

Uploads are checked before anything is written: a staff key first (then the stores must be
loaded), then the form is read and every file name, type and size is checked; only then are the
files written, each to a temporary name and moved into place, under
`<data_dir>/uploads/<visibility>/<folder>/<name>`. The form is read inside the handler, after
the key check, so a caller without a key cannot make the server spool an upload at all.
"""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData, UploadFile

from assistant.api.deps import AudienceDep, ResourcesDep, SettingsDep
from assistant.api.ingest_jobs import JOBS_FILE, IngestJob, JobStore
from assistant.api.ingest_runner import IngestRunner, RunnerStoppedError
from assistant.api.schemas import ErrorBody
from assistant.settings import Settings
from assistant.status import collect_status
from ingest.loaders import SUPPORTED_SUFFIXES
from vectorstore.records import Visibility

UPLOADS_DIR = "uploads"
DEFAULT_FOLDER = "uploads"
MAX_FILES = 100
RECENT_JOBS = 20
_CHUNK = 1 << 20
_FOLDER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SUPPORTED = ", ".join(sorted(SUPPORTED_SUFFIXES))
_STAFF_REQUIRED = "A staff API key is required: send Authorization: Bearer <key>"
_NO_STORE = {"Cache-Control": "no-store"}


def require_staff(audience: AudienceDep) -> None:
    """Let only staff through: no key is 401 here, a wrong key is 401 from `get_audience`."""
    if audience != "staff":
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=_STAFF_REQUIRED,
            headers={"WWW-Authenticate": "Bearer"},
        )


StaffDep = Annotated[None, Depends(require_staff)]

router = APIRouter(prefix="/v1", tags=["admin"], dependencies=[Depends(require_staff)])


class IngestAccepted(BaseModel):
    """An upload was stored and its ingest job queued; poll `status_url`."""

    job_id: str
    status: str = Field(examples=["queued"])
    status_url: str = Field(examples=["/v1/ingest/9b2f0c5e4d3a4b1f8e7d6c5b4a392817"])
    files: list[str] = Field(description="The file names as stored.")


class AdminStatus(BaseModel):
    """What is indexed (as `coop status --json` prints it) and the latest ingest jobs."""

    model_config = ConfigDict(extra="allow")

    data_dir: str
    ingest_interrupted: str | None = Field(
        description="When an ingest that did not finish started (the previous state is served)."
    )
    indexes: dict[str, dict[str, Any]]
    files: list[dict[str, Any]]
    jobs: list[IngestJob] = Field(description=f"The last {RECENT_JOBS} jobs, newest first.")


JOB_EXAMPLE: dict[str, Any] = {
    "job_id": "9b2f0c5e4d3a4b1f8e7d6c5b4a392817",
    "status": "done",
    "visibility": "internal",
    "folder": "agreements",
    "files": ["mou-tashkent-2024.pdf", "scan.pdf"],
    "created_at": "2025-03-04T09:15:02+00:00",
    "started_at": "2025-03-04T09:15:02+00:00",
    "finished_at": "2025-03-04T09:15:09+00:00",
    "counts": {"added": 1, "changed": 0, "unchanged": 0, "removed": 0, "failed": 1},
    "results": [
        {
            "file": "mou-tashkent-2024.pdf",
            "status": "added",
            "chunks": 12,
            "error": None,
            "warnings": [],
        },
        {
            "file": "scan.pdf",
            "status": "failed",
            "chunks": 0,
            "error": "no text layer (a scanned PDF?): run OCR first",
            "warnings": [],
        },
    ],
    "error": None,
}


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


_AUTH: dict[int | str, dict[str, Any]] = {
    401: _error("No Authorization header, or a wrong key: these routes are staff only."),
}
_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: _error("The stores are still loading (or the server is stopping).")
}

_UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["files", "visibility"],
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": f"One or more documents ({_SUPPORTED}); up to "
                        f"{MAX_FILES} per request. A file with the name of an earlier upload "
                        "in the same folder replaces it.",
                    },
                    "visibility": {
                        "type": "string",
                        "enum": ["public", "internal"],
                        "description": "Who may see them: `public` (everyone) or `internal` "
                        "(staff only). Required: there is no default.",
                    },
                    "folder": {
                        "type": "string",
                        "pattern": _FOLDER.pattern,
                        "default": DEFAULT_FOLDER,
                        "description": "A subfolder to keep them in: letters, digits, '-', '_'.",
                    },
                },
            },
            "encoding": {"files": {"contentType": "application/octet-stream"}},
        }
    },
}


@dataclass(frozen=True)
class _Upload:
    visibility: Visibility
    folder: str
    files: list[tuple[str, UploadFile]]


def _unprocessable(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=detail)


def _too_large(name: str, settings: Settings) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        detail=f"{name} is larger than the {settings.ingest.max_file_mb:g} MB allowed per file "
        "(setting ingest.max_file_mb); split it or ask the operator to raise the limit.",
    )


def _file_name(raw: str | None) -> str:
    """The upload's own name, checked: a plain file name of a supported type, or 422."""
    name = unicodedata.normalize("NFC", raw or "").strip()
    if not name:
        raise _unprocessable("Every file needs a name (the multipart filename was empty).")
    shown = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in name[:100]
    )
    if any(c in "/\\" or unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise _unprocessable(
            f"Invalid file name '{shown}': send the file's own name, without folders or "
            "control characters."
        )
    if name.startswith(".") or len(name.encode("utf-8")) > 240:
        raise _unprocessable(
            f"Invalid file name '{shown}': it must not start with '.' and must be shorter "
            "than 240 bytes."
        )
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise _unprocessable(f"Unsupported file type: '{shown}'. Supported types: {_SUPPORTED}.")
    return name


def _read_form(form: FormData, settings: Settings) -> _Upload:
    """Check the whole form (names, types, sizes) before anything is written."""
    visibility = form.get("visibility")
    if visibility not in ("public", "internal"):
        raise _unprocessable(
            "Say who may see these documents: send the form field visibility=public "
            "(everyone) or visibility=internal (staff only)."
        )
    folder = form.get("folder")
    folder = folder.strip() if isinstance(folder, str) and folder.strip() else DEFAULT_FOLDER
    if not _FOLDER.fullmatch(folder):
        raise _unprocessable(
            "Invalid folder: use 1 to 64 letters, digits, '-' or '_' (for example 'agreements')."
        )
    uploads = form.getlist("files")
    if not uploads:
        raise _unprocessable("No files: send multipart/form-data with one or more 'files' fields.")
    max_bytes = int(settings.ingest.max_file_mb * 1024 * 1024)
    files: list[tuple[str, UploadFile]] = []
    for upload in uploads:
        if not isinstance(upload, UploadFile):
            raise _unprocessable("Each 'files' field must be a file, not text.")
        name = _file_name(upload.filename)
        if any(name == seen for seen, _ in files):
            raise _unprocessable(f"'{name}' was sent twice; send each file once.")
        if upload.size is not None and upload.size > max_bytes:
            raise _too_large(name, settings)
        files.append((name, upload))
    return _Upload("public" if visibility == "public" else "internal", folder, files)


class _FileTooLargeError(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _save(upload: _Upload, folder_dir: Path, max_bytes: int) -> list[Path]:
    """Write every file to a temporary name in chunks, then move them all into place."""
    folder_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for name, file in upload.files:
            target = folder_dir / name
            if target.parent != folder_dir:  # a second line of defence behind `_file_name`
                raise _unprocessable(f"Invalid file name '{name}'.")
            temp = folder_dir / f".upload-{uuid.uuid4().hex}.part"
            staged.append((temp, target))
            written = 0
            file.file.seek(0)
            with temp.open("wb") as out:
                while block := file.file.read(_CHUNK):
                    written += len(block)
                    if written > max_bytes:
                        raise _FileTooLargeError(name)
                    out.write(block)
        for temp, target in staged:
            os.replace(temp, target)
    finally:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
    return [target for _, target in staged]


def _jobs(request: Request) -> JobStore:
    store: JobStore = request.app.state.ingest_jobs
    return store


def _runner(request: Request) -> IngestRunner:
    runner: IngestRunner = request.app.state.ingest_runner
    return runner


JobsDep = Annotated[JobStore, Depends(_jobs)]
RunnerDep = Annotated[IngestRunner, Depends(_runner)]


@router.post(
    "/ingest",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=IngestAccepted,
    summary="Upload documents and index them (staff only)",
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={
        202: {
            "description": "Stored; the ingest job is queued. `Location` is its status URL.",
            "headers": {"Location": {"schema": {"type": "string"}}},
        },
        **_AUTH,
        413: _error("A file is larger than `ingest.max_file_mb`."),
        422: _error(
            "Missing visibility, a bad folder or file name, or a file type that cannot be indexed.",
        ),
        **_NOT_READY,
    },
)
async def upload_and_ingest(
    request: Request,
    response: Response,
    settings: SettingsDep,
    _resources: ResourcesDep,
    jobs: JobsDep,
    runner: RunnerDep,
) -> IngestAccepted:
    """Stores the files under `uploads/<visibility>/<folder>/` in the data directory and
    queues a job that indexes exactly them. Poll `GET /v1/ingest/{job_id}` until its status is
    `done` (see each file's result) or `failed`; the new documents are then answered from."""
    if not runner.accepting:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="the server is stopping")
    max_bytes = int(settings.ingest.max_file_mb * 1024 * 1024)
    async with request.form(max_files=MAX_FILES, max_fields=20) as form:
        upload = _read_form(form, settings)
        folder_dir = settings.data_dir / UPLOADS_DIR / upload.visibility / upload.folder
        try:
            paths = await run_in_threadpool(_save, upload, folder_dir, max_bytes)
        except _FileTooLargeError as exc:
            raise _too_large(exc.name, settings) from exc
    names = [name for name, _ in upload.files]
    job = await run_in_threadpool(jobs.create, upload.visibility, upload.folder, names, paths)
    try:
        runner.submit(job.job_id, upload.visibility)
    except RunnerStoppedError as exc:
        await run_in_threadpool(jobs.fail, job.job_id, "the server shut down before it started")
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    status_url = f"/v1/ingest/{job.job_id}"
    response.headers["Location"] = status_url
    return IngestAccepted(job_id=job.job_id, status=job.status, status_url=status_url, files=names)


@router.get(
    "/ingest/{job_id}",
    response_model=IngestJob,
    summary="An ingest job's progress and per-file results (staff only)",
    responses={
        200: {"content": {"application/json": {"example": JOB_EXAMPLE}}},
        **_AUTH,
        404: _error("No such job (or it is older than the kept ones)."),
    },
)
def get_ingest_job(
    job_id: Annotated[
        str,
        PathParam(min_length=1, max_length=64, description="The `job_id` from POST /v1/ingest."),
    ],
    jobs: JobsDep,
    response: Response,
) -> IngestJob:
    """`queued` → `waiting` (another ingest holds the lock) → `running` → `done` or `failed`.
    A `done` job lists each file's outcome; files that could not be read say why."""
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such ingest job")
    response.headers.update(_NO_STORE)
    return job


@router.get(
    "/status",
    response_model=AdminStatus,
    summary="What is indexed, what failed, and the latest ingest jobs (staff only)",
    responses={**_AUTH, **_NOT_READY},
)
def get_status(resources: ResourcesDep, jobs: JobsDep, response: Response) -> AdminStatus:
    """Every file with its status and error, every index with its counts (as
    `coop status --json`), and the last ingest jobs."""
    response.headers.update(_NO_STORE)
    return AdminStatus(**collect_status(resources), jobs=jobs.recent(RECENT_JOBS))


def install(app: FastAPI, settings: Settings) -> None:
    """Open the job store, add the admin routes, and close both at shutdown (the runner is
    stopped first, so a running job can still record its result)."""
    store = JobStore(settings.data_dir / JOBS_FILE)
    runner = IngestRunner(store, lambda: app.state.resources)
    app.state.ingest_jobs = store
    app.state.ingest_runner = runner
    app.state.closers.append(store.close)
    app.state.closers.append(runner.stop)
    app.include_router(router)
