<?php

declare(strict_types=1);

// Invoice or credit note PDF, streamed from the ERP's archive straight to the browser: the headers go out when the
// first chunk arrives, every chunk is written as it comes (the file is never held in memory), and the client checks
// size and SHA-256 at the end.

require dirname(__DIR__) . '/bootstrap.php';

use OnlineConnect\Client\Exception\OnlineConnectException;
use OnlineConnect\Client\Model\InvoicePdf;

$started = false;
try {
    client()->getInvoicePdf(
        current_customer(),
        param('order'),
        param('document'),
        fopen('php://output', 'wb'),
        function (InvoicePdf $pdf) use (&$started): void {
            $started = true;
            $name = preg_replace('/[^A-Za-z0-9._-]/', '_', $pdf->fileName) ?: 'rechnung.pdf';
            header('Content-Type: application/pdf');
            header('Content-Disposition: attachment; filename="' . $name . '"');
            header('X-Content-Type-Options: nosniff');
            if ($pdf->size > 0) {
                header('Content-Length: ' . $pdf->size);
            }
        },
        call_options(),
    );
} catch (OnlineConnectException $e) {
    if (!$started) {
        fail($e);
    }
    // Part of the file is already out: the status cannot change any more. Log it; the browser sees a short file.
    error_log(sprintf('onlineconnect: invoice broke off: %s %s (request id %s)', $e->connectCode(), $e->getMessage(), $e->requestId));
}
