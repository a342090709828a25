"""Reusable pieces of the UI. Each component owns the `st.session_state` keys it uses, prefixed with
its own name; pages call components and services and hold no state of their own."""
