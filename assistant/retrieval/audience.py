"""Who is asking decides what may be searched; it is set by the server, never by the client."""

from __future__ import annotations

from typing import Literal

from vectorstore.records import Visibility

Audience = Literal["public", "staff"]


def visibilities_for(audience: Audience) -> tuple[Visibility, ...]:
    """Visitors see public documents only; staff see public and internal ones."""
    if audience == "staff":
        return ("public", "internal")
    return ("public",)
