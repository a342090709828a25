"""The Sandbox Portal UI's script: page set-up and navigation only.

Served by `streamlit run portal/server.py`, which puts the sign-in gate in front of it. Which
pages exist depends on who is signed in; each page is a file in the top-level `pages/` folder.
A page the role may not see does not exist for it: its URL falls back to the first page.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from portal import identity
from portal.ui_context import background_schedule, warm_previews
from services.i18n import _

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"

st.set_page_config(page_title="Sandbox Portal", page_icon=":material/cloud:", layout="wide")

background_schedule()
warm_previews()

actor = identity.current_actor()
if actor is None:
    pages = [st.Page(PAGES_DIR / "sign_in_page.py", title=_("Sign in"), icon=":material/login:")]
else:
    identity.account_panel(actor)
    pages = [
        st.Page(PAGES_DIR / "catalog_page.py", title=_("Catalog"), icon=":material/apps:",
                default=True),
        st.Page(PAGES_DIR / "launch_page.py", title=_("Launch"), icon=":material/rocket_launch:"),
        st.Page(PAGES_DIR / "my_environments_page.py",
                title=_("All environments") if actor.is_instructor else _("My environments"),
                icon=":material/dns:", url_path="environments"),
        st.Page(PAGES_DIR / "credit_predictor_page.py", title=_("Credit predictor"),
                icon=":material/battery_charging_50:", url_path="credits"),
    ]
    if actor.is_instructor:
        pages += [
            st.Page(PAGES_DIR / "instructor_cost_page.py", title=_("Class cost"),
                    icon=":material/payments:", url_path="cost"),
            st.Page(PAGES_DIR / "instructor_health_page.py", title=_("Class health"),
                    icon=":material/monitor_heart:", url_path="health"),
            st.Page(PAGES_DIR / "courses_page.py", title=_("Courses"), icon=":material/school:",
                    url_path="courses"),
            st.Page(PAGES_DIR / "templates_page.py", title=_("Templates"),
                    icon=":material/library_add:", url_path="templates"),
            st.Page(PAGES_DIR / "audit_page.py", title=_("Audit log"), icon=":material/policy:",
                    url_path="audit"),
        ]

st.navigation(pages).run()
