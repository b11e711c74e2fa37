"""Where bytes live under a blob store's root. The only module that knows the layout.

::

    <root>/
      v1/
        blobs/
          sha256/
            <hex[0:2]>/
              <hex>                 immutable content, named by its sha256
        uploads/
          <session-id>/
            data                    bytes received so far for one upload session

An upload is written to ``uploads/<session-id>/data``, verified, then renamed into
``blobs/`` (atomic on one filesystem). A blob is never modified after that rename; only
``modelyard gc`` deletes blobs. S3 uses the same keys below its bucket prefix.
"""

from __future__ import annotations

import re

from modelyard.domain.digest import Digest
from modelyard.errors import UploadUnknownError

VERSION_DIR = "v1"
_SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}\Z")


def blob_key(digest: Digest) -> str:
    return f"{VERSION_DIR}/blobs/sha256/{digest.hex[:2]}/{digest.hex}"


def digest_from_key(key: str) -> Digest | None:
    """Inverse of ``blob_key``: the digest a key names, or None for any other key."""
    parts = key.split("/")
    if len(parts) != 5 or parts[:3] != [VERSION_DIR, "blobs", "sha256"]:
        return None
    hexpart = parts[4]
    if parts[3] != hexpart[:2]:
        return None
    try:
        return Digest(hexpart)
    except Exception:
        return None


def upload_dir_key(session_id: str) -> str:
    if not _SESSION_RE.match(session_id):
        raise UploadUnknownError(upload_id=session_id[:80])
    return f"{VERSION_DIR}/uploads/{session_id}"


def upload_data_key(session_id: str) -> str:
    return f"{upload_dir_key(session_id)}/data"
