"""Proof for the enrolled person: the acknowledgement slip, the member number, the membership card, and the scheme
facts printed on them (docs/credentials.md). Qt-free: it builds document models; ``ui.printing`` draws them.

May import: ``fieldapp.base``, ``fieldapp.domain``, ``fieldapp.store``, ``fieldapp.outbound``.
"""
