"""The enrollment domain as rules: the record and its validation, Khmer text, the address gazetteer, code lists,
review reasons, record states and their transitions. Pure: no database, no network, no data folder.

May import: ``fieldapp.base``.
"""
