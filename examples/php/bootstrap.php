<?php

declare(strict_types=1);

// Shared by the pages in public/: the Online Connect client, the signed-in customer, HTML helpers and the one place
// where API errors become pages. Lives outside the web root, so it cannot be requested on its own.
//
// Configuration (environment):
//   OC_BASE_URL   the gateway's HTTP address        (demo: http://127.0.0.1:8081)
//   OC_API_KEY    the shop's API key                 (demo: demo-shop-key)
//   OC_CUSTOMER   the demo's "signed-in" customer    (demo: 4711)

require dirname(__DIR__, 2) . '/clients/php/autoload.php';  // with Composer: require 'vendor/autoload.php'

use OnlineConnect\Client\CallOptions;
use OnlineConnect\Client\Exception\DeadlineExceededException;
use OnlineConnect\Client\Exception\InvalidArgumentException;
use OnlineConnect\Client\Exception\NotFoundException;
use OnlineConnect\Client\Exception\OnlineConnectException;
use OnlineConnect\Client\Exception\ResourceExhaustedException;
use OnlineConnect\Client\Exception\UnavailableException;
use OnlineConnect\Client\OnlineConnectClient;

function setting(string $name, string $default): string
{
    $value = getenv($name);
    return $value === false || $value === '' ? $default : $value;
}

/** One client per request: every call of the page goes over its one connection. */
function client(): OnlineConnectClient
{
    static $client = null;
    return $client ??= new OnlineConnectClient(
        setting('OC_BASE_URL', 'http://127.0.0.1:8081'),
        setting('OC_API_KEY', 'demo-shop-key'),
        timeout: 3.0,            // a customer waits for a page, not for an ERP
        invoiceTimeout: 30.0,
        userAgent: 'onlineconnect-php-example',
    );
}

/**
 * The signed-in customer's number. A real shop takes it from its own login session (OXID, Magento, Shopware:
 * the customer number stored with the account), never from a request parameter the buyer could change.
 */
function current_customer(): string
{
    return setting('OC_CUSTOMER', '4711');
}

/** The request id of this page view, sent to the gateway with every call (and written to the PHP log on errors). */
function call_options(): CallOptions
{
    static $options = null;
    if ($options === null) {
        $incoming = (string) ($_SERVER['HTTP_X_REQUEST_ID'] ?? '');
        $id = preg_match('/^[A-Za-z0-9._:-]{1,64}$/', $incoming) === 1 ? $incoming : 'shop-' . bin2hex(random_bytes(6));
        $options = new CallOptions(requestId: $id);
    }
    return $options;
}

/** HTML-escapes text for element content and attribute values. */
function h(string|int|float $text): string
{
    return htmlspecialchars((string) $text, ENT_QUOTES | ENT_SUBSTITUTE | ENT_HTML5, 'UTF-8');
}

/** "2014-07-13" → "13.07.2014"; anything else unchanged. */
function date_de(string $iso): string
{
    return preg_match('/^(\d{4})-(\d{2})-(\d{2})$/', $iso, $m) === 1 ? "$m[3].$m[2].$m[1]" : $iso;
}

/** A query parameter as a string ('' if absent or not a string). */
function param(string $name): string
{
    $value = $_GET[$name] ?? '';
    return is_string($value) ? $value : '';
}

/** Sends a complete HTML page and ends the request. $title is text; $body is HTML: escape what goes into it. */
function page(string $title, string $body, int $status = 200): never
{
    $title = h($title);
    http_response_code($status);
    header('Content-Type: text/html; charset=utf-8');
    header("Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'");
    header('X-Content-Type-Options: nosniff');
    header_remove('X-Powered-By');
    $customer = h(current_customer());
    echo <<<HTML
        <!doctype html>
        <html lang="de">
        <head>
        <meta charset="utf-8">
        <title>{$title} · Online Connect PHP-Beispiel</title>
        <style>
          body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
          table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .6rem; }
          tr + tr td { border-top: 1px solid #ddd; } .num { text-align: right; } small { color: #666; }
          dl.sheet { display: grid; grid-template-columns: 12rem auto; gap: .2rem 1rem; }
          dl.sheet dt { font-weight: 600; } .problem { background: #fff4e5; padding: 1rem; }
        </style>
        </head>
        <body>
        <header><a href="/">Meine Bestellungen</a> · angemeldet als Kunde {$customer} · <a href="/track.php">Bestellung verfolgen</a> (ohne Konto)</header>
        <main>
        {$body}
        </main>
        </body>
        </html>

        HTML;
    exit;
}

/**
 * The page for a failed call, by the error-code table of docs/shop-integration.md. The customer reads a sentence;
 * code, message and request id go to the PHP error log for the shop's operators.
 */
function fail(OnlineConnectException $e): never
{
    [$status, $text] = match (true) {
        $e instanceof NotFoundException => [404, 'Diese Bestellung wurde nicht gefunden.'],
        $e instanceof InvalidArgumentException => [400, 'Die Anfrage ist ungültig.'],
        $e instanceof UnavailableException,
        $e instanceof DeadlineExceededException,
        $e instanceof ResourceExhaustedException => [503, 'Die Auftragsauskunft ist gerade nicht erreichbar. Bitte versuchen Sie es in einigen Minuten erneut.'],
        default => [500, 'Es ist ein Fehler aufgetreten.'],
    };
    if ($status >= 500) {
        error_log(sprintf(
            'onlineconnect: %s %s (request id %s, %d attempt(s))',
            $e->connectCode(),
            $e->getMessage(),
            $e->requestId,
            $e->attempts,
        ));
    }
    if ($e->retryAfter !== null) {
        header('Retry-After: ' . (int) ceil($e->retryAfter));
    }
    page('Fehler', '<p class="problem" id="problem">' . h($text) . '</p><p><a href="/">« Zur Übersicht</a></p>', $status);
}
