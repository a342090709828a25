"""Everything that does work. Nothing in this package imports streamlit."""
