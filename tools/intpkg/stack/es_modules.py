"""Build the Elasticsearch modules that Maven Central does not carry, from Elasticsearch's own source.

Maven Central has Elasticsearch 8's bootable `integ-test-zip` (server, x-pack-core, x-pack-security,
transport-netty4, apm) and the third-party jars the modules use, but not the modules an integration
pipeline needs (lang-painless, ingest-common, ingest-geoip, ...). Elasticsearch's source for the same
release is on the Go module proxy (`github.com/elastic/elasticsearch@v<version>+incompatible`), an
immutable, checksummed archive. This module compiles each needed module from that source with the
machine's JDK (`javac --release 17`) and lays it out the way Elasticsearch's own build does:

    modules/<name>/<name>-<version>.jar          classes and resources
    modules/<name>/<third-party>.jar             runtime dependencies (from Maven Central)
    modules/<name>/plugin-descriptor.properties  name, classname, extended plugins, module name
    modules/<name>/entitlement-policy.yaml       the module's own entitlement policy, when it has one

Descriptions, class names and extended plugins are read from each module's `build.gradle`; module
names from its `module-info.java` (modules without one load as classpath plugins, as upstream).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from intpkg.errors import IntpkgError


@dataclass(frozen=True)
class Library:
    """A jar compiled from the source tree that modules depend on (not a module itself)."""

    jar_name: str  # without version
    source: str  # folder in the source tree


@dataclass(frozen=True)
class ModuleSpec:
    """One module to build: where its source is, and what it needs to compile and run."""

    name: str
    source: str  # folder in the source tree
    maven: tuple[str, ...] = ()  # runtime jars from Maven Central, group:artifact:version
    libraries: tuple[str, ...] = ()  # Library.jar_name values bundled with the module
    compile_only: tuple[str, ...] = ()  # jars of other modules needed to compile (by module folder name)


ASM = tuple(f"org.ow2.asm:{a}:7.2" for a in ("asm", "asm-util", "asm-tree", "asm-commons", "asm-analysis"))

LIBRARIES = (
    Library("elasticsearch-scripting-painless-spi", "modules/lang-painless/spi"),
    Library("elasticsearch-dissect", "libs/dissect"),
)

MODULES = (
    ModuleSpec("lang-painless", "modules/lang-painless", maven=("org.antlr:antlr4-runtime:4.13.1", *ASM),
               libraries=("elasticsearch-scripting-painless-spi",)),
    ModuleSpec("ingest-common", "modules/ingest-common",
               maven=("org.apache.httpcomponents:httpclient:4.5.14", "org.apache.httpcomponents:httpcore:4.4.16"),
               libraries=("elasticsearch-dissect",), compile_only=("lang-painless",)),
    ModuleSpec("ingest-user-agent", "modules/ingest-user-agent"),
    # templates in processor values ("{{{source.ip}}}") are rendered by the mustache script engine
    ModuleSpec("lang-mustache", "modules/lang-mustache", maven=("com.github.spullara.mustache.java:compiler:0.9.10",)),
    ModuleSpec("ingest-geoip", "modules/ingest-geoip", maven=(
        "com.maxmind.geoip2:geoip2:4.2.1", "com.maxmind.db:maxmind-db:3.1.1",
        "com.fasterxml.jackson.core:jackson-annotations:2.15.0", "com.fasterxml.jackson.core:jackson-databind:2.15.0",
        "com.fasterxml.jackson.core:jackson-core:2.15.0")),
    ModuleSpec("data-streams", "modules/data-streams"),
    ModuleSpec("mapper-extras", "modules/mapper-extras"),
    ModuleSpec("aggregations", "modules/aggregations", compile_only=("lang-painless",)),
    ModuleSpec("analysis-common", "modules/analysis-common", compile_only=("lang-painless",)),
    ModuleSpec("rest-root", "modules/rest-root"),
    ModuleSpec("runtime-fields-common", "modules/runtime-fields-common", libraries=("elasticsearch-dissect",),
               compile_only=("lang-painless",)),
    ModuleSpec("reindex", "modules/reindex", maven=(
        "org.elasticsearch.client:elasticsearch-rest-client:{version}",
        "org.elasticsearch:elasticsearch-ssl-config:{version}", "org.apache.httpcomponents:httpclient:4.5.14",
        "org.apache.httpcomponents:httpcore:4.4.16", "org.apache.httpcomponents:httpasyncclient:4.1.5",
        "org.apache.httpcomponents:httpcore-nio:4.4.16", "commons-codec:commons-codec:1.15",
        "commons-logging:commons-logging:1.2")),
    ModuleSpec("constant-keyword", "x-pack/plugin/mapper-constant-keyword",
               compile_only=("x-pack-core", "lang-painless")),
    ModuleSpec("wildcard", "x-pack/plugin/wildcard", compile_only=("x-pack-core", "lang-painless")),
)

SOURCE_FOLDERS = tuple(sorted({lib.source for lib in LIBRARIES} | {m.source for m in MODULES}))


def fingerprint() -> str:
    """Changes whenever the set of modules or their dependencies changes (invalidates cached builds)."""
    return hashlib.sha256(repr((LIBRARIES, MODULES)).encode()).hexdigest()[:16]


def maven_artifacts(version: str) -> list[str]:
    """Every Maven coordinate the modules need, for one `mvn dependency:copy` per artifact."""
    seen: dict[str, None] = {}
    for spec in MODULES:
        for coordinate in spec.maven:
            seen[coordinate.format(version=version)] = None
    return list(seen)


def jar_file_name(coordinate: str) -> str:
    _group, artifact, version = coordinate.split(":")
    return f"{artifact}-{version}.jar"


def extract_sources(source_zip: Path, target: Path) -> Path:
    """Unpack only the folders the build needs; return the source tree's root."""
    with zipfile.ZipFile(source_zip) as zf:
        names = zf.namelist()
        prefix = names[0].split("/", 3)[:3]  # github.com/elastic/elasticsearch@vX+incompatible
        root_prefix = "/".join(prefix) + "/"
        wanted = tuple(root_prefix + folder + "/" for folder in SOURCE_FOLDERS)
        build_files = {root_prefix + folder + "/build.gradle" for folder in SOURCE_FOLDERS}
        for name in names:
            if (name.startswith(wanted) and "/src/main/" in name) or name in build_files:
                zf.extract(name, target)
    root = target / root_prefix
    missing = [f for f in SOURCE_FOLDERS if not (root / f).is_dir()]
    if missing:
        raise IntpkgError(f"{source_zip} lacks the source folders {', '.join(missing)}; is it Elasticsearch's source?")
    return root


class ModuleBuilder:
    """Compile LIBRARIES and MODULES from a source tree into an unpacked Elasticsearch home."""

    def __init__(self, home: Path, source_root: Path, maven_dir: Path, work: Path, java_home: Path, version: str,
                 *, quiet: bool = False) -> None:
        self.home = home
        self.source_root = source_root
        self.maven_dir = maven_dir
        self.work = work
        self.javac = java_home / "bin" / "javac"
        self.jar = java_home / "bin" / "jar"
        self.version = version
        self.quiet = quiet
        if not self.javac.is_file():
            raise IntpkgError(f"{java_home} is a Java runtime without javac; building Elasticsearch's modules "
                              "needs a JDK (Debian: apt-get install openjdk-17-jdk-headless).")

    def build_all(self) -> None:
        for library in LIBRARIES:
            self._compile(library.source, self._library_jar(library.jar_name), modular=True)
        for spec in MODULES:
            self.build_module(spec)

    def build_module(self, spec: ModuleSpec) -> None:
        folder = self.source_root / spec.source
        module_info = folder / "src/main/java/module-info.java"
        module_name = _module_name(module_info) if module_info.is_file() else None
        if not self.quiet:
            print(f"  building module {spec.name} from {spec.source}", file=sys.stderr)
        target = self.home / "modules" / spec.name
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        runtime = [self.maven_dir / jar_file_name(c.format(version=self.version)) for c in spec.maven]
        runtime += [self._library_jar(name) for name in spec.libraries]
        compile_path = runtime + [jar for dep in spec.compile_only for jar in self._module_jars(dep)]
        main_jar = staging / f"{spec.name}-{self.version}.jar"
        self._compile(spec.source, main_jar, modular=module_name is not None, extra_path=compile_path)
        for jar in runtime:
            shutil.copy2(jar, staging / jar.name)
        gradle = _gradle_plugin_block((folder / "build.gradle").read_text())
        descriptor = {
            "description": gradle.get("description", spec.name),
            "version": self.version,
            "name": spec.name,
            "java.version": "17",
            "elasticsearch.version": self.version,
            "classname": gradle["classname"],
            "extended.plugins": ",".join(gradle.get("extendedPlugins", [])),
            "has.native.controller": "false",
        }
        if module_name:
            descriptor["modulename"] = module_name
        (staging / "plugin-descriptor.properties").write_text("".join(f"{k}={v}\n" for k, v in descriptor.items()))
        policy = folder / "src/main/plugin-metadata/entitlement-policy.yaml"
        if policy.is_file():
            shutil.copy2(policy, staging / policy.name)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)

    # ---- helpers -----------------------------------------------------------------------------
    def _library_jar(self, name: str) -> Path:
        return self.work / "jars" / f"{name}-{self.version}.jar"

    def _module_jars(self, module: str) -> list[Path]:
        jars = sorted((self.home / "modules" / module).glob("*.jar"))
        if not jars:
            raise IntpkgError(f"Module {module} must be built (or present) before the modules that compile against it.")
        return jars

    def _compile(self, source: str, jar: Path, *, modular: bool, extra_path: list[Path] | None = None) -> None:
        """javac every file under src/main/java (module-info only for modular builds), then jar with resources."""
        folder = self.source_root / source / "src/main"
        sources = sorted(p for p in (folder / "java").rglob("*.java") if modular or p.name != "module-info.java")
        classes = self.work / "classes" / jar.stem
        shutil.rmtree(classes, ignore_errors=True)
        classes.mkdir(parents=True)
        argfile = self.work / f"{jar.stem}.sources"
        argfile.write_text("\n".join(f'"{p}"' for p in sources))
        path = [*sorted((self.home / "lib").glob("*.jar")), *(extra_path or [])]
        path_flag = "--module-path" if modular else "--class-path"
        cmd = [str(self.javac), "-nowarn", "-proc:none", "-encoding", "UTF-8", "--release", "17", "-d", str(classes),
               path_flag, ":".join(map(str, path)), f"@{argfile}"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            errors = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("Note:"))
            raise IntpkgError(f"Compiling {source} from Elasticsearch's source failed:\n{errors[-3000:]}")
        resources = folder / "resources"
        if resources.is_dir():
            shutil.copytree(resources, classes, dirs_exist_ok=True)
        jar.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(self.jar), "cf", str(jar), "-C", str(classes), "."], check=True)


def _module_name(module_info: Path) -> str:
    match = re.search(r"^\s*(?:open\s+)?module\s+([\w.]+)", module_info.read_text(), re.MULTILINE)
    if not match:
        raise IntpkgError(f"{module_info}: no `module <name>` declaration.")
    return match.group(1)


def _gradle_plugin_block(text: str) -> dict:
    """description, classname and extendedPlugins of an `esplugin { ... }` block in build.gradle."""
    block = re.search(r"esplugin\s*\{(.*?)\n\}", text, re.DOTALL)
    if block is None:
        raise IntpkgError("build.gradle has no esplugin { } block")
    body = block.group(1)
    found: dict = {}
    for key in ("description", "classname", "name"):
        match = re.search(rf"^\s*{key}\s*=\s*['\"](.*?)['\"]", body, re.MULTILINE)
        if match:
            found[key] = match.group(1)
    extended = re.search(r"extendedPlugins\s*=\s*\[(.*?)\]", body, re.DOTALL)
    if extended:
        found["extendedPlugins"] = re.findall(r"['\"]([^'\"]+)['\"]", extended.group(1))
    if "classname" not in found:
        raise IntpkgError("build.gradle's esplugin { } block has no classname")
    return found
