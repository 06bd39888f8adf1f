<?php

declare(strict_types=1);

namespace OnlineConnect\Client;

use OnlineConnect\Client\Enum\Language;
use OnlineConnect\Client\Enum\OrderFilter;
use OnlineConnect\Client\Exception\DeadlineExceededException;
use OnlineConnect\Client\Exception\InternalException;
use OnlineConnect\Client\Exception\OnlineConnectException;
use OnlineConnect\Client\Exception\UnavailableException;
use OnlineConnect\Client\Internal\EnvelopeReader;
use OnlineConnect\Client\Internal\Http;
use OnlineConnect\Client\Internal\Json;
use OnlineConnect\Client\Internal\PdfWriter;
use OnlineConnect\Client\Internal\Response;
use OnlineConnect\Client\Internal\TransportException;
use OnlineConnect\Client\Model\BatchStoreStockResult;
use OnlineConnect\Client\Model\InvoicePdf;
use OnlineConnect\Client\Model\Location;
use OnlineConnect\Client\Model\Order;
use OnlineConnect\Client\Model\OrderList;
use OnlineConnect\Client\Model\OrderSummary;
use OnlineConnect\Client\Model\ReorderItems;
use OnlineConnect\Client\Model\StoreStockResult;

/**
 * The Online Connect API over HTTP/JSON (the Connect protocol): order history, order detail, invoice PDFs,
 * reorder, guest order lookup and branch-store stock, live from the merchant's ERP.
 *
 *     $client = new OnlineConnectClient('https://relay.example.com', getenv('OC_API_KEY'));
 *     try {
 *         $order = $client->getOrder($session->customerNumber, $orderNumber);
 *     } catch (NotFoundException) {
 *         // 404: unknown order, or another customer's
 *     } catch (UnavailableException | DeadlineExceededException | ResourceExhaustedException) {
 *         // 503: the ERP cannot answer right now; show what the shop already knows
 *     }
 *
 * Create one client per PHP process (or per request under php-fpm) and make every call through it: it keeps one
 * connection open. Every call is a read, has a time budget (the client's $timeout unless CallOptions says
 * otherwise) and is retried once, within that budget, when it fails with UNAVAILABLE — except lookupGuestOrder(),
 * whose every attempt counts against guessing limits (see there). Failures throw one OnlineConnectException subclass
 * per Connect error code (see Exception/).
 */
final class OnlineConnectClient
{
    public const VERSION = '0.1.0';

    private const ORDERS = 'onlineconnect.v1.OrderService/';
    private const STOCK = 'onlineconnect.v1.StockService/';

    /** Extra time curl waits beyond the budget, so the gateway's own deadline_exceeded answer can arrive. */
    private const GRACE = 0.25;

    private readonly string $baseUrl;

    private readonly Http $http;

    private string $lastRequestId = '';

    /**
     * @param string $baseUrl the gateway's HTTP address, "https://relay.example.com" (demo: "http://127.0.0.1:8081");
     *     plain http only to a loopback address unless $insecure is set
     * @param string $apiKey the shop's API key; keep it on the server, never in the browser
     * @param float $timeout default time budget of a call in seconds, the retry included (2-5 s for a page)
     * @param float $invoiceTimeout default time budget of an invoice download in seconds
     * @param float $connectTimeout at most this many seconds to open the connection
     * @param string|null $caFile PEM file of the CA that signed the gateway's certificate (a private CA)
     * @param bool $verifyTls false turns off certificate checks: for a test set-up only
     * @param string $userAgent prepended to this client's own User-Agent ("myshop/2.3")
     * @param bool $retryUnavailable retry a call once when it fails with UNAVAILABLE
     * @param float $retryBackoff seconds to wait before that retry (±50 % jitter)
     * @param bool $insecure allow plain http to a non-loopback address (the API key travels unencrypted)
     */
    public function __construct(
        string $baseUrl,
        #[\SensitiveParameter] private readonly string $apiKey,
        private readonly float $timeout = 3.0,
        private readonly float $invoiceTimeout = 30.0,
        float $connectTimeout = 2.0,
        ?string $caFile = null,
        bool $verifyTls = true,
        string $userAgent = '',
        private readonly bool $retryUnavailable = true,
        private readonly float $retryBackoff = 0.2,
        bool $insecure = false,
    ) {
        $parts = parse_url($baseUrl);
        $scheme = strtolower((string) ($parts['scheme'] ?? ''));
        $host = trim(strtolower((string) ($parts['host'] ?? '')), '[]');
        if (!in_array($scheme, ['http', 'https'], true) || $host === '') {
            throw new \InvalidArgumentException("baseUrl must be an http(s) URL, got '$baseUrl'");
        }
        $loopback = $host === 'localhost' || $host === '::1' || str_starts_with($host, '127.');
        if ($scheme === 'http' && !$loopback && !$insecure) {
            throw new \InvalidArgumentException(
                'plain http sends the API key unencrypted: use https, or set insecure: true for a test set-up',
            );
        }
        if ($apiKey === '') {
            throw new \InvalidArgumentException('apiKey is empty');
        }
        if (!($timeout > 0) || !($invoiceTimeout > 0) || !($connectTimeout > 0)) {
            throw new \InvalidArgumentException('timeouts must be positive numbers of seconds');
        }
        $this->baseUrl = rtrim($baseUrl, '/');
        $curlVersion = curl_version();
        $agent = trim(sprintf(
            '%s onlineconnect-php/%s PHP/%s curl/%s',
            $userAgent,
            self::VERSION,
            PHP_VERSION,
            is_array($curlVersion) ? $curlVersion['version'] : '?',
        ));
        $options = [
            CURLOPT_CONNECTTIMEOUT_MS => (int) ceil($connectTimeout * 1000),
            CURLOPT_USERAGENT => $agent,
            CURLOPT_SSL_VERIFYPEER => $verifyTls,
            CURLOPT_SSL_VERIFYHOST => $verifyTls ? 2 : 0,
        ];
        if ($caFile !== null) {
            $options[CURLOPT_CAINFO] = $caFile;
        }
        $this->http = new Http($options);
    }

    /**
     * One page of the customer's orders from every channel, newest first (ListOrders).
     *
     * @param string $customerNumber the signed-in customer's number, from the shop's session
     * @param int $pageSize 1-100 entries; 0 for the default of 20
     * @param string $pageToken nextPageToken of the previous page; '' for the first
     * @param string $fromDate only orders placed on or after this ISO date ("2014-01-01")
     * @param string $toDate only orders placed on or before this ISO date
     */
    public function listOrders(
        string $customerNumber,
        int $pageSize = 0,
        string $pageToken = '',
        OrderFilter $filter = OrderFilter::UNSPECIFIED,
        string $fromDate = '',
        string $toDate = '',
        Language $language = Language::UNSPECIFIED,
        ?CallOptions $options = null,
    ): OrderList {
        $json = $this->unary(self::ORDERS . 'ListOrders', self::message([
            'customerNumber' => $customerNumber,
            'pageSize' => $pageSize,
            'pageToken' => $pageToken,
            'filter' => $filter,
            'fromDate' => $fromDate,
            'toDate' => $toDate,
            'language' => $language,
        ]), $options);
        return $this->read(self::ORDERS . 'ListOrders', fn () => OrderList::fromJson($json));
    }

    /**
     * Every order of the customer, page after page (one ListOrders call per page, each with its own budget).
     *
     * @return \Generator<int, OrderSummary>
     */
    public function allOrders(
        string $customerNumber,
        OrderFilter $filter = OrderFilter::UNSPECIFIED,
        Language $language = Language::UNSPECIFIED,
        int $pageSize = 100,
        ?CallOptions $options = null,
    ): \Generator {
        $token = '';
        do {
            $page = $this->listOrders($customerNumber, $pageSize, $token, $filter, '', '', $language, $options);
            yield from $page->orders;
            $token = $page->nextPageToken;
        } while ($token !== '');
    }

    /** One order with lines, parcels, invoices, returns and history (GetOrder). */
    public function getOrder(
        string $customerNumber,
        string $orderNumber,
        Language $language = Language::UNSPECIFIED,
        ?CallOptions $options = null,
    ): Order {
        $json = $this->unary(self::ORDERS . 'GetOrder', self::message([
            'customerNumber' => $customerNumber,
            'orderNumber' => $orderNumber,
            'language' => $language,
        ]), $options);
        return $this->read(self::ORDERS . 'GetOrder', fn () => Order::fromJson(Json::obj($json, 'order') ?? []));
    }

    /**
     * Order status for a customer without a shop account, "Bestellung verfolgen" (LookupGuestOrder): the order
     * number from the confirmation letter or invoice and the postcode of the invoice or delivery address answer a
     * reduced view of that one order — status, dates, lines with their delivery state, parcels with tracking links,
     * expected delivery dates, history. No prices (summary total, line prices and the totals are null), no
     * documents, no returns, no reorder data; groups the merchant hides are empty too.
     *
     *     try {
     *         $order = $client->lookupGuestOrder($_POST['order'], $_POST['postcode'], $_SERVER['REMOTE_ADDR']);
     *     } catch (NotFoundException) {
     *         // "No order found for these details": never say which field was wrong
     *     } catch (ResourceExhaustedException $e) {
     *         // too many attempts: "please try again later" ($e->retryAfter seconds)
     *     }
     *
     * A wrong pair throws NotFoundException exactly like an unknown order number. Every attempt counts against the
     * gateway's guessing limits (failures per order number, calls per customer IP and per shop; beyond them
     * NotFoundException for a locked order number or ResourceExhaustedException), so this call is never retried on
     * an answer — not on NOT_FOUND, not on an UNAVAILABLE the gateway sends. The one retry, when $retryUnavailable is
     * on, is for a gateway that could not be reached at all (host not resolved, connection refused): that request
     * never left this machine.
     *
     * @param string $orderNumber the order number as the customer typed it ("091782005")
     * @param string $postcode as typed; the agent ignores spaces and case ("68 766" = "68766")
     * @param string $customerIp the IP address of the customer's browser (REMOTE_ADDR, or the client address your
     *     reverse proxy reports), sent as x-customer-ip for the per-IP limit; never your server's own address
     * @param string $lastName optional; when given it must match too (case and umlauts folded: "Müller" = "MUELLER")
     * @param string $email optional; when given and the ERP has one, it must match too
     * @throws \InvalidArgumentException if $customerIp is not an IPv4 or IPv6 address (nothing is sent)
     */
    public function lookupGuestOrder(
        string $orderNumber,
        #[\SensitiveParameter] string $postcode,
        string $customerIp,
        #[\SensitiveParameter] string $lastName = '',
        #[\SensitiveParameter] string $email = '',
        Language $language = Language::UNSPECIFIED,
        ?CallOptions $options = null,
    ): Order {
        if (filter_var($customerIp, FILTER_VALIDATE_IP) === false) {
            throw new \InvalidArgumentException("customerIp must be an IPv4 or IPv6 address, got '$customerIp'");
        }
        $procedure = self::ORDERS . 'LookupGuestOrder';
        $json = $this->unary(
            $procedure,
            self::message([
                'orderNumber' => $orderNumber,
                'postcode' => $postcode,
                'lastName' => $lastName,
                'email' => $email,
                'language' => $language,
            ]),
            $options,
            ['X-Customer-Ip: ' . $customerIp],
            static fn (OnlineConnectException $e): bool => $e->getPrevious() instanceof TransportException
                && $e->getPrevious()->neverSent(),
        );
        return $this->read($procedure, fn () => Order::fromJson(Json::obj($json, 'order') ?? []));
    }

    /**
     * The lines of an order that can go back into the cart, with current article data (GetReorderItems).
     *
     * @param list<int> $lineNumbers the lines to reorder; [] for every reorderable line
     */
    public function getReorderItems(
        string $customerNumber,
        string $orderNumber,
        array $lineNumbers = [],
        Language $language = Language::UNSPECIFIED,
        ?CallOptions $options = null,
    ): ReorderItems {
        $json = $this->unary(self::ORDERS . 'GetReorderItems', self::message([
            'customerNumber' => $customerNumber,
            'orderNumber' => $orderNumber,
            'lineNumbers' => array_map(static fn (int $n): int => $n, array_values($lineNumbers)),
            'language' => $language,
        ]), $options);
        return $this->read(self::ORDERS . 'GetReorderItems', fn () => ReorderItems::fromJson($json));
    }

    /**
     * Stock of one article variant in every branch store, nearest first when a location is given (GetStoreStock).
     *
     * @param float $radiusKm only stores within this distance (needs a location); 0 for no limit
     * @param int $maxStores at most this many stores; 0 for all
     * @param bool $onlyAvailable leave out stores where the variant is out of stock
     */
    public function getStoreStock(
        string $sku,
        ?Location $location = null,
        float $radiusKm = 0.0,
        int $maxStores = 0,
        bool $onlyAvailable = false,
        ?CallOptions $options = null,
    ): StoreStockResult {
        $json = $this->unary(self::STOCK . 'GetStoreStock', self::message([
            'sku' => $sku,
            'location' => $location?->toJson(),
            'radiusKm' => $radiusKm,
            'maxStores' => $maxStores,
            'onlyAvailable' => $onlyAvailable,
        ]), $options);
        return $this->read(self::STOCK . 'GetStoreStock', fn () => StoreStockResult::fromJson($json));
    }

    /**
     * Stock of up to 100 variants in one round trip (BatchGetStoreStock). An unknown SKU gets an entry with code 5
     * (NOT_FOUND) and does not fail the others.
     *
     * @param list<string> $skus
     */
    public function batchGetStoreStock(
        array $skus,
        ?Location $location = null,
        float $radiusKm = 0.0,
        int $maxStores = 0,
        bool $onlyAvailable = false,
        ?CallOptions $options = null,
    ): BatchStoreStockResult {
        $json = $this->unary(self::STOCK . 'BatchGetStoreStock', self::message([
            'skus' => array_map(static fn (string $s): string => $s, array_values($skus)),
            'location' => $location?->toJson(),
            'radiusKm' => $radiusKm,
            'maxStores' => $maxStores,
            'onlyAvailable' => $onlyAvailable,
        ]), $options);
        return $this->read(self::STOCK . 'BatchGetStoreStock', fn () => BatchStoreStockResult::fromJson($json));
    }

    /**
     * Streams an invoice or credit note PDF from the ERP's archive into $sink (GetInvoicePdf, a server stream),
     * chunk by chunk as it arrives, and checks its size and SHA-256 at the end.
     *
     * To pass it straight to the browser, send the headers in $onStart, which runs once before the first byte:
     *
     *     $client->getInvoicePdf($customer, $order, $documentId, fopen('php://output', 'wb'),
     *         function (InvoicePdf $pdf): void {
     *             header('Content-Type: application/pdf');
     *             header('Content-Disposition: attachment; filename="' . $pdf->fileName . '"');
     *         });
     *
     * Only documents with pdfAvailable = true in getOrder() can be fetched. The call is retried on UNAVAILABLE
     * only while nothing has been written yet. If it fails after the first byte, the sink holds part of the file:
     * use a php://temp sink when that matters.
     *
     * @param resource $sink a writable stream
     * @param (callable(InvoicePdf): void)|null $onStart receives the file's metadata before the first byte
     * @throws Exception\DataLossException if size or SHA-256 do not match what the stream announced
     */
    public function getInvoicePdf(
        string $customerNumber,
        string $orderNumber,
        string $documentId,
        mixed $sink,
        ?callable $onStart = null,
        ?CallOptions $options = null,
    ): InvoicePdf {
        $procedure = self::ORDERS . 'GetInvoicePdf';
        $pdf = new PdfWriter($sink, $onStart);
        $request = EnvelopeReader::envelope(Json::encode(self::message([
            'customerNumber' => $customerNumber,
            'orderNumber' => $orderNumber,
            'documentId' => $documentId,
        ])));
        $requestId = $this->requestId($options);
        $attempt = function (float $budget) use ($procedure, $request, $requestId, $pdf): InvoicePdf {
            $reader = new EnvelopeReader();
            $end = null;
            $onBody = function (string $data, Response $r) use ($procedure, $requestId, $reader, $pdf, &$end): void {
                if ($r->mediaType() !== 'application/connect+json') {
                    throw $this->unexpectedType($procedure, $requestId, $r);
                }
                foreach ($reader->push($data) as [$flags, $payload]) {
                    if ($end !== null || ($flags & EnvelopeReader::FLAG_COMPRESSED) !== 0) {
                        $what = $end !== null ? 'a message after the end of the stream' : 'a compressed message';
                        throw $this->protocolError($procedure, $requestId, $r, $what);
                    }
                    $message = Json::decodeObject($payload);
                    if (($flags & EnvelopeReader::FLAG_END_STREAM) !== 0) {
                        $end = $message;
                        continue;
                    }
                    if (!$pdf->started()) {
                        $pdf->start(new InvoicePdf(
                            Json::str($message, 'fileName'),
                            Json::str($message, 'contentType'),
                            Json::int($message, 'size'),
                            strtolower(Json::str($message, 'sha256')),
                            0,
                        ));
                    }
                    $pdf->write(Json::bytes($message, 'data'));
                }
            };
            $headers = ['Content-Type: application/connect+json', 'Connect-Accept-Encoding: identity'];
            $url = $this->baseUrl . '/' . $procedure;
            $r = $this->send('POST', $url, $headers, $request, $budget, $requestId, $procedure, $onBody);
            if ($r->status !== 200) {
                throw $this->errorFromResponse($procedure, $requestId, $r);
            }
            if ($end === null || $reader->hasPartial()) {
                throw $this->protocolError($procedure, $requestId, $r, 'the stream ended without its end message');
            }
            $error = Json::obj($end, 'error');
            if ($error !== null) {
                $metadata = Json::obj($end, 'metadata') ?? [];
                $trailer = static fn (string $name): string => (string) ($metadata[$name][0] ?? '');
                throw $this->connectError($procedure, $requestId, 200, $error, self::retryAfterFrom($trailer));
            }
            if (!$pdf->started()) {
                throw $this->protocolError($procedure, $requestId, $r, 'the stream carried no PDF');
            }
            return $pdf->finish($procedure, $requestId);
        };
        $budget = $options?->timeout ?? $this->invoiceTimeout;
        return $this->withRetry($procedure, $requestId, $budget, $attempt, static fn (): bool => !$pdf->started());
    }

    /**
     * Downloads an invoice or credit note PDF into $sink through the gateway's plain download route
     * (GET /v1/customers/{customer}/orders/{order}/invoices/{document}.pdf): no stream framing, the file name
     * from Content-Disposition. Same contract as getInvoicePdf(); the returned sha256 is the one computed here.
     *
     * @param resource $sink a writable stream
     * @param (callable(InvoicePdf): void)|null $onStart receives the file's metadata before the first byte
     */
    public function downloadInvoicePdf(
        string $customerNumber,
        string $orderNumber,
        string $documentId,
        mixed $sink,
        ?callable $onStart = null,
        ?CallOptions $options = null,
    ): InvoicePdf {
        $pdf = new PdfWriter($sink, $onStart);
        $path = sprintf(
            '/v1/customers/%s/orders/%s/invoices/%s.pdf',
            rawurlencode($customerNumber),
            rawurlencode($orderNumber),
            rawurlencode($documentId),
        );
        $requestId = $this->requestId($options);
        $attempt = function (float $budget) use ($path, $requestId, $pdf): InvoicePdf {
            $onBody = function (string $data, Response $r) use ($path, $requestId, $pdf): void {
                if (!$pdf->started()) {
                    if ($r->mediaType() !== 'application/pdf') {
                        throw $this->unexpectedType($path, $requestId, $r);
                    }
                    $name = self::fileNameFrom($r->header('content-disposition'));
                    $pdf->start(new InvoicePdf($name, 'application/pdf', (int) $r->header('content-length'), '', 0));
                }
                $pdf->write($data);
            };
            $headers = ['Accept: application/pdf'];
            $r = $this->send('GET', $this->baseUrl . $path, $headers, null, $budget, $requestId, $path, $onBody);
            if ($r->status !== 200) {
                throw $this->errorFromResponse($path, $requestId, $r);
            }
            if (!$pdf->started()) {
                throw $this->protocolError($path, $requestId, $r, 'the answer carried no PDF');
            }
            // Content-Length counts the bytes on the wire: compare only if they were not compressed.
            return $pdf->finish($path, $requestId, checkSize: $r->header('content-encoding') === '');
        };
        $budget = $options?->timeout ?? $this->invoiceTimeout;
        return $this->withRetry($path, $requestId, $budget, $attempt, static fn (): bool => !$pdf->started());
    }

    /** The x-request-id of the last call (also on every exception as $requestId): log it with your page's log line. */
    public function lastRequestId(): string
    {
        return $this->lastRequestId;
    }

    /** New connections this client opened so far: 1 after any number of calls while the connection stays up. */
    public function connectionsOpened(): int
    {
        return $this->http->connectionsOpened();
    }

    /** HTTP requests this client sent so far, retries included. */
    public function requestsSent(): int
    {
        return $this->http->exchanges();
    }

    /** The local TCP port of the last call's connection: the same port from call to call means one connection. */
    public function localPort(): int
    {
        return $this->http->localPort();
    }

    // ---------------------------------------------------------------------------------------------------------

    /**
     * A unary Connect call with a JSON body; returns the answer's JSON object.
     *
     * @param array<string, mixed> $message
     * @param list<string> $extraHeaders "Name: value" lines sent with this call
     * @param (callable(OnlineConnectException): bool)|null $mayRetry whether an UNAVAILABLE failure may be retried;
     *     null: always
     * @return array<string, mixed>
     */
    private function unary(
        string $procedure,
        array $message,
        ?CallOptions $options,
        array $extraHeaders = [],
        ?callable $mayRetry = null,
    ): array
    {
        $requestId = $this->requestId($options);
        $body = Json::encode($message);
        return $this->withRetry(
            $procedure,
            $requestId,
            $options?->timeout ?? $this->timeout,
            function (float $budget) use ($procedure, $requestId, $body, $extraHeaders): array {
                $url = $this->baseUrl . '/' . $procedure;
                $headers = ['Content-Type: application/json', ...$extraHeaders];
                $r = $this->send('POST', $url, $headers, $body, $budget, $requestId, $procedure);
                if ($r->status !== 200) {
                    throw $this->errorFromResponse($procedure, $requestId, $r);
                }
                if ($r->mediaType() !== 'application/json') {
                    $type = $r->header('content-type');
                    throw $this->protocolError($procedure, $requestId, $r, "unexpected content type '$type'");
                }
                try {
                    return Json::decodeObject($r->body);
                } catch (\UnexpectedValueException $e) {
                    throw $this->protocolError($procedure, $requestId, $r, $e->getMessage());
                }
            },
            $mayRetry ?? static fn (): bool => true,
        );
    }

    /**
     * Runs $attempt with the call's remaining budget; on UNAVAILABLE waits a little and runs it once more, if
     * retries are on, $mayRetry($e) agrees and enough of the budget is left.
     *
     * @template T
     * @param callable(float): T $attempt
     * @param callable(OnlineConnectException): bool $mayRetry
     * @return T
     */
    private function withRetry(
        string $procedure,
        string $requestId,
        float $budget,
        callable $attempt,
        callable $mayRetry,
    ): mixed
    {
        $this->lastRequestId = $requestId;
        $deadline = hrtime(true) / 1e9 + $budget;
        for ($n = 1; ; $n++) {
            try {
                return $attempt(max(0.001, $deadline - hrtime(true) / 1e9));
            } catch (OnlineConnectException $e) {
                $pause = $this->retryBackoff * (0.5 + mt_rand() / mt_getrandmax());
                $left = $deadline - hrtime(true) / 1e9;
                $retry = $e instanceof UnavailableException && $this->retryUnavailable && $n === 1 && $mayRetry($e)
                    && $left - $pause > 0.05;
                if (!$retry) {
                    throw $n === 1 ? $e : $e->withAttempts($n);
                }
                usleep((int) ($pause * 1e6));
            } catch (\UnexpectedValueException $e) {
                $what = "$procedure: unreadable answer: {$e->getMessage()}";
                throw new InternalException($what, $procedure, $requestId, 200, null, $n, [], $e);
            }
        }
    }

    /**
     * One HTTP exchange with the headers every call carries; curl failures become UNAVAILABLE or DEADLINE_EXCEEDED.
     *
     * @param list<string> $headers
     * @param (callable(string, Response): void)|null $onBody
     */
    private function send(
        string $method,
        string $url,
        array $headers,
        ?string $body,
        float $budget,
        string $requestId,
        string $procedure,
        ?callable $onBody = null,
    ): Response {
        $headers[] = 'Authorization: Bearer ' . $this->apiKey;
        $headers[] = 'X-Request-Id: ' . $requestId;
        $headers[] = 'Connect-Protocol-Version: 1';
        $headers[] = 'Connect-Timeout-Ms: ' . max(1, (int) floor($budget * 1000));
        try {
            return $this->http->exchange($method, $url, $headers, $body, $budget + self::GRACE, $onBody);
        } catch (TransportException $e) {
            if ($e->timedOut()) {
                throw new DeadlineExceededException(
                    sprintf('%s: no answer within %.3f s', $procedure, $budget),
                    $procedure,
                    $requestId,
                    0,
                    previous: $e,
                );
            }
            throw new UnavailableException("$procedure: {$e->getMessage()}", $procedure, $requestId, 0, previous: $e);
        }
    }

    /** The exception for a non-200 answer: the Connect error in the body, else the code the HTTP status implies. */
    private function errorFromResponse(string $procedure, string $requestId, Response $r): OnlineConnectException
    {
        $retryAfter = self::retryAfterFrom(fn (string $name): string => $r->header($name));
        if ($r->mediaType() === 'application/json' && $r->body !== '') {
            try {
                $error = Json::decodeObject($r->body);
                if (is_string($error['code'] ?? null) && OnlineConnectException::isKnownCode($error['code'])) {
                    return $this->connectError($procedure, $requestId, $r->status, $error, $retryAfter);
                }
            } catch (\UnexpectedValueException) {
                // not a Connect error: fall through to the HTTP status
            }
        }
        $code = match ($r->status) {
            400 => 'internal',
            401 => 'unauthenticated',
            403 => 'permission_denied',
            404 => 'unimplemented',
            429, 502, 503, 504 => 'unavailable',
            default => 'unknown',
        };
        return OnlineConnectException::fromCode(
            $code,
            sprintf('%s: HTTP %d without a Connect error', $procedure, $r->status),
            $procedure,
            $requestId,
            $r->status,
            $retryAfter,
        );
    }

    /** @param array<string, mixed> $error a Connect Error object: code, message, details */
    private function connectError(
        string $procedure,
        string $requestId,
        int $status,
        array $error,
        ?float $retryAfter,
    ): OnlineConnectException
    {
        $details = is_array($error['details'] ?? null) ? array_values(array_filter($error['details'], 'is_array')) : [];
        return OnlineConnectException::fromCode(
            is_string($error['code'] ?? null) ? $error['code'] : 'unknown',
            is_string($error['message'] ?? null) ? $error['message'] : '',
            $procedure,
            $requestId,
            $status,
            $retryAfter,
            1,
            $details,
        );
    }

    private function protocolError(string $procedure, string $requestId, Response $r, string $what): InternalException
    {
        return new InternalException("$procedure: protocol error: $what", $procedure, $requestId, $r->status);
    }

    private function unexpectedType(string $procedure, string $requestId, Response $r): InternalException
    {
        $type = $r->header('content-type');
        return $this->protocolError($procedure, $requestId, $r, "unexpected content type '$type'");
    }

    /**
     * Runs a model constructor; a malformed answer becomes an InternalException.
     *
     * @template T
     * @param callable(): T $build
     * @return T
     */
    private function read(string $procedure, callable $build): mixed
    {
        try {
            return $build();
        } catch (\UnexpectedValueException | \ValueError | \TypeError $e) {
            $what = "$procedure: unreadable answer: {$e->getMessage()}";
            throw new InternalException($what, $procedure, $this->lastRequestId, 200, previous: $e);
        }
    }

    private function requestId(?CallOptions $options): string
    {
        return $options?->requestId ?? 'php-' . bin2hex(random_bytes(8));
    }

    /**
     * Retry-After in seconds (delta-seconds or an HTTP date), or the gateway's retry-after-ms; null if neither.
     *
     * @param callable(string): string $header
     */
    private static function retryAfterFrom(callable $header): ?float
    {
        $ms = $header('retry-after-ms');
        if ($ms !== '' && ctype_digit($ms)) {
            return (int) $ms / 1000;
        }
        $value = trim($header('retry-after'));
        if ($value === '') {
            return null;
        }
        if (ctype_digit($value)) {
            return (float) $value;
        }
        $at = strtotime($value);
        return $at === false ? null : (float) max(0, $at - time());
    }

    /** The file name of a Content-Disposition header (filename*=UTF-8''… preferred), without any path. */
    private static function fileNameFrom(string $disposition): string
    {
        if (preg_match("/filename\\*\\s*=\\s*UTF-8''([^;]+)/i", $disposition, $m) === 1) {
            $name = rawurldecode(trim($m[1]));
        } elseif (preg_match('/filename\s*=\s*"((?:[^"\\\\]|\\\\.)*)"/i', $disposition, $m) === 1) {
            $name = stripcslashes($m[1]);
        } elseif (preg_match('/filename\s*=\s*([^;\s]+)/i', $disposition, $m) === 1) {
            $name = $m[1];
        } else {
            return '';
        }
        return basename(str_replace('\\', '/', $name));
    }

    /**
     * A request message without the fields that hold their default value; enums as their names.
     *
     * @param array<string, mixed> $fields
     * @return array<string, mixed>
     */
    private static function message(array $fields): array
    {
        $out = [];
        foreach ($fields as $name => $value) {
            if ($value instanceof \BackedEnum) {
                $value = $value === $value::cases()[0] ? null : $value->value;  // UNSPECIFIED is the default
            }
            if (in_array($value, [null, '', 0, 0.0, false, []], true)) {
                continue;
            }
            $out[$name] = $value;
        }
        return $out;
    }
}
