"""Which providers a Terraform module needs, and whether Terraform can install them here.

`terraform init` of a module whose provider it cannot find fails minutes into nothing, after the
launch was recorded; the Launch page asks first, on every view, so the answer must be quick and
is remembered (`Availability`). It is decided from the module's required providers against:

- PORTAL_TERRAFORM_PLUGIN_DIR, the only place `init -plugin-dir` looks: read as a directory (the
  layouts `terraform providers mirror` writes), no Terraform run;
- otherwise what Terraform's own installation rules give (PORTAL_TERRAFORM_CLI_CONFIG's mirrors,
  the local plugin folders, the registry): asked of Terraform by an `init` of a scratch module
  that needs only those providers. It is kept in the data directory, so a provider fetched once
  is not fetched again; offline, the registry's failure comes back in under a second.

The module is read with a small scanner, not an HCL parser: only `required_providers` blocks,
`provider` blocks and resource and data block headers matter, and the Launch page cannot wait
for python-hcl2's first parse (a second).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.data_dir import ensure_private_dir, private_opener
from services.engines.base import Availability
from services.engines.terraform_runner import TerraformError, TerraformRunner
from services.i18n import ngettext

TERRAFORM_REGISTRY = "registry.terraform.io"
OPENTOFU_REGISTRY = "registry.opentofu.org"
# Providers compiled into Terraform itself (terraform_data, terraform_remote_state).
BUILTIN_SOURCES = {"terraform.io/builtin/terraform"}
# An answer is reused this long: a "yes" for ten minutes (a provider seldom disappears, and a
# launch's own init would say so), a "no" for one, so an installed provider shows soon.
AVAILABLE_FOR_S = 600.0
UNAVAILABLE_FOR_S = 60.0
# The scratch init's limit. Offline it fails within a second; a registry that swallows packets
# would otherwise hold a page for Terraform's retries (4 x 10 s).
PROBE_TIMEOUT_S = 20.0
ADVICE_TO_DROP = re.compile(r"\s*To see which modules are currently depending on.*?"
                            r"terraform providers\.?", re.DOTALL)


@dataclass(frozen=True)
class ProviderRequirement:
    # hostname/namespace/type, lower case: registry.terraform.io/hashicorp/aws
    source: str
    # As written, each possibly several comma-separated constraints ("~> 5.8").
    constraints: tuple[str, ...] = ()

    @property
    def short_source(self) -> str:
        host, rest = self.source.split("/", 1)
        return rest if host in (TERRAFORM_REGISTRY, OPENTOFU_REGISTRY) else self.source

    @property
    def label(self) -> str:
        return " ".join([self.short_source, *self.constraints])


# -- reading a module ---------------------------------------------------------------------------
def strip_comments(text: str) -> str:
    """`text` with its comments removed and its strings kept, so that a brace or a quote in a
    comment does not count. A string never runs past its line (heredocs are not strings here,
    which is harmless for the blocks read)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            j = i + 1
            while j < n and text[j] not in '"\n':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif char == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("\n" * text.count("\n", i, end))
            i = end
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _block_body(text: str, open_brace: int) -> tuple[str, int]:
    """The text between the brace at `open_brace` and its match, and the index after it."""
    depth = 0
    i = open_brace
    while i < len(text):
        char = text[i]
        if char == '"':
            end = text.find('"', i + 1)
            i = len(text) if end < 0 else end
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[open_brace + 1:i], i + 1
        i += 1
    return text[open_brace + 1:], len(text)


_REQUIRED_PROVIDERS = re.compile(r"\brequired_providers\s*\{")
_ENTRY = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*([{"])')
_STRING_ATTRIBUTE = r'\b{}\s*=\s*"([^"]*)"'
_HEADER = re.compile(r'^\s*(resource|data|provider)\s+"([A-Za-z][A-Za-z0-9_-]*)"', re.MULTILINE)


def _declared(text: str) -> dict[str, tuple[str | None, str | None]]:
    """local name -> (source, version constraint) from a file's required_providers blocks."""
    declared: dict[str, tuple[str | None, str | None]] = {}
    for block in _REQUIRED_PROVIDERS.finditer(text):
        body, _ = _block_body(text, block.end() - 1)
        position = 0
        while (entry := _ENTRY.search(body, position)) is not None:
            name, opener = entry.group(1), entry.group(2)
            if opener == "{":
                value, position = _block_body(body, entry.end() - 1)
                source = re.search(_STRING_ATTRIBUTE.format("source"), value)
                version = re.search(_STRING_ATTRIBUTE.format("version"), value)
                declared[name] = (source.group(1) if source else None,
                                  version.group(1) if version else None)
            else:  # `aws = "~> 5.0"`, the form from before sources existed
                end = body.find('"', entry.end())
                declared[name] = (None, body[entry.end():end])
                position = end + 1
    return declared


def normalise_source(source: str, *, default_host: str) -> str:
    parts = source.strip().lower().split("/")
    if len(parts) == 2:
        parts.insert(0, default_host)
    return "/".join(parts)


def _files_signature(module_dir: Path) -> tuple[tuple[str, int, int], ...]:
    files = []
    for path in sorted(module_dir.rglob("*.tf")):
        if ".terraform" in path.parts or path.name.startswith("."):
            continue
        stat = path.stat()
        files.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(files)


_requirements_cache: dict[tuple[object, ...], tuple[ProviderRequirement, ...]] = {}


def required_providers(module_dir: Path, *, default_host: str = TERRAFORM_REGISTRY
                       ) -> tuple[ProviderRequirement, ...]:
    """The providers `module_dir` and its local modules need, built-in ones left out; read again
    only when one of its files changed."""
    signature = _files_signature(module_dir)
    key = (str(module_dir), default_host, signature)
    cached = _requirements_cache.get(key)
    if cached is not None:
        return cached
    by_folder: dict[Path, list[str]] = {}
    for name, _, _ in signature:
        path = Path(name)
        by_folder.setdefault(path.parent, []).append(strip_comments(path.read_text()))
    constraints: dict[str, list[str]] = {}
    for texts in by_folder.values():
        declared: dict[str, tuple[str | None, str | None]] = {}
        for text in texts:
            declared.update(_declared(text))
        # A resource type's first word is its provider's local name (aws_instance: aws), which
        # means hashicorp/NAME unless the module's required_providers says otherwise.
        used = {match.group(2) if match.group(1) == "provider" else
                match.group(2).split("_", 1)[0]
                for text in texts for match in _HEADER.finditer(text)}
        for name in used | set(declared):
            source, version = declared.get(name, (None, None))
            if source is None:
                source = "terraform.io/builtin/terraform" if name == "terraform" \
                    else f"hashicorp/{name}"
            full = normalise_source(source, default_host=default_host)
            constraints.setdefault(full, [])
            if version and version not in constraints[full]:
                constraints[full].append(version)
    found = tuple(ProviderRequirement(source, tuple(versions))
                  for source, versions in sorted(constraints.items())
                  if source not in BUILTIN_SOURCES)
    if len(_requirements_cache) > 256:
        _requirements_cache.clear()
    _requirements_cache[key] = found
    return found


# -- versions -----------------------------------------------------------------------------------
_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z.-]+)?$")
_CONSTRAINT = re.compile(r"^(~>|>=|<=|!=|=|>|<)?\s*(.+)$")


def _parse_version(text: str) -> tuple[tuple[int, int, int], int, bool] | None:
    """(major, minor, patch), how many parts were written, whether it is a pre-release."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    parts = [int(p) if p is not None else 0 for p in match.groups()[:3]]
    written = sum(1 for p in match.groups()[:3] if p is not None)
    return (parts[0], parts[1], parts[2]), written, match.group(4) is not None


def satisfies(version: str, constraints: tuple[str, ...] | list[str]) -> bool:
    """Whether `version` meets every constraint, by Terraform's rules (`~> 5.8` is >= 5.8 and
    < 6; a pre-release only meets an exact `=`). A constraint this cannot read is left to
    `terraform init` to judge, so it does not refuse."""
    parsed = _parse_version(version)
    if parsed is None:
        return True
    current, _, prerelease = parsed
    for written in constraints:
        for part in written.split(","):
            match = _CONSTRAINT.match(part.strip())
            target = _parse_version(match.group(2)) if match else None
            if target is None:
                continue
            operator = match.group(1) or "="
            wanted, count, _ = target
            if prerelease and not (operator == "=" and version.strip().lstrip("v") ==
                                   match.group(2).strip().lstrip("v")):
                return False
            if operator == "~>":
                if count <= 2:
                    upper = (wanted[0] + 1, 0, 0)
                else:
                    upper = (wanted[0], wanted[1] + 1, 0)
                ok = wanted <= current < upper
            else:
                ok = {"=": current == wanted, "!=": current != wanted, ">": current > wanted,
                      ">=": current >= wanted, "<": current < wanted,
                      "<=": current <= wanted}[operator]
            if not ok:
                return False
    return True


def mirror_versions(mirror: Path, source: str, *, platform: str) -> list[str]:
    """The versions of `source` for `platform` in a plugin directory, in either layout that
    `terraform providers mirror` and Terraform's filesystem mirrors use: unpacked
    (HOST/NAMESPACE/TYPE/VERSION/PLATFORM/) or packed (HOST/NAMESPACE/TYPE/
    terraform-provider-TYPE_VERSION_PLATFORM.zip)."""
    folder = mirror.joinpath(*source.split("/"))
    if not folder.is_dir():
        return []
    provider_type = source.rsplit("/", 1)[-1]
    packed = re.compile(rf"^terraform-provider-{re.escape(provider_type)}_(.+)_"
                        rf"{re.escape(platform)}\.zip$")
    versions = []
    for entry in folder.iterdir():
        if entry.is_dir() and (entry / platform).is_dir():
            versions.append(entry.name)
        elif entry.is_file() and (match := packed.match(entry.name)):
            versions.append(match.group(1))
    return sorted(versions)


# -- deciding -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TerraformVersion:
    version: str
    platform: str


class ProviderAvailability:
    """Whether `runner`'s Terraform runs and can install a module's providers; answers are
    remembered (AVAILABLE_FOR_S, UNAVAILABLE_FOR_S) for every engine of the process, and one
    question asked by many page views at once is worked out once."""

    _answers: dict[tuple[object, ...], tuple[float, Any]] = {}
    _locks: dict[tuple[object, ...], threading.Lock] = {}
    _guard = threading.Lock()

    def __init__(self, runner: TerraformRunner, *, scratch_dir: Path) -> None:
        self.runner = runner
        self.scratch_dir = scratch_dir

    def _remembered(self, key: tuple[object, ...],
                    work: Callable[[], tuple[Any, bool]]) -> Any:
        """`work()`'s value (it returns the value and whether it is good news). Only the first
        asker waits for it, and many asking at once wait for one `work()`; an answer past its
        time is still given while a background thread works out the next one."""
        answer = self._answers.get(key)
        if answer is not None:
            if answer[0] <= time.monotonic():
                self._refresh_soon(key, work)
            return answer[1]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            answer = self._answers.get(key)
            if answer is None:
                self._work(key, work)
                answer = self._answers[key]
        return answer[1]

    def _work(self, key: tuple[object, ...], work: Callable[[], tuple[Any, bool]]) -> None:
        value, good = work()
        lasts = AVAILABLE_FOR_S if good else UNAVAILABLE_FOR_S
        self._answers[key] = (time.monotonic() + lasts, value)

    def _refresh_soon(self, key: tuple[object, ...],
                      work: Callable[[], tuple[Any, bool]]) -> None:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        if not lock.acquire(blocking=False):
            return  # already being refreshed

        def refresh() -> None:
            try:
                self._work(key, work)
            finally:
                lock.release()

        threading.Thread(target=refresh, name="terraform-availability", daemon=True).start()

    def _scratch(self) -> Path:
        # Its parent too: the data directory's terraform/ folder may not exist yet.
        ensure_private_dir(self.scratch_dir.parent)
        return ensure_private_dir(self.scratch_dir)

    def _settings_key(self) -> tuple[object, ...]:
        settings = self.runner.settings
        return (settings.terraform_bin, settings.terraform_cli_config,
                settings.terraform_plugin_dir, str(self.scratch_dir))

    def terraform(self) -> TerraformVersion:
        """The Terraform that runs here; raises TerraformError saying why none does."""
        self.runner.command()  # a missing executable is said at once, never remembered
        value = self._remembered(("version", *self._settings_key()), self._version)
        if isinstance(value, TerraformError):
            raise value
        return value

    def _version(self) -> tuple[TerraformVersion | TerraformError, bool]:
        folder = self._scratch()
        try:
            result = self.runner.run(["version", "-json"], cwd=folder,
                                     deadline=time.monotonic() + PROBE_TIMEOUT_S).check()
            data = json.loads("\n".join(result.lines))
            return TerraformVersion(str(data.get("terraform_version", "?")),
                                    str(data.get("platform", ""))), True
        except TerraformError as exc:
            return TerraformError(command=exc.command, reason=f"{self.runner.label} does not run: "
                                  f"{exc.reason}", returncode=exc.returncode,
                                  stderr=exc.stderr), False
        except ValueError as exc:
            return TerraformError(command=("version",), reason=f"{self.runner.label} answered "
                                  f"`version -json` with something other than JSON ({exc})"), False

    def check(self, module_dir: Path, *, template: str) -> Availability:
        try:
            terraform = self.terraform()
        except TerraformError as exc:
            return Availability(False, exc.reason)
        default_host = OPENTOFU_REGISTRY if self.runner.is_opentofu else TERRAFORM_REGISTRY
        needed = required_providers(module_dir, default_host=default_host)
        if not needed:
            return Availability(True)
        key = ("providers", *self._settings_key(), terraform.platform, needed)

        def decide() -> tuple[str | None, bool]:
            problem = self._problem(needed, platform=terraform.platform)
            return problem, problem is None

        problem = self._remembered(key, decide)
        if problem is None:
            return Availability(True)
        return Availability(False, install_hint(problem, needed=needed, module_dir=module_dir,
                                                template=template, platform=terraform.platform))

    def _problem(self, needed: tuple[ProviderRequirement, ...], *, platform: str) -> str | None:
        """Why `needed` cannot be installed here, or None when it can."""
        plugin_dir = self.runner.settings.terraform_plugin_dir
        if not plugin_dir:
            return self._probe(needed)
        mirror = Path(plugin_dir).expanduser()
        missing = [r for r in needed
                   if not any(satisfies(v, r.constraints)
                              for v in mirror_versions(mirror, r.source, platform=platform))]
        if not missing:
            return None
        return (f"PORTAL_TERRAFORM_PLUGIN_DIR ({mirror}) holds no "
                + ", ".join(r.label for r in missing) + f" for {platform}")

    def _probe(self, needed: tuple[ProviderRequirement, ...]) -> str | None:
        """None when `terraform init` installs `needed` in a scratch module; else why not."""
        digest = hashlib.sha256(repr(needed).encode()).hexdigest()[:16]
        folder = ensure_private_dir(self._scratch() / f"providers-{digest}")
        lines = ["terraform {", "  required_providers {"]
        types = [r.source.rsplit("/", 1)[-1] for r in needed]
        for index, requirement in enumerate(needed):
            # Local names are the modules' own unless two namespaces share a type.
            local = types[index] if types.count(types[index]) == 1 else f"p{index}"
            lines.append(f"    {local} = {{")
            lines.append(f'      source  = "{requirement.source}"')
            if requirement.constraints:
                lines.append(f'      version = "{", ".join(requirement.constraints)}"')
            lines.append("    }")
        lines += ["  }", "}"]
        with open(folder / "main.tf", "w", opener=private_opener) as module:
            module.write("\n".join(lines) + "\n")
        result = self.runner.run(["init", "-backend=false", "-input=false", "-no-color"],
                                 cwd=folder, deadline=time.monotonic() + PROBE_TIMEOUT_S)
        if result.ok:
            return None
        # Terraform ends this error with advice to run `terraform providers`, which would only
        # list the scratch module; the portal's own advice follows instead.
        return ADVICE_TO_DROP.sub("", result.reason()).strip()


def install_hint(problem: str, *, needed: tuple[ProviderRequirement, ...], module_dir: Path,
                 template: str, platform: str) -> str:
    providers = ", ".join(r.label for r in needed)
    return ngettext(
        "Terraform cannot install the provider {template} needs ({providers}) on this machine: "
        "{problem}. To install it: on a machine with internet run `terraform providers mirror "
        "-platform={platform} DIR` in {module_dir}, copy DIR here and set "
        "PORTAL_TERRAFORM_PLUGIN_DIR=DIR (or name a provider mirror in a CLI configuration "
        "file, PORTAL_TERRAFORM_CLI_CONFIG)",
        "Terraform cannot install the providers {template} needs ({providers}) on this machine: "
        "{problem}. To install them: on a machine with internet run `terraform providers mirror "
        "-platform={platform} DIR` in {module_dir}, copy DIR here and set "
        "PORTAL_TERRAFORM_PLUGIN_DIR=DIR (or name a provider mirror in a CLI configuration "
        "file, PORTAL_TERRAFORM_CLI_CONFIG)", len(needed)).format(
            template=template, providers=providers, problem=problem, platform=platform,
            module_dir=module_dir)
