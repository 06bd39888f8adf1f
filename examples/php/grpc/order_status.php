<?php
// THE gRPC VARIANT — for shops that already run the grpc PECL extension. Most PHP shops should use the JSON door
// with the plain-PHP client in clients/php instead (see ../public/ and docs/shop-integration.md). This file is not
// run by the test suite: the build machines have no PHP gRPC extension.
//
// Order inquiry from a PHP shop (OXID, Magento, Shopware …) with the grpc PECL extension.
//
// Setup (once):
//   pecl install grpc protobuf                  # and enable both in php.ini
//   composer require grpc/grpc google/protobuf
//   protoc -I protos --php_out=gen --grpc_out=gen \
//          --plugin=protoc-gen-grpc=$(which grpc_php_plugin) protos/onlineconnect/v1/*.proto
//   composer.json: "autoload": {"psr-4": {"OnlineConnect\\V1\\": "gen/OnlineConnect/V1/", "GPBMetadata\\": "gen/GPBMetadata/"}}
//
// Run: OC_GATEWAY=relay.example.com:443 OC_API_KEY=... php order_status.php 4711 091782005
declare(strict_types=1);

require __DIR__ . '/vendor/autoload.php';   // composer, with the generated code (see Setup)

use Grpc\ChannelCredentials;
use OnlineConnect\V1\GetOrderRequest;
use OnlineConnect\V1\OrderServiceClient;

const RETRYABLE = [\Grpc\STATUS_UNAVAILABLE, \Grpc\STATUS_RESOURCE_EXHAUSTED];

function order_client(string $address): OrderServiceClient
{
    $insecure = getenv('OC_INSECURE') === '1';   // loopback demo gateway only
    return new OrderServiceClient($address, [
        'credentials' => $insecure ? ChannelCredentials::createInsecure() : ChannelCredentials::createSsl(),
    ]);
}

/** Returns [httpStatus, payload]. */
function get_order(OrderServiceClient $client, string $apiKey, string $customer, string $order): array
{
    $request = (new GetOrderRequest())->setCustomerNumber($customer)->setOrderNumber($order);
    $metadata = ['authorization' => ["Bearer $apiKey"], 'x-request-id' => [bin2hex(random_bytes(8))]];
    for ($attempt = 0; ; $attempt++) {
        // The deadline is in microseconds: 3 s, so a slow ERP never hangs the page.
        [$response, $status] = $client->GetOrder($request, $metadata, ['timeout' => 3_000_000])->wait();
        if ($status->code === \Grpc\STATUS_OK) {
            return [200, json_decode($response->serializeToJsonString(), true)];
        }
        if (in_array($status->code, RETRYABLE, true) && $attempt < 2) {
            usleep((200 << $attempt) * 1000 + random_int(0, 100_000));
            continue;
        }
        switch ($status->code) {
            case \Grpc\STATUS_NOT_FOUND:
                return [404, ['message' => 'Order not found']];   // also another customer's order
            case \Grpc\STATUS_INVALID_ARGUMENT:
                return [400, ['message' => $status->details]];
            case \Grpc\STATUS_UNAVAILABLE:
            case \Grpc\STATUS_DEADLINE_EXCEEDED:
            case \Grpc\STATUS_RESOURCE_EXHAUSTED:
                return [503, ['message' => 'Live order status is unavailable right now, please try again later']];
            default:                                              // UNAUTHENTICATED, PERMISSION_DENIED: check the key
                error_log("onlineconnect: {$status->code} {$status->details}");
                return [500, ['message' => 'unexpected error']];
        }
    }
}

[$http, $payload] = get_order(
    order_client(getenv('OC_GATEWAY') ?: '127.0.0.1:50051'),
    getenv('OC_API_KEY') ?: 'demo-shop-key',
    $argv[1] ?? '4711',
    $argv[2] ?? '091782005',
);
http_response_code($http);
echo json_encode($payload, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE), "\n";
