<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

/**
 * An invoice or credit note PDF: what the gateway said about it and how many bytes went into the sink.
 *
 * Passed to the $onStart callback of getInvoicePdf()/downloadInvoicePdf() before the first byte is written (then
 * with $bytesWritten = 0), and returned when the whole file is in the sink.
 */
final class InvoicePdf
{
    /**
     * @param string $fileName file name to offer for download ("Rechnung-RE-2014-081511.pdf")
     * @param string $contentType "application/pdf"
     * @param int $size size of the whole file in bytes as announced; 0 if not announced
     * @param string $sha256 SHA-256 of the whole file, lowercase hex: as announced on start, as checked at the end
     * @param int $bytesWritten bytes written into the sink
     */
    public function __construct(
        public readonly string $fileName,
        public readonly string $contentType,
        public readonly int $size,
        public readonly string $sha256,
        public readonly int $bytesWritten,
    ) {
    }
}
