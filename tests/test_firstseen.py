"""The compact table that remembers which line first described each specimen."""

from __future__ import annotations

import random

from collectomics.ingest.firstseen import FirstSeen


def test_first_line_is_kept_and_repeats_find_it() -> None:
    seen = FirstSeen(capacity=4)  # tiny: forces several resizes
    rng = random.Random(5)
    keys = [f"https://w3id.org/collectomics/specimen/K{n}" for n in range(5000)]
    first: dict[str, int] = {}
    for line, key in enumerate(rng.choices(keys, k=20000), start=2):
        expected = first.setdefault(key, line)
        assert seen.setdefault(key, line) == expected
    assert len(seen) == len(first)


def test_lines_beyond_32_bits_are_kept() -> None:
    seen = FirstSeen()
    assert seen.setdefault("a", 3 << 40 | 7) == 3 << 40 | 7  # a file index packed above the line
    assert seen.setdefault("a", 9) == 3 << 40 | 7
