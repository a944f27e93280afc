"""The UI's catalog: built zips and package folders, versions, search, files, extraction and installed state."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from fixtures.lint.pkgcopy import REPO, copy_real_package, set_manifest
from intpkg.assets.install import install_package, uninstall_package
from intpkg.builder import build_package
from intpkg.package import Package
from intpkg.ui.catalog import Catalog, PackageEntry, install_state, installed_version
from intpkg.ui.package_files import FolderFiles, PackageFileError, ZipFiles

NAME = "cf_catalog"  # the real package under a name of its own: no other test's assets are touched
NEW_CHANGE = '- version: "0.2.0"\n  changes:\n    - description: A newer version.\n      type: enhancement\n' \
             '      link: https://github.com/cloudflare-siem/integrations/pull/2\n'


def zip_of(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def registry(tmp_path_factory, ecs) -> Path:
    """Two built versions of the package, broken zips beside them, and a package folder elsewhere."""
    root = tmp_path_factory.mktemp("catalog")
    zips = root / "zips"
    zips.mkdir()
    for version in ("0.1.0", "0.2.0"):
        source = copy_real_package(root / f"src-{version}")
        set_manifest(source, name=NAME, version=version)
        if version == "0.2.0":
            changelog = source / "changelog.yml"
            changelog.write_text(NEW_CHANGE + changelog.read_text(encoding="utf-8"), encoding="utf-8")
        built = build_package(source, root / f"build-{version}", ecs=ecs, update_source_docs=False)
        shutil.copy2(built.zip_path, zips)
    (zips / "broken-1.0.0.zip").write_bytes(b"PK\x03\x04 not really a zip")
    (zips / "badyaml-1.0.0.zip").write_bytes(zip_of({"badyaml-1.0.0/manifest.yml": "name: [unclosed\n"}))
    (zips / "slip-1.0.0.zip").write_bytes(zip_of({"slip-1.0.0/manifest.yml": "name: slip\nversion: 1.0.0\n",
                                                  "slip-1.0.0/../../escaped.txt": "gotcha"}))
    (zips / "wrongtop-1.0.0.zip").write_bytes(zip_of({"other/manifest.yml": "name: wrongtop\nversion: 1.0.0\n"}))
    folder = copy_real_package(root / "folder")
    set_manifest(folder, name="example_logs", title="Example Logs", version="1.0.0",
                 description="Logs of an example service.", categories=["observability", "security"])
    (folder / "img" / "leak.svg").symlink_to("/etc/hostname")
    return root


@pytest.fixture
def catalog(registry: Path) -> Catalog:
    return Catalog([registry / "zips", registry / "folder", registry / "missing"])


def test_entries_are_the_highest_version_of_each_package(catalog) -> None:
    assert [(e.name, e.version, e.versions) for e in catalog.entries()] == [
        (NAME, "0.2.0", ["0.2.0", "0.1.0"]), ("example_logs", "1.0.0", ["1.0.0"])]
    latest = catalog.get(NAME)
    assert latest is not None and latest.is_zip and latest.source.name == f"{NAME}-0.2.0.zip"
    assert latest.title == "Cloudflare Logs" and latest.type == "integration"
    assert latest.categories == ["security", "network", "cdn_security"]
    assert latest.owner == {"github": "cloudflare-siem/integrations", "type": "community"}
    assert latest.icons[0]["src"] == "/img/cloudflare-logo.svg" and latest.description.startswith("Collect")
    older = catalog.get(NAME, "0.1.0")
    assert older is not None and older.version == "0.1.0" and older.versions == ["0.2.0", "0.1.0"]
    assert catalog.get(NAME, "9.9.9") is None and catalog.get("nope") is None


def test_unreadable_sources_are_left_out_and_named(catalog, registry) -> None:
    problems = {p.source.name: p.message for p in catalog.problems}
    assert set(problems) == {"broken-1.0.0.zip", "badyaml-1.0.0.zip", "slip-1.0.0.zip", "wrongtop-1.0.0.zip",
                             "missing"}
    assert "not a readable zip" in problems["broken-1.0.0.zip"]
    assert "manifest.yml:2:1" in problems["badyaml-1.0.0.zip"] and "invalid YAML" in problems["badyaml-1.0.0.zip"]
    assert "unsafe entry" in problems["slip-1.0.0.zip"]
    assert "top folder" in problems["wrongtop-1.0.0.zip"]
    assert all(str(p).startswith(str(p.source)) for p in catalog.problems)
    assert {e.name for e in catalog.entries()} == {NAME, "example_logs"}
    assert not list(registry.rglob("escaped.txt"))


def test_search_matches_words_in_any_case_and_filters_by_category(catalog) -> None:
    names = lambda entries: [e.name for e in entries]  # noqa: E731
    assert names(catalog.search()) == [NAME, "example_logs"]
    assert names(catalog.search("cloudflare")) == [NAME]
    assert names(catalog.search("AUDIT  logs")) == [NAME]  # every word, anywhere in name/title/description
    assert names(catalog.search("example_LOGS")) == ["example_logs"]
    assert names(catalog.search("audit example")) == []
    assert names(catalog.search(category="security")) == [NAME, "example_logs"]
    assert names(catalog.search("logs", category="observability")) == ["example_logs"]
    assert names(catalog.search("cloudflare", category="observability")) == []
    assert catalog.categories() == [("cdn_security", 1), ("network", 1), ("observability", 1), ("security", 2)]


def test_readme_changelog_and_icon_come_from_the_zip(catalog) -> None:
    latest = catalog.get(NAME)
    assert latest.readme().startswith("# Cloudflare Logs\n") and "**Exported fields**" in latest.readme()
    changes = latest.changelog()
    assert [c["version"] for c in changes][:2] == ["0.2.0", "0.1.0"]
    assert changes[0]["changes"] == [{"description": "A newer version.", "type": "enhancement",
                                      "link": "https://github.com/cloudflare-siem/integrations/pull/2"}]
    assert catalog.get(NAME, "0.1.0").changelog()[0]["version"] == "0.1.0"
    assert latest.icon_path() == "img/cloudflare-logo.svg"
    assert latest.read_file(latest.icon_path()) == (REPO / "img" / "cloudflare-logo.svg").read_bytes()


@pytest.mark.parametrize("source", [NAME, "example_logs"])
@pytest.mark.parametrize("path", ["../manifest.yml", "/etc/hostname", "docs/../../manifest.yml", "..\\manifest.yml",
                                  "", "C:/x"])
def test_read_file_refuses_paths_leaving_the_package(catalog, source: str, path: str) -> None:
    with pytest.raises(PackageFileError):
        catalog.get(source).read_file(path)


def test_read_file_serves_package_files_only(catalog) -> None:
    folder = catalog.get("example_logs")
    assert folder.read_file("./img/../img/cloudflare-logo.svg").startswith(b"<svg")
    with pytest.raises(PackageFileError):
        folder.read_file("img/leak.svg")  # a link to a file outside the package
    for entry in (folder, catalog.get(NAME)):
        with pytest.raises(FileNotFoundError):
            entry.read_file("img/none.png")
    assert catalog.get(NAME).read_file("manifest.yml").startswith(b"format_version")


def test_materialize_extracts_a_zip_once_and_returns_a_folder_as_is(catalog, registry, tmp_path) -> None:
    cache = tmp_path / "cache"
    latest = catalog.get(NAME)
    folder = latest.materialize(cache)
    assert folder == cache / f"{NAME}-0.2.0"
    package = Package.load(folder)
    assert (package.name, package.version) == (NAME, "0.2.0")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == \
        sorted(latest.files.names)
    (folder / "sentinel").write_text("still here")
    assert latest.materialize(cache) == folder and (folder / "sentinel").is_file()  # not extracted again
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no staging folder left
    assert catalog.get("example_logs").materialize(cache) == (registry / "folder").resolve()


def test_a_rebuilt_zip_of_the_same_version_is_extracted_again(catalog, registry, tmp_path) -> None:
    cache = tmp_path / "cache"
    first = catalog.get(NAME, "0.1.0").materialize(cache)
    (first / "sentinel").write_text("old extraction")
    zip_copy = tmp_path / "zips" / f"{NAME}-0.1.0.zip"
    zip_copy.parent.mkdir()
    with zipfile.ZipFile(registry / "zips" / zip_copy.name) as src, zipfile.ZipFile(zip_copy, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info) + (b"\n" if info.filename.endswith("README.md") else b""))
    again = Catalog([zip_copy.parent]).get(NAME, "0.1.0").materialize(cache)
    assert again == first and not (again / "sentinel").exists()


def test_install_state_compares_by_semver_precedence() -> None:
    def entry(version: str) -> PackageEntry:
        return PackageEntry(Path("x"), {"name": "p", "version": version}, FolderFiles(Path("x")))

    assert install_state(entry("1.0.0"), None) == "not_installed"
    assert install_state(entry("1.0.0"), "1.0.0") == "installed"
    assert install_state(entry("0.10.0"), "0.9.0") == "update_available"  # not text order
    assert install_state(entry("1.0.0"), "1.0.0-beta.2") == "update_available"
    assert install_state(entry("1.0.0-beta.11"), "1.0.0-beta.2") == "update_available"
    assert install_state(entry("1.0.0"), "1.1.0") == "installed"
    assert install_state(entry("1.0.0"), "not-semver") == "installed"


def test_installed_version_is_what_install_package_recorded(search_client, catalog, tmp_path) -> None:
    latest, older = catalog.get(NAME), catalog.get(NAME, "0.1.0")
    try:
        assert installed_version(search_client, latest) is None
        assert install_state(latest, installed_version(search_client, latest)) == "not_installed"

        install_package(search_client, older.materialize(tmp_path / "cache"))
        assert installed_version(search_client, latest) == "0.1.0"
        assert install_state(latest, "0.1.0") == "update_available" and install_state(older, "0.1.0") == "installed"
        assert installed_version(search_client, catalog.get("example_logs")) is None

        install_package(search_client, latest.materialize(tmp_path / "cache"))
        assert installed_version(search_client, latest) == "0.2.0"
    finally:
        uninstall_package(search_client, latest.materialize(tmp_path / "cache"), delete_data=True)
    assert installed_version(search_client, latest) is None


def test_extraction_never_writes_outside_its_folder(registry, tmp_path) -> None:
    """The last guard, should an unsafe name ever get past open_zip."""
    crafted = ZipFiles(path=registry / "zips" / f"{NAME}-0.1.0.zip", top=f"{NAME}-0.1.0",
                       names=frozenset({"manifest.yml", "../outside.txt"}))
    with pytest.raises(PackageFileError):
        crafted.extract(tmp_path / "target")
    assert not (tmp_path / "outside.txt").exists()
