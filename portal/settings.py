"""The portal's settings live with the services (`services.settings`), which the UI reads too."""

from services.settings import CloudTarget, Settings, WorkerMode, get_settings

__all__ = ["CloudTarget", "Settings", "WorkerMode", "get_settings"]
