"""Lint problems and the catalogue of rule codes (`intpkg lint --list-rules`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

RULES: dict[str, str] = {
    # parsing and structure
    "PRS001": "file is not valid YAML/JSON (or not UTF-8)",
    "PRS002": "mapping key appears twice in one YAML/JSON object",
    "PKG001": "file or folder not allowed in the package",
    "PKG002": "required file or folder missing",
    "PKG003": "file or folder name does not match the allowed pattern",
    "PKG004": "ingest pipeline YAML must start with `---`",
    "PKG005": "built package still holds `_dev` or `external` definitions",
    "PKG006": "symbolic link out of the package, or not a regular file",
    # schemas
    "SCH001": "root manifest.yml does not match its schema",
    "SCH002": "data stream manifest.yml does not match its schema",
    "SCH003": "field definition file does not match its schema",
    "SCH004": "changelog.yml does not match its schema",
    "SCH005": "ingest pipeline does not match its schema",
    "SCH006": "_dev/build/build.yml does not match its schema",
    "SCH007": "pipeline test config or event file does not match its schema",
    "SCH008": "system test config does not match its schema",
    "SCH009": "Kibana saved object does not match the saved-object envelope",
    "SCH010": "sample_event.json does not have the shape of an indexed document",
    "SCH011": "_dev/deploy/docker/docker-compose.yml does not match its schema",
    "SCH012": "Sigma rule, rule test or ATT&CK table under _dev/detection does not match its schema",
    # manifest and changelog
    "CHG001": "manifest version differs from the newest changelog entry",
    "CHG002": "changelog version is not semver",
    "CHG003": "changelog versions are not unique and strictly descending (newest first)",
    "CHG004": "changelog change has no link (GitHub links must point to a pull request)",
    "MAN001": "file referenced by the manifest (icon, screenshot) does not exist",
    "MAN002": "policy template names a data stream that does not exist",
    # variables
    "VAR001": "`secret: true` on a variable that is not password-like",
    "VAR002": "password-like variable must declare `secret: true`",
    "VAR003": "variable default does not fit its type (or `multi`)",
    "VAR004": "select default is not among its options",
    "VAR005": "duration default outside min_duration/max_duration",
    "VAR006": "variable name declared twice at the same level",
    # inputs and templates
    "POL001": "policy-template inputs and data stream stream inputs do not match",
    "HBS001": "agent stream template does not parse",
    "HBS002": "agent stream template uses a variable that is not declared",
    "HBS003": "stream template_path does not name an existing agent/stream template",
    "HBS004": "agent stream templates not checked: handlebars.js could not be loaded",
    # fields
    "FLD001": "field defined more than once in a data stream",
    "FLD002": "`external: ecs` requires _dev/build/build.yml with an ECS reference",
    "FLD003": "`external: ecs` field does not exist in the ECS reference",
    "FLD004": "field type is not a valid Elasticsearch field type (or missing on a leaf)",
    "FLD005": "data stream lacks a required field (@timestamp, data_stream.type/dataset/namespace) or types it wrong",
    "FLD006": "ECS reference unavailable but the package uses `external: ecs`",
    # ingest pipelines
    "ING001": "ingest processor has no non-empty `tag`",
    "ING002": "ingest processor tag is not unique within its pipeline",
    "ING003": "pipeline has no global `on_failure` that sets `error.message`",
    "ING004": "`{{ IngestPipeline \"x\" }}` reference does not resolve to a pipeline file of the data stream",
    "ING005": "data stream has no entry pipeline (default.yml/default.json) although it has pipelines",
    # kibana
    "KIB001": "Kibana object id must start with the package name and equal the file name",
    "KIB002": "Kibana object references an id that the package does not hold (or holds as another type)",
    "KIB003": "Kibana object type differs from the type its kibana/<folder> holds",
    "KIB004": "dashboard or saved search uses a field its data stream does not define (Lens column, filter, "
              "query, control, column)",
    "KIB005": "Lens operation or control on a field of a type it does not accept (terms on text, date histogram "
              "on a number, sum on a keyword...)",
    "KIB006": "dashboard or saved search name does not resolve (layer, filter, panel, link or control reference; "
              "column named by a chart, an ordering or columnOrder)",
    "KIB007": "dashboard panel grid: panelIndex not unique or not gridData.i, panel past the 48 columns or "
              "overlapping another",
    # detection rules (_dev/detection, kibana/security_rule)
    "DET001": "kibana/security_rule/*.json differs from the conversion of the Sigma rules of _dev/detection "
              "(missing, outdated or left over; run `intpkg build`)",
    "DET002": "Sigma rule cannot be converted (pipeline or pySigma error, unknown logsource, unmapped field, "
              "correlation Kibana cannot run, duplicate id)",
    "DET003": "Sigma rule without its tests file, tests file without its rule, or a tests file for another data "
              "stream",
    "DET004": "rule reads a field its data stream does not define, or matches a flattened key with wildcards or a "
              "regular expression (no match on OpenSearch), or aggregates a text field",
    "DET005": "ATT&CK tag missing from _dev/detection/attack.yml, technique none of the rule's tactics covers, or "
              "no tactic",
    "DET006": "rule test record without a time or outside the rule's window at run_at, history where the rule has "
              "none, or fewer threshold positives than the threshold",
    # samples, docs, tests
    "SMP001": "field in sample_event.json is not defined (or its value does not fit the field)",
    "DOC001": "docs/README.md differs from the render of _dev/build/docs/README.md (run `intpkg build`)",
    "DOC002": "_dev/build/docs/README.md cannot be rendered",
    "TST001": "pipeline test case has no expected file",
    "TST002": "pipeline test expected/config file has no test case",
    # intpkg's own dialect (notices: reported, never failing lint or build)
    "EXT001": "stream template uses an option only intpkg's agent honours (Elastic Agent ignores it)",
    # the linter itself
    "LNT001": "a group of rules could not run on data of an unexpected shape (fix the other problems first)",
}


#: codes reported as notices: they describe the package, they do not make it invalid
NOTICES = frozenset({"EXT001"})


@dataclass(frozen=True, order=True)
class Problem:
    """One finding: `path:line:column: CODE message` (path relative to the package)."""

    path: str
    line: int
    column: int
    code: str
    message: str

    def __str__(self) -> str:
        notice = " (notice)" if self.is_notice else ""
        return f"{self.path}:{self.line}:{self.column}: {self.code}{notice} {self.message}"

    @property
    def is_notice(self) -> bool:
        return self.code in NOTICES

    def as_dict(self) -> dict:
        return {**asdict(self), "severity": "notice" if self.is_notice else "error"}


def errors(problems: list[Problem]) -> list[Problem]:
    """The problems that make a package invalid (notices left out)."""
    return [p for p in problems if not p.is_notice]
