"""The same print run as `lanyard render --from CSV --sheet avery-l7165`,
made with ReportLab (what pretix and Indico make their badge PDFs with):
one PDF, the same sheet geometry, the same bundled NanumGothic fonts
(embedded as subsets, as lanyard does), the same PNG logo, the title, name,
company and a QR code of a check-in code per badge.

usage: python3 bench/reportlab_badges.py PEOPLE.csv OUT.pdf
"""
import csv
import secrets
import sys

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONTS = "crates/badge/fonts"
LOGO = "crates/badge/tests/fixtures/logo.png"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# avery-l7165: 99.1 x 67.7 mm cells, 2 x 4 on A4 (see crates/badge/src/sheet.rs).
PAGE_W, PAGE_H = 210 * mm, 297 * mm
COLS, ROWS = 2, 4
CELL_W, CELL_H = 280.8, 191.991
LEFT, TOP, PITCH_X = 13.2378, 36.9638, 288.113
BADGE_W, BADGE_H = 85.6 * mm, 54 * mm


def code():
    raw = "".join(secrets.choice(ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def fitted(text, font, size, max_width):
    width = pdfmetrics.stringWidth(text, font, size)
    return size if width <= max_width else size * max_width / width * 0.995


def badge(c, x, y, name, company, payload):
    """One badge with its top-left corner at (x, y) from the page's top-left."""
    bottom = PAGE_H - y - BADGE_H
    c.setFillColorRGB(0xED / 255, 0x24 / 255, 0x4B / 255)
    c.rect(x, PAGE_H - y - 2.2 * mm, BADGE_W, 2.2 * mm, stroke=0, fill=1)
    c.rect(x, bottom, BADGE_W, 1.8 * mm, stroke=0, fill=1)
    c.drawImage(LOGO, x + 5 * mm, PAGE_H - y - 13.6 * mm, 18 * mm, 9 * mm,
                preserveAspectRatio=True, anchor="w", mask="auto")
    c.setFont("NanumGothicBold", fitted("Serverless web project", "NanumGothicBold", 3.8 * mm, 54.6 * mm))
    c.drawString(x + 26 * mm, PAGE_H - y - 11 * mm, "Serverless web project")
    c.setFillColorRGB(0x11 / 255, 0x11 / 255, 0x11 / 255)
    c.setFont("NanumGothicBold", fitted(name, "NanumGothicBold", 6.4 * mm, 43 * mm))
    c.drawString(x + 5 * mm, PAGE_H - y - 30 * mm, name)
    if company:
        c.setFillColorRGB(0x33 / 255, 0x33 / 255, 0x33 / 255)
        c.setFont("NanumGothic", fitted(company, "NanumGothic", 3.6 * mm, 43 * mm))
        c.drawString(x + 5 * mm, PAGE_H - y - 37.5 * mm, company)
    qr = QrCodeWidget(payload, barLevel="M")
    b = qr.getBounds()
    side = 30 * mm
    d = Drawing(side, side, transform=[side / (b[2] - b[0]), 0, 0, side / (b[3] - b[1]), 0, 0])
    d.add(qr)
    renderPDF.draw(d, c, x + 51 * mm, PAGE_H - y - 19 * mm - side)


def main(people, out):
    pdfmetrics.registerFont(TTFont("NanumGothic", f"{FONTS}/NanumGothic.ttf"))
    pdfmetrics.registerFont(TTFont("NanumGothicBold", f"{FONTS}/NanumGothicBold.ttf"))
    c = canvas.Canvas(out, pagesize=(PAGE_W, PAGE_H))
    cell = 0
    with open(people, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if cell == COLS * ROWS:
                c.showPage()
                cell = 0
            col, r = cell % COLS, cell // COLS
            x = LEFT + col * PITCH_X + (CELL_W - BADGE_W) / 2
            y = TOP + r * CELL_H + (CELL_H - BADGE_H) / 2
            badge(c, x, y, row["user_name"], row["company_name"], code())
            cell += 1
    c.save()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
