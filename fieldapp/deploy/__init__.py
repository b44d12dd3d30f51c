"""IT's tools: signed provisioning, diagnostics without personal data, the installation self-test.

May import: ``fieldapp.base``, ``fieldapp.domain``, ``fieldapp.store``, ``fieldapp.outbound``.
"""
