"""The screens of the main window, in navigation order (Ctrl+1..7; Members, added later beside Records, is Ctrl+8 so
that the keys people already know stay as they were).

``SCREENS`` pairs a stable id with each class; ``SCREEN_CLASSES`` is the same
list without ids; ``SUPERVISOR_ONLY`` names the screens outreach users do not
see (a screen may also say so itself with ``supervisor_only = True``).
"""

from __future__ import annotations

from ui.screens.base import Screen
from ui.screens.enroll import EnrollScreen
from ui.screens.home import HomeScreen
from ui.screens.members import MembersScreen
from ui.screens.records import RecordsScreen
from ui.screens.review import ReviewScreen
from ui.screens.settings import SettingsScreen
from ui.screens.sync_screen import SyncScreen
from ui.screens.users import UsersScreen

SUPERVISOR_ONLY = frozenset({"review", "users"})

SCREENS = [
    ("home", HomeScreen),
    ("enroll", EnrollScreen),
    ("records", RecordsScreen),
    ("members", MembersScreen),
    ("review", ReviewScreen),
    ("sync", SyncScreen),
    ("users", UsersScreen),
    ("settings", SettingsScreen),
]
SCREEN_CLASSES = [cls for _id, cls in SCREENS]

__all__ = ["SCREENS", "SCREEN_CLASSES", "SUPERVISOR_ONLY", "Screen", "HomeScreen", "EnrollScreen", "RecordsScreen",
           "MembersScreen", "ReviewScreen", "SyncScreen", "UsersScreen", "SettingsScreen"]
