"""The long-lived things of one process, built once: settings, catalog, database, cloud clients.

The UI wraps `get_context` in `st.cache_resource`; the CLI and tests call it directly or build
their own `PortalContext` from explicit settings.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from services.settings import Settings, get_settings
from services.catalog_service import Catalog, ImportedTemplates
from services.data_dir import ensure_private_dir
from services.history.database import get_engine, session_factory

if TYPE_CHECKING:
    from services.clouds import CloudConnection
    from services.engines.base import Engine, EngineName
    from services.sweeper import Sweeper


class PortalContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # The SQLite history and the emulator's state live here; settings built directly (tests,
        # benches) have not made it yet, as get_settings() does.
        ensure_private_dir(settings.data_dir)
        self.catalog = Catalog(settings.templates_dir, imported=ImportedTemplates(
            sessions=lambda: self.sessions, root=settings.data_dir / "templates"))
        self._cloud_lock = threading.Lock()
        self._connection: CloudConnection | None = None
        self._engines: dict[EngineName, Engine] = {}

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(get_engine(self.settings.effective_database_url))

    @property
    def connection(self) -> CloudConnection:
        """The cloud connection, made on first use: the catalog and rendering need no cloud."""
        if self._connection is None:
            with self._cloud_lock:
                if self._connection is None:
                    from services.clouds import connect

                    self._connection = connect(self.settings)
        return self._connection

    def ensure_current_connection(self) -> None:
        """Drop a connection to an embedded cloud that is no longer the one running.

        The emulator can be stopped or die while the portal runs; the next launch must reach the
        emulator that answers now (started afresh if none does), not the old port. Decided by the
        boot id that answers, never by a timeout: an emulator whose process exists but does not
        answer (SIGSTOP, swapped out) is waited for, then raises EmbeddedCloudNotAnsweringError,
        so the launch fails with that reason instead of starting a second emulator that would
        orphan the first and everything in it.
        """
        if self._connection is None or self._connection.cloud_session is None:
            return
        from services.clouds import embedded

        if embedded.current_boot_id(self.settings) != self._connection.cloud_session:
            self.reset_connection()

    @property
    def has_connection(self) -> bool:
        return self._connection is not None

    def reset_connection(self) -> None:
        """Forget the connection, e.g. after the embedded cloud was restarted on a new port."""
        with self._cloud_lock:
            self._connection = None
            self._engines = {}
            self.__dict__.pop("sweeper", None)

    def engine(self, name: str | EngineName) -> Engine:
        """The engine `name` on the current connection, built once per connection."""
        from services.engines import build_engine, engine_name

        key = engine_name(name)
        engine = self._engines.get(key)
        if engine is None:
            connection = self.connection
            with self._cloud_lock:
                engine = self._engines.get(key)
                if engine is None:
                    engine = build_engine(key, connection, self.settings)
                    self._engines[key] = engine
        return engine

    @cached_property
    def sweeper(self) -> Sweeper:
        from services.sweeper import Sweeper

        return Sweeper(self.connection)


_lock = threading.Lock()
_context: PortalContext | None = None


def get_context() -> PortalContext:
    global _context
    with _lock:
        if _context is None:
            _context = PortalContext(get_settings())
        return _context
