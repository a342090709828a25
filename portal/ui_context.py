"""The services as the UI reaches them: one context per process, and one way to show their errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from portal.components.text import md_escape
from services.context import PortalContext, get_context
from services.errors import PortalError


@st.cache_resource(show_spinner=False)
def portal_context() -> PortalContext:
    """Settings, catalog, database and cloud clients, built once and shared by every session.

    Cached here rather than built per rerun: cloud clients are the expensive part (boto3 guide).
    """
    return get_context()


@contextmanager
def portal_errors() -> Iterator[None]:
    """Show a `PortalError` as the message it carries and stop this run (or fragment) there.

    Anything else is a bug and propagates to Streamlit's own error display.
    """
    try:
        yield
    except PortalError as exc:
        st.error(md_escape(str(exc)), icon=":material/error:")
        st.stop()
