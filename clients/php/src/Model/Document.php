<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Enum\DocumentType;
use OnlineConnect\Client\Internal\Json;

/** An invoice or credit note. (onlineconnect.v1.Document) */
final class Document
{
    /**
     * @param string $documentId Id to pass to getInvoicePdf() / downloadInvoicePdf().
     * @param DocumentType $type Invoice or credit note.
     * @param string $number Document number as printed (Rechnungsnummer).
     * @param string $date Document date, ISO 8601.
     * @param ?Money $amount Amount including VAT; null when prices are hidden.
     * @param bool $pdfAvailable True if the PDF is archived and can be downloaded.
     */
    public function __construct(
        public readonly string $documentId,
        public readonly DocumentType $type,
        public readonly string $number,
        public readonly string $date,
        public readonly ?Money $amount,
        public readonly bool $pdfAvailable,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::str($j, 'documentId'),
            DocumentType::fromJson(Json::get($j, 'type')),
            Json::str($j, 'number'),
            Json::str($j, 'date'),
            Json::msg($j, 'amount', Money::fromJson(...)),
            Json::bool($j, 'pdfAvailable'),
        );
    }
}
