"""Refuse zip bombs (.docx and .xlsx are zip archives) before anything is inflated.

The sizes checked are the ones the archive declares. That is enough: Python's `zipfile`, which
python-docx and openpyxl read through, never inflates a member beyond its declared size (it
stops and reports a bad CRC), so a lying archive fails rather than exploding.
"""

from __future__ import annotations

import io
import zipfile

from ingest.document import LoaderError

MAX_EXPANDED_MB = 512  # all members together
MAX_RATIO = 200  # a member inflating this much ...
MAX_RATIO_MEMBER_MB = 20  # ... to more than this is a bomb (office XML compresses ~5-30:1)
MAX_MEMBERS = 10_000
_MB = 1024 * 1024


def check_zip(data: bytes, kind: str) -> None:
    """Raise `LoaderError` when the archive `data` (a `kind` file) would expand too far.

    A file that is not a readable zip at all passes: the loader reports that in its own words.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except Exception:  # unreadable (bad offsets, an unsupported zip version, ...): see above
        return
    if len(members) > MAX_MEMBERS:
        raise LoaderError(
            f"the {kind} file holds {len(members):,} parts (more than {MAX_MEMBERS:,}); "
            "refusing a possible zip bomb"
        )
    total = sum(member.file_size for member in members)
    largest = max(members, key=lambda member: member.file_size, default=None)
    if largest is None:
        return
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > MAX_RATIO and member.file_size > MAX_RATIO_MEMBER_MB * _MB:
            raise LoaderError(
                f"compressed member {member.filename} of the {kind} file expands to "
                f"{member.file_size / _MB:,.0f} MB ({ratio:,.0f} times its size); "
                "refusing a possible zip bomb"
            )
    if total > MAX_EXPANDED_MB * _MB:
        raise LoaderError(
            f"the {kind} file expands to {total / _MB:,.0f} MB (largest member "
            f"{largest.filename}, {largest.file_size / _MB:,.0f} MB), more than "
            f"{MAX_EXPANDED_MB} MB; refusing a possible zip bomb"
        )
