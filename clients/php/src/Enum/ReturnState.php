<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Enum;

/**
 * onlineconnect.v1.ReturnState: Progress of a return or exchange.
 *
 * Case values are the proto enum names, as the JSON answers carry them; cases are in proto number order.
 */
enum ReturnState: string
{
    use ProtoEnum;

    /** Not known. */
    case UNSPECIFIED = 'RETURN_STATE_UNSPECIFIED';

    /** Announced by the customer. */
    case REQUESTED = 'RETURN_STATE_REQUESTED';

    /** Authorized by the merchant; waiting for the parcel. */
    case AUTHORIZED = 'RETURN_STATE_AUTHORIZED';

    /** The parcel arrived and is being inspected. */
    case RECEIVED = 'RETURN_STATE_RECEIVED';

    /** Settled (refund, credit note or replacement shipped). */
    case COMPLETED = 'RETURN_STATE_COMPLETED';

    /** Rejected by the merchant. */
    case REJECTED = 'RETURN_STATE_REJECTED';

    /** Withdrawn. */
    case CANCELLED = 'RETURN_STATE_CANCELLED';
}
