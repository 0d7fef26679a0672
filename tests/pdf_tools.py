"""Reading a PDF back as a person would: its text (pdftotext) and its QR codes (pdftoppm +
zbarimg). `make test` installs both (poppler-utils, zbar-tools); a test skips, naming the
package, only where one is missing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PDFTOTEXT = shutil.which("pdftotext")
PDFTOPPM = shutil.which("pdftoppm")
ZBARIMG = shutil.which("zbarimg")


def pdf_text(pdf: bytes, tmp_path: Path, layout: bool = True) -> list[str]:
    """The text of each page, by pdftotext."""
    if PDFTOTEXT is None:
        pytest.skip("pdftotext not installed (Debian package poppler-utils)")
    path = tmp_path / "voucher.pdf"
    path.write_bytes(pdf)
    args = [PDFTOTEXT, "-enc", "UTF-8", *(["-layout"] if layout else []), str(path), "-"]
    result = subprocess.run(args, capture_output=True, check=True)  # noqa: S603
    pages = result.stdout.decode("utf-8").split("\f")
    assert pages[-1].strip() == ""  # pdftotext ends every page with a form feed
    return pages[:-1]


def words(text: str) -> str:
    """Whitespace collapsed, so wrapped text reads as one line."""
    return " ".join(text.split())


def decode_qr(pdf: bytes, tmp_path: Path, page: int = 1) -> list[str]:
    """The QR codes zbarimg finds on `page`, rendered at 200 dpi."""
    if PDFTOPPM is None:
        pytest.skip("pdftoppm not installed (Debian package poppler-utils)")
    if ZBARIMG is None:
        pytest.skip("zbarimg not installed (Debian package zbar-tools)")
    path = tmp_path / "qr.pdf"
    path.write_bytes(pdf)
    prefix = tmp_path / "page"
    pages = ["-f", str(page), "-l", str(page)]
    subprocess.run(  # noqa: S603
        [PDFTOPPM, "-r", "200", "-png", *pages, "-singlefile", str(path), str(prefix)],
        check=True,
    )
    result = subprocess.run(  # noqa: S603
        [ZBARIMG, "--raw", "-q", "-Sdisable", "-Sqrcode.enable", f"{prefix}.png"],
        capture_output=True,
    )
    assert result.returncode in (0, 4), result.stderr  # 4: no code found
    return result.stdout.decode("utf-8").splitlines()
