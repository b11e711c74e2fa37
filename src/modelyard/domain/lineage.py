"""The lineage rule for MLflow model-version sources: a version's ``source`` must name files that
belong to the run (or logged model) the request names, as MLflow 3's server enforces
(``_validate_source_run`` / ``_validate_source_model`` in ``mlflow/server/handlers.py``).

Pure: the caller looks the run or logged model up and passes its artifact root. The messages and
the error (``INVALID_PARAMETER_VALUE``) are MLflow's, so clients see the same answer from both
servers. Imports nothing of ours but ``errors``.

- Schemes that make a server connect to a host named by the client (``http(s)``, ``ftp``,
  ``sftp``, ``hdfs``, ``viewfs``, ``r2``, ``b2``, ``abfss``, ``mlflow-artifacts://host``) are
  refused: modelyard configures no trusted artifact host.
- No relative path segments (``..``, ``.``, ``//``, ``%2e%2e``, NUL), even percent-encoded.
- ``runs:/<id>/…`` needs ``run_id`` equal to ``<id>``; ``models:/<model_id>`` needs ``model_id``
  equal to it; ``mlflow-artifacts:/…`` must lie under the artifact root of the named run or model.
- ``runs:`` and ``models:`` URIs may not name a host (another tracking server or registry).
- A prompt version (tag ``mlflow.prompt.is_prompt=true``) has no files: its source must be one of
  the placeholders MLflow's own senders use (``check_prompt_source``), and nothing else is checked.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus, urlparse, urlsplit

from modelyard.errors import InvalidArgumentError

HOST_ADDRESSED_SCHEMES = frozenset(
    {"ftp", "sftp", "hdfs", "viewfs", "http", "https", "mlflow-artifacts", "r2", "b2", "abfss"}
)


@dataclass(frozen=True, slots=True)
class SourceCheck:
    """What a source needs checked against the tracking store, once the pure rules passed."""

    kind: str  # "runs", "logged_model", "artifacts", "other"
    run_id: str = ""  # for "runs": the run the URI names
    model_id: str = ""  # for "logged_model": the logged model the URI names


def invalid_source(source: str, id_name: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"Invalid model version source: '{source}'. The {id_name} request parameter must "
        "identify the resource that contains the source.",
        field="source",
    )


# The placeholder sources of prompt versions (MLflow's ``_PROMPT_SOURCE_PLACEHOLDERS``).
PROMPT_SOURCE_PLACEHOLDERS = frozenset({"dummy-source", "prompt-template"})


def check_prompt_source(source: str) -> None:
    """A prompt version's source: one of MLflow's placeholders, as MLflow's server requires."""
    if source not in PROMPT_SOURCE_PLACEHOLDERS:
        raise InvalidArgumentError(
            f"Invalid prompt source: '{source}'. Prompt sources must use an MLflow placeholder.",
            field="source",
        )


def _scheme(source: str) -> str:
    return urlparse(source).scheme.lower()


def check_host(source: str) -> None:
    """Refuse a source whose scheme would make the server connect to a host the client chose."""
    scheme = _scheme(source)
    if scheme not in HOST_ADDRESSED_SCHEMES:
        return
    if scheme == "mlflow-artifacts" and not urlparse(source).netloc:
        return  # mlflow-artifacts:/path resolves against this server
    raise InvalidArgumentError(
        f"'source' cannot use the '{scheme}' scheme: the '{scheme}' scheme addresses a host other than the "
        "tracking server's configured artifact storage, so the server would connect to the host named in the "
        "URI. Set the MLFLOW_ALLOWED_HOST_ADDRESSED_ARTIFACT_SCHEMES environment variable on the server to "
        "allow it.",
        field="source",
    )


def check_no_relative_paths(source: str) -> None:
    """Refuse ``..``, ``.``, empty segments and NUL in a source's path, however encoded."""
    message = (
        f"Invalid model version source: '{source}'. If supplying a source as an http, https, "
        "local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be "
        "provided without relative path references present. "
        "Please provide an absolute path."
    )
    text = source
    while (unquoted := unquote_plus(text)) != text:
        text = unquoted
    path = re.sub(r"/+", "/", urlparse(text).path.rstrip("/"))
    if "\x00" in path or any(p == ".." for p in text.split("/")):
        raise InvalidArgumentError(message, field="source")
    if not path.startswith("/") or posixpath.normpath(path) != path:
        raise InvalidArgumentError(message, field="source")


def _model_id_of(source: str) -> str | None:
    """The logged-model id of ``models:/<model_id>`` (ids start with ``m-``), else None."""
    path = urlparse(source).path.lstrip("/")
    if "/" in path or "@" in path or not path.startswith("m-"):
        return None
    return path


def classify(source: str, *, run_id: str, model_id: str) -> SourceCheck:
    """Apply the pure rules to a non-local source and say what remains to check against a store.

    Raises:
        InvalidArgumentError: the source breaks a rule that needs no lookup.
    """
    check_host(source)
    check_no_relative_paths(source)
    parsed = urlparse(source)
    scheme = parsed.scheme.lower()
    if scheme == "runs":
        if model_id or parsed.netloc:
            raise invalid_source(source, "model_id" if model_id else "run_id")
        named = parsed.path.lstrip("/").split("/", 1)[0]
        if not run_id or named != run_id:
            raise invalid_source(source, "run_id")
        return SourceCheck("runs", run_id=named)
    if scheme == "models":
        if parsed.netloc:
            raise invalid_source(source, "model_id")
        named_model = _model_id_of(source)
        if named_model is not None:
            if not model_id or named_model != model_id:
                raise invalid_source(source, "model_id")
            return SourceCheck("logged_model", model_id=named_model)
        return SourceCheck("other")
    if scheme == "mlflow-artifacts":
        if not (model_id or run_id):
            raise invalid_source(source, "run_id")
        return SourceCheck("artifacts")
    return SourceCheck("other")


def _parts(uri: str) -> tuple[str, str, tuple[str, ...]]:
    parsed = urlsplit(uri)
    parts = []
    for part in parsed.path.split("/"):
        while (unquoted := unquote(part)) != part:
            part = unquoted
        if part:
            parts.append(part)
    return parsed.scheme.lower(), parsed.netloc.lower(), tuple(parts)


def is_within(source: str, root: str) -> bool:
    """Whether ``source`` lies under ``root`` (same scheme and host, root's path segments first)."""
    s_scheme, s_host, s_parts = _parts(source)
    r_scheme, r_host, r_parts = _parts(root)
    return s_scheme == r_scheme and s_host == r_host and bool(r_parts) and s_parts[: len(r_parts)] == r_parts
