<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Enum;

/**
 * onlineconnect.v1.ReturnResolution: How a return is settled.
 *
 * Case values are the proto enum names, as the JSON answers carry them; cases are in proto number order.
 */
enum ReturnResolution: string
{
    use ProtoEnum;

    /** Not decided yet. */
    case UNSPECIFIED = 'RETURN_RESOLUTION_UNSPECIFIED';

    /** Money back to the original payment method. */
    case REFUND = 'RETURN_RESOLUTION_REFUND';

    /** A credit note on the customer account. */
    case CREDIT_NOTE = 'RETURN_RESOLUTION_CREDIT_NOTE';

    /** An exchange: a replacement article ships (Umtausch). */
    case REPLACEMENT = 'RETURN_RESOLUTION_REPLACEMENT';
}
