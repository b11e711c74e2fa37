"""Parse MLflow search ``filter`` strings, ``order_by`` entries and page tokens.

Grammar (MLflow's): comparisons joined by ``AND`` (no ``OR``, no parentheses). A key is an
identifier, optionally prefixed (``tags.``/``tag.``, ``params.``/``param.``,
``metrics.``/``metric.``, ``attributes.``/``attribute.``), with backticks or double quotes
around dotted keys (``tags.`mlflow.prompt.is_prompt```). Values are single- or double-quoted
strings, numbers, or a parenthesized list of strings for ``IN`` / ``NOT IN``.

Every malformed input raises ``InvalidArgumentError`` (MLflow's ``INVALID_PARAMETER_VALUE``).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from typing import Any

from modelyard.domain.inputs import parse_json
from modelyard.domain.search import is_row_id
from modelyard.errors import InvalidArgumentError, InvalidPageTokenError

Clause = tuple[str, str, str, Any]

_PREFIXES = {
    "tags": "tag",
    "tag": "tag",
    "params": "param",
    "param": "param",
    "metrics": "metric",
    "metric": "metric",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "datasets": "dataset",
    "dataset": "dataset",
}
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
      | (?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.]))
      | (?P<op>!=|>=|<=|=|<|>)
      | (?P<lp>\()
      | (?P<rp>\))
      | (?P<comma>,)
      | (?P<ident>(?:[A-Za-z_][\w]*\.)?(?:`[^`]+`|[\w.\-:/]+))
    )""",
    re.X,
)
STRING_OPS = ("=", "!=", "LIKE", "ILIKE")
NUMBER_OPS = ("=", "!=", ">", ">=", "<", "<=")


def _bad(text: str, why: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"Invalid filter '{text[:200]}': {why}", field="filter")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _bad(text, f"unexpected character at position {pos}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _unquote(token: str) -> str:
    quote = token[0]
    body = token[1:-1]
    if quote == "'":
        body = body.replace("''", "'")
    return re.sub(r"\\(.)", r"\1", body)


def _split_key(ident: str) -> tuple[str, str]:
    prefix, dot, rest = ident.partition(".")
    if dot and prefix.lower() in _PREFIXES:
        kind, key = _PREFIXES[prefix.lower()], rest
    else:
        kind, key = "attribute", ident
    if key.startswith("`") and key.endswith("`"):
        key = key[1:-1]
    elif key.startswith('"') and key.endswith('"'):
        key = key[1:-1]
    if not key:
        raise InvalidArgumentError(f"empty key in filter near '{ident}'", field="filter")
    return kind, key


def parse_filter(text: str | None, *, numeric_attributes: Sequence[str] = ()) -> list[Clause]:
    """``name LIKE 'a%' AND tags.`k` != 'v'`` -> [("attribute", "name", "LIKE", "a%"), ("tag", "k", "!=", "v")]."""
    if text is None or not text.strip():
        return []
    toks = _tokens(text)
    # Re-join backticked / quoted keys that follow a prefix, e.g.  tags."my key"
    merged: list[tuple[str, str]] = []
    for kind, val in toks:
        if kind == "str" and merged and merged[-1][0] == "ident" and merged[-1][1].endswith("."):
            merged[-1] = ("ident", merged[-1][1] + val)
        else:
            merged.append((kind, val))
    toks = merged
    clauses: list[Clause] = []
    i = 0
    while i < len(toks):
        kind, val = toks[i]
        if kind not in ("ident", "str"):
            raise _bad(text, f"expected a key, got '{val}'")
        key_kind, key = _split_key(val if kind == "ident" else val[1:-1])
        i += 1
        if i >= len(toks):
            raise _bad(text, "missing comparator")
        okind, op = toks[i]
        if okind == "ident" and op.upper() in ("LIKE", "ILIKE", "IN"):
            op = op.upper()
        elif okind == "ident" and op.upper() == "NOT" and i + 1 < len(toks) and toks[i + 1][1].upper() == "IN":
            op = "NOT IN"
            i += 1
        elif okind != "op":
            raise _bad(text, f"expected a comparator after '{key}', got '{op}'")
        i += 1
        if op in ("IN", "NOT IN"):
            if i >= len(toks) or toks[i][0] != "lp":
                raise _bad(text, f"'{op}' needs a parenthesized list")
            i += 1
            values: list[str] = []
            while True:
                if i >= len(toks):
                    raise _bad(text, "unterminated list")
                vk, vv = toks[i]
                if vk == "str":
                    values.append(_unquote(vv))
                elif vk == "num":
                    values.append(vv)
                else:
                    raise _bad(text, f"unexpected '{vv}' in list")
                i += 1
                if i < len(toks) and toks[i][0] == "comma":
                    i += 1
                    continue
                if i < len(toks) and toks[i][0] == "rp":
                    i += 1
                    break
                raise _bad(text, "expected ',' or ')' in list")
            value: Any = values
        else:
            if i >= len(toks):
                raise _bad(text, f"missing value after '{op}'")
            vk, vv = toks[i]
            i += 1
            if vk == "str":
                value = _unquote(vv)
            elif vk == "num":
                value = float(vv) if any(c in vv for c in ".eE") else int(vv)
            else:
                raise _bad(text, f"expected a quoted value or a number, got '{vv}'")
        numeric = key_kind == "metric" or (key_kind == "attribute" and key in numeric_attributes)
        if numeric:
            if op not in NUMBER_OPS and op not in ("IN", "NOT IN"):
                raise _bad(text, f"'{op}' does not apply to numeric key '{key}'")
            try:
                value = (
                    [int(v) for v in value]
                    if isinstance(value, list)
                    else (int(value) if key_kind == "attribute" else float(value))
                )
            except (TypeError, ValueError) as exc:
                raise _bad(text, f"'{key}' needs a number") from exc
        elif op not in STRING_OPS and op not in ("IN", "NOT IN"):
            if key_kind != "attribute" or not isinstance(value, (int, float)):
                raise _bad(text, f"'{op}' does not apply to string key '{key}'")
        if isinstance(value, (int, float)) and not numeric and key_kind in ("tag", "param"):
            value = str(value)
        clauses.append((key_kind, key, op, value))
        if i < len(toks):
            if toks[i][0] != "ident" or toks[i][1].upper() != "AND":
                raise _bad(text, f"expected AND, got '{toks[i][1]}' (OR is not supported)")
            i += 1
            if i >= len(toks):
                raise _bad(text, "dangling AND")
    return clauses


def parse_order_by(
    entries: Sequence[str], *, allowed: Sequence[str], aliases: dict[str, str] | None = None
) -> list[tuple[str, bool]]:
    """``["name DESC", "last_updated_timestamp"]`` -> [("name", True), ("last_updated_timestamp", False)]."""
    out: list[tuple[str, bool]] = []
    for entry in entries:
        parts = entry.strip().split()
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC")):
            raise InvalidArgumentError(f"Invalid order_by clause '{entry[:100]}'", field="order_by")
        key = parts[0]
        for prefix in ("attributes.", "attribute.", "attr."):
            if key.startswith(prefix):
                key = key[len(prefix) :]
        key = (aliases or {}).get(key, key)
        if key not in allowed:
            raise InvalidArgumentError(
                f"Invalid order_by key '{parts[0][:60]}': use one of {', '.join(allowed)}", field="order_by"
            )
        out.append((key, len(parts) == 2 and parts[1].upper() == "DESC"))
    return out


def encode_offset(offset: int | None) -> str | None:
    if offset is None:
        return None
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        payload = parse_json(base64.b64decode(token.encode(), validate=True), field="page_token")
        offset = payload["offset"]
    except (ValueError, TypeError, KeyError, InvalidArgumentError) as exc:
        raise InvalidPageTokenError("Invalid page token, could not base64-decode", page_token=token[:80]) from exc
    if not is_row_id(offset):  # a non-negative signed 64-bit integer, as the database binds it
        raise InvalidPageTokenError("Invalid page token: bad offset", page_token=token[:80])
    return offset
