<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/** Connect code `data_loss`: An invoice PDF arrived incomplete or with a wrong SHA-256. */
class DataLossException extends OnlineConnectException
{
    public const CONNECT_CODE = 'data_loss';
}
