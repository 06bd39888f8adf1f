<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Enum;

/**
 * onlineconnect.v1.LineType: What kind of line an order line is. Only PRODUCT lines can be reordered.
 *
 * Case values are the proto enum names, as the JSON answers carry them; cases are in proto number order.
 */
enum LineType: string
{
    use ProtoEnum;

    /** Not known. */
    case UNSPECIFIED = 'LINE_TYPE_UNSPECIFIED';

    /** An article the customer bought. */
    case PRODUCT = 'LINE_TYPE_PRODUCT';

    /** Shipping fee (or a "free shipping" marker such as "SY 1 Versandkostenfrei"). */
    case SHIPPING_FEE = 'LINE_TYPE_SHIPPING_FEE';

    /** A surcharge (cash on delivery, bulky goods, ...). */
    case SURCHARGE = 'LINE_TYPE_SURCHARGE';

    /** A voucher or discount. */
    case VOUCHER = 'LINE_TYPE_VOUCHER';

    /** A free item (gift, sample). */
    case FREE_ITEM = 'LINE_TYPE_FREE_ITEM';

    /** A catalogue sent with the order. */
    case CATALOGUE = 'LINE_TYPE_CATALOGUE';

    /** A service (engraving, assembly, ...). */
    case SERVICE = 'LINE_TYPE_SERVICE';
}
