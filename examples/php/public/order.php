<?php

declare(strict_types=1);

// "Bestellübersicht": one order as the product sheet shows it — order number, date, amount, status, delivery date,
// parcel with tracking link, shop number, invoice PDF — then every line with its delivery status, parcels, returns,
// the order's history and what can be reordered.

require dirname(__DIR__) . '/bootstrap.php';

use OnlineConnect\Client\Enum\DocumentType;
use OnlineConnect\Client\Enum\ShipmentDirection;
use OnlineConnect\Client\Exception\OnlineConnectException;

$number = param('order');
try {
    $order = client()->getOrder(current_customer(), $number, options: call_options());
    $reorder = $order->summary->reorderable
        ? client()->getReorderItems(current_customer(), $number, options: call_options())
        : null;
} catch (OnlineConnectException $e) {
    fail($e);
}

$s = $order->summary;
$sheet = [['Belegnummer', '<span id="order-number">' . h($s->orderNumber) . '</span>'], ['Belegdatum', h(date_de($s->orderDate))]];
if ($s->total !== null) {
    $sheet[] = ['Betrag', '<span id="amount">' . h($s->total->formatDe()) . '</span>'];
}
$sheet[] = ['Status', '<span id="order-status">' . h($s->statusLabel) . '</span>'];
if ($s->deliveredOn !== '') {
    $sheet[] = ['Ausgeliefert am', h(date_de($s->deliveredOn))];
}
$parcels = [];
foreach ($order->outboundShipments() as $sh) {
    $url = $sh->safeTrackingUrl();  // only http(s) links become links
    $parcels[] = ($url === null ? h($sh->parcelNumber)
        : '<a class="tracking" href="' . h($url) . '" target="_blank" rel="noopener noreferrer">' . h($sh->parcelNumber) . '</a>')
        . ' <small>' . h($sh->carrier) . '</small>';
}
if ($parcels !== []) {
    $sheet[] = ['Paketverfolgung', implode(', ', $parcels)];
}
if ($s->shopOrderNumber !== '') {
    $sheet[] = ['Shop-Nummer', h($s->shopOrderNumber)];
}
$pdfs = [];
foreach ($order->downloadableDocuments() as $d) {
    $href = '/invoice.php?order=' . rawurlencode($s->orderNumber) . '&document=' . rawurlencode($d->documentId);
    $label = $d->type === DocumentType::CREDIT_NOTE ? 'Gutschrift (pdf)' : 'Rechnung (pdf)';
    $pdfs[] = '<a class="invoice" href="' . h($href) . '">» ' . h($label) . '</a> <small>' . h($d->number) . '</small>';
}
if ($pdfs !== []) {
    $sheet[] = ['Download', implode('<br>', $pdfs)];
}

$body = '<h1>Bestellübersicht</h1><dl class="sheet">';
foreach ($sheet as [$label, $html]) {
    $body .= '<dt>' . h($label) . ':</dt><dd>' . $html . '</dd>';
}
$body .= '</dl>';

$body .= '<h2>Hier sehen Sie alle Daten aus Ihrer Bestellung aufgelistet</h2>'
    . '<table class="lines"><tr><th class="num">Menge</th><th>Artikelnummer</th><th>Bezeichnung</th><th>Lieferstatus</th></tr>';
foreach ($order->lines as $line) {
    $variant = $line->variant === null ? '' : ' <small>' . h(trim($line->variant->colour . ' ' . $line->variant->size)) . '</small>';
    $body .= sprintf(
        '<tr data-article="%s"><td class="num">%d</td><td>%s</td><td>%s%s</td><td class="line-status">%s</td></tr>',
        h($line->articleNumber),
        $line->quantityOrdered,
        h($line->articleNumber),
        h($line->description),
        $variant,
        h($line->statusLabel),
    );
}
$body .= '</table>';

$waiting = array_filter($order->lines, static fn ($l): bool => $l->quantityBackordered > 0);
if ($waiting !== []) {
    $body .= '<section id="backordered"><h2>Rückstand</h2><ul>';
    foreach ($waiting as $line) {
        $when = $line->expectedDeliveryDate !== '' ? ', voraussichtlich am ' . date_de($line->expectedDeliveryDate) : '';
        $body .= '<li>' . h("{$line->articleNumber} {$line->description}: {$line->quantityBackordered} Stück folgen$when") . '</li>';
    }
    $body .= '</ul></section>';
}

if ($order->shipments !== []) {
    $body .= '<section id="shipments"><h2>Sendungen</h2><ul>';
    foreach ($order->shipments as $sh) {
        $items = array_map(
            static fn ($it): string => $it->quantity . '× ' . ($order->line($it->lineNumber)?->description ?? ''),
            $sh->items,
        );
        $text = ($sh->direction === ShipmentDirection::RETURN ? 'Rücksendung' : 'Paket an Sie')
            . ": {$sh->carrier} {$sh->parcelNumber}, versendet am " . date_de($sh->shippedOn)
            . ($sh->deliveredOn !== '' ? ', zugestellt am ' . date_de($sh->deliveredOn) : '');
        $body .= '<li>' . h($text) . ' <small>(' . h(implode(', ', $items)) . ')</small></li>';
    }
    $body .= '</ul></section>';
}

if ($order->returns !== []) {
    $body .= '<section id="returns"><h2>Retouren und Umtausch</h2><ul>';
    foreach ($order->returns as $r) {
        $body .= '<li><strong>' . h($r->returnId) . '</strong> · ' . h($r->stateLabel) . ' · ' . h(date_de($r->requestedOn))
            . ($r->reason !== '' ? '<br>Grund: ' . h($r->reason) : '') . '</li>';
    }
    $body .= '</ul></section>';
}

if ($order->history !== []) {
    $body .= '<section id="history"><h2>Verlauf</h2><ol>';
    $berlin = new DateTimeZone('Europe/Berlin');
    foreach ($order->history as $ev) {
        $at = $ev->at?->setTimezone($berlin)->format('d.m.Y H:i') ?? '';
        $body .= '<li><time>' . h($at) . '</time> ' . h($ev->label) . '</li>';
    }
    $body .= '</ol></section>';
}

if ($reorder !== null && $reorder->items !== []) {
    $body .= '<section id="reorder"><h2>Nachbestellen</h2><ul>';
    foreach ($reorder->items as $item) {
        $price = $item->currentPrice === null ? '' : ' – aktuell ' . $item->currentPrice->formatDe();
        $body .= '<li>' . h("{$item->quantity}× {$item->articleNumber} {$item->description}$price") . '</li>';
    }
    $body .= '</ul></section>';
}

$body .= '<p><a href="/">« Zurück zur Übersicht</a></p>';
page('Bestellübersicht ' . $s->orderNumber, $body);
