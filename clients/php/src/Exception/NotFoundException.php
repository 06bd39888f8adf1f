<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/**
 * Connect code `not_found`: Unknown order, document or article, or an order that is not this customer's: the page
 * answers 404.
 */
class NotFoundException extends OnlineConnectException
{
    public const CONNECT_CODE = 'not_found';
}
