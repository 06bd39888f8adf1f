<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Enum;

/**
 * onlineconnect.v1.LineStatus: The delivery state of one line (the sheet's "Lieferstatus").
 *
 * Case values are the proto enum names, as the JSON answers carry them; cases are in proto number order.
 */
enum LineStatus: string
{
    use ProtoEnum;

    /** Not known. */
    case UNSPECIFIED = 'LINE_STATUS_UNSPECIFIED';

    /** Open: not yet allocated or shipped. */
    case OPEN = 'LINE_STATUS_OPEN';

    /** Allocated from stock, ready to ship ("Lieferbar"). */
    case AVAILABLE = 'LINE_STATUS_AVAILABLE';

    /** Not in stock; follows later (see expected_delivery_date). */
    case BACKORDERED = 'LINE_STATUS_BACKORDERED';

    /** Part of the quantity shipped. */
    case PARTIALLY_SHIPPED = 'LINE_STATUS_PARTIALLY_SHIPPED';

    /** Whole quantity shipped. */
    case SHIPPED = 'LINE_STATUS_SHIPPED';

    /** Whole quantity delivered. */
    case DELIVERED = 'LINE_STATUS_DELIVERED';

    /** Cancelled. */
    case CANCELLED = 'LINE_STATUS_CANCELLED';

    /** Part of the quantity returned. */
    case PARTIALLY_RETURNED = 'LINE_STATUS_PARTIALLY_RETURNED';

    /** Whole quantity returned. */
    case RETURNED = 'LINE_STATUS_RETURNED';

    /** A return for this line has been requested and is being processed. */
    case RETURN_REQUESTED = 'LINE_STATUS_RETURN_REQUESTED';
}
