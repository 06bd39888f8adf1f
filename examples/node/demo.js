// Order and stock inquiry against a running gateway; prints one JSON object per call on stdout.
//
//   OC_GATEWAY=127.0.0.1:50051 OC_API_KEY=demo-shop-key OC_INSECURE=1 node demo.js
'use strict';

const { connect, call, describeError } = require('./client');

async function main() {
  const address = process.env.OC_GATEWAY || '127.0.0.1:50051';
  const client = connect(address, process.env.OC_API_KEY || 'demo-shop-key', {
    insecure: process.env.OC_INSECURE === '1',
  });
  const results = [];

  const order = await call(client, 'orders', 'GetOrder', { customer_number: '4711', order_number: '091782005' }, {
    requestId: 'node-demo-1',
  });
  const s = order.order.summary;
  results.push({ rpc: 'GetOrder', order_number: s.order_number, status: s.status_label, lines: order.order.lines.length });

  const stock = await call(client, 'stock', 'GetStoreStock', {
    sku: '851888-XS-KI',
    location: { postcode: '68766', country: 'DE' },
  });
  results.push({ rpc: 'GetStoreStock', first_store: stock.stores.length ? stock.stores[0].store.name : null });

  try {
    await call(client, 'orders', 'GetOrder', { customer_number: '4712', order_number: '091782005' });
    results.push({ rpc: 'GetOrder', unexpected: 'answered' });
  } catch (err) {
    results.push({ rpc: 'GetOrder', code: err.code, ...describeError(err) });
  }

  for (const r of results) console.log(JSON.stringify(r));
  client.orders.close();
  client.stock.close();
}

main().catch((err) => {
  console.error(`demo failed: ${err.code !== undefined ? `code ${err.code}: ${err.details}` : err.stack}`);
  process.exit(1);
});
