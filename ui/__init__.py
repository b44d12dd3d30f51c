"""The PySide6 desktop client. Only ``ui.qt`` imports PySide6; the rules live in ``fieldapp``."""
