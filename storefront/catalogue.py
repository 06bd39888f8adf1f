"""The shop's own product catalogue: what a shop keeps in its own database (names, prices, pictures, variants).

Online Connect does not feed the catalogue: the shop knows its articles and asks the ERP only for what is live —
here, the stock per branch store of the variant the customer picked. The variant SKU is built the way the merchant's
ERP spells it (``<article>-<size>-<colour code>``, e.g. ``851888-XS-KI``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    """An article with its variants."""

    number: str
    name: str
    price_minor: int  # in cents, as the shop stores prices
    text: dict[str, str]
    sizes: tuple[str, ...]
    colours: tuple[tuple[str, str], ...]  # (code, name): ("KI", "kirsch")

    def sku(self, size: str, colour: str) -> str:
        """The variant's SKU as the ERP knows it."""
        return f"{self.number}-{size}-{colour}"

    def colour_name(self, code: str) -> str:
        """The colour's name for its code."""
        return dict(self.colours).get(code, code)

    def pick(self, size: str, colour: str) -> tuple[str, str]:
        """The customer's choice if it exists, else the first size and colour."""
        return (
            size if size in self.sizes else self.sizes[0],
            colour if colour in dict(self.colours) else self.colours[0][0],
        )


PRODUCTS: dict[str, Product] = {
    p.number: p
    for p in (
        Product(
            "851888",
            "STEEDS Poloshirt Lilli",
            2995,
            {
                "de": "Sportliches Damen-Poloshirt aus weichem Baumwoll-Piqué, leicht tailliert.",
                "en": "Sporty women's polo shirt in soft cotton piqué, slightly fitted.",
            },
            ("XS", "S", "M", "L", "XL"),
            (("KI", "kirsch"), ("MA", "marine"), ("WE", "weiß")),
        ),
        Product(
            "620114",
            "STEEDS Steppjacke Nora",
            8995,
            {
                "de": "Leichte Steppjacke mit Stehkragen, wasserabweisend.",
                "en": "Light quilted jacket with stand-up collar, water-repellent.",
            },
            ("S", "M", "L", "XL"),
            (("SW", "schwarz"), ("OL", "oliv")),
        ),
        Product(
            "733021",
            "STEEDS Sneaker Runner",
            6995,
            {
                "de": "Leichter Freizeit-Sneaker mit gepolsterter Sohle.",
                "en": "Light casual sneaker with a cushioned sole.",
            },
            ("37", "38", "39", "40", "41", "42", "43", "44"),
            (("WE", "weiß"),),
        ),
    )
}
