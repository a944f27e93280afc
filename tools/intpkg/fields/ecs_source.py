"""Where the ECS field reference comes from when INTPKG_ECS_DIR does not name one.

The package names its ECS version in `_dev/build/build.yml` (`dependencies.ecs.reference: git@v8.17.0`).
That version's `ecs_flat.yml` is provisioned once into `$INTPKG_HOME/cache/ecs-reference/<version>/`:

1. from the ECS repository (`generated/ecs/ecs_flat.yml` at the tag), as elastic-package does, when
   that site is reachable;
2. otherwise from the npm registry's `@elastic/ecs` package (with the machine's `npm` and `node`),
   whose `generated/ecs_flat` module holds the same field definitions. npm does not publish every
   ECS release: the exact version is used when published, else the oldest newer one, else the newest.

`SOURCE_FILE` in the folder records where the reference came from and which ECS version it is.
"""

from __future__ import annotations

import json
import re
import shutil
import tarfile
import tempfile
from pathlib import Path

import yaml

from intpkg import download, npm, settings, yamlpos
from intpkg.errors import IntpkgError

ECS_REPOSITORY = "https://raw.githubusercontent.com/elastic/ecs"
NPM_PACKAGE = "@elastic/ecs"
SOURCE_FILE = "SOURCE"
_REFERENCE = re.compile(r"^git@v?(\d+\.\d+\.\d+)$")


def package_ecs_version(package_dir: Path) -> str:
    """The ECS version the package's `_dev/build/build.yml` names."""
    build = Path(package_dir) / "_dev" / "build" / "build.yml"
    if not build.is_file():
        raise IntpkgError(f"{build} does not exist, so the package names no ECS version; set INTPKG_ECS_DIR "
                          "(or pass --ecs-dir) to a folder that holds ecs_flat.yml.")
    data = yamlpos.read_yaml(build) or {}
    reference = ((data.get("dependencies") or {}).get("ecs") or {}).get("reference") if isinstance(data, dict) \
        else None
    match = _REFERENCE.match(str(reference or ""))
    if not match:
        raise IntpkgError(f"{build}: dependencies.ecs.reference is {reference!r}; expected git@v<major.minor.patch> "
                          "(or set INTPKG_ECS_DIR / pass --ecs-dir to a folder that holds ecs_flat.yml).")
    return match.group(1)


def ecs_reference_dir(version: str, *, quiet: bool = True) -> Path:
    """A folder holding ECS `version`'s ecs_flat.yml, provisioned on first use."""
    folder = settings.intpkg_home() / "cache" / "ecs-reference" / version
    if (folder / "ecs_flat.yml").is_file() and (folder / SOURCE_FILE).is_file():
        return folder
    cache = settings.intpkg_home() / "cache"
    staging = Path(tempfile.mkdtemp(prefix=f"ecs-{version}-", dir=_ensure(cache)))
    try:
        try:
            source = _from_repository(version, staging, cache)
        except IntpkgError as repo_error:
            try:
                source = _from_npm(version, staging)
            except IntpkgError as npm_error:
                raise IntpkgError(f"The ECS {version} reference could not be provisioned. From the ECS repository: "
                                  f"{repo_error}. From npm's {NPM_PACKAGE}: {npm_error}. Set INTPKG_ECS_DIR to a "
                                  "folder that holds ecs_flat.yml.") from None
        (staging / SOURCE_FILE).write_text(source + "\n")
        shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not quiet:
        print(f"ECS reference: {source}")
    return folder


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _from_repository(version: str, staging: Path, cache: Path) -> str:
    base = settings.ecs_repository_url(ECS_REPOSITORY)
    url = f"{base}/v{version}/generated/ecs/ecs_flat.yml"
    text = download.fetch_text(url, cache)
    if not isinstance(yamlpos.loads(text, url), dict):
        raise IntpkgError(f"{url} is not an ECS field reference")
    (staging / "ecs_flat.yml").write_text(text, encoding="utf-8")
    return f"ECS {version} from {url}"


def choose_npm_version(wanted: str, published: list[str]) -> str:
    """The exact version when published, else the oldest newer one, else the newest older one."""
    def key(v: str) -> tuple[int, ...]:
        return tuple(int(p) for p in v.split("."))

    releases = sorted((v for v in published if re.fullmatch(r"\d+\.\d+\.\d+", v)), key=key)
    if not releases:
        raise IntpkgError(f"npm lists no release of {NPM_PACKAGE}")
    if wanted in releases:
        return wanted
    newer = [v for v in releases if key(v) > key(wanted)]
    return newer[0] if newer else releases[-1]


def _from_npm(version: str, staging: Path) -> str:
    npm_path, node = npm.executable("npm"), npm.executable("node")
    if npm_path is None or node is None:
        raise IntpkgError(f"npm and node are needed to read the npm package ({npm.INSTALL_HINT})")
    listed = npm.run([npm_path, "view", NPM_PACKAGE, "versions", "--json"], staging)
    try:
        published = json.loads(listed)
    except ValueError:
        raise IntpkgError(f"`npm view {NPM_PACKAGE} versions` gave no JSON list") from None
    chosen = choose_npm_version(version, published if isinstance(published, list) else [published])
    tarball, integrity = npm.pack(npm_path, f"{NPM_PACKAGE}@{chosen}", staging)
    with tarfile.open(tarball) as tf:
        member = tf.getmember("package/generated/ecs_flat.js")
        tf.extractall(staging / "npm", members=[member], filter="data")
    module = staging / "npm" / "package" / "generated" / "ecs_flat.js"
    dumped = npm.run([node, "-e", "process.stdout.write(JSON.stringify(require(process.argv[1]).EcsFlat))",
                      str(module)], staging)
    fields = json.loads(dumped)
    if not isinstance(fields, dict) or "@timestamp" not in fields:
        raise IntpkgError(f"{NPM_PACKAGE}@{chosen}'s generated/ecs_flat holds no ECS fields")
    with (staging / "ecs_flat.yml").open("w", encoding="utf-8") as fh:
        yaml.dump(fields, fh, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=True,
                  allow_unicode=True)
    tarball.unlink()
    shutil.rmtree(staging / "npm")
    exact = "" if chosen == version else f" (ECS {version} is not published there)"
    return f"ECS {chosen} from npm's {NPM_PACKAGE}@{chosen}{exact}, {integrity}"
