<?php

declare(strict_types=1);

// "Meine Bestellungen": the signed-in customer's orders from every channel, newest first, 20 per page.

require dirname(__DIR__) . '/bootstrap.php';

use OnlineConnect\Client\Enum\OrderFilter;
use OnlineConnect\Client\Exception\OnlineConnectException;

const FILTERS = ['all' => OrderFilter::UNSPECIFIED, 'open' => OrderFilter::OPEN, 'historical' => OrderFilter::HISTORICAL];
const FILTER_NAMES = ['all' => 'Alle Bestellungen', 'open' => 'Offene Bestellungen', 'historical' => 'Historische Bestellungen'];
const CHANNELS = [
    'CHANNEL_WEB' => 'Onlineshop', 'CHANNEL_PHONE' => 'Telefon', 'CHANNEL_LETTER' => 'Brief', 'CHANNEL_FAX' => 'Fax',
    'CHANNEL_STORE' => 'Filiale', 'CHANNEL_EMAIL' => 'E-Mail', 'CHANNEL_MARKETPLACE' => 'Marktplatz',
];

$filter = array_key_exists(param('filter'), FILTERS) ? param('filter') : 'all';
try {
    // The page token is opaque and bound to this customer and filter by the gateway; passing it through is safe.
    $page = client()->listOrders(current_customer(), pageSize: 20, pageToken: param('page'), filter: FILTERS[$filter],
        options: call_options());
} catch (OnlineConnectException $e) {
    fail($e);
}

$tabs = [];
foreach (FILTER_NAMES as $key => $name) {
    $tabs[] = $key === $filter ? '<strong>' . h($name) . '</strong>'
        : '<a href="/?filter=' . h(rawurlencode($key)) . '">' . h($name) . '</a>';
}
$rows = [];
foreach ($page->orders as $o) {
    $link = '/order.php?order=' . rawurlencode($o->orderNumber);
    $rows[] = sprintf(
        '<tr data-order="%s"><td><a href="%s">%s</a></td><td>%s</td><td>%s</td><td class="num">%s</td>'
            . '<td class="status">%s</td></tr>',
        h($o->orderNumber),
        h($link),
        h($o->orderNumber),
        h(date_de($o->orderDate)),
        h(CHANNELS[$o->channel->value] ?? ''),
        $o->total === null ? '' : h($o->total->formatDe()),
        h($o->statusLabel),
    );
}
$body = '<h1>Meine Bestellungen</h1><p>' . implode(' · ', $tabs) . '</p>';
$body .= $rows === [] ? '<p>Keine Bestellungen gefunden.</p>'
    : '<table class="orders"><tr><th>Belegnummer</th><th>Belegdatum</th><th>Bestellweg</th><th class="num">Betrag</th>'
        . '<th>Status</th></tr>' . implode("\n", $rows) . '</table>';
if ($page->hasMore()) {
    $next = '/?filter=' . rawurlencode($filter) . '&page=' . rawurlencode($page->nextPageToken);
    $body .= '<p><a id="more" href="' . h($next) . '">Weitere Bestellungen »</a></p>';
}
page('Meine Bestellungen', $body);
