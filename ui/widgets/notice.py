"""A one-line offer at the top of a screen with two answers ("Resume the unfinished enrollment?" Resume / Not now).

It never takes the focus by itself (a worker typing the next name must not type into it); Tab reaches its buttons.
"""

from __future__ import annotations

from ui.qt import QFrame, QHBoxLayout, QLabel, QPushButton, Signal


class Notice(QFrame):
    accepted = Signal()
    dismissed = Signal()

    def __init__(self, parent=None, object_name: str = "notice"):
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setFrameShape(QFrame.StyledPanel)
        self.setStyleSheet(f"QFrame#{object_name} {{ background: #e8f1fb; border: 1px solid #5b8fc7; }}")
        self.text = QLabel(self, wordWrap=True)
        self.text.setProperty("i18n_exempt", True)  # holds a person's name: data (its words are translated)
        self.accept_button = QPushButton(self)
        self.dismiss_button = QPushButton(self)
        self.accept_button.clicked.connect(self.accepted.emit)
        self.dismiss_button.clicked.connect(self.dismissed.emit)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.accept_button)
        layout.addWidget(self.dismiss_button)
        self.setVisible(False)

    def set_texts(self, text: str, accept: str, dismiss: str) -> None:
        self.text.setText(text)
        self.text.setAccessibleName(text)
        for button, label in ((self.accept_button, accept), (self.dismiss_button, dismiss)):
            button.setText(label)
            button.setAccessibleName(label)
