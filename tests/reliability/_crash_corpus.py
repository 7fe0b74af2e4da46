"""Generated corpora for the fault tests: many tiny text files whose every line names the file and
its version (`f0042v03`), so any chunk, vector or search hit says which version it came from."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

_WORD_LINE = (
    "agreement partner university cooperation exchange programme research clinic radiology "
    "institute signed memorandum students internship conference Vietnam Cuba Serbia Hanoi "
    "occupational health laboratory joint course visit delegation grant"
)
WORDS = _WORD_LINE.split()


def marker(number: int, version: int) -> str:
    """The token every line of version `version` of file `number` carries."""
    return f"f{number:04d}v{version:02d}"


def file_text(number: int, version: int) -> str:
    """A few lines (every tenth file: enough for several chunks), each with the marker."""
    rng = random.Random(number * 1000 + version)
    lines = 40 if number % 10 == 0 else 4
    tag = marker(number, version)
    body = [f"{tag} " + " ".join(rng.choice(WORDS) for _ in range(9)) + "." for _ in range(lines)]
    return f"Document {number} {tag}\n\n" + "\n".join(body) + "\n"


@dataclass
class Corpus:
    """A folder of generated files and the version each file has on disk now."""

    folder: Path
    versions: dict[int, int] = field(default_factory=dict)
    next_number: int = 0

    def write(self, number: int, version: int) -> None:
        """Write (or overwrite) one file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path(number).write_text(file_text(number, version), encoding="utf-8")
        self.versions[number] = version
        self.next_number = max(self.next_number, number + 1)

    def path(self, number: int) -> Path:
        """Where file `number` lives."""
        return self.folder / f"f{number:04d}.txt"

    def create(self, count: int, start: int = 0) -> None:
        """Files `start` .. `start + count - 1`, version 1."""
        for number in range(start, start + count):
            self.write(number, 1)

    def mutate(self, rng: random.Random, *, change: float, add: int, delete: int) -> None:
        """Rewrite a share of the files with a new version, add some and delete some."""
        present = sorted(self.versions)
        for number in rng.sample(present, int(len(present) * change)):
            self.write(number, self.versions[number] + 1)
        for number in rng.sample(present, delete):
            self.path(number).unlink()
            del self.versions[number]
        for _ in range(add):
            self.write(self.next_number, 1)

    def expected(self) -> dict[str, str]:
        """Served state this folder should reach: absolute path -> marker."""
        return {
            str(self.path(number).resolve()): marker(number, version)
            for number, version in self.versions.items()
        }
