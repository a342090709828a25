"""The data directory and the files the portal writes into it are readable by the portal's user
alone, whether the portal creates them or finds them left world-readable by an earlier version."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from services import settings as settings_module
from services.settings import Settings
from services.clouds import embedded
from services.data_dir import ensure_private_dir, private_file, private_opener, tighten
from services.history import database


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The umask of a typical login (022), which made an earlier portal's files 0644."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("PORTAL_DATA_DIR", "PORTAL_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings_module.get_settings.cache_clear()
    yield
    settings_module.get_settings.cache_clear()


def test_get_settings_creates_the_data_dir_0700(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                fresh_settings: None, loose_umask: None) -> None:
    data_dir = tmp_path / "nested" / "data"
    monkeypatch.setenv("PORTAL_DATA_DIR", str(data_dir))
    assert settings_module.get_settings().data_dir == data_dir
    assert mode(data_dir) == 0o700
    # A parent may be a shared folder: it keeps the umask's mode.
    assert mode(data_dir.parent) == 0o755


def test_get_settings_tightens_a_world_readable_data_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_settings: None) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o777)
    data_dir.chmod(0o755)
    monkeypatch.setenv("PORTAL_DATA_DIR", str(data_dir))
    settings_module.get_settings()
    assert mode(data_dir) == 0o700


def test_a_new_sqlite_history_and_its_wal_files_are_0600(tmp_path: Path,
                                                         loose_umask: None) -> None:
    path = tmp_path / "history.db"
    engine = database.get_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT count(*) FROM environment"))
            # WAL mode: the -wal and -shm files exist while a connection is open.
            companions = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
            assert all(p.exists() for p in companions)
            assert {p.name: mode(p) for p in [path, *companions]} == {
                "history.db": 0o600, "history.db-wal": 0o600, "history.db-shm": 0o600}
    finally:
        engine.dispose()


def test_an_earlier_world_readable_sqlite_history_is_tightened(tmp_path: Path,
                                                               loose_umask: None) -> None:
    path = tmp_path / "history.db"
    earlier = database.make_engine(f"sqlite:///{path}")
    database.upgrade_schema(earlier)
    earlier.dispose()
    for p in (path, path.with_name("history.db-wal")):
        p.touch()
        p.chmod(0o644)
    engine = database.make_engine(f"sqlite:///{path}")
    engine.dispose()
    assert mode(path) == 0o600 and mode(path.with_name("history.db-wal")) == 0o600


def test_in_memory_and_server_urls_are_left_alone(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    database.make_engine("sqlite://").dispose()
    database.make_engine("sqlite:///:memory:").dispose()
    assert list(tmp_path.iterdir()) == []


def test_the_embedded_clouds_state_log_and_lock_are_0600(cloud_data_dir: Path) -> None:
    embedded.ensure_running(Settings(data_dir=cloud_data_dir))
    assert {name: mode(cloud_data_dir / name) for name in
            (embedded.STATE_FILE, embedded.LOG_FILE, embedded.LOCK_FILE)} == {
        embedded.STATE_FILE: 0o600, embedded.LOG_FILE: 0o600, embedded.LOCK_FILE: 0o600}
    assert not (cloud_data_dir / (embedded.STATE_FILE + ".tmp")).exists()


def test_an_earlier_embedded_clouds_files_are_tightened_when_reached_again(
        cloud_data_dir: Path) -> None:
    settings = Settings(data_dir=cloud_data_dir)
    embedded.ensure_running(settings)
    for name in (embedded.STATE_FILE, embedded.LOG_FILE):
        (cloud_data_dir / name).chmod(0o644)
    embedded.ensure_running(settings)
    assert mode(cloud_data_dir / embedded.STATE_FILE) == 0o600
    assert mode(cloud_data_dir / embedded.LOG_FILE) == 0o600


def test_private_file_keeps_the_content_of_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "kept"
    path.write_text("history")
    path.chmod(0o664)
    private_file(path)
    assert path.read_text() == "history" and mode(path) == 0o600


def test_private_opener_creates_0600_and_tightens_what_it_opens(tmp_path: Path,
                                                                loose_umask: None) -> None:
    new, old = tmp_path / "new.log", tmp_path / "old.log"
    old.write_text("earlier\n")
    old.chmod(0o644)
    for path in (new, old):
        with open(path, "a", opener=private_opener) as handle:
            handle.write("line\n")
    assert mode(new) == 0o600 and mode(old) == 0o600
    assert old.read_text() == "earlier\nline\n"


def test_tighten_keeps_the_owners_bits_and_leaves_symlinks_and_missing_paths(
        tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.touch()
    script.chmod(0o755)
    assert tighten(script) and mode(script) == 0o700
    assert not tighten(script)
    target = tmp_path / "elsewhere"
    target.touch()
    target.chmod(0o644)
    (tmp_path / "link").symlink_to(target)
    assert not tighten(tmp_path / "link") and mode(target) == 0o644
    assert not tighten(tmp_path / "missing")


def test_a_dir_it_may_not_change_is_reported_not_raised(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o750)

    def refuse(self: Path, mode: int) -> None:
        raise PermissionError(1, "Operation not permitted", str(self))

    monkeypatch.setattr(Path, "chmod", refuse)
    assert ensure_private_dir(shared) == shared
    assert "cannot be made private: its group may read it" in caplog.text
