<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Enum;

/**
 * onlineconnect.v1.ReorderReason: Why an order line cannot go back into the cart.
 *
 * Case values are the proto enum names, as the JSON answers carry them; cases are in proto number order.
 */
enum ReorderReason: string
{
    use ProtoEnum;

    /** The line can be reordered. */
    case UNSPECIFIED = 'REORDER_REASON_UNSPECIFIED';

    /** The article is no longer sold; see successor if the ERP names one. */
    case DISCONTINUED = 'REORDER_REASON_DISCONTINUED';

    /** The article is unknown to the ERP's article master now. */
    case UNKNOWN_ARTICLE = 'REORDER_REASON_UNKNOWN_ARTICLE';

    /** The article exists but is blocked for sale. */
    case NOT_SELLABLE = 'REORDER_REASON_NOT_SELLABLE';
}
