-- Orders of the demo ERP, modelled on a German mail-order system (VS/4 style): customers, orders from every
-- channel, order lines with their quantities, parcels, invoices/credit notes, returns/exchanges, status events.
-- Dates are ISO 8601 text ('2014-07-13'), timestamps ISO 8601 UTC ('2014-07-13T09:12:00Z'), money in cents.

CREATE TABLE customers (
    customer_no TEXT PRIMARY KEY,             -- "4711": the number the shop knows for the signed-in buyer
    name        TEXT NOT NULL,
    email       TEXT
);

CREATE TABLE orders (
    order_no           TEXT PRIMARY KEY,      -- Belegnummer "091782005"
    customer_no        TEXT NOT NULL REFERENCES customers (customer_no),
    order_date         TEXT NOT NULL,         -- Belegdatum
    channel            TEXT NOT NULL DEFAULT 'web'
                       CHECK (channel IN ('web', 'phone', 'letter', 'fax', 'store', 'email', 'marketplace')),
    shop_order_no      TEXT,                  -- the web shop's own number; NULL for other channels
    currency           TEXT NOT NULL DEFAULT 'EUR',
    total_minor        INTEGER NOT NULL,      -- order total incl. VAT
    processing_started INTEGER NOT NULL DEFAULT 0,  -- 1 once address check / allocation has begun
    on_hold            INTEGER NOT NULL DEFAULT 0,  -- 1 while the merchant holds the order
    hold_reason        TEXT,                  -- internal, never sent to the shop
    cancelled          INTEGER NOT NULL DEFAULT 0,  -- 1 when cancelled as a whole (Storno)
    delivered_on       TEXT                   -- Ausgeliefert am: set when every line is delivered
);
-- The order history reads a customer's orders newest first; this index serves the WHERE and the ORDER BY.
CREATE INDEX orders_customer_date ON orders (customer_no, order_date DESC, order_no DESC);

CREATE TABLE order_lines (
    order_no          TEXT NOT NULL REFERENCES orders (order_no),
    line_no           INTEGER NOT NULL,       -- Position, from 1
    article_no        TEXT NOT NULL,          -- "6392", "SY 1"
    sku               TEXT,                   -- variant article number "851888-XS-KI"
    description       TEXT NOT NULL,          -- description as printed on the order
    line_type         TEXT NOT NULL DEFAULT 'product'
                      CHECK (line_type IN ('product', 'shipping_fee', 'surcharge', 'voucher', 'free_item', 'catalogue', 'service')),
    qty_ordered       INTEGER NOT NULL,
    qty_allocated     INTEGER NOT NULL DEFAULT 0,   -- Wareneinteilung: reserved from stock
    qty_invoiced      INTEGER NOT NULL DEFAULT 0,
    qty_shipped       INTEGER NOT NULL DEFAULT 0,
    qty_delivered     INTEGER NOT NULL DEFAULT 0,
    qty_backordered   INTEGER NOT NULL DEFAULT 0,   -- Rückstand: follows later
    qty_cancelled     INTEGER NOT NULL DEFAULT 0,
    qty_returned      INTEGER NOT NULL DEFAULT 0,
    unit_price_minor  INTEGER NOT NULL DEFAULT 0,
    line_total_minor  INTEGER NOT NULL DEFAULT 0,
    expected_date     TEXT,                   -- expected delivery of open/backordered quantity
    PRIMARY KEY (order_no, line_no)
);

CREATE TABLE shipments (
    shipment_id  TEXT PRIMARY KEY,
    order_no     TEXT NOT NULL REFERENCES orders (order_no),
    carrier      TEXT NOT NULL,               -- "DHL", "DPD", "GLS", "HERMES", "UPS", ...
    parcel_no    TEXT,                        -- Paketnummer
    direction    TEXT NOT NULL DEFAULT 'outbound' CHECK (direction IN ('outbound', 'return')),
    shipped_on   TEXT,
    delivered_on TEXT
);
CREATE INDEX shipments_order ON shipments (order_no);

CREATE TABLE shipment_items (
    shipment_id TEXT NOT NULL REFERENCES shipments (shipment_id),
    line_no     INTEGER NOT NULL,
    quantity    INTEGER NOT NULL,
    PRIMARY KEY (shipment_id, line_no)
);

CREATE TABLE documents (
    document_id  TEXT PRIMARY KEY,            -- internal id the shop passes back for the PDF
    order_no     TEXT NOT NULL REFERENCES orders (order_no),
    doc_type     TEXT NOT NULL CHECK (doc_type IN ('invoice', 'credit_note')),
    doc_no       TEXT NOT NULL,               -- Rechnungsnummer as printed
    doc_date     TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency     TEXT NOT NULL DEFAULT 'EUR',
    pdf_path     TEXT                         -- relative to the invoice archive root; NULL if not archived
);
CREATE INDEX documents_order ON documents (order_no);

CREATE TABLE returns (
    return_id               TEXT PRIMARY KEY, -- RMA number
    order_no                TEXT NOT NULL REFERENCES orders (order_no),
    state                   TEXT NOT NULL
                            CHECK (state IN ('requested', 'authorized', 'received', 'completed', 'rejected', 'cancelled')),
    resolution              TEXT CHECK (resolution IN ('refund', 'credit_note', 'replacement')),
    requested_on            TEXT NOT NULL,
    reason                  TEXT,
    replacement_shipment_id TEXT REFERENCES shipments (shipment_id)  -- exchange: the replacement parcel
);
CREATE INDEX returns_order ON returns (order_no);

CREATE TABLE return_lines (
    return_id              TEXT NOT NULL REFERENCES returns (return_id),
    line_no                INTEGER NOT NULL,
    quantity               INTEGER NOT NULL,
    replacement_article_no TEXT,
    replacement_sku        TEXT,
    PRIMARY KEY (return_id, line_no)
);

CREATE TABLE order_events (
    order_no TEXT NOT NULL REFERENCES orders (order_no),
    seq      INTEGER NOT NULL,
    at       TEXT NOT NULL,                   -- UTC timestamp
    code     TEXT NOT NULL,                   -- "received", "shipped", "on_hold", ...
    PRIMARY KEY (order_no, seq)
);

-- Invoice and delivery address of each order (Rechnungs- und Lieferanschrift), as printed on the confirmation.
-- The guest order lookup matches an order number with one of these postcodes (and optionally the last name).
CREATE TABLE order_addresses (
    order_no   TEXT NOT NULL REFERENCES orders (order_no),
    kind       TEXT NOT NULL CHECK (kind IN ('invoice', 'delivery')),
    first_name TEXT,
    last_name  TEXT NOT NULL,
    street     TEXT NOT NULL,
    postcode   TEXT NOT NULL,                 -- as entered: "68766", "SW1A 2AA"
    city       TEXT NOT NULL,
    country    TEXT NOT NULL DEFAULT 'DE',    -- ISO 3166-1 alpha-2
    PRIMARY KEY (order_no, kind)
);
