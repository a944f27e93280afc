"""Saved integration policies, with their secrets kept apart (write-only, as Fleet's secrets storage).

Layout under the UI's folder:

    policies/<id>.json   the policy body; each secret variable holds {"isSecretRef": true, "id": "<secret id>"}
    secrets.json         {"<secret id>": "<value>"}, mode 0600; never read back by the pages or the API

`for_agent` gives the body the collector runs, with each secret as `${env:UI_SECRET_<id>}` and the
environment holding the values, so no policy file on disk holds a credential.
"""

from __future__ import annotations

import copy
import json
import secrets as token_source
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from intpkg.agent.policy import PolicyError, Problem, plan_streams
from intpkg.agent.state import write_atomic
from intpkg.dotted import at, put_at
from intpkg.package import Package
from intpkg.ui.forms import is_secret_ref, var_slots

SECRET_ENV_PREFIX = "UI_SECRET_"
_PLACEHOLDER = "secret-value-placeholder"  # stands for a stored secret while a policy is validated


class PolicyNotFound(LookupError):
    pass


NAME_TAKEN = "another integration policy is named"
META_KEYS = ("id", "created_at", "updated_at", "revision")  # the store's own, not the policy's


def policy_body(policy: dict[str, Any]) -> dict[str, Any]:
    """A copy of `policy` without the store's bookkeeping keys (what validation and the agent read)."""
    return {k: copy.deepcopy(v) for k, v in policy.items() if k not in META_KEYS}


class PolicyStore:
    """Policies of one package, saved as JSON files; thread-safe."""

    def __init__(self, folder: Path, package: Package) -> None:
        self.folder = folder
        self.package = package
        self._lock = threading.RLock()

    @property
    def _policies(self) -> Path:
        return self.folder / "policies"

    @property
    def _secrets_file(self) -> Path:
        return self.folder / "secrets.json"

    # ---- reading ---------------------------------------------------------------------------------
    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            found = []
            for path in sorted(self._policies.glob("*.json")):
                try:
                    found.append(json.loads(path.read_text()))
                except (OSError, ValueError):
                    continue
            return sorted(found, key=lambda p: (p.get("created_at", 0), p.get("id", "")))

    def get(self, policy_id: str) -> dict[str, Any]:
        path = self._policies / f"{policy_id}.json"
        if not policy_id.replace("-", "").isalnum() or not path.is_file():
            raise PolicyNotFound(policy_id)
        with self._lock:
            return json.loads(path.read_text())

    # ---- writing ---------------------------------------------------------------------------------
    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Save a new policy (secrets given as values are moved into the secret store); returns it as saved."""
        with self._lock:
            now = time.time()
            saved = self._store_secrets(body, previous=None)
            saved.update(id=str(uuid.uuid4()), created_at=now, updated_at=now, revision=1)
            write_atomic(self._policies / f"{saved['id']}.json", saved)
            return saved

    def update(self, policy_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            previous = self.get(policy_id)
            saved = self._store_secrets(body, previous=previous)
            saved.update(id=policy_id, created_at=previous.get("created_at", time.time()), updated_at=time.time(),
                         revision=int(previous.get("revision", 1)) + 1)
            write_atomic(self._policies / f"{policy_id}.json", saved)
            self._forget_unreferenced()
            return saved

    def delete(self, policy_id: str) -> None:
        with self._lock:
            self.get(policy_id)
            (self._policies / f"{policy_id}.json").unlink()
            self._forget_unreferenced()

    # ---- secrets ---------------------------------------------------------------------------------
    def _read_secrets(self) -> dict[str, str]:
        try:
            return json.loads(self._secrets_file.read_text())
        except (OSError, ValueError):
            return {}

    def _store_secrets(self, body: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
        """A copy of `body` whose secret values are references; new values are written to the secret store.

        A reference must be one the previous version of this policy held (a policy cannot borrow another's).
        """
        saved = policy_body(body)
        store = self._read_secrets()
        for slot in var_slots(self.package):
            if not slot.secret:
                continue
            value = at(saved, slot.path)
            if is_secret_ref(value):
                if at(previous or {}, slot.path) != value:
                    raise PolicyError("a secret reference must be the one saved with this policy",
                                      [Problem(slot.path, "unknown secret reference; give the value instead")])
            elif isinstance(value, str) and value.strip():
                secret_id = token_source.token_hex(16)
                store[secret_id] = value.strip()
                put_at(saved, slot.path, {"isSecretRef": True, "id": secret_id})
        write_atomic(self._secrets_file, store)  # mkstemp's file mode (0600) is kept by the rename
        return saved

    def _forget_unreferenced(self) -> None:
        referenced = {at(p, s.path)["id"] for p in self.list() for s in var_slots(self.package)
                      if s.secret and is_secret_ref(at(p, s.path))}
        store = self._read_secrets()
        kept = {k: v for k, v in store.items() if k in referenced}
        if kept != store:
            write_atomic(self._secrets_file, kept)

    def _with_secrets(self, body: dict[str, Any], replace) -> dict[str, Any]:
        out = copy.deepcopy(body)
        for slot in var_slots(self.package):
            value = at(out, slot.path)
            if slot.secret and is_secret_ref(value):
                put_at(out, slot.path, replace(value["id"]))
        return out

    def resolved(self, body: dict[str, Any]) -> dict[str, Any]:
        """`body` with each secret reference replaced by its value (for verifying credentials in-process)."""
        store = self._read_secrets()
        return self._with_secrets(body, lambda secret_id: store.get(secret_id))

    def for_agent(self, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """The policy the collector runs (secrets as `${env:...}` references) and the environment they need."""
        store = self._read_secrets()
        env: dict[str, str] = {}

        def reference(secret_id: str) -> str | None:
            if secret_id not in store:
                return None
            env[SECRET_ENV_PREFIX + secret_id] = store[secret_id]
            return "${env:" + SECRET_ENV_PREFIX + secret_id + "}"

        runnable = self._with_secrets(policy_body(body), reference)
        runnable.pop("package", None)
        return runnable, env

    # ---- validation ------------------------------------------------------------------------------
    def problems(self, body: dict[str, Any], *, policy_id: str | None = None) -> list[Problem]:
        """What is wrong with `body`, by the same checks `intpkg run` makes, plus a unique name."""
        problems: list[Problem] = []
        name = str(body.get("name") or "").strip()
        if not name:
            problems.append(Problem(("name",), "a name is required"))
        elif any(p.get("name") == name and p.get("id") != policy_id for p in self.list()):
            problems.append(Problem(("name",), f"{NAME_TAKEN} {name!r}"))
        checked = self._with_secrets(policy_body(body), lambda _id: _PLACEHOLDER)
        if not checked.get("name"):
            checked.pop("name", None)
        try:
            plan_streams(self.package, checked, env={})
        except PolicyError as exc:
            problems += [p for p in exc.problems if p.path != ("name",)]
        return problems
