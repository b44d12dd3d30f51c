"""QR codes read back from an image file (a photo or scan of a card or slip), with a maintained decoder (zxing-cpp)
that is not the library that drew them (segno). Shared by ``fieldapp verify-card`` and ``fieldapp-registry
verify-card``; offline, no camera needed.

An image is input like any other: it is size-capped before it is opened and Pillow's decompression-bomb guard is
set well below its default, so a crafted file cannot exhaust memory.
"""

from __future__ import annotations

import warnings
from pathlib import Path

MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel photo; Pillow refuses twice this outright, warns (here: refuses) above it
#: What a photo or a scan is saved as. Nothing else is opened: Pillow would hand an EPS file to Ghostscript (a
#: PostScript interpreter run on the file's contents), and its rarer decoders fail with exceptions of their own.
FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "GIF", "WEBP")


class ImageError(ValueError):
    """``reason``: ``bad_image`` (unreadable, too large, not an image) or ``no_qr`` (no QR code found)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def read_qr_texts(path) -> list[str]:
    """Every QR code's text found in the image at ``path``, in the decoder's order."""
    from PIL import Image, UnidentifiedImageError
    import zxingcpp

    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImageError("bad_image")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.init()  # every plug-in registered, so a format this build lacks is left out, not a KeyError
            with Image.open(path, formats=[f for f in FORMATS if f in Image.OPEN]) as img:
                # the header's size, before any pixel is decoded (Pillow's own limit is left as the process has it)
                if img.size[0] * img.size[1] > MAX_PIXELS:
                    raise ImageError("bad_image")
                img.load()
                gray = img.convert("L")
    except ImageError:
        raise
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            SyntaxError):
        raise ImageError("bad_image") from None
    found = [r.text for r in zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode) if r.text]
    if not found:
        raise ImageError("no_qr")
    return found
