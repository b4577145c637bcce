"""One record, one specimen node: the IRI of each specimen record of a dataset, as it is read.

:func:`collectomics.mapping.specimens.specimen_key` says what keys a record; this keeps, for the
whole dataset (all its files), the first file and line of each key, so that a record whose key
repeats gets its own numbered IRI (``.../repeat/2``) and a warning naming both rows and the
repeated value. ``ingest`` and ``export --shards`` both read through it, in reading order, so
they mint the same IRIs.
"""

from __future__ import annotations

from collections.abc import Mapping

from collectomics.ingest.firstseen import FirstSeen
from collectomics.iri import Minter
from collectomics.mapping.specimens import repeat_iri, specimen_key
from collectomics.model import IRI

_LINE_BITS = 40  # a line number below 2**40; the file's index is packed above it


class SpecimenKeys:
    """The specimen IRIs of one dataset's records, minted in reading order."""

    def __init__(self, dataset_id: str, minter: Minter) -> None:
        self.dataset_id, self.minter = dataset_id, minter
        self.first = FirstSeen()
        #: records seen so far per repeated key (only keys that repeat: they are few)
        self.repeats: dict[IRI, int] = {}
        self.files: list[str] = []

    def _file_index(self, file: str) -> int:
        if not self.files or self.files[-1] != file:
            if file in self.files:
                return self.files.index(file)
            self.files.append(file)
        return len(self.files) - 1

    def mint(
        self, record: Mapping[str, str], file: str, member: str, line: int
    ) -> tuple[IRI, str | None]:
        """The IRI of the record at ``line`` of ``file`` (named ``member`` within its archive,
        for the row key), and the warning to report when its key repeats (else None)."""
        key = specimen_key(record, self.dataset_id, f"{member}:{line}")
        base = self.minter.specimen(*key.parts)
        index = self._file_index(file)
        packed = index << _LINE_BITS | min(line, (1 << _LINE_BITS) - 1)
        seen = self.first.setdefault(base, packed)
        if seen == packed:
            return base, None
        n = self.repeats[base] = self.repeats.get(base, 1) + 1
        iri = repeat_iri(base, n)
        first_file, first_line = self.files[seen >> _LINE_BITS], seen & ((1 << _LINE_BITS) - 1)
        where = f"line {first_line}" + ("" if first_file == file else f" of {first_file}")
        what = "row" if key.term == "row" else f"{key.term} {key.value!r}"
        return iri, (
            f"{what} was already given on {where} (record {n} with it in this dataset); "
            f"kept as its own specimen <{iri}>"
        )
