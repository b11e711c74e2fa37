"""Regenerate the ``MetadataStore`` Protocol in storage/interfaces.py from ``SqlMetadataStore``.

Services type against the Protocol; the SQL store (with its mixins) is the one implementation.
``python scripts/gen_store_protocol.py`` rewrites the class; ``--check`` exits 1 on drift.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SQL = ROOT / "src" / "modelyard" / "storage" / "sql"
INTERFACES = ROOT / "src" / "modelyard" / "storage" / "interfaces.py"
SOURCES = ["store.py", "governance_store.py", "promotion_store.py", "automation_store.py"]
HEADER = '''class MetadataStore(Protocol):
    """Reads and writes of metadata inside one transaction. Never commits.

    Generated from ``SqlMetadataStore`` and its mixins by ``scripts/gen_store_protocol.py``.
    Rows returned as ``Any`` are read-only mappings keyed by column name.
    """
'''


def methods() -> list[str]:
    out = []
    for name in SOURCES:
        src = (SQL / name).read_text()
        for node in ast.parse(src).body:
            if not isinstance(node, ast.ClassDef):
                continue
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef) and not fn.name.startswith("_"):
                    doc = ast.get_docstring(fn)
                    body: list[ast.stmt] = [ast.Expr(ast.Constant(...))]
                    if doc:
                        body.insert(0, ast.Expr(ast.Constant(doc.split("\n\n")[0])))
                    stub = ast.FunctionDef(
                        name=fn.name, args=fn.args, body=body, decorator_list=[], returns=fn.returns, type_params=[]
                    )
                    text = ast.unparse(ast.fix_missing_locations(stub)).replace("RowMapping", "Any")
                    out.append("\n".join("    " + line for line in text.splitlines()))
    return out


def render(current: str) -> str:
    start = current.index("class MetadataStore(Protocol):")
    end = current.index("\nclass ", start + 1)
    text = current[:start] + HEADER + "\n" + "\n\n".join(methods()) + "\n\n" + current[end:]
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(INTERFACES), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return formatted.stdout


def main() -> int:
    current = INTERFACES.read_text()
    new = render(current)
    if "--check" in sys.argv:
        if new != current:
            print("storage/interfaces.py MetadataStore is out of date: run python scripts/gen_store_protocol.py")
            return 1
        return 0
    INTERFACES.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
