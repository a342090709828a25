"""The Streamlit app shell: entry point, navigation, settings, identity and UI components."""
