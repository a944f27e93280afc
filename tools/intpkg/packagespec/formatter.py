"""Canonical form of the package's YAML and JSON files (`intpkg format`).

* JSON: 4-space indent, keys in their original order, non-ASCII kept, one trailing newline.
* YAML: the node tree re-emitted (like elastic-package's node-based formatter): keys in their order, each
  scalar in the style its author chose (plain, quoted, literal, folded; flow or block collections), 2-space
  indent with indented sequences, one space after `:`/`-`, folded blocks wrapped at 110 columns, other
  scalars never wrapped. Ingest pipelines are skipped, as elastic-package does (kept byte-stable), and so are the
  Sigma sources of `_dev/detection` (a correlation file holds several YAML documents).
* A YAML file with comments is left untouched when its canonical form differs (PyYAML cannot keep comments):
  it is reported as skipped instead of being rewritten.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from intpkg.packagespec.package import OUTSIDE
from intpkg.yamlpos import ParseError, parse_json, parse_yaml

SKIP_PARTS = {"ingest_pipeline", "build", "node_modules"}


WIDTH = 110


class _Dumper(yaml.SafeDumper):
    """Indented block sequences; only folded (`>`) scalars wrap."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):  # noqa: ARG002
        return super().increase_indent(flow, False)

    def write_plain(self, text, split=True):  # noqa: ARG002
        return super().write_plain(text, False)

    def write_single_quoted(self, text, split=True):  # noqa: ARG002
        return super().write_single_quoted(text, False)

    def write_double_quoted(self, text, split=True):  # noqa: ARG002
        return super().write_double_quoted(text, False)


    folded_sources: dict[str, str] = {}

    def write_folded(self, text):
        """Folded blocks keep the line breaks their author chose (PyYAML would re-wrap them)."""
        source = self.folded_sources.get(text)
        if source is None:
            return super().write_folded(text)
        hints = self.determine_block_hints(text)
        self.write_indicator(">" + hints, True)
        self.write_line_break()
        for i, line in enumerate(source.split("\n")):
            if i:
                self.write_line_break()
            if line:
                self.write_indent()
                self.stream.write(line)
                self.column += len(line)
        self.write_line_break()


_FOLDED_HEADER = re.compile(r"^>[-+]?\s*(#.*)?$")


def _folded_sources(node: yaml.Node, text: str, out: dict[str, str]) -> None:
    """Original content lines (dedented) of every folded scalar whose header has no indentation digit."""
    if isinstance(node, yaml.ScalarNode):
        if node.style != ">":
            return
        raw = text[node.start_mark.index:node.end_mark.index]
        header, _, body = raw.partition("\n")
        if not _FOLDED_HEADER.match(header.strip()) or "+" in header:
            return
        lines = body.rstrip("\n ").split("\n")
        indent = min((len(x) - len(x.lstrip(" ")) for x in lines if x.strip()), default=0)
        out.setdefault(node.value, "\n".join(x[indent:].rstrip() for x in lines))
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _folded_sources(child, text, out)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _folded_sources(key, text, out)
            _folded_sources(value, text, out)


def canonical_yaml(text: str) -> str:
    """Canonical text of one YAML document (empty for an empty document)."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if node is None:
        return ""
    folded: dict[str, str] = {}
    _folded_sources(node, text, folded)
    dumper = type("_FileDumper", (_Dumper,), {"folded_sources": folded})
    return yaml.serialize(node, Dumper=dumper, allow_unicode=True, width=WIDTH, indent=2)


def canonical_json(data) -> str:
    return json.dumps(data, indent=4, ensure_ascii=False) + "\n"


def comment_offsets(text: str) -> list[int]:
    """Offsets of the `#` that start YAML comments (a `#` inside a scalar is not one)."""
    if "#" not in text:
        return []
    tokens = list(yaml.scan(text, Loader=yaml.SafeLoader))
    spans = [(t.start_mark.index, t.end_mark.index) for t in tokens if isinstance(t, yaml.ScalarToken)]
    offsets = []
    offset = 0
    while (offset := text.find("#", offset)) >= 0:
        if not any(start <= offset < end for start, end in spans):
            offsets.append(offset)
        offset += 1
    return offsets


def strip_comments(text: str, offsets: list[int]) -> str:
    """`text` without its comments (comment-only lines dropped, trailing spaces trimmed)."""
    lines = []
    starts = set(offsets)
    position = 0
    for line in text.splitlines(keepends=True):
        cut = next((i for i in range(len(line)) if position + i in starts), None)
        position += len(line)
        if cut is None:
            lines.append(line)
        elif line[:cut].strip():
            lines.append(line[:cut].rstrip() + "\n")
    return "".join(lines)


@dataclass
class FormatResult:
    path: Path
    status: str  # "unchanged" | "changed" | "skipped-comments" | "error"
    new_text: str | None = None
    message: str = ""


def format_text(path: Path, text: str) -> FormatResult:
    """The canonical text of one file (not written)."""
    try:
        if path.suffix == ".json":
            canonical = canonical_json(parse_json(text, path).data)
        else:
            loaded = parse_yaml(text, path)
            canonical = canonical_yaml(text)
            comments = comment_offsets(text)
            if comments and canonical != text:
                if canonical == strip_comments(text, comments):
                    return FormatResult(path, "unchanged", text)
                return FormatResult(path, "skipped-comments", message="has comments; left as is")
            if parse_yaml(canonical, path).data != loaded.data:  # pragma: no cover - safety net
                return FormatResult(path, "error", message="canonical form would change the data; left as is")
    except ParseError as exc:
        return FormatResult(path, "error", message=f"{exc.line}:{exc.column}: {exc.message}")
    return FormatResult(path, "unchanged" if canonical == text else "changed", canonical)


def package_files(package_dir: Path) -> list[Path]:
    """YAML/JSON files of the package part that `format` handles."""
    out = []
    for path in sorted(Path(package_dir).rglob("*")):
        rel = path.relative_to(package_dir)
        if not path.is_file() or path.suffix not in (".yml", ".yaml", ".json"):
            continue
        if rel.parts[0] in OUTSIDE or any(p.startswith(".") or p in SKIP_PARTS for p in rel.parts):
            continue
        if "deploy" in rel.parts and "files" in rel.parts:
            continue  # files a test service serves or mounts: byte-exact on purpose
        if rel.parts[:2] == ("_dev", "detection"):
            continue  # Sigma sources as their authors write them (a correlation is several YAML documents)
        out.append(path)
    return out


def format_package(package_dir: Path, write: bool = True) -> list[FormatResult]:
    """Format every handled file; rewrite the changed ones when `write`."""
    results = []
    for path in package_files(package_dir):
        result = format_text(path, path.read_text(encoding="utf-8"))
        if write and result.status == "changed" and result.new_text is not None:
            path.write_text(result.new_text, encoding="utf-8")
        results.append(result)
    return results
