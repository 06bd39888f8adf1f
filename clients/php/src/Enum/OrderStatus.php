<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Enum;

/**
 * onlineconnect.v1.OrderStatus: The overall state of an order, derived on the agent from ERP facts by the rules in
 * docs/order-status.md.
 *
 * Case values are the proto enum names, as the JSON answers carry them; cases are in proto number order.
 */
enum OrderStatus: string
{
    use ProtoEnum;

    /** Not known (never sent by a correct agent). */
    case UNSPECIFIED = 'ORDER_STATUS_UNSPECIFIED';

    /** Received, nobody has worked on it yet. */
    case RECEIVED = 'ORDER_STATUS_RECEIVED';

    /** Held by the merchant (address check failed, payment review, ...). */
    case ON_HOLD = 'ORDER_STATUS_ON_HOLD';

    /** Being processed: address check, stock allocation, picking, invoicing; nothing shipped yet. */
    case IN_PROCESSING = 'ORDER_STATUS_IN_PROCESSING';

    /** Some lines shipped, others still open or backordered. */
    case PARTIALLY_DELIVERED = 'ORDER_STATUS_PARTIALLY_DELIVERED';

    /** Every line to ship has been handed to the carrier; no delivery confirmation yet. */
    case SHIPPED = 'ORDER_STATUS_SHIPPED';

    /** Every line to ship has been delivered. */
    case DELIVERED = 'ORDER_STATUS_DELIVERED';

    /** A return of this order is being processed. */
    case RETURN_IN_PROGRESS = 'ORDER_STATUS_RETURN_IN_PROGRESS';

    /** Returned and settled (refund or credit note). */
    case RETURNED = 'ORDER_STATUS_RETURNED';

    /** An exchange is done and the replacement article has shipped. */
    case EXCHANGE_SHIPPED = 'ORDER_STATUS_EXCHANGE_SHIPPED';

    /** Cancelled as a whole. */
    case CANCELLED = 'ORDER_STATUS_CANCELLED';

    /** Nothing shipped yet and at least one line is backordered. */
    case BACKORDERED = 'ORDER_STATUS_BACKORDERED';
}
