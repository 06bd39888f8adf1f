"""The storefront's own words in German and English, and how it writes dates and money in each.

Status labels (``status_label``, ``state_label``, history ``label``) are not here: the API sends them in the
language the request names. Everything else on a page — headings, buttons, error sentences — is the shop's.
"""

from __future__ import annotations

import datetime as dt

LANGS = ("de", "en")

TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "shop": "STEEDS Demo-Shop",
        "products": "Produkte",
        "account": "Mein Konto",
        "cart": "Warenkorb",
        "sign_in": "Anmelden",
        "sign_out": "Abmelden",
        "other_lang": "English",
        "customer_number": "Kundennummer",
        "sign_in_hint": "Demo: Wählen Sie einen Demo-Kunden. Ein echter Shop nimmt die Kundennummer aus seinem "
        "eigenen Login, nie aus einer Eingabe des Käufers.",
        "signed_in_as": "Angemeldet als Kunde",
        "my_orders": "Meine Bestellungen",
        "filter_all": "Alle Bestellungen",
        "filter_open": "Offene Bestellungen",
        "filter_historical": "Historische Bestellungen",
        "no_orders": "Keine Bestellungen gefunden.",
        "more_orders": "Weitere Bestellungen »",
        "first_page": "« Zur ersten Seite",
        "details": "Details",
        "channel": "Bestellweg",
        "status": "Status",
        "overview": "Bestellübersicht",
        "order_number": "Belegnummer",
        "order_date": "Belegdatum",
        "amount": "Betrag",
        "delivered_on": "Ausgeliefert am",
        "tracking": "Paketverfolgung",
        "shop_number": "Shop-Nummer",
        "download": "Download",
        "invoice_pdf": "Rechnung (pdf)",
        "credit_note_pdf": "Gutschrift (pdf)",
        "all_details": "Hier sehen Sie alle Daten aus Ihrer Bestellung aufgelistet",
        "quantity": "Menge",
        "article_number": "Artikelnummer",
        "description": "Bezeichnung",
        "line_status": "Lieferstatus",
        "reorder": "Nachbestellen",
        "back": "« Zurück zur Übersicht",
        "to_cart": "In den Warenkorb »",
        "reorder_all": "Alle nachbestellbaren Artikel in den Warenkorb",
        "history": "Verlauf",
        "shipments": "Sendungen",
        "outbound": "Paket an Sie",
        "return_parcel": "Rücksendung",
        "shipped_on": "versendet am",
        "backordered": "Rückstand",
        "backordered_line": "{qty} Stück folgen",
        "expected_on": "voraussichtlich am {date}",
        "returns": "Retouren und Umtausch",
        "reason": "Grund",
        "replacement": "Ersatzartikel",
        "replacement_shipment": "Ersatzlieferung",
        "res_1": "Erstattung",
        "res_2": "Gutschrift",
        "res_3": "Umtausch",
        "ch_1": "Onlineshop",
        "ch_2": "Telefon",
        "ch_3": "Brief",
        "ch_4": "Fax",
        "ch_5": "Filiale",
        "ch_6": "E-Mail",
        "ch_7": "Marktplatz",
        "cart_empty": "Ihr Warenkorb ist leer.",
        "cart_added": "{n} Artikel in den Warenkorb gelegt.",
        "cart_clear": "Warenkorb leeren",
        "not_reorderable": "Nicht nachbestellbar:",
        "why_1": "nicht mehr im Sortiment",
        "why_2": "Artikel unbekannt",
        "why_3": "derzeit nicht bestellbar",
        "successor": "Nachfolger",
        "price": "Preis",
        "size": "Größe",
        "colour": "Farbe",
        "choose": "Auswählen",
        "number": "Nr.",
        "in_stores": "Verfügbarkeit in unseren Filialen",
        "postcode": "Ihre Postleitzahl",
        "find_stores": "Filialen suchen",
        "available_in": "Dieser Artikel ist im {store} {qty}x verfügbar",
        "available_in_level": "Dieser Artikel ist im {store} {level}",
        "nowhere": "Dieser Artikel ist derzeit in keiner Filiale verfügbar.",
        "av_1": "verfügbar",
        "av_2": "nur noch wenige verfügbar",
        "av_3": "nicht verfügbar",
        "av_4": "nur als Ausstellungsstück",
        "qty_available": "{qty}x verfügbar",
        "pickup": "Reservieren & Abholen möglich",
        "as_of": "Stand",
        "stale": "Die Bestandsauskunft ist gerade nicht erreichbar; dies ist der letzte bekannte Stand.",
        "unknown_postcode": "Diese Postleitzahl kennen wir nicht; die Filialen stehen in der üblichen Reihenfolge.",
        "orders_unavailable": "Die Auftragsauskunft ist gerade nicht erreichbar. Bitte versuchen Sie es in ein paar "
        "Minuten noch einmal.",
        "stock_unavailable": "Die Bestandsauskunft ist gerade nicht erreichbar. Bitte versuchen Sie es in ein paar "
        "Minuten noch einmal.",
        "order_not_found": "Bestellung nicht gefunden.",
        "invoice_not_found": "Rechnung nicht gefunden.",
        "failed": "Das hat leider nicht geklappt. Bitte versuchen Sie es später noch einmal.",
        "page_not_found": "Diese Seite gibt es nicht.",
        "try_again": "Erneut versuchen",
    },
    "en": {
        "shop": "STEEDS demo shop",
        "products": "Products",
        "account": "My account",
        "cart": "Cart",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "other_lang": "Deutsch",
        "customer_number": "Customer number",
        "sign_in_hint": "Demo: pick a demo customer. A real shop takes the customer number from its own login, "
        "never from anything the buyer types.",
        "signed_in_as": "Signed in as customer",
        "my_orders": "My orders",
        "filter_all": "All orders",
        "filter_open": "Open orders",
        "filter_historical": "Past orders",
        "no_orders": "No orders found.",
        "more_orders": "More orders »",
        "first_page": "« First page",
        "details": "Details",
        "channel": "Ordered by",
        "status": "Status",
        "overview": "Order overview",
        "order_number": "Order number",
        "order_date": "Order date",
        "amount": "Amount",
        "delivered_on": "Delivered on",
        "tracking": "Parcel tracking",
        "shop_number": "Shop order number",
        "download": "Download",
        "invoice_pdf": "Invoice (pdf)",
        "credit_note_pdf": "Credit note (pdf)",
        "all_details": "All the details of your order",
        "quantity": "Qty",
        "article_number": "Article no.",
        "description": "Description",
        "line_status": "Delivery status",
        "reorder": "Reorder",
        "back": "« Back to the overview",
        "to_cart": "Add to cart »",
        "reorder_all": "Add all reorderable articles to the cart",
        "history": "History",
        "shipments": "Shipments",
        "outbound": "Parcel to you",
        "return_parcel": "Return parcel",
        "shipped_on": "shipped on",
        "backordered": "Backordered",
        "backordered_line": "{qty} to follow",
        "expected_on": "expected on {date}",
        "returns": "Returns and exchanges",
        "reason": "Reason",
        "replacement": "Replacement",
        "replacement_shipment": "Replacement shipment",
        "res_1": "Refund",
        "res_2": "Credit note",
        "res_3": "Exchange",
        "ch_1": "Web shop",
        "ch_2": "Phone",
        "ch_3": "Letter",
        "ch_4": "Fax",
        "ch_5": "Store",
        "ch_6": "E-mail",
        "ch_7": "Marketplace",
        "cart_empty": "Your cart is empty.",
        "cart_added": "{n} articles added to your cart.",
        "cart_clear": "Empty the cart",
        "not_reorderable": "Cannot be reordered:",
        "why_1": "no longer sold",
        "why_2": "unknown article",
        "why_3": "not available for sale at the moment",
        "successor": "Successor",
        "price": "Price",
        "size": "Size",
        "colour": "Colour",
        "choose": "Choose",
        "number": "No.",
        "in_stores": "Availability in our stores",
        "postcode": "Your postcode",
        "find_stores": "Find stores",
        "available_in": "This article is available {qty}x at {store}",
        "available_in_level": "At {store} this article is {level}",
        "nowhere": "This article is not available in any store at the moment.",
        "av_1": "available",
        "av_2": "only a few left",
        "av_3": "not available",
        "av_4": "display piece only",
        "qty_available": "{qty}x available",
        "pickup": "Reserve & collect",
        "as_of": "As of",
        "stale": "The stock inquiry is unreachable at the moment; this is the last known state.",
        "unknown_postcode": "We do not know this postcode; the stores are listed in their usual order.",
        "orders_unavailable": "The order inquiry is unreachable at the moment. Please try again in a few minutes.",
        "stock_unavailable": "The stock inquiry is unreachable at the moment. Please try again in a few minutes.",
        "order_not_found": "Order not found.",
        "invoice_not_found": "Invoice not found.",
        "failed": "Sorry, that did not work. Please try again later.",
        "page_not_found": "This page does not exist.",
        "try_again": "Try again",
    },
}


def date(iso: str, lang: str) -> str:
    """An ISO 8601 date as the customer reads it: ``13.07.2014`` or ``13 Jul 2014``; empty stays empty."""
    if not iso:
        return ""
    d = dt.date.fromisoformat(iso[:10])
    return d.strftime("%d.%m.%Y") if lang == "de" else d.strftime("%d %b %Y")


def timestamp(when: dt.datetime, lang: str) -> str:
    """A point in time in the shop's time zone (the demo shows UTC): ``14.07.2014 09:12``."""
    return when.strftime("%d.%m.%Y %H:%M") if lang == "de" else when.strftime("%d %b %Y %H:%M")


def distance(km: float, lang: str) -> str:
    """A distance as ``0,3 km`` (German decimal comma) or ``0.3 km``: one decimal below 10 km, whole km above."""
    text = f"{km:.1f}" if km < 10 else f"{km:.0f}"
    return f"{text.replace('.', ',') if lang == 'de' else text} km"


def money(amount_minor: int, currency: str, lang: str) -> str:
    """An amount in cents as ``114,45 €`` (German) or ``€114.45`` (English)."""
    sign = "-" if amount_minor < 0 else ""
    units, cents = divmod(abs(amount_minor), 100)
    symbol = {"EUR": "€", "CHF": "CHF", "USD": "$"}.get(currency, currency)
    if lang == "de":
        return f"{sign}{units:,}".replace(",", ".") + f",{cents:02d} {symbol}"
    return f"{sign}{symbol}{units:,}.{cents:02d}"
