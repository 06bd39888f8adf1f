<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Enum;

/**
 * onlineconnect.v1.ShipmentDirection: Direction of a shipment.
 *
 * Case values are the proto enum names, as the JSON answers carry them; cases are in proto number order.
 */
enum ShipmentDirection: string
{
    use ProtoEnum;

    /** Not known. */
    case UNSPECIFIED = 'SHIPMENT_DIRECTION_UNSPECIFIED';

    /** From the merchant to the customer (including replacement shipments of an exchange). */
    case OUTBOUND = 'SHIPMENT_DIRECTION_OUTBOUND';

    /** From the customer back to the merchant (a return parcel). */
    case RETURN = 'SHIPMENT_DIRECTION_RETURN';
}
