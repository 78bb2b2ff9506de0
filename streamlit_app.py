"""Thin entry point: the page lives in app/ui."""
from app.ui.page import main

main()
