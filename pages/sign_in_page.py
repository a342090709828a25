"""Sign in: who you are decides which environments you see."""

from __future__ import annotations

import streamlit as st

from portal import identity

_, middle, _ = st.columns([1, 2, 1])
with middle:
    st.title(":material/cloud: Sandbox Portal")
    st.markdown("Pick an environment template, read the Terraform and CloudFormation it becomes "
                "with your parameters, launch it, use what it gives back, and destroy it when "
                "you are done.")
    identity.sign_in_form()
