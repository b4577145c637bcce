"""``python -m collectomics.services.reconcile.buildindex STORE BASE [CODE]``: build the shared
reconciliation index of the on-disk store at STORE (:func:`collectomics.services.reconcile.index
.build_file`; CODE: the digest of the asking process's code, which names the file), in a
process of its own, so that the memory the build takes is given back when it ends. A worker of
``collectomics serve`` starts it; one line on stderr says what was built."""

from __future__ import annotations

import os
import sys

from collectomics.errors import CollectomicsError
from collectomics.services.reconcile.index import build_file


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(
            "usage: python -m collectomics.services.reconcile.buildindex STORE BASE [CODE]",
            file=sys.stderr,
        )
        return 2
    try:
        built = build_file(*argv[1:])
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


if __name__ == "__main__":
    sys.exit(main(sys.argv))
