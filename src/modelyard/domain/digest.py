"""The ``Digest`` value type (``sha256:<64 hex>``) and a streaming hash helper.

Pure: no I/O beyond reading the file-like objects handed in.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import BinaryIO

from modelyard.errors import InvalidArgumentError

ALGORITHM = "sha256"
_HEX = re.compile(r"^[0-9a-f]{64}\Z")  # \Z, not $: "$" also matches before a final newline
CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True, slots=True, order=True)
class Digest:
    """A sha256 content digest. ``str(d)`` is ``sha256:<hex>``."""

    hex: str

    def __post_init__(self) -> None:
        if not _HEX.match(self.hex):
            raise InvalidArgumentError(
                "digest must be 'sha256:' followed by 64 lowercase hex characters", digest=self.hex
            )

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse ``sha256:<hex>``; raise ``InvalidArgumentError`` on anything else."""
        algo, sep, hexpart = text.partition(":")
        if not sep or algo != ALGORITHM or not _HEX.match(hexpart):
            raise InvalidArgumentError(
                f"invalid digest '{text[:80]}': expected 'sha256:' followed by 64 lowercase hex characters",
                digest=text[:80],
            )
        return cls(hexpart)

    @classmethod
    def of_bytes(cls, data: bytes) -> Digest:
        return cls(hashlib.sha256(data).hexdigest())

    @classmethod
    def of_stream(cls, stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> tuple[Digest, int]:
        """Hash a stream to its end in constant memory; return the digest and the byte count."""
        h = hashlib.sha256()
        size = 0
        while chunk := stream.read(chunk_size):
            h.update(chunk)
            size += len(chunk)
        return cls(h.hexdigest()), size

    def __str__(self) -> str:
        return f"{ALGORITHM}:{self.hex}"
