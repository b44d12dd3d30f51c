"""Acknowledgement slips and membership cards drawn with Qt, to PDF and to a printer (``ui.printing.layout``)."""
