"""A real full disk for `coop ingest`: run inside `unshare -rm` (a private mount namespace, as an
unprivileged user), it mounts a small tmpfs, copies a data directory onto it, fills the disk up to
`FREE_BYTES` of free space, and runs an ingest there. Then it frees the space (deletes the filler)
and runs the same ingest again. The data directory is copied out after each run (to
OUT_DIR/after-full and OUT_DIR/after-again) for the test to read; prints both runs' exit codes
and output as JSON.

Usage: unshare -rm python _crash_nospace.py MOUNT FREE_BYTES DATA_DIR OUT_DIR CWD INGEST_ARGS...
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests.reliability._crash_harness import coop_env, run_coop  # noqa: E402

TMPFS_SIZE = "256m"


def _fill(mount: Path, free_bytes: int) -> None:
    stats = os.statvfs(mount)
    fill = stats.f_bavail * stats.f_frsize - free_bytes
    with (mount / "filler").open("wb") as filler:
        block = b"\0" * (1 << 20)
        while fill > 0:
            fill -= filler.write(block[: min(len(block), fill)])


def main() -> int:
    mount, free_bytes, data_dir, out_dir, cwd = (
        Path(sys.argv[1]),
        int(sys.argv[2]),
        Path(sys.argv[3]),
        Path(sys.argv[4]),
        Path(sys.argv[5]),
    )
    args = sys.argv[6:]
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount)], check=True
    )
    target = mount / "var"
    shutil.copytree(data_dir, target)
    _fill(mount, free_bytes)
    env = coop_env(target)
    full = run_coop(args, env, cwd)
    free_after = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
    shutil.copytree(target, out_dir / "after-full")
    (mount / "filler").unlink()
    again = run_coop(args, env, cwd)
    shutil.copytree(target, out_dir / "after-again")
    json.dump(
        {
            "full": {"code": full.returncode, "stdout": full.stdout, "stderr": full.stderr},
            "free_after_failure": free_after,
            "again": {"code": again.returncode, "stdout": again.stdout, "stderr": again.stderr},
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
