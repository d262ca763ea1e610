"""RFC 6242 framing on its own: messages survive any split, bad framing always raises."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.netconf.framing import (
    EOM,
    MAX_CHUNK,
    Decoder,
    FramingError,
    encode_chunked,
    encode_eom,
    frame,
)

messages = st.lists(st.binary(min_size=1, max_size=300).filter(lambda b: EOM not in b),
                    min_size=1, max_size=6)


def drain(dec: Decoder) -> list[bytes]:
    out = []
    while (m := dec.next_message()) is not None:
        out.append(m)
    return out


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(data[last:p])
        last = p
    pieces.append(data[last:])
    return pieces


def run(dec: Decoder, pieces: list[bytes]) -> list[bytes]:
    got: list[bytes] = []
    for piece in pieces:
        dec.feed(piece)
        got += drain(dec)
    return got


@settings(max_examples=200, deadline=None)
@given(msgs=messages, cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=20))
def test_eom_any_split(msgs: list[bytes], cuts: list[int]) -> None:
    data = b"".join(encode_eom(m) for m in msgs)
    assert run(Decoder(), split(data, cuts)) == msgs


@settings(max_examples=200, deadline=None)
@given(msgs=messages, size=st.integers(min_value=1, max_value=50),
       cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=20))
def test_chunked_any_split(msgs: list[bytes], size: int, cuts: list[int]) -> None:
    data = b"".join(encode_chunked(m, size) for m in msgs)
    assert run(Decoder(chunked=True), split(data, cuts)) == msgs


@settings(max_examples=100, deadline=None)
@given(hello=st.binary(min_size=1, max_size=100).filter(lambda b: EOM not in b), msgs=messages,
       cuts=st.lists(st.integers(min_value=0, max_value=5_000), max_size=10))
def test_switch_to_chunked_after_hello(hello: bytes, msgs: list[bytes], cuts: list[int]) -> None:
    """Bytes after the hello that arrived in the same read are read with chunked framing."""
    data = encode_eom(hello) + b"".join(encode_chunked(m, 7) for m in msgs)
    dec = Decoder()
    got: list[bytes] = []
    for piece in split(data, cuts):
        dec.feed(piece)
        while (m := dec.next_message()) is not None:
            got.append(m)
            if len(got) == 1:
                dec.use_chunked()
    assert got == [hello, *msgs]


def test_single_byte_feeds_and_chunk_boundaries_inside_utf8() -> None:
    msg = "<rpc>é€😀</rpc>".encode()
    data = b"".join(b"\n#1\n" + msg[i:i + 1] for i in range(len(msg))) + b"\n##\n"
    dec = Decoder(chunked=True)
    assert run(dec, [bytes([b]) for b in data]) == [msg]
    assert dec.pending == 0


def test_huge_chunk_declared_and_streamed() -> None:
    body = b"x" * (3 * 1024 * 1024)
    dec = Decoder(chunked=True)
    dec.feed(b"\n#%d\n" % len(body))
    for i in range(0, len(body), 65536):
        dec.feed(body[i:i + 65536])
        assert dec.next_message() is None
    dec.feed(b"\n##\n")
    assert dec.next_message() == body


def test_max_chunk_size_header_is_accepted_but_over_limit_refused() -> None:
    dec = Decoder(chunked=True, max_size=10 * MAX_CHUNK)
    dec.feed(b"\n#%d\n" % MAX_CHUNK)
    assert dec.next_message() is None  # accepted: waits for the data
    with pytest.raises(FramingError):
        d2 = Decoder(chunked=True, max_size=10 * MAX_CHUNK)
        d2.feed(b"\n#%d\n" % (MAX_CHUNK + 1))
        d2.next_message()


@pytest.mark.parametrize("bad", [
    b"x", b"\nx", b"\n#0\n", b"\n#01\n", b"\n#-1\n", b"\n#a\n", b"\n#12x", b"\n#12 \n",
    b"\n#99999999999", b"\n##x", b"\n##\n", b"\n#3\nabcd",
    b"\n#3\nabc#", b"\n# 3\n",
])
def test_malformed_chunk_headers_raise(bad: bytes) -> None:
    """Raised as soon as the first wrong byte is seen: no hang waiting for more input."""
    dec = Decoder(chunked=True)
    with pytest.raises(FramingError):
        for b in bad:  # byte by byte: the error comes at the latest with the last byte
            dec.feed(bytes([b]))
            dec.next_message()
        raise AssertionError("no FramingError")


def test_eom_oversize_raises_without_delimiter() -> None:
    dec = Decoder(max_size=100)
    dec.feed(b"a" * 100)
    assert dec.next_message() is None
    dec.feed(b"a" * 10)
    with pytest.raises(FramingError):
        dec.next_message()


def test_eom_oversize_with_delimiter() -> None:
    dec = Decoder(max_size=10)
    dec.feed(b"a" * 11 + EOM)
    with pytest.raises(FramingError):
        dec.next_message()
    dec = Decoder(max_size=10)
    dec.feed(b"a" * 10 + EOM)
    assert dec.next_message() == b"a" * 10


def test_chunked_oversize_across_chunks() -> None:
    dec = Decoder(chunked=True, max_size=10)
    dec.feed(b"\n#6\nabcdef\n#5\n")
    with pytest.raises(FramingError):
        dec.next_message()


@settings(max_examples=200, deadline=None)
@given(msgs=st.lists(st.lists(st.binary(max_size=100).filter(lambda b: EOM not in b), min_size=1,
                              max_size=5).filter(lambda ps: any(ps) and EOM not in b"".join(ps)),
                     min_size=1, max_size=4),
       chunked=st.booleans(), cuts=st.lists(st.integers(min_value=0, max_value=5_000), max_size=10))
def test_frame_parts(msgs: list[list[bytes]], chunked: bool, cuts: list[int]) -> None:
    """A message given in parts (a reply's head, body and tail) is framed without joining
    them: the same bytes arrive as one message, the parts themselves are passed on as they are."""
    framed = [frame(parts, chunked) for parts in msgs]
    for parts, pieces in zip(msgs, framed, strict=True):
        assert all(any(piece is p for piece in pieces) for p in parts)
    data = b"".join(b"".join(pieces) for pieces in framed)
    assert run(Decoder(chunked=chunked), split(data, cuts)) == [b"".join(ps) for ps in msgs]


def test_frame_is_one_chunk() -> None:
    assert b"".join(frame([b"<a>", b"xy", b"</a>"], True)) == b"\n#9\n<a>xy</a>\n##\n"
    assert b"".join(frame([b"<a/>"], False)) == b"<a/>]]>]]>"


def test_encoders() -> None:
    assert encode_eom(b"<a/>") == b"<a/>]]>]]>"
    assert encode_chunked(b"abcde", 2) == b"\n#2\nab\n#2\ncd\n#1\ne\n##\n"
    with pytest.raises(ValueError):
        encode_chunked(b"a", 0)


def test_delimiter_split_at_every_position() -> None:
    data = encode_eom(b"<a/>") + encode_eom(b"<b/>")
    for i in range(len(data) + 1):
        assert run(Decoder(), [data[:i], data[i:]]) == [b"<a/>", b"<b/>"]
