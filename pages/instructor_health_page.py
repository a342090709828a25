"""Placeholder replaced by its owner."""

import streamlit as st

st.title("instructor_health")
