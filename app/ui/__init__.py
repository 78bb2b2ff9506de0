"""The Streamlit page (only the faces import Streamlit)."""
