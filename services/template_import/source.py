"""What an instructor uploads: a CloudFormation template, or a Terraform module as a zip or a
folder, read into memory with every file checked before anything else looks at it.

An upload is untrusted: a zip may name paths outside its folder (`../../etc/x`, zip slip), hold
symbolic links, or unpack to far more than it weighs. Nothing here writes to disk; paths are
checked and sizes counted from what is actually read, not from what the archive claims.
"""

from __future__ import annotations

import io
import json
import posixpath
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from services.engines.base import EngineName
from services.i18n import _
from services.template_import.model import InvalidTemplateError

CLOUDFORMATION_SUFFIXES = (".yaml", ".yml", ".json", ".template")
# create_stack takes a TemplateBody of at most 51,200 bytes; the portal passes the template
# inline (no S3 bucket of its own), so a larger one could never be launched.
MAX_CLOUDFORMATION_BYTES = 51_200
# A classroom module is a handful of small files; these leave room for many times that and
# keep a module (stored whole in the history database) from bloating it.
MAX_MODULE_FILE_BYTES = 256 * 1024
MAX_MODULE_BYTES = 1024 * 1024
MAX_MODULE_FILES = 200
MAX_ARCHIVE_BYTES = 4 * 1024 * 1024
# Files that would set variables behind the form's back (Terraform loads them by name), or that
# hold a state (and with it every secret of a deployment): refused, not skipped, so the
# instructor learns why their module was not taken as it is.
REFUSED_NAMES = ("terraform.tfvars", "terraform.tfvars.json")
REFUSED_SUFFIXES = (".auto.tfvars", ".auto.tfvars.json", ".tfstate", ".tfstate.backup")
# Folders an archiver or an editor adds that belong to no module.
SKIPPED_FOLDERS = ("__MACOSX",)


def _refused(message: str) -> InvalidTemplateError:
    return InvalidTemplateError({"source": message})


@dataclass(frozen=True, eq=False)
class TemplateSource:
    """A template's files as uploaded: `cloudformation.yaml` alone for CloudFormation, the
    module's files by path relative to its root for Terraform. `name` is what it was uploaded
    as, for messages."""

    engine: EngineName
    files: Mapping[str, str] = field(repr=False)
    name: str

    @property
    def text(self) -> str:
        """A CloudFormation template's text."""
        if self.engine is not EngineName.CLOUDFORMATION:
            raise ValueError("a Terraform module has no single text")
        return next(iter(self.files.values()))

    def stored(self) -> str:
        """The source as the history database keeps it: the CloudFormation text, or a JSON
        object of the module's files."""
        if self.engine is EngineName.CLOUDFORMATION:
            return self.text
        return json.dumps(dict(sorted(self.files.items())), ensure_ascii=False)

    @classmethod
    def cloudformation(cls, text: str, *, name: str = "cloudformation.yaml") -> TemplateSource:
        size = len(text.encode())
        if size > MAX_CLOUDFORMATION_BYTES:
            raise _refused(_("{name} is {size:,} bytes; CloudFormation takes at most {limit:,} "
                             "bytes of template inline").format(
                name=name, size=size, limit=MAX_CLOUDFORMATION_BYTES))
        if not text.strip():
            raise _refused(_("{name} is empty").format(name=name))
        return cls(EngineName.CLOUDFORMATION, {"cloudformation.yaml": text}, name)

    @classmethod
    def terraform(cls, files: Mapping[str, str], *, name: str) -> TemplateSource:
        files = dict(files)
        if not any(PurePosixPath(path).suffix == ".tf" and "/" not in path for path in files):
            raise _refused(_("{name} holds no .tf file at its top: a Terraform module's "
                             "variables.tf, main.tf, ... sit in the folder that is uploaded")
                           .format(name=name))
        return cls(EngineName.TERRAFORM, files, name)

    @classmethod
    def from_upload(cls, filename: str, data: bytes) -> TemplateSource:
        """A file uploaded through the portal: a CloudFormation template (.yaml, .yml, .json,
        .template) or a Terraform module zipped (.zip). Raises ValidationError on anything else."""
        name = PurePosixPath(filename.replace("\\", "/")).name or "upload"
        suffix = PurePosixPath(name.lower()).suffix
        if suffix in CLOUDFORMATION_SUFFIXES:
            if len(data) > MAX_CLOUDFORMATION_BYTES:
                raise _refused(_("{name} is {size:,} bytes; CloudFormation takes at most "
                                 "{limit:,} bytes of template inline").format(
                    name=name, size=len(data), limit=MAX_CLOUDFORMATION_BYTES))
            return cls.cloudformation(_text(data, name), name=name)
        if suffix == ".zip":
            return cls.terraform(_unzipped(data, name), name=name)
        raise _refused(_("{name}: upload a CloudFormation template (.yaml, .yml, .json, "
                         ".template) or a Terraform module as a .zip of its folder").format(
            name=name))

    @classmethod
    def from_path(cls, path: Path) -> TemplateSource:
        """A file (a CloudFormation template, or a zipped module) or a folder (a Terraform
        module) on this machine, as `sandbox templates import PATH` reads it."""
        path = Path(path).expanduser()
        if path.is_dir():
            return cls.terraform(_folder(path), name=path.name)
        if not path.is_file():
            raise _refused(_("{path} is neither a file nor a folder").format(path=path))
        limit = MAX_ARCHIVE_BYTES if path.suffix.lower() == ".zip" else MAX_CLOUDFORMATION_BYTES
        size = path.stat().st_size
        if size > limit:
            raise _refused(_("{name} is {size:,} bytes; at most {limit:,} are accepted").format(
                name=path.name, size=size, limit=limit))
        return cls.from_upload(path.name, path.read_bytes())


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refused(_("{name} is not UTF-8 text").format(name=name)) from None


def _module_path(raw: str, where: str) -> str | None:
    """The relative path a module file is kept under; None for a file that belongs to no
    module (hidden files and folders, an archiver's own). Raises on a path that would leave
    the module's folder."""
    if "\\" in raw or raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise _refused(_("{where}: {path!r} is not a relative path inside the module").format(
            where=where, path=raw))
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _refused(_("{where}: {path!r} points outside the module's folder").format(
            where=where, path=raw))
    if not parts or any(p.startswith(".") or p in SKIPPED_FOLDERS for p in parts):
        return None
    relative = posixpath.join(*parts)
    lowered = parts[-1].lower()
    if lowered in REFUSED_NAMES or lowered.endswith(REFUSED_SUFFIXES):
        raise _refused(_("{where}: {file} is refused: variable files would override the "
                         "launch form's values and state files hold a deployment's secrets; "
                         "leave them out of the module").format(where=where, file=relative))
    return relative


class _Budget:
    """Counts files and bytes as they are read, refusing past the limits."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.files = 0
        self.total = 0

    def take(self, relative: str, data: bytes) -> str:
        if len(data) > MAX_MODULE_FILE_BYTES:
            raise _refused(_("{where}: {file} is larger than {kib} KiB").format(
                where=self.where, file=relative, kib=MAX_MODULE_FILE_BYTES // 1024))
        self.files += 1
        self.total += len(data)
        if self.files > MAX_MODULE_FILES:
            raise _refused(_("{where}: more than {count} files").format(
                where=self.where, count=MAX_MODULE_FILES))
        if self.total > MAX_MODULE_BYTES:
            raise _refused(_("{where}: more than {kib} KiB of files").format(
                where=self.where, kib=MAX_MODULE_BYTES // 1024))
        return _text(data, f"{self.where}: {relative}")


def _unzipped(data: bytes, name: str) -> dict[str, str]:
    if len(data) > MAX_ARCHIVE_BYTES:
        raise _refused(_("{name} is {size:,} bytes; at most {limit:,} are accepted").format(
            name=name, size=len(data), limit=MAX_ARCHIVE_BYTES))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise _refused(_("{name} is not a zip archive ({error})").format(
            name=name, error=exc)) from None
    budget = _Budget(name)
    files: dict[str, str] = {}
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            relative = _module_path(info.filename, name)
            if relative is None:
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                raise _refused(_("{where}: {file} is a symbolic link; only plain files are "
                                 "accepted").format(where=name, file=relative))
            if info.file_size > MAX_MODULE_FILE_BYTES:
                raise _refused(_("{where}: {file} is larger than {kib} KiB").format(
                where=name, file=relative, kib=MAX_MODULE_FILE_BYTES // 1024))
            try:
                with archive.open(info) as member:
                    # One byte past the limit: the archive's stated size may lie.
                    content = member.read(MAX_MODULE_FILE_BYTES + 1)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
                raise _refused(_("{where}: {file} cannot be read ({error})").format(
                    where=name, file=relative, error=exc)) from None
            if relative in files:
                raise _refused(_("{where}: {file} is in the archive twice").format(
                    where=name, file=relative))
            files[relative] = budget.take(relative, content)
    return _without_common_folder(files)


def _without_common_folder(files: dict[str, str]) -> dict[str, str]:
    """A zip of the module's folder (`web/main.tf`, `web/variables.tf`) as the module itself."""
    while files and all("/" in path for path in files):
        tops = {path.split("/", 1)[0] for path in files}
        if len(tops) != 1:
            break
        files = {path.split("/", 1)[1]: text for path, text in files.items()}
    return files


def _folder(root: Path) -> dict[str, str]:
    budget = _Budget(root.name)
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        relative_raw = path.relative_to(root).as_posix()
        if any(part.startswith(".") or part in SKIPPED_FOLDERS
               for part in path.relative_to(root).parts):
            continue
        if path.is_symlink():
            raise _refused(_("{where}: {file} is a symbolic link; only plain files are "
                             "accepted").format(where=root.name, file=relative_raw))
        if path.is_dir():
            continue
        relative = _module_path(relative_raw, root.name)
        if relative is None:
            continue
        if path.stat().st_size > MAX_MODULE_FILE_BYTES:
            raise _refused(_("{where}: {file} is larger than {kib} KiB").format(
                where=root.name, file=relative, kib=MAX_MODULE_FILE_BYTES // 1024))
        files[relative] = budget.take(relative, path.read_bytes())
    return files
