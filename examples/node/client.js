// Online Connect shop client for Node.js: order and stock inquiry with deadlines, retries and status handling.
//
// The gateway speaks plain gRPC; this file loads the API contract from protos/ at run time
// (@grpc/proto-loader), so there is no generated code to keep in sync.
'use strict';

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = process.env.OC_PROTO_ROOT || path.join(__dirname, '..', '..', 'protos');

const definition = protoLoader.loadSync(
  ['onlineconnect/v1/orders.proto', 'onlineconnect/v1/stock.proto'],
  {
    includeDirs: [PROTO_ROOT],
    keepCase: true, // field names as in the .proto: customer_number, order_number
    longs: String, // int64 amounts in minor units arrive as strings: no precision loss
    enums: String, // enum values by name: "ORDER_STATUS_DELIVERED"
    defaults: true, // absent fields get their proto3 default, so templates need no checks
    oneofs: true,
  },
);
const v1 = grpc.loadPackageDefinition(definition).onlineconnect.v1;

// Codes worth one more try: the merchant's agent reconnects within seconds, and a busy tenant sheds load.
const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED]);

/**
 * Creates the two service clients.
 * @param {string} address host:port of the gateway
 * @param {string} apiKey the shop's API key
 * @param {{insecure?: boolean, caFile?: Buffer}} [options] insecure only for a loopback demo gateway
 */
function connect(address, apiKey, options = {}) {
  const creds = options.insecure
    ? grpc.credentials.createInsecure()
    : grpc.credentials.createSsl(options.caFile || null);
  const channelOptions = { 'grpc.keepalive_time_ms': 30000 };
  return {
    orders: new v1.OrderService(address, creds, channelOptions),
    stock: new v1.StockService(address, creds, channelOptions),
    apiKey,
  };
}

/**
 * Calls one unary RPC with a deadline, the API key and a request id; retries UNAVAILABLE once or twice.
 * @returns {Promise<object>} the response message as a plain object
 */
async function call(client, service, method, request, { timeoutMs = 3000, retries = 2, requestId } = {}) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await new Promise((resolve, reject) => {
        const md = new grpc.Metadata();
        md.set('authorization', `Bearer ${client.apiKey}`);
        if (requestId) md.set('x-request-id', requestId);
        const deadline = new Date(Date.now() + timeoutMs);
        client[service][method](request, md, { deadline }, (err, response) => (err ? reject(err) : resolve(response)));
      });
    } catch (err) {
      if (attempt >= retries || !RETRYABLE.has(err.code)) throw err;
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt + Math.random() * 100));
    }
  }
}

/** What the shop page should do for a failed call, by gRPC status code. */
function describeError(err) {
  switch (err.code) {
    case grpc.status.NOT_FOUND:
      return { httpStatus: 404, message: 'Order not found' }; // also: another customer's order
    case grpc.status.INVALID_ARGUMENT:
      return { httpStatus: 400, message: err.details };
    case grpc.status.UNAUTHENTICATED:
    case grpc.status.PERMISSION_DENIED:
      return { httpStatus: 500, message: 'shop misconfigured: check the API key', alert: true };
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
    case grpc.status.RESOURCE_EXHAUSTED:
      return { httpStatus: 503, message: 'Live order status is unavailable right now, please try again later' };
    default:
      return { httpStatus: 500, message: 'unexpected error', alert: true };
  }
}

module.exports = { connect, call, describeError, grpc, RETRYABLE };
