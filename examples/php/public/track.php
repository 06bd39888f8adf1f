<?php

declare(strict_types=1);

// "Bestellung verfolgen": order status for a customer without an account, by order number and postcode. No sign-in;
// the form is posted (the postcode stays out of URLs and access logs), the customer's IP goes to the gateway for its
// per-IP limit, and every miss reads the same, so the page never tells which field was wrong.

require dirname(__DIR__) . '/bootstrap.php';

use OnlineConnect\Client\Exception\NotFoundException;
use OnlineConnect\Client\Exception\OnlineConnectException;
use OnlineConnect\Client\Exception\ResourceExhaustedException;

/** The form, with the order number filled in again (never the postcode or the name). */
function track_form(string $orderNumber = '', string $problem = ''): string
{
    return '<h1>Bestellung verfolgen</h1>'
        . ($problem === '' ? '' : '<p class="problem" id="problem">' . h($problem) . '</p>')
        . '<form method="post" action="/track.php">'
        . '<label>Bestellnummer <input name="order_number" value="' . h($orderNumber) . '" required maxlength="32"></label> '
        . '<label>Postleitzahl <input name="postcode" required maxlength="16" autocomplete="postal-code"></label> '
        . '<label>Nachname (freiwillig) <input name="last_name" maxlength="64" autocomplete="family-name"></label> '
        . '<button type="submit">Bestellung anzeigen</button></form>';
}

if (($_SERVER['REQUEST_METHOD'] ?? 'GET') !== 'POST') {
    page('Bestellung verfolgen', track_form());
}

// A browser names the page a cross-site form was sent from: only our own pages may post guesses from a visitor's IP.
$origin = (string) ($_SERVER['HTTP_ORIGIN'] ?? '');
$host = (string) ($_SERVER['HTTP_HOST'] ?? '');
if ($origin !== '' && $origin !== "http://$host" && $origin !== "https://$host") {
    page('Bestellung verfolgen', track_form('', 'Das Formular kam von einer anderen Seite.'), 403);
}

$field = static fn (string $name): string => is_string($_POST[$name] ?? null) ? trim($_POST[$name]) : '';
$number = $field('order_number');
$shown = preg_match('/^[A-Za-z0-9-]{1,32}$/', $number) === 1 ? $number : '';
if ($number === '' || $field('postcode') === '') {
    page('Bestellung verfolgen', track_form($shown, 'Bitte geben Sie Bestellnummer und Postleitzahl an.'), 400);
}
try {
    // Behind a reverse proxy take the client address it reports (and only from a proxy you trust).
    $order = client()->lookupGuestOrder($number, $field('postcode'), (string) ($_SERVER['REMOTE_ADDR'] ?? ''),
        lastName: $field('last_name'), options: call_options());
} catch (NotFoundException) {
    page('Bestellung verfolgen', track_form($shown, 'Keine Bestellung zu diesen Angaben gefunden.'), 404);
} catch (ResourceExhaustedException $e) {
    header('Retry-After: ' . (int) ceil($e->retryAfter ?? 60));
    page('Bestellung verfolgen', track_form($shown, 'Zu viele Versuche. Bitte versuchen Sie es später erneut.'), 429);
} catch (OnlineConnectException $e) {
    fail($e);
}

$s = $order->summary;
$body = '<h1>Ihre Bestellung ' . h($s->orderNumber) . '</h1><dl class="sheet">'
    . '<dt>Belegnummer:</dt><dd id="order-number">' . h($s->orderNumber) . '</dd>'
    . '<dt>Belegdatum:</dt><dd>' . h(date_de($s->orderDate)) . '</dd>'
    . '<dt>Status:</dt><dd id="order-status">' . h($s->statusLabel) . '</dd>'
    . ($s->deliveredOn !== '' ? '<dt>Ausgeliefert am:</dt><dd>' . h(date_de($s->deliveredOn)) . '</dd>' : '')
    . '</dl><table class="lines"><tr><th class="num">Menge</th><th>Artikelnummer</th><th>Bezeichnung</th><th>Lieferstatus</th></tr>';
foreach ($order->lines as $line) {
    $later = $line->quantityBackordered > 0 ? " – {$line->quantityBackordered} Stück folgen" : '';
    $later .= $line->expectedDeliveryDate !== '' ? ', voraussichtlich am ' . date_de($line->expectedDeliveryDate) : '';
    $body .= sprintf(
        '<tr data-article="%s"><td class="num">%d</td><td>%s</td><td>%s</td><td class="line-status">%s</td></tr>',
        h($line->articleNumber),
        $line->quantityOrdered,
        h($line->articleNumber),
        h($line->description),
        h($line->statusLabel . $later),
    );
}
$body .= '</table>';
$parcels = $order->outboundShipments();
if ($parcels !== []) {
    $body .= '<h2>Ihre Pakete</h2><ul>';
    foreach ($parcels as $sh) {
        $url = $sh->safeTrackingUrl();
        $body .= '<li>' . h($sh->carrier) . ' '
            . ($url === null ? h($sh->parcelNumber)
                : '<a class="tracking" href="' . h($url) . '" target="_blank" rel="noopener noreferrer">' . h($sh->parcelNumber) . '</a>')
            . ' – versendet am ' . h(date_de($sh->shippedOn))
            . ($sh->deliveredOn !== '' ? ', zugestellt am ' . h(date_de($sh->deliveredOn)) : ', unterwegs') . '</li>';
    }
    $body .= '</ul>';
}
if ($order->history !== []) {
    $body .= '<h2>Verlauf</h2><ol id="history">';
    $berlin = new DateTimeZone('Europe/Berlin');
    foreach ($order->history as $ev) {
        $body .= '<li><time>' . h($ev->at?->setTimezone($berlin)->format('d.m.Y H:i') ?? '') . '</time> ' . h($ev->label) . '</li>';
    }
    $body .= '</ol>';
}
$body .= '<p><a href="/track.php">Andere Bestellung verfolgen</a></p>';
page('Bestellung ' . $s->orderNumber, $body);
