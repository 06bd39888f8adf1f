-- Article master of the demo ERP (shared by orders and stock).
CREATE TABLE articles (
    article_no   TEXT PRIMARY KEY,            -- "6392", "SY 1", "851888"
    name         TEXT NOT NULL,               -- description shown to customers
    line_type    TEXT NOT NULL DEFAULT 'product'
                 CHECK (line_type IN ('product', 'shipping_fee', 'surcharge', 'voucher', 'free_item', 'catalogue', 'service')),
    status       TEXT NOT NULL DEFAULT 'active'
                 CHECK (status IN ('active', 'discontinued', 'blocked')),
    successor_no TEXT REFERENCES articles (article_no),  -- named successor of a discontinued article
    price_minor  INTEGER,                     -- current price incl. VAT in cents
    currency     TEXT NOT NULL DEFAULT 'EUR'
);

CREATE TABLE article_variants (
    sku         TEXT PRIMARY KEY,             -- "851888-XS-KI"
    article_no  TEXT NOT NULL REFERENCES articles (article_no),
    colour      TEXT,                         -- "kirsch"
    size        TEXT,                         -- "XS"
    price_minor INTEGER                       -- overrides the article's price when set
);
CREATE INDEX article_variants_article ON article_variants (article_no);
