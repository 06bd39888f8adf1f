<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Enum;

/**
 * onlineconnect.v1.Availability: How much of a variant a store has, in words a shop can show.
 *
 * Case values are the proto enum names, as the JSON answers carry them; cases are in proto number order.
 */
enum Availability: string
{
    use ProtoEnum;

    /** Not known. */
    case UNSPECIFIED = 'AVAILABILITY_UNSPECIFIED';

    /** Enough in stock (above the tenant's low-stock threshold). */
    case IN_STOCK = 'AVAILABILITY_IN_STOCK';

    /** Only a few left (at or below the low-stock threshold, above zero). */
    case LOW_STOCK = 'AVAILABILITY_LOW_STOCK';

    /** None available. */
    case OUT_OF_STOCK = 'AVAILABILITY_OUT_OF_STOCK';

    /** Only the display piece is there; it can be seen, not taken home. */
    case DISPLAY_ONLY = 'AVAILABILITY_DISPLAY_ONLY';
}
