-- A second ERP schema for the mapping tests: the demo ERP's data under German table and column names, with the
-- conventions an older mail-order system typically has: flags as 'J'/'N', amounts in euros (not cents), the
-- carrier and channel as short codes. The custom mapping (mapping.toml) turns it back into the agent's contract.

CREATE TABLE kunde (kdnr TEXT PRIMARY KEY, kdname TEXT NOT NULL, email TEXT);

CREATE TABLE artikel (
    artnr TEXT PRIMARY KEY, bezeichnung TEXT NOT NULL, posart TEXT NOT NULL, artstatus TEXT NOT NULL,
    nachfolger TEXT, vkpreis REAL, waehrung TEXT NOT NULL
);
CREATE TABLE artvariante (varnr TEXT PRIMARY KEY, artnr TEXT NOT NULL, farbe TEXT, groesse TEXT, vkpreis REAL);

CREATE TABLE auftrag (
    belegnr TEXT PRIMARY KEY, kdnr TEXT NOT NULL, belegdatum TEXT NOT NULL, kanal TEXT NOT NULL,
    shop_belegnr TEXT, waehrung TEXT NOT NULL, summe_eur REAL NOT NULL,
    in_bearbeitung TEXT NOT NULL, gesperrt TEXT NOT NULL, sperrgrund TEXT, storniert TEXT NOT NULL,
    ausgeliefert_am TEXT
);
CREATE INDEX auftrag_kunde ON auftrag (kdnr, belegdatum, belegnr);

CREATE TABLE auftragspos (
    belegnr TEXT NOT NULL, posnr INTEGER NOT NULL, artnr TEXT NOT NULL, varnr TEXT, bezeichnung TEXT NOT NULL,
    posart TEXT NOT NULL, menge INTEGER NOT NULL, menge_eingeteilt INTEGER NOT NULL,
    menge_berechnet INTEGER NOT NULL, menge_versandt INTEGER NOT NULL, menge_zugestellt INTEGER NOT NULL,
    menge_rueckstand INTEGER NOT NULL, menge_storniert INTEGER NOT NULL, menge_retoure INTEGER NOT NULL,
    epreis_eur REAL NOT NULL, gpreis_eur REAL NOT NULL, liefertermin TEXT,
    PRIMARY KEY (belegnr, posnr)
);

CREATE TABLE sendung (
    sendungsnr TEXT PRIMARY KEY, belegnr TEXT NOT NULL, spediteur TEXT NOT NULL, paketnr TEXT,
    richtung TEXT NOT NULL, versanddatum TEXT, zustelldatum TEXT
);
CREATE INDEX sendung_beleg ON sendung (belegnr);
CREATE TABLE sendungspos (sendungsnr TEXT NOT NULL, posnr INTEGER NOT NULL, menge INTEGER NOT NULL);

CREATE TABLE rechnung (
    rechnungsid TEXT PRIMARY KEY, belegnr TEXT NOT NULL, art TEXT NOT NULL, rechnungsnr TEXT NOT NULL,
    rechnungsdatum TEXT NOT NULL, betrag_eur REAL NOT NULL, waehrung TEXT NOT NULL, pdf_datei TEXT
);
CREATE INDEX rechnung_beleg ON rechnung (belegnr);

CREATE TABLE retoure (
    rmanr TEXT PRIMARY KEY, belegnr TEXT NOT NULL, zustand TEXT NOT NULL, erledigung TEXT,
    angemeldet_am TEXT NOT NULL, grund TEXT, ersatz_sendungsnr TEXT
);
CREATE TABLE retourepos (
    rmanr TEXT NOT NULL, posnr INTEGER NOT NULL, menge INTEGER NOT NULL, ersatz_artnr TEXT, ersatz_varnr TEXT
);

-- Rechnungs- ('R') und Lieferanschrift ('L') eines Auftrags.
CREATE TABLE anschrift (
    belegnr TEXT NOT NULL, art TEXT NOT NULL, vorname TEXT, nachname TEXT NOT NULL, strasse TEXT NOT NULL,
    plz TEXT NOT NULL, ort TEXT NOT NULL, land TEXT NOT NULL, PRIMARY KEY (belegnr, art)
);

CREATE TABLE auftragsprotokoll (belegnr TEXT NOT NULL, lfdnr INTEGER NOT NULL, zeitpunkt TEXT NOT NULL, ereignis TEXT NOT NULL);

CREATE TABLE filiale (
    filnr TEXT PRIMARY KEY, filname TEXT NOT NULL, strasse TEXT NOT NULL, plz TEXT NOT NULL, ort TEXT NOT NULL,
    land TEXT NOT NULL, telefon TEXT, geo_breite REAL, geo_laenge REAL, reihenfolge INTEGER NOT NULL,
    abholung TEXT NOT NULL, aktiv TEXT NOT NULL
);
CREATE TABLE filiale_oeffnung (filnr TEXT NOT NULL, wochentag INTEGER NOT NULL, von TEXT NOT NULL, bis TEXT NOT NULL);
CREATE TABLE filiale_schliesstag (filnr TEXT NOT NULL, datum TEXT NOT NULL, anlass TEXT NOT NULL);
CREATE TABLE filialbestand (
    varnr TEXT NOT NULL, filnr TEXT NOT NULL, bestand INTEGER NOT NULL, reserviert INTEGER NOT NULL,
    nur_ausstellung TEXT NOT NULL, PRIMARY KEY (varnr, filnr)
);
