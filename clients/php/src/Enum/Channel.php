<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Enum;

/**
 * onlineconnect.v1.Channel: The channel an order came in through.
 *
 * Case values are the proto enum names, as the JSON answers carry them; cases are in proto number order.
 */
enum Channel: string
{
    use ProtoEnum;

    /** Unknown or not mapped. */
    case UNSPECIFIED = 'CHANNEL_UNSPECIFIED';

    /** The web shop. */
    case WEB = 'CHANNEL_WEB';

    /** By telephone (call centre). */
    case PHONE = 'CHANNEL_PHONE';

    /** By letter or order form. */
    case LETTER = 'CHANNEL_LETTER';

    /** By fax. */
    case FAX = 'CHANNEL_FAX';

    /** In a branch store. */
    case STORE = 'CHANNEL_STORE';

    /** By e-mail. */
    case EMAIL = 'CHANNEL_EMAIL';

    /** Through a marketplace. */
    case MARKETPLACE = 'CHANNEL_MARKETPLACE';
}
