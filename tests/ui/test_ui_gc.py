"""Garbage holding a Qt widget is collected on the UI thread, never in a worker thread that happens to allocate.

(A widget destroyed by the collector on the ``fieldapp-db`` thread while the UI thread laid out the window crashed
the test run: ``QWidget::~QWidget`` there, ``QSizeGrip::moveEvent`` here.)
"""

from __future__ import annotations

import gc
import threading

from ui import gc_timer
from ui.qt import QtWidgets


class _Cycle:
    pass


def _garbage_with_a_widget(destroyed: list) -> None:
    holder = _Cycle()
    holder.me = holder                      # a reference cycle: only the cyclic collector frees it
    holder.widget = QtWidgets.QWidget()     # a top-level widget owned by Python
    holder.widget.destroyed.connect(lambda *_: destroyed.append(threading.current_thread().name))


def _allocate_in_a_thread() -> None:
    def churn():
        keep = [[i] for i in range(20000)]  # far past every generation's threshold
        del keep
    worker = threading.Thread(target=churn, name="worker")
    worker.start()
    worker.join(60)


def test_the_application_collects_on_its_own_thread(ui_app):
    collector = gc_timer.install(ui_app)
    assert gc_timer.install(ui_app) is collector
    assert not gc.isenabled()
    assert collector.timer.isActive()
    destroyed: list = []
    _garbage_with_a_widget(destroyed)
    _allocate_in_a_thread()
    assert destroyed == []                  # the worker's allocations collected nothing
    gc.collect()  # what the timer's check does once a threshold passed, here without waiting for it
    assert destroyed == [threading.current_thread().name]


def test_the_check_picks_the_generation_from_the_thresholds(ui_app):
    collector = gc_timer.install(ui_app)
    gc.collect()
    assert collector.check() is None        # nothing allocated since: nothing due
    before = collector.collections
    junk = [[i] for i in range(collector.thresholds[0] * 3)]
    assert collector.check() in (0, 1, 2)
    assert collector.collections == before + 1
    del junk
