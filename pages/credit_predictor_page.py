"""Placeholder replaced by its owner."""

import streamlit as st

st.title("credit_predictor")
