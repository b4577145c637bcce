"""Which line first described each specimen key of a dataset, in 16 to 32 bytes a key.

Duplicate detection keeps one entry per specimen for the whole ingest. A dict of 64-bit digest
-> line costs ~100 bytes an entry (two int objects and a slot: ~95 MB at 1,000,000 records,
which the ingest's 2 GiB budget could not spare beside the store's bulk loader); this table keeps
the digests and lines in two flat arrays with open addressing, and costs about a microsecond a
record. A line is a 64-bit number, so that a reader can pack which file it is in beside it
(:class:`collectomics.ingest.keys.SpecimenKeys`).
"""

from __future__ import annotations

import hashlib
from array import array


def digest64(text: str) -> int:
    """A 64-bit digest: two of a million keys collide with odds of about 1 in 36 million."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


class FirstSeen:
    """``setdefault(key, line)``: the line first given for ``key`` (recording ``line`` if new)."""

    def __init__(self, capacity: int = 1 << 14) -> None:
        size = 1
        while size < capacity:
            size <<= 1
        self._keys = array("Q", bytes(8 * size))  # 0 marks an empty slot
        self._lines = array("Q", bytes(8 * size))
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def setdefault(self, key: str, line: int) -> int:
        digest = digest64(key) or 1
        keys = self._keys
        mask = len(keys) - 1
        slot = digest & mask
        while True:
            found = keys[slot]
            if found == digest:
                return self._lines[slot]
            if found == 0:
                keys[slot] = digest
                self._lines[slot] = line
                self._count += 1
                if 2 * self._count > len(keys):
                    self._grow()
                return line
            slot = (slot + 1) & mask

    def _grow(self) -> None:
        old = zip(self._keys, self._lines, strict=True)
        size = 2 * len(self._keys)
        self._keys = array("Q", bytes(8 * size))
        self._lines = array("Q", bytes(8 * size))
        keys, lines, mask = self._keys, self._lines, size - 1
        for digest, line in old:
            if digest:
                slot = digest & mask
                while keys[slot]:
                    slot = (slot + 1) & mask
                keys[slot] = digest
                lines[slot] = line
