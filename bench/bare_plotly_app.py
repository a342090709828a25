"""The baseline of bench/dashboard.py's page figure: a bare Streamlit app whose "Chart" page draws
one plotly chart, reached from its "Home" page by the same kind of navigation click."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st


def home() -> None:
    st.title("Home")


def chart() -> None:
    st.title("Chart")
    st.plotly_chart(go.Figure(go.Scatter(x=list(range(100)), y=[x % 17 for x in range(100)])))


st.navigation([st.Page(home, title="Home", default=True), st.Page(chart, title="Chart")]).run()
