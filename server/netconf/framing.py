"""RFC 6242 message framing: end-of-message (base:1.0) and chunked (base:1.1).

Pure and transport-free. ``Decoder`` is fed bytes as they arrive, in pieces of any size, and
hands out complete messages; the session switches it to chunked framing after the hello
exchange (RFC 6242 §4.1), and bytes already buffered are then read with the new framing.
Anything that is not valid framing raises ``FramingError``: the caller closes the session.
Nothing here can wait forever on bad input: a malformed chunk header is detected as soon as
its first wrong byte arrives.

A message larger than ``max_size`` raises ``MessageTooBig`` (a ``FramingError``) as soon as
that is known, and the decoder then *discards* the rest of that message as it arrives,
without buffering it, and goes on with the next one: both framings can be resynchronised
(base:1.0 at the next ``]]>]]>``, base:1.1 by counting chunk sizes up to ``\\n##\\n``), so
the session may answer too-big (RFC 6241 Appendix A) and stay up. A malformed chunk header
cannot be resynchronised (nothing says where the next header starts): that one is fatal.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_MAX_SIZE",
    "EOM",
    "MAX_CHUNK",
    "Decoder",
    "FramingError",
    "MessageTooBig",
    "encode_chunked",
    "encode_eom",
    "frame",
]

EOM = b"]]>]]>"
MAX_CHUNK = 4294967295  # RFC 6242 §4.2: chunk-size is 1..4294967295
DEFAULT_MAX_SIZE = 64 * 1024 * 1024
_MAX_DIGITS = len(str(MAX_CHUNK))


class FramingError(Exception):
    """The peer broke RFC 6242 framing; close the session (MessageTooBig excepted)."""


class MessageTooBig(FramingError):
    """A message over ``max_size``: it is being skipped and the decoder stays usable.

    ``head`` holds its first bytes (up to HEAD_BYTES) so that the reply can echo the rpc's
    message-id.
    """

    def __init__(self, max_size: int, head: bytes) -> None:
        super().__init__(f"message larger than {max_size} bytes")
        self.max_size = max_size
        self.head = head


HEAD_BYTES = 4096


def encode_eom(message: bytes) -> bytes:
    """A message framed for base:1.0 (end-of-message delimiter)."""
    return message + EOM


def encode_chunked(message: bytes, chunk_size: int = 65536) -> bytes:
    """A message framed for base:1.1: ``\\n#<len>\\n<data>`` chunks, then ``\\n##\\n``."""
    if not 1 <= chunk_size <= MAX_CHUNK:
        raise ValueError("chunk_size must be 1..4294967295")
    parts: list[bytes] = []
    for i in range(0, len(message), chunk_size):
        piece = message[i:i + chunk_size]
        parts.append(b"\n#%d\n" % len(piece))
        parts.append(piece)
    parts.append(b"\n##\n")
    return b"".join(parts)


def frame(parts: list[bytes], chunked: bool) -> list[bytes]:
    """One message given as consecutive ``parts``, framed, as pieces to write in order.

    The parts are not copied: a large reply goes to the transport as it was encoded. Chunked
    framing sends the message as a single chunk (RFC 6242 §4.2 allows up to 4294967295
    bytes; a receiver must accept any size), so only the header and the end marker are added.
    """
    if not chunked:
        return [*parts, EOM]
    size = sum(len(p) for p in parts)
    if not 1 <= size <= MAX_CHUNK:  # an empty message has no chunk; a huge one needs several
        return [encode_chunked(b"".join(parts))]
    return [b"\n#%d\n" % size, *parts, b"\n##\n"]


class Decoder:
    """Incremental de-framer. ``feed(data)``, then ``next_message()`` until it returns None."""

    def __init__(self, max_size: int = DEFAULT_MAX_SIZE, chunked: bool = False) -> None:
        self.max_size = max_size
        self._chunked = chunked
        self._buf = bytearray()
        self._pos = 0  # bytes of _buf already consumed
        self._scan = 0  # EOM: where the delimiter search resumes
        self._msg = bytearray()  # chunked: the message assembled so far
        self._need = 0  # chunked: bytes still owed by the current chunk
        self._in_message = False  # chunked: at least one chunk of the current message read
        self._discard = False  # skipping the rest of an oversize message

    @property
    def chunked(self) -> bool:
        return self._chunked

    def use_chunked(self) -> None:
        """Switch to chunked framing (after a hello exchange in which both sides said 1.1)."""
        self._chunked = True
        self._scan = self._pos

    @property
    def pending(self) -> int:
        """Bytes received but not yet part of a returned message (0: between messages)."""
        return len(self._buf) - self._pos + len(self._msg)

    def feed(self, data: bytes) -> None:
        if self._pos and self._pos > len(self._buf) // 2:  # compact occasionally, not per feed
            del self._buf[:self._pos]
            self._scan -= self._pos
            self._pos = 0
        self._buf += data

    def next_message(self) -> bytes | None:
        """The next complete message, or None until more bytes arrive. Raises FramingError."""
        return self._next_chunked() if self._chunked else self._next_eom()

    # ---- end-of-message ----------------------------------------------------------------------
    def _next_eom(self) -> bytes | None:
        buf = self._buf
        i = buf.find(EOM, max(self._scan, self._pos))
        if self._discard:
            if i < 0:  # keep only what may be the start of the delimiter
                self._drop_all_but(len(EOM) - 1)
                return None
            self._discard = False
            self._pos = self._scan = i + len(EOM)
            return self._next_eom()
        if i < 0:
            self._scan = max(self._pos, len(buf) - len(EOM) + 1)
            if len(buf) - self._pos > self.max_size + len(EOM):
                head = bytes(buf[self._pos:self._pos + HEAD_BYTES])
                self._discard = True
                self._drop_all_but(len(EOM) - 1)
                raise MessageTooBig(self.max_size, head)
            return None
        if i - self._pos > self.max_size:
            head = bytes(buf[self._pos:self._pos + HEAD_BYTES])
            self._pos = self._scan = i + len(EOM)
            raise MessageTooBig(self.max_size, head)
        msg = bytes(buf[self._pos:i])
        self._pos = self._scan = i + len(EOM)
        self._release()
        return msg

    def _release(self) -> None:
        """Everything received is consumed: drop the buffer now rather than at the next feed
        (a large request would otherwise stay in memory while the session waits)."""
        if self._pos == len(self._buf):
            self._buf.clear()
            self._pos = self._scan = 0

    def _drop_all_but(self, keep: int) -> None:
        del self._buf[:max(self._pos, len(self._buf) - keep)]
        self._pos = self._scan = 0

    # ---- chunked ---------------------------------------------------------------------------
    def _next_chunked(self) -> bytes | None:
        buf = self._buf
        while True:
            if self._need:
                take = min(self._need, len(buf) - self._pos)
                if take == 0:
                    return None
                if not self._discard:
                    self._msg += buf[self._pos:self._pos + take]
                self._pos += take
                self._need -= take
                if self._need:
                    return None
                continue
            header = self._header()
            if header is None:
                return None
            if header == 0:  # end of chunks
                if not self._in_message:
                    raise FramingError("end-of-chunks marker before any chunk")
                self._in_message = False
                if self._discard:  # the end of an oversize message: resynchronised
                    self._discard = False
                    continue
                msg = bytes(self._msg)
                self._msg.clear()
                self._release()
                return msg
            self._need = header
            self._in_message = True
            if not self._discard and len(self._msg) + header > self.max_size:
                avail = bytes(buf[self._pos:self._pos + min(header, HEAD_BYTES)])
                head = (bytes(self._msg[:HEAD_BYTES]) + avail)[:HEAD_BYTES]
                self._msg.clear()
                self._discard = True
                raise MessageTooBig(self.max_size, head)

    def _header(self) -> int | None:
        """Parse ``\\n#<size>\\n`` (returns size) or ``\\n##\\n`` (returns 0) at _pos.

        None: incomplete so far (and valid as far as it goes).
        """
        buf, p = self._buf, self._pos
        avail = len(buf) - p
        if avail == 0:
            return None
        if buf[p] != 0x0A:
            raise FramingError(f"expected a chunk header, got {bytes(buf[p:p + 8])!r}")
        if avail < 2:
            return None
        if buf[p + 1] != 0x23:  # '#'
            raise FramingError("chunk header must start with '\\n#'")
        if avail < 3:
            return None
        c = buf[p + 2]
        if c == 0x23:  # "\n##" then "\n"
            if avail < 4:
                return None
            if buf[p + 3] != 0x0A:
                raise FramingError("malformed end-of-chunks marker")
            self._pos = p + 4
            return 0
        if not 0x31 <= c <= 0x39:  # chunk-size starts with 1-9
            raise FramingError("chunk size must be a positive decimal without leading zeros")
        q = p + 3
        end = min(len(buf), p + 2 + _MAX_DIGITS + 1)
        while q < end and 0x30 <= buf[q] <= 0x39:
            q += 1
        if q - (p + 2) > _MAX_DIGITS:
            raise FramingError("chunk size too large")
        if q == len(buf):
            return None
        if buf[q] != 0x0A:
            raise FramingError("chunk size must be followed by a newline")
        size = int(buf[p + 2:q])
        if size > MAX_CHUNK:
            raise FramingError("chunk size larger than 4294967295")
        self._pos = q + 1
        return size
