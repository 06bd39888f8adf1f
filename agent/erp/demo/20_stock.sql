-- Branch stores and their stock (Filialbestand) of the demo ERP.
CREATE TABLE stores (
    store_id        TEXT PRIMARY KEY,             -- "F01"
    name            TEXT NOT NULL,                -- "MEGA STORE Hockenheim"
    street          TEXT NOT NULL,                -- street and house number
    postcode        TEXT NOT NULL,
    city            TEXT NOT NULL,
    country         TEXT NOT NULL DEFAULT 'DE',   -- ISO 3166-1 alpha-2
    phone           TEXT,
    latitude        REAL,                         -- WGS 84; NULL when not geocoded
    longitude       REAL,
    sort_order      INTEGER NOT NULL DEFAULT 0,   -- the merchant's store order when the shop sends no location
    pickup_possible INTEGER NOT NULL DEFAULT 1 CHECK (pickup_possible IN (0, 1)),  -- reserve & collect offered
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))            -- 0: closed for good, not shown
);

-- Regular opening periods; a lunch break is two rows on the same weekday.
CREATE TABLE store_opening_hours (
    store_id TEXT NOT NULL REFERENCES stores (store_id),
    weekday  INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),  -- ISO: 1 = Monday ... 7 = Sunday
    opens    TEXT NOT NULL,                                     -- "09:30"
    closes   TEXT NOT NULL,                                     -- "19:00"
    PRIMARY KEY (store_id, weekday, opens)
);

-- Exceptional closing days (holidays, inventory).
CREATE TABLE store_closing_days (
    store_id  TEXT NOT NULL REFERENCES stores (store_id),
    closed_on TEXT NOT NULL,                                    -- ISO 8601 date "2026-12-24"
    reason    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (store_id, closed_on)
);
-- The stock query selects a date range over all stores.
CREATE INDEX store_closing_days_date ON store_closing_days (closed_on);

-- Stock of a variant in a store. A missing row means none in stock.
CREATE TABLE store_stock (
    sku          TEXT NOT NULL REFERENCES article_variants (sku),
    store_id     TEXT NOT NULL REFERENCES stores (store_id),
    on_hand      INTEGER NOT NULL DEFAULT 0,   -- pieces physically in the store
    reserved     INTEGER NOT NULL DEFAULT 0,   -- held for pickup reservations and open orders
    display_only INTEGER NOT NULL DEFAULT 0 CHECK (display_only IN (0, 1)),  -- 1: display pieces only, not for sale
    PRIMARY KEY (sku, store_id)                -- serves "WHERE sku IN (...)"
);
