<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Enum;

/**
 * onlineconnect.v1.OrderFilter: Which orders ListOrders returns.
 *
 * Case values are the proto enum names, as the JSON answers carry them; cases are in proto number order.
 */
enum OrderFilter: string
{
    use ProtoEnum;

    /** All orders. */
    case UNSPECIFIED = 'ORDER_FILTER_UNSPECIFIED';

    /**
     * Open orders: still in progress (received, on hold, processing, backordered, partially delivered, return
     * open).
     */
    case OPEN = 'ORDER_FILTER_OPEN';

    /** Historical orders: finished (shipped, delivered, returned, exchange shipped, cancelled). */
    case HISTORICAL = 'ORDER_FILTER_HISTORICAL';
}
