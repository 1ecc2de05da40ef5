"""The records of an .xls workbook, read from its OLE container without an Excel library.

The size check in `ingestion.isolation` must see a sheet's DIMENSIONS record before any reader
allocates for it. Searching the file's bytes for the record's id is not enough: the same four
bytes occur inside cell data (an SST index of 3,586 after a style number, a float), so a real
distributor file with a few thousand distinct names was rejected as "crafted". The records are
therefore walked in order, from the container's Workbook stream, as Excel reads them.

Everything here is bounded by the file's own size: a sector chain longer than the file or a
loop in it ends the walk (`ContainerError`), so a crafted container cannot make it spin.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
END_OF_CHAIN = 0xFFFFFFFE
FREE_SECT = 0xFFFFFFFF
BOF, DIMENSIONS = 0x0809, 0x0200
BIFF8 = 0x0600


class ContainerError(ValueError):
    """The bytes are not a readable OLE compound file (or hold no workbook stream)."""


def workbook_records(raw: bytes) -> Iterator[tuple[int, bytes]]:
    """(record id, payload) of every record in the workbook stream, in file order."""
    stream = _workbook_stream(raw)
    pos = 0
    while pos + 4 <= len(stream):
        rid, size = struct.unpack_from("<HH", stream, pos)
        yield rid, stream[pos + 4:pos + 4 + size]
        pos += 4 + size


def sheet_dimensions(raw: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(first row, last row + 1, first column, last column + 1) of every sheet's DIMENSIONS.

    BIFF8 (Excel 97+) stores rows in 4 bytes, BIFF5/7 (Excel 5/95) in 2; the version is the
    one the latest BOF record declared.
    """
    version = BIFF8
    for rid, payload in workbook_records(raw):
        if rid == BOF and len(payload) >= 2:
            version = struct.unpack_from("<H", payload)[0]
        elif rid == DIMENSIONS:
            if version == BIFF8 and len(payload) >= 12:
                yield struct.unpack_from("<IIHH", payload)
            elif len(payload) >= 8:
                yield struct.unpack_from("<HHHH", payload)


def _workbook_stream(raw: bytes) -> bytes:
    if len(raw) < 512 or not raw.startswith(OLE_MAGIC):
        raise ContainerError("not an OLE compound file")
    shift, mini_shift = struct.unpack_from("<HH", raw, 0x1E)
    if not (7 <= shift <= 16 and mini_shift < shift):
        raise ContainerError(f"sector size 2^{shift} is not valid")
    sector = 1 << shift
    n_fat, first_dir = struct.unpack_from("<II", raw, 0x2C)
    cutoff, first_minifat, _n_minifat, first_difat, n_difat = struct.unpack_from("<IIIII", raw, 0x38)
    max_sectors = len(raw) // sector

    def read_sector(n: int) -> bytes:
        start = (n + 1) * sector
        if start >= len(raw):
            raise ContainerError(f"sector {n} lies outside the file")
        return raw[start:start + sector]

    fat_sectors = list(struct.unpack_from("<109I", raw, 0x4C))
    difat, hops = first_difat, 0
    while difat not in (END_OF_CHAIN, FREE_SECT) and hops <= n_difat and hops < max_sectors:
        entries = struct.unpack(f"<{sector // 4}I", read_sector(difat))
        fat_sectors += entries[:-1]
        difat, hops = entries[-1], hops + 1
    fat: list[int] = []
    for n in fat_sectors[:n_fat]:
        if n in (END_OF_CHAIN, FREE_SECT):
            break
        fat += struct.unpack(f"<{sector // 4}I", read_sector(n))

    def chain(start: int, table: list[int]) -> Iterator[int]:
        seen: set[int] = set()
        while start not in (END_OF_CHAIN, FREE_SECT):
            if start in seen or start >= len(table):
                raise ContainerError("a sector chain loops or leaves the allocation table")
            seen.add(start)
            yield start
            start = table[start]

    directory = b"".join(read_sector(n) for n in chain(first_dir, fat))
    entries = [directory[i:i + 128] for i in range(0, len(directory) - 127, 128)]
    if not entries:
        raise ContainerError("no directory")
    root = entries[0]
    for entry in entries:
        name_len = struct.unpack_from("<H", entry, 0x40)[0]
        name = entry[:max(0, min(name_len, 64) - 2)].decode("utf-16-le", "replace")
        if entry[0x42] == 2 and name in ("Workbook", "Book"):
            start, size = struct.unpack_from("<II", entry, 0x74)
            if size >= cutoff:
                data = b"".join(read_sector(n) for n in chain(start, fat))
            else:
                data = _mini_stream_data(root, start, chain, fat, read_sector,
                                         first_minifat, 1 << mini_shift)
            return data[:size]
    raise ContainerError("no Workbook stream")


def _mini_stream_data(root: bytes, start: int, chain, fat: list[int], read_sector,
                      first_minifat: int, mini_sector: int) -> bytes:
    """A small stream lives in the root entry's mini stream, chained by the mini FAT."""
    mini_fat: list[int] = []
    for n in chain(first_minifat, fat):
        sector = read_sector(n)
        mini_fat += struct.unpack(f"<{len(sector) // 4}I", sector)
    container = b"".join(read_sector(n) for n in chain(struct.unpack_from("<I", root, 0x74)[0], fat))
    return b"".join(container[n * mini_sector:(n + 1) * mini_sector] for n in chain(start, mini_fat))
