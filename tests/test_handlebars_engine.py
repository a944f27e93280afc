"""handlebars.js 4.7.8 on V8 (intpkg.handlebars): where it comes from, and one shared context for every thread."""

from __future__ import annotations

import io
import shutil
import tarfile
import threading
from pathlib import Path

import pytest

from intpkg import npm
from intpkg.handlebars import Engine, HandlebarsError, HandlebarsUnavailable, engine, source


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("INTPKG_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("INTPKG_HANDLEBARS_JS", raising=False)
    return tmp_path / "home"


def fake_npm(folder: Path, tarball: Path) -> Path:
    """An `npm` that 'packs' `tarball` and logs each call to folder/calls."""
    folder.mkdir()
    tool = folder / "npm"
    tool.write_text(f"""#!/bin/sh
echo "$@" >> {folder}/calls
for dest; do :; done
{shutil.which("cp")} {tarball} "$dest/handlebars-4.7.8.tgz"
echo '[{{"filename": "handlebars-4.7.8.tgz", "integrity": "sha512-whatever"}}]'
""")
    tool.chmod(0o755)
    return folder


def tarball_with(path: Path, script: bytes) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        info = tarfile.TarInfo("package/dist/handlebars.js")
        info.size = len(script)
        tf.addfile(info, io.BytesIO(script))
    return path


def test_the_engine_runs_fleets_version_and_renders_without_escaping() -> None:
    hbs = engine()
    assert hbs.version == "4.7.8" and engine() is hbs
    assert hbs.render("a: {{x}} {{url_encode y}}", {"x": "<&>", "y": "a b"}) == "a: <&> a%20b"


def test_threads_share_the_context_and_each_gets_its_own_result() -> None:
    failures: list[str] = []

    def work(worker: int) -> None:
        for i in range(40):
            expected = f"w{worker}-{i}"
            got = engine().render("{{#each v as |x|}}{{x}}{{/each}}", {"v": [f"w{worker}-", i]})
            if got != expected:
                failures.append(f"{got} != {expected}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_parse_gives_handlebars_ast_with_positions_and_errors_with_line_and_column() -> None:
    ast = engine().parse("a\n{{#if x.y}}{{z}}{{/if}}")
    block = ast["body"][1]
    assert block["type"] == "BlockStatement" and block["path"]["original"] == "if"
    assert block["params"][0]["parts"] == ["x", "y"] and block["params"][0]["loc"]["start"] == {"line": 2, "column": 6}
    with pytest.raises(HandlebarsError) as err:
        engine().parse("a\n{{/if}}")
    assert (err.value.line, err.value.column, err.value.token) == (1, 1, "OPEN_ENDBLOCK")
    with pytest.raises(HandlebarsError, match="if doesn't match unless") as err:
        engine().parse("{{#if x}}\n{{/unless}}")
    assert (err.value.line, err.value.column) == (1, 4)


def test_tokens_are_handlebars_lexer_tokens_with_1_based_columns() -> None:
    lexed = engine().tokens("a {{#if x}}\n{{/if}}")
    assert [(t.kind, t.line, t.column) for t in lexed.tokens] == [
        ("CONTENT", 1, 1), ("OPEN_BLOCK", 1, 3), ("ID", 1, 6), ("ID", 1, 9), ("CLOSE", 1, 10), ("CONTENT", 1, 12),
        ("OPEN_ENDBLOCK", 2, 1), ("ID", 2, 4), ("CLOSE", 2, 6), ("EOF", 2, 8)]
    assert engine().tokens("x {{!-- open").error_offset == 2


@pytest.mark.parametrize(("text", "message"), [
    ("var Handlebars = {VERSION: '4.0.0'};", r"is not handlebars.js 4.7.8.*Handlebars.VERSION: 4.0.0"),
    ("this is not javascript (", "is not a usable handlebars.js"),
])
def test_a_file_that_is_not_handlebars_478_is_refused(tmp_path: Path, text: str, message: str) -> None:
    other = tmp_path / "handlebars.js"
    other.write_text(text)
    with pytest.raises(HandlebarsUnavailable, match=message):
        Engine(other)


def test_without_npm_the_error_says_what_to_do_and_nothing_is_cached(home, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    with pytest.raises(HandlebarsUnavailable) as err:
        source.handlebars_js()
    assert "npm is not on PATH" in str(err.value) and "apt-get install npm" in str(err.value)
    assert "INTPKG_HANDLEBARS_JS" in str(err.value)
    assert not source.cache_dir().exists()


def test_a_tarball_without_the_pinned_integrity_is_discarded(home, monkeypatch, tmp_path) -> None:
    tools = fake_npm(tmp_path / "tools", tarball_with(tmp_path / "x.tgz", b"var Handlebars = {};"))
    monkeypatch.setenv("PATH", str(tools))
    with pytest.raises(HandlebarsUnavailable, match=r"integrity is sha512-.*is pinned; it was discarded"):
        source.handlebars_js()
    assert not source.cache_dir().exists()
    assert [p.name for p in source.cache_dir().parent.iterdir()] == []  # no staging left behind


def test_the_verified_file_is_extracted_once_and_reused_without_npm(home, monkeypatch, tmp_path) -> None:
    tarball = tarball_with(tmp_path / "x.tgz", b"var Handlebars = {VERSION: '4.7.8'};")
    tools = fake_npm(tmp_path / "tools", tarball)
    monkeypatch.setenv("PATH", str(tools))
    monkeypatch.setattr(source, "INTEGRITY", npm.integrity_of(tarball))
    path = source.handlebars_js()
    assert path == source.cache_dir() / "handlebars.js"
    assert path.read_bytes() == b"var Handlebars = {VERSION: '4.7.8'};"
    assert "handlebars@4.7.8" in (path.parent / "SOURCE").read_text()
    assert (tools / "calls").read_text().startswith("pack handlebars@4.7.8 --json")
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    assert source.handlebars_js() == path  # the cache, with no npm at all


def test_intpkg_handlebars_js_names_the_file(home, monkeypatch, tmp_path) -> None:
    own = tmp_path / "own.js"
    monkeypatch.setenv("INTPKG_HANDLEBARS_JS", str(own))
    with pytest.raises(HandlebarsUnavailable, match="INTPKG_HANDLEBARS_JS names .*own.js, which is not a file"):
        source.handlebars_js()
    own.write_text("// mine")
    assert source.handlebars_js() == own
