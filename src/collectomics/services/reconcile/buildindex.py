"""``python -m collectomics.services.reconcile.buildindex STORE BASE [CODE]``: build the shared
reconciliation index of the on-disk store at STORE (:func:`collectomics.services.reconcile.index
.build_file`; CODE: the digest of the asking process's code, which names the file), in a
process of its own, so that the memory the build takes is given back when it ends. The library
starts the same build as a worker process running :func:`build`
(:func:`collectomics.workers.start`); one line on stderr says what was built."""

from __future__ import annotations

import os
import sys

from collectomics.errors import CollectomicsError
from collectomics.services.reconcile.index import build_file


def build(location: str, base: str, code: str | None = None) -> int:
    """Build the index file of the store at ``location`` (:func:`build_file`), saying on stderr
    what was built or why not; the exit status: 0, or 1 when nothing could be built. A worker
    process started by the library runs this (:func:`collectomics.workers.start`)."""
    try:
        built = build_file(location, base) if code is None else build_file(location, base, code)
    except CollectomicsError as exc:
        print(f"reconciliation index not built: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"reconciliation index not built: {exc.strerror} ({exc.filename})", file=sys.stderr)
        return 1
    if built is not None:
        path, seconds = built
        print(
            f"reconciliation index built: {path.name} in {seconds:.1f} s (process {os.getpid()})",
            file=sys.stderr,
        )
    return 0


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(
            "usage: python -m collectomics.services.reconcile.buildindex STORE BASE [CODE]",
            file=sys.stderr,
        )
        return 2
    return build(*argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
