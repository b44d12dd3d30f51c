"""The ``fieldapp`` command line: parsing (``main``), handlers, and the commands that plug in through entry points.

May import: every fieldapp package, and ``fieldapp.services``. Never ``sync``, ``registry`` or ``ui``: those add
their commands through the ``fieldapp.commands`` entry point group.
"""
