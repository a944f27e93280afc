"""Detection rules: the Sigma sources of `_dev/detection` and the Kibana security rules built from them.

* SCH012: each document of a rule file (a rule, a correlation, or a rule a correlation counts), each tests file
  and the ATT&CK table against their schemas;
* DET001: `kibana/security_rule/*.json` equals the conversion of the Sigma rules (regenerated in memory);
* DET002: a rule converts (pipeline, pySigma, logsource, correlation, unique ids);
* DET003: every rule has `tests/<slug>.yml` of its data stream, and every tests file a rule;
* DET004: the fields a converted rule reads are defined by its data stream, no wildcard or regular expression
  matches a key of a flattened object (OpenSearch's flat_object answers none), and no aggregation reads text;
* DET005: the ATT&CK tags are in `attack.yml`, each technique under one of the rule's tactics;
* DET006: test records have a time and lie in the window of the rule's run at `run_at`.
"""

from __future__ import annotations

import datetime as dt

from intpkg.detection import authoring
from intpkg.detection.authoring import (
    ATTACK,
    DETECTION_DIR,
    PIPELINE,
    RULES_DIR,
    SECURITY_RULE_DIR,
    TESTS_DIR,
    AttackTable,
    DetectionRule,
    RuleError,
    RuleFile,
    record_time,
    rule_run_at,
)
from intpkg.errors import IntpkgError
from intpkg.packagespec import schema
from intpkg.packagespec.problems import Problem
from intpkg.packagespec.rules.context import LintContext
from intpkg.yamlpos import ParseError

TEXT_TYPES = {"text", "match_only_text"}
COMPARABLE = {"long", "integer", "short", "byte", "unsigned_long", "double", "float", "half_float", "scaled_float",
              "date", "date_nanos", "ip"}
SECTIONS = ("history", "positives", "negatives")


def check(ctx: LintContext) -> list[Problem]:
    pkg = ctx.pkg
    if pkg.mode != "source" or not pkg.exists(DETECTION_DIR):
        return []
    problems: list[Problem] = []
    files, parse_errors = authoring.rule_files(pkg.root)
    for exc in parse_errors:
        problems.append(Problem(_rel(pkg, exc.path), exc.line, exc.column, "PRS001", exc.message))
    for required in (PIPELINE, ATTACK):
        if not pkg.exists(required):
            problems.append(Problem(required, 1, 1, "PKG002", f"{required} is missing: the Sigma rules of "
                                    f"{RULES_DIR} are converted with it"))
    if not pkg.exists(PIPELINE) or not pkg.exists(ATTACK):
        return problems
    try:
        pipeline_text = authoring.load_pipeline_text(pkg.root)
        _check_pipeline(pipeline_text)
    except ParseError as exc:
        return problems + [Problem(PIPELINE, exc.line, exc.column, "PRS001", exc.message)]
    except Exception as exc:  # noqa: BLE001 - pySigma's errors have no common base we can rely on
        return problems + [Problem(PIPELINE, 1, 1, "DET002", f"not a pySigma processing pipeline: {exc}")]
    attack = AttackTable.from_data(pkg.data(ATTACK))
    rules: dict[str, DetectionRule] = {}
    for rf in files:
        found = _schema_problems(rf)
        problems += found
        if found:
            continue
        try:
            rules[rf.slug] = authoring.convert(rf, pipeline_text, attack)
        except RuleError as exc:
            problems.append(_located(rf, exc))
        except IntpkgError as exc:
            problems.append(Problem(rf.rel, 1, 1, "DET002", str(exc)))
    problems += _duplicate_ids(files, rules)
    for slug, rule in rules.items():
        rf = next(f for f in files if f.slug == slug)
        problems += _field_problems(ctx, rf, rule)
    problems += _tests_problems(ctx, files, rules)
    problems += _sync_problems(ctx, rules, complete=len(rules) == len(files) and not parse_errors)
    return problems


def _rel(pkg, path) -> str:
    try:
        return path.resolve().relative_to(pkg.root).as_posix()
    except ValueError:
        return str(path)


def _check_pipeline(text: str) -> None:
    from sigma.processing.pipeline import ProcessingPipeline

    ProcessingPipeline.from_yaml(text)


def _located(rf: RuleFile, exc: RuleError) -> Problem:
    doc = rf.docs[exc.doc] if 0 <= exc.doc < len(rf.docs) else None
    line, column = (doc.key_pos(exc.path) if exc.path else doc.pos(())) if doc else (1, 1)
    return Problem(rf.rel, line, column, exc.code, exc.message)


def _schema_problems(rf: RuleFile) -> list[Problem]:
    out = []
    correlation = rf.is_correlation
    for doc in rf.docs:
        data = doc.data if isinstance(doc.data, dict) else None
        if data is not None and "correlation" in data:
            name = "detection_correlation"
        elif correlation:
            name = "detection_counted_rule"
        elif len(rf.docs) > 1:
            out.append(Problem(rf.rel, *doc.pos(()), "SCH012", "a rule file holds one Sigma rule, or a correlation "
                               "and the rules it counts: no document here has `correlation`"))
            break
        else:
            name = "detection_rule"
        out += schema.check(name, doc, rf.rel)
    return out


def _duplicate_ids(files: list[RuleFile], rules: dict[str, DetectionRule]) -> list[Problem]:
    out, seen = [], {}
    for rf in files:
        for doc in rf.docs:
            rule_id = doc.data.get("id") if isinstance(doc.data, dict) else None
            if not isinstance(rule_id, str):
                continue
            if rule_id in seen:
                out.append(Problem(rf.rel, *doc.key_pos(("id",)), "DET002",
                                   f"id {rule_id} is also the id of a rule in {seen[rule_id]}"))
            else:
                seen[rule_id] = rf.rel
    return out


def _defined(fieldset, name: str) -> tuple[dict | None, bool]:
    """(definition, is a key of a flattened object) of `name` in the data stream's fields."""
    definition = fieldset.find(name)
    if definition is not None:
        return definition, False
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        parent = fieldset.find(".".join(parts[:i]))
        if parent is not None and parent.get("type") == "flattened":
            return parent, True
    return None, False


def _field_problems(ctx: LintContext, rf: RuleFile, rule: DetectionRule) -> list[Problem]:
    if ctx.ecs is None and ctx.uses_external():
        return []  # the types of `external: ecs` fields are unknown; FLD006 says why
    fieldset = ctx.fieldset(rule.data_stream)
    out, reported = [], set()
    for use in rule.fields:
        definition, flattened_key = _defined(fieldset, use.name)
        doc = rf.docs[use.doc]
        where = doc.key_pos(use.path) if use.path else doc.pos(())
        message = None
        if definition is None:
            message = (f"field {use.name!r} is not defined in data stream {rule.data_stream!r} (check the Sigma "
                       f"field name and {PIPELINE})")
        elif flattened_key and use.how == "pattern":
            message = (f"{use.name!r} is a key of a flattened object: match it exactly (no contains, startswith, "
                       "endswith, wildcard or re), or the rule matches nothing on OpenSearch (flat_object)")
        elif use.how in ("group", "cardinality", "new_terms") and definition.get("type") in TEXT_TYPES:
            message = f"{use.name!r} is a {definition.get('type')} field, which Kibana cannot aggregate"
        elif use.how == "compare" and definition.get("type") not in COMPARABLE:
            message = f"{use.name!r} is a {definition.get('type')} field: lt, lte, gt and gte compare numbers and dates"
        if message and (use.name, message) not in reported:
            reported.add((use.name, message))
            out.append(Problem(rf.rel, *where, "DET004", message))
    return out


# ----------------------------------------------------------------------------------------------------- tests


def _tests_problems(ctx: LintContext, files: list[RuleFile], rules: dict[str, DetectionRule]) -> list[Problem]:
    pkg = ctx.pkg
    out = []
    tests = {rel.rsplit("/", 1)[1][:-4]: rel for rel in pkg.files(TESTS_DIR, "*.yml")}
    for rf in files:
        if rf.slug not in tests:
            out.append(Problem(rf.rel, 1, 1, "DET003", f"the rule has no tests file {TESTS_DIR}/{rf.slug}.yml "
                               "(raw Cloudflare records it must and must not match)"))
    slugs = {rf.slug for rf in files}
    for slug, rel in sorted(tests.items()):
        if slug not in slugs:
            out.append(Problem(rel, 1, 1, "DET003", f"no rule {RULES_DIR}/{slug}.yml for this tests file"))
            continue
        loaded = pkg.load(rel)
        rule = rules.get(slug)
        if loaded is None or rule is None or not isinstance(loaded.data, dict):
            continue
        data = loaded.data
        if data.get("data_stream") != rule.data_stream:
            out.append(pkg.problem(rel, ("data_stream",), "DET003",
                                   f"the rule reads data stream {rule.data_stream!r}, not {data.get('data_stream')!r}"))
            continue
        out += _window_problems(pkg, rel, data, rule)
    return out


def _window_problems(pkg, rel: str, data: dict, rule: DetectionRule) -> list[Problem]:
    out = []
    times: dict[tuple, dt.datetime] = {}
    for section in SECTIONS:
        for i, record in enumerate(data.get(section) or []):
            when = record_time(record, rule.data_stream)
            if when is None:
                what = ("`when` (v1) or `action.time` (v2)" if rule.data_stream == "audit"
                        else "EdgeStartTimestamp or EdgeEndTimestamp")
                out.append(pkg.problem(rel, (section, i), "DET006", f"{section}[{i}] has no readable {what}: not a "
                                       f"raw {rule.data_stream} record"))
            else:
                times[(section, i)] = when
    if out:
        return out
    try:
        run_at = rule_run_at(data, rule.data_stream)
    except ValueError:
        return out  # SCH012 names the bad run_at
    start = run_at - dt.timedelta(seconds=rule.window_seconds)
    look_back = rule.attributes["from"]
    for (section, i), when in sorted(times.items(), key=lambda kv: (SECTIONS.index(kv[0][0]), kv[0][1])):
        if section == "history":
            if when >= start:
                out.append(pkg.problem(rel, (section, i), "DET006", f"history[{i}] ({when:%Y-%m-%dT%H:%M:%SZ}) "
                                       f"is inside the rule's window ({look_back} from {run_at:%Y-%m-%dT%H:%M:%SZ}): "
                                       "history is what the rule saw before"))
        elif not start <= when <= run_at:
            out.append(pkg.problem(rel, (section, i), "DET006", f"{section}[{i}] ({when:%Y-%m-%dT%H:%M:%SZ}) is "
                                   f"outside the window of the run at {run_at:%Y-%m-%dT%H:%M:%SZ} ({look_back}): the "
                                   "rule never sees it, so it proves nothing"))
    if data.get("history") and rule.type != "new_terms":
        out.append(pkg.problem(rel, ("history",), "DET006", f"a {rule.type} rule has no history: only new-terms "
                               "rules read records older than their window"))
    threshold = rule.attributes.get("threshold")
    if threshold and len(data.get("positives") or []) < threshold["value"]:
        out.append(pkg.problem(rel, ("positives",), "DET006", f"a threshold of {threshold['value']} needs at least "
                               f"{threshold['value']} positives (the records of a group that reaches it)"))
    return out


# ------------------------------------------------------------------------------------------------------ sync


def _sync_problems(ctx: LintContext, rules: dict[str, DetectionRule], complete: bool) -> list[Problem]:
    """The converted rules against their files; left-over files only when every rule converted (a rule that
    does not convert keeps its last file)."""
    pkg = ctx.pkg
    out = []
    want = {rule.file: authoring.saved_object_text(rule.saved_object) for rule in rules.values()}
    have = {rel for rel in pkg.files(SECURITY_RULE_DIR, "*.json")}
    for rel, text in sorted(want.items()):
        source = next(r.rel for r in rules.values() if r.file == rel)
        path = pkg.path(rel)
        if rel not in have:
            out.append(Problem(rel, 1, 1, "DET001", f"{rel} is missing: the conversion of {source}; run "
                               "`intpkg build`"))
            continue
        current = path.read_text(encoding="utf-8")
        if current != text:
            old, new = current.splitlines(), text.splitlines()
            line = next((i + 1 for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
                        min(len(old), len(new)) + 1)
            out.append(Problem(rel, line, 1, "DET001", f"{rel} differs from the conversion of {source} from line "
                               f"{line}; run `intpkg build` (edit the Sigma rule, not the JSON)"))
    for rel in sorted(have - set(want)) if complete else []:
        out.append(Problem(rel, 1, 1, "DET001", f"{rel} is not the conversion of any Sigma rule of {RULES_DIR}; "
                           "run `intpkg build` to remove it"))
    return out
