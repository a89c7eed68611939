"""Is a file a complete image? Answered from its header and its last bytes, without decoding it.

A JPEG's header (every segment before the compressed scan) is walked and checked the way
libjpeg checks it before decoding: segment lengths, frame size and components, Huffman and
quantisation tables, the scan header. A file that fails here would stop a tf.data pipeline
with InvalidArgumentError mid-training; found here, it is skipped and reported instead.
A damaged scan body is not an error: libjpeg decodes it, with a warning.
"""

from __future__ import annotations

from pathlib import Path

FIRST_READ = 1 << 16  # bytes first read: a header without a large EXIF block fits
JPEG_HEADER_LIMIT = 1 << 20  # bytes read at most to find the scan
# Start-of-frame markers of every JPEG process; TensorFlow's libjpeg-turbo decodes baseline,
# extended and progressive frames, Huffman or arithmetic coded, not lossless or hierarchical ones.
FRAME_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
DECODABLE_FRAMES = frozenset({0xC0, 0xC1, 0xC2, 0xC9, 0xCA})
# Segments libjpeg reads or skips: frames, DHT, DAC, DQT, DRI, DNL, SOS, APP0-15, COM.
KNOWN_MARKERS = FRAME_MARKERS | {0xC4, 0xCC, 0xDB, 0xDD, 0xDC, 0xDA, *range(0xE0, 0xF0), 0xFE}
STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field
HEADER_CUT = "the header ends before the image data"


def image_problem(path: Path) -> str | None:
    """Why ``path`` is not a complete image, or None."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(FIRST_READ)
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 1024))
            tail = handle.read()
            problem = None
            if head.startswith(b"\xff\xd8\xff"):
                problem = jpeg_header_problem(head)
                if problem == HEADER_CUT and size > len(head):  # a long header: read on, up to the limit
                    handle.seek(0)
                    problem = jpeg_header_problem(handle.read(JPEG_HEADER_LIMIT))
    except OSError as error:
        return f"unreadable ({error.strerror})"
    if head.startswith(b"\xff\xd8\xff"):
        if problem == HEADER_CUT:
            return ("truncated JPEG (it ends inside its header)" if size <= JPEG_HEADER_LIMIT else
                    f"broken JPEG (no image data in its first {JPEG_HEADER_LIMIT >> 20} MB)")
        if problem:
            return f"broken JPEG ({problem})"
        return None if b"\xff\xd9" in tail else "truncated JPEG (no end marker)"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return None if b"IEND" in tail else "truncated PNG"
    if head.startswith((b"GIF87a", b"GIF89a", b"BM")):
        return None
    return "not a JPEG, PNG, GIF or BMP image" if size else "empty file"


def jpeg_header_problem(data: bytes) -> str | None:
    """What libjpeg would reject in the header of the JPEG ``data``, or None."""
    header, position = _Header(), 2
    while True:
        # Like libjpeg: stray bytes before a marker, fill bytes and a stuffed 0xFF00 are skipped (with a warning).
        position = data.find(b"\xff", position)
        while 0 <= position < len(data) and data[position] == 0xFF:
            position += 1
        if position < 0 or position >= len(data):
            return HEADER_CUT
        marker = data[position]
        position += 1
        if marker in STANDALONE_MARKERS or marker == 0x00:
            continue
        if marker in (0xD8, 0xD9):
            return "a second start marker" if marker == 0xD8 else "it ends before any image data"
        if marker not in KNOWN_MARKERS:
            return f"unknown segment marker 0xFF{marker:02X} at byte {position - 2}"
        if position + 2 > len(data):
            return HEADER_CUT
        length = int.from_bytes(data[position:position + 2], "big")
        if length < 2:
            return f"segment 0xFF{marker:02X} at byte {position - 2} has a bad length"
        segment = data[position + 2:position + length]
        if len(segment) != length - 2:
            return HEADER_CUT
        problem = header.read(marker, segment)
        if problem or marker == 0xDA:
            return problem
        position += length


class _Header:
    """What the segments before the scan have defined so far, and the checks that need it."""

    def __init__(self):
        self.frame_marker: int | None = None
        self.components: dict[int, tuple[int, int, int]] = {}  # id -> (h, v sampling, quantisation table)
        # Huffman tables by (class, index): their code lengths and symbols; libjpeg defaults tables 0 and 1.
        self.huffman_tables: dict[tuple[int, int], tuple[bytes, bytes] | None] = dict.fromkeys(
            ((0, 0), (0, 1), (1, 0), (1, 1)))
        self.quantisation_tables: set[int] = set()

    def read(self, marker: int, segment: bytes) -> str | None:
        if marker in FRAME_MARKERS:
            return self._frame(marker, segment)
        readers = {0xC4: self._huffman_tables, 0xCC: _arithmetic_conditioning, 0xDB: self._quantisation_tables,
                   0xDD: _restart_interval, 0xDA: self._scan}
        reader = readers.get(marker)
        return reader(segment) if reader else None

    def _frame(self, marker: int, segment: bytes) -> str | None:
        if marker not in DECODABLE_FRAMES:
            return f"a JPEG process TensorFlow cannot decode (frame marker 0xFF{marker:02X})"
        if self.frame_marker is not None:
            return "two frame headers"
        if len(segment) < 6:
            return "bad frame header"
        precision, height, width = segment[0], int.from_bytes(segment[1:3], "big"), int.from_bytes(segment[3:5], "big")
        count = segment[5]
        if precision != 8:
            return f"{precision}-bit samples (TensorFlow decodes 8-bit JPEGs)"
        if height == 0 or width == 0:
            return f"the frame is {width}×{height} pixels"
        if not 1 <= count <= 4 or len(segment) != 6 + 3 * count:
            return "bad frame header (component count)"
        self.frame_marker = marker
        for index in range(count):
            identifier, sampling, table = segment[6 + 3 * index:9 + 3 * index]
            if not (1 <= sampling >> 4 <= 4 and 1 <= sampling & 15 <= 4) or table > 3:
                return "bad frame header (sampling factors or quantisation table)"
            self.components.setdefault(identifier, (sampling >> 4, sampling & 15, table))
        widest, tallest = (max(c[0] for c in self.components.values()), max(c[1] for c in self.components.values()))
        if any(widest % h or tallest % v for h, v, _ in self.components.values()):
            return "sampling factors libjpeg cannot decode (fractional sampling)"
        return None

    def _huffman_tables(self, segment: bytes) -> str | None:
        position = 0
        while position < len(segment):
            if position + 17 > len(segment):
                return "bad Huffman table"
            kind, counts = segment[position], segment[position + 1:position + 17]
            symbols = segment[position + 17:position + 17 + sum(counts)]
            if kind >> 4 > 1 or kind & 15 > 3 or len(symbols) != sum(counts):
                return "bad Huffman table"
            self.huffman_tables[kind >> 4, kind & 15] = (counts, symbols)
            position += 17 + len(symbols)
        return None

    def _quantisation_tables(self, segment: bytes) -> str | None:
        position = 0
        while position < len(segment):
            precision, table = segment[position] >> 4, segment[position] & 15
            size = 64 * (precision + 1)
            if precision > 1 or table > 3 or position + 1 + size > len(segment):
                return "bad quantisation table"
            self.quantisation_tables.add(table)
            position += 1 + size
        return None

    def _scan(self, segment: bytes) -> str | None:
        if self.frame_marker is None:
            return "the image data comes before the frame header"
        if not segment or not 1 <= segment[0] <= 4 or len(segment) != 4 + 2 * segment[0]:
            return "bad scan header"
        selected = [segment[1 + 2 * index:3 + 2 * index] for index in range(segment[0])]
        if len({identifier for identifier, _ in selected}) != len(selected):
            return "bad scan header (a component twice)"
        if any(identifier not in self.components for identifier, _ in selected):
            missing = next(identifier for identifier, _ in selected if identifier not in self.components)
            return f"the scan names component {missing}, which the frame does not have"
        if len(selected) > 1 and sum(self.components[i][0] * self.components[i][1] for i, _ in selected) > 10:
            return "sampling factors too large for an interleaved scan"
        start, end, approximation = segment[-3:]
        progressive = self.frame_marker in (0xC2, 0xCA)
        if progressive and (end > 63 or start > end or (start == 0) != (end == 0) or approximation >> 4 > 13
                            or approximation & 15 > 13):
            return f"bad progressive scan parameters (spectral selection {start}-{end})"
        if self.frame_marker in (0xC0, 0xC1, 0xC2):  # Huffman coded: the tables this scan uses must be sound
            for _, tables in selected:
                used = ([(0, tables >> 4)] if start == 0 else []) + ([(1, tables & 15)] if end > 0 else [])
                problem = next(filter(None, map(self._huffman_problem, used)), None)
                if problem:
                    return problem
        unset = {table for _, _, table in self.components.values()} - self.quantisation_tables
        return f"quantisation table {min(unset)} is not defined" if unset else None

    def _huffman_problem(self, key: tuple[int, int]) -> str | None:
        if key not in self.huffman_tables:
            return f"the scan uses Huffman table {key[1]}, which is not defined"
        table = self.huffman_tables[key]
        if table is None:
            return None
        counts, symbols = table
        if not _is_prefix_code(counts) or (key[0] == 0 and any(symbol > 15 for symbol in symbols)):
            return "bad Huffman table"  # libjpeg checks a table when a scan first uses it
        return None


def _arithmetic_conditioning(segment: bytes) -> str | None:
    if len(segment) % 2:
        return "bad arithmetic coding table"
    for position in range(0, len(segment), 2):
        kind, value = segment[position], segment[position + 1]
        dc = kind >> 4 == 0
        if kind & 15 > 3 or kind >> 4 > 1 or (dc and value & 15 > value >> 4) or (not dc and not 1 <= value <= 63):
            return "bad arithmetic coding table"
    return None


def _restart_interval(segment: bytes) -> str | None:
    return None if len(segment) == 2 else "bad restart interval segment"


def _is_prefix_code(counts: bytes) -> bool:
    """Whether codes of these lengths (1 to 16 bits) fit in the code space, as libjpeg requires."""
    codes = 0
    for length, count in enumerate(counts, start=1):
        codes += count
        if codes > 1 << length:
            return False
        codes <<= 1
    return True
