#!/usr/bin/env python3
"""Draws the site's icons once; the outputs are committed and compiled into
the gateway (services/gateway/src/assets.rs):

  static/favicon.svg           the icon, for browsers that take SVG
  static/favicon.ico           16, 32 and 48 px (the browser's default /favicon.ico)
  static/apple-touch-icon.png  180 x 180 (iOS home screen)
  static/og-image.png          1200 x 630 (Open Graph / Twitter link previews)

Run again after changing the drawing:
  python3 -m venv /tmp/icons && /tmp/icons/bin/pip install Pillow==13.0.0 \
    && /tmp/icons/bin/python scripts/make-icons.py
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent.parent / "services" / "gateway" / "static"
ACCENT = "#0a58ca"  # --accent of static/site.css
WHITE = "#ffffff"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
FONT_REGULAR = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

# The drawing, on a 64 x 64 grid: a rounded square, a speech bubble with a
# tail, three dots (a message arriving).
CORNER = 14
BUBBLE = (10, 16, 54, 44)  # left, top, right, bottom
BUBBLE_CORNER = 4
TAIL = [(18, 43), (28, 43), (18, 52)]
DOTS = [(22, 30), (32, 30), (42, 30)]
DOT_R = 3.5

SVG = f"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">\
<rect width="64" height="64" rx="{CORNER}" fill="{ACCENT}"/>\
<rect x="{BUBBLE[0]}" y="{BUBBLE[1]}" width="{BUBBLE[2] - BUBBLE[0]}" height="{BUBBLE[3] - BUBBLE[1]}" rx="{BUBBLE_CORNER}" fill="{WHITE}"/>\
<path d="M{TAIL[0][0]} {TAIL[0][1]}H{TAIL[1][0]}L{TAIL[2][0]} {TAIL[2][1]}Z" fill="{WHITE}"/>\
{"".join(f'<circle cx="{x}" cy="{y}" r="{DOT_R}" fill="{ACCENT}"/>' for x, y in DOTS)}\
</svg>
"""


def icon(size: int, rounded: bool = True) -> Image.Image:
    """The icon at `size` px, drawn 8x larger and scaled down (antialiased)."""
    big = size * 8
    k = big / 64
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if rounded:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=CORNER * k, fill=ACCENT)
    else:
        draw.rectangle((0, 0, big - 1, big - 1), fill=ACCENT)
    draw.rounded_rectangle(
        tuple(v * k for v in BUBBLE), radius=BUBBLE_CORNER * k, fill=WHITE
    )
    draw.polygon([(x * k, y * k) for x, y in TAIL], fill=WHITE)
    for x, y in DOTS:
        draw.ellipse(
            ((x - DOT_R) * k, (y - DOT_R) * k, (x + DOT_R) * k, (y + DOT_R) * k),
            fill=ACCENT,
        )
    return image.resize((size, size), Image.LANCZOS)


def og_image() -> Image.Image:
    """1200 x 630: the icon, the name and what the site is."""
    image = Image.new("RGB", (1200, 630), ACCENT)
    mark = icon(240, rounded=False).convert("RGB")
    # The mark's square background is the page's: only the bubble shows.
    image.paste(mark, (110, 195))
    draw = ImageDraw.Draw(image)
    draw.text((410, 200), "cloudsms", font=ImageFont.truetype(FONT, 110), fill=WHITE)
    draw.text(
        (416, 350),
        "Free numbers to receive SMS online",
        font=ImageFont.truetype(FONT_REGULAR, 40),
        fill=WHITE,
    )
    draw.text(
        (416, 410),
        "No account, no trackers, no third-party scripts",
        font=ImageFont.truetype(FONT_REGULAR, 30),
        fill="#dbe7fb",
    )
    return image


def main() -> None:
    (OUT / "favicon.svg").write_text(SVG)
    icon(48).save(OUT / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])
    # iOS rounds the corners itself and shows transparency as black.
    icon(180, rounded=False).convert("RGB").save(OUT / "apple-touch-icon.png", optimize=True)
    og_image().save(OUT / "og-image.png", optimize=True)


if __name__ == "__main__":
    main()
