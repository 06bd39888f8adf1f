<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Enum;

/**
 * onlineconnect.v1.DocumentType: Kind of accounting document.
 *
 * Case values are the proto enum names, as the JSON answers carry them; cases are in proto number order.
 */
enum DocumentType: string
{
    use ProtoEnum;

    /** Not known. */
    case UNSPECIFIED = 'DOCUMENT_TYPE_UNSPECIFIED';

    /** An invoice (Rechnung). */
    case INVOICE = 'DOCUMENT_TYPE_INVOICE';

    /** A credit note (Gutschrift). */
    case CREDIT_NOTE = 'DOCUMENT_TYPE_CREDIT_NOTE';
}
