"""image_checks: a JPEG header TensorFlow's decoder would reject is found before any decoding."""

import io

import numpy as np
import pytest
from PIL import Image

from tlspec_builtins.image_checks import image_problem, jpeg_header_problem


def jpeg(subsampling: int = 0) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype="uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90, subsampling=subsampling)
    return buffer.getvalue()


def segment(data: bytes, marker: int) -> int:
    """The offset of the first byte after ``marker``'s two-byte length field."""
    return data.index(bytes([0xFF, marker])) + 4


def replaced(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new):]


def bad_huffman_counts(data):
    return replaced(data, segment(data, 0xC4) + 1, b"\xff" * 16)


def bad_dc_symbol(data):
    return replaced(data, segment(data, 0xC4) + 17, b"\x63")


def zero_height(data):
    return replaced(data, segment(data, 0xC0) + 1, b"\x00\x00")


def twelve_bit(data):
    return replaced(data, segment(data, 0xC0), b"\x0c")


def fractional_sampling(data):
    start = segment(data, 0xC0) + 6  # the components: id, sampling, table
    return replaced(data, start, bytes([1, 0x31, 0, 2, 0x21, 1, 3, 0x11, 1]))


def unknown_marker(data):
    return replaced(data, data.index(b"\xff\xe0") + 1, b"\x02")


def lossless_frame(data):
    return replaced(data, data.index(b"\xff\xc0") + 1, b"\xc3")


def scan_component_not_in_frame(data):
    return replaced(data, segment(data, 0xDA) + 1, b"\x09")


BROKEN = {
    bad_huffman_counts: "bad Huffman table",
    bad_dc_symbol: "bad Huffman table",
    zero_height: "the frame is 16×0 pixels",
    twelve_bit: "12-bit samples (TensorFlow decodes 8-bit JPEGs)",
    fractional_sampling: "sampling factors libjpeg cannot decode (fractional sampling)",
    unknown_marker: "unknown segment marker 0xFF02 at byte 2",
    lossless_frame: "a JPEG process TensorFlow cannot decode (frame marker 0xFFC3)",
    scan_component_not_in_frame: "the scan names component 9, which the frame does not have",
}


def decodes(data: bytes) -> bool:
    import tensorflow as tf

    try:
        tf.io.decode_image(data, channels=3, expand_animations=False)
    except tf.errors.InvalidArgumentError:
        return False
    return True


@pytest.mark.parametrize("damage", BROKEN, ids=lambda damage: damage.__name__)
def test_a_header_the_decoder_rejects_is_found(damage, tmp_path, keras):
    data = damage(jpeg())
    assert not decodes(data)  # the check's claim: TensorFlow would stop on this file
    assert jpeg_header_problem(data) == BROKEN[damage]
    (tmp_path / "broken.jpg").write_bytes(data)
    assert image_problem(tmp_path / "broken.jpg") == f"broken JPEG ({BROKEN[damage]})"


@pytest.mark.parametrize("subsampling", [0, 1, 2])
def test_whole_jpegs_and_damage_the_decoder_tolerates_pass(subsampling, tmp_path, keras):
    data = jpeg(subsampling)
    scan = segment(data, 0xDA) + 12
    body_damaged = data[:scan] + bytes(range(1, 40)) + data[scan + 39:]  # libjpeg decodes it, with a warning
    after_app0 = data.index(b"\xff\xdb")
    junk_before_marker = data[:after_app0] + b"\x00\x17" + data[after_app0:]  # skipped by libjpeg, with a warning
    for good in (data, body_damaged, junk_before_marker):
        assert decodes(good)
        assert jpeg_header_problem(good) is None


def test_a_header_longer_than_the_first_read_is_read_on(tmp_path):
    data = jpeg()
    comment = b"\xff\xfe" + (65_000).to_bytes(2, "big") + b"x" * 64_998
    long_header = data[:2] + comment + comment + data[2:]  # 130 kB of comments before the frame
    (tmp_path / "long.jpg").write_bytes(long_header)
    assert image_problem(tmp_path / "long.jpg") is None
    (tmp_path / "long-broken.jpg").write_bytes(long_header[:2] + comment + comment + zero_height(data)[2:])
    assert image_problem(tmp_path / "long-broken.jpg") == "broken JPEG (the frame is 16×0 pixels)"
