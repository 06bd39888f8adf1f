<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/**
 * A call to the Online Connect gateway failed. Every failure the client reports is one of the subclasses, one per
 * Connect error code (the gRPC status codes in lower snake case): catch the ones your page treats specially
 * (NotFoundException → 404, UnavailableException → "live status unavailable") and this class for the rest.
 *
 * getCode() is the numeric gRPC status code (5 for not_found), so logs read the same as for a gRPC client.
 */
class OnlineConnectException extends \RuntimeException
{
    /** Connect code → exception class. */
    private const CLASSES = [
        'canceled' => CanceledException::class,
        'unknown' => UnknownException::class,
        'invalid_argument' => InvalidArgumentException::class,
        'deadline_exceeded' => DeadlineExceededException::class,
        'not_found' => NotFoundException::class,
        'already_exists' => AlreadyExistsException::class,
        'permission_denied' => PermissionDeniedException::class,
        'resource_exhausted' => ResourceExhaustedException::class,
        'failed_precondition' => FailedPreconditionException::class,
        'aborted' => AbortedException::class,
        'out_of_range' => OutOfRangeException::class,
        'unimplemented' => UnimplementedException::class,
        'internal' => InternalException::class,
        'unavailable' => UnavailableException::class,
        'data_loss' => DataLossException::class,
        'unauthenticated' => UnauthenticatedException::class,
    ];

    /** Connect code → gRPC status number. */
    public const GRPC_CODES = [
        'canceled' => 1,
        'unknown' => 2,
        'invalid_argument' => 3,
        'deadline_exceeded' => 4,
        'not_found' => 5,
        'already_exists' => 6,
        'permission_denied' => 7,
        'resource_exhausted' => 8,
        'failed_precondition' => 9,
        'aborted' => 10,
        'out_of_range' => 11,
        'unimplemented' => 12,
        'internal' => 13,
        'unavailable' => 14,
        'data_loss' => 15,
        'unauthenticated' => 16,
    ];

    /** The Connect code every instance of this class carries; subclasses override it. */
    public const CONNECT_CODE = 'unknown';

    /**
     * @param string $procedure the RPC ("onlineconnect.v1.OrderService/GetOrder") or the HTTP path that failed
     * @param string $requestId the x-request-id the call was sent with: the gateway and agent log it
     * @param int $httpStatus the HTTP status of the answer; 0 if none arrived (network error, local timeout)
     * @param float|null $retryAfter seconds the gateway asked the caller to wait (Retry-After), if it said so
     * @param int $attempts how many times the call was sent (2 after the automatic retry of UNAVAILABLE)
     * @param list<array<string, mixed>> $details the error's details as the server sent them
     */
    public function __construct(
        string $message,
        public readonly string $procedure = '',
        public readonly string $requestId = '',
        public readonly int $httpStatus = 0,
        public readonly ?float $retryAfter = null,
        public readonly int $attempts = 1,
        public readonly array $details = [],
        ?\Throwable $previous = null,
    ) {
        parent::__construct($message, self::GRPC_CODES[static::CONNECT_CODE] ?? 2, $previous);
    }

    /** The Connect error code, e.g. "not_found". */
    public function connectCode(): string
    {
        return static::CONNECT_CODE;
    }

    /** True for the codes worth another try later (unavailable, resource_exhausted, deadline_exceeded). */
    public function isTransient(): bool
    {
        return in_array(static::CONNECT_CODE, ['unavailable', 'resource_exhausted', 'deadline_exceeded'], true);
    }

    /**
     * The exception for a Connect code; an unknown code gives UnknownException, as the protocol requires.
     *
     * @param list<array<string, mixed>> $details
     */
    public static function fromCode(
        string $code,
        string $message,
        string $procedure = '',
        string $requestId = '',
        int $httpStatus = 0,
        ?float $retryAfter = null,
        int $attempts = 1,
        array $details = [],
        ?\Throwable $previous = null,
    ): self {
        $class = self::CLASSES[$code] ?? UnknownException::class;
        if ($message === '') {
            $message = str_replace('_', ' ', $class::CONNECT_CODE);
        }
        return new $class($message, $procedure, $requestId, $httpStatus, $retryAfter, $attempts, $details, $previous);
    }

    /** The same error, reporting that the call was sent $attempts times. */
    public function withAttempts(int $attempts): self
    {
        return new static(
            $this->getMessage(),
            $this->procedure,
            $this->requestId,
            $this->httpStatus,
            $this->retryAfter,
            $attempts,
            $this->details,
            $this->getPrevious(),
        );
    }

    /** Whether $code is one of the sixteen Connect error codes. */
    public static function isKnownCode(string $code): bool
    {
        return isset(self::CLASSES[$code]);
    }
}
