#!/usr/bin/env bash
# Builds the seed-003 database (the one ${DATABASE_URL} names) right after the bad
# migration 20251204123718_order_fulfillment, with ROWS orders (default 20000), and resets
# the stand-in kubectl (3 replicas of deployment/app, no recorded calls). Every call starts
# from scratch: the example's tables are dropped first, so use a database of its own.
#
#   customers, orders, order_items   an online shop; foreign keys from items to orders to
#                                    customers, RLS policies so a customer sees their own rows
#   schema_migrations                the applied migrations
#
# With SKIP_MIGRATION=1 it stops before the migration: the healthy state the rollback aims
# for, and what the tests compare with.
set -euo pipefail
dir=${1:?usage: generate.sh DIR [ROWS]}
rows=${2:-20000}
: "${DATABASE_URL:?set DATABASE_URL to the database to build (it is emptied first)}"
customers=$(( rows / 20 > 10 ? rows / 20 : 10 ))

printf 'replicas=3\n' > "$dir/kubectl.state"
: > "$dir/kubectl.calls"
rm -rf "$dir/backups"

psql() { command psql -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" "$@"; }

psql <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS fulfillments, order_items, orders, customers, schema_migrations CASCADE;

CREATE TABLE customers (
  id bigint PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text NOT NULL);
CREATE TABLE orders (
  id bigint PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers(id),
  placed_at timestamptz NOT NULL,
  total_cents bigint NOT NULL CHECK (total_cents >= 0));
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE TABLE order_items (
  order_id bigint NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
  line integer NOT NULL,
  sku text NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, line));
CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL);

ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY customers_self ON customers
  USING (id = current_setting('app.customer_id', true)::bigint);
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY orders_customer ON orders
  USING (customer_id = current_setting('app.customer_id', true)::bigint);
ALTER TABLE order_items ENABLE ROW LEVEL SECURITY;
CREATE POLICY order_items_customer ON order_items
  USING (EXISTS (SELECT 1 FROM orders o WHERE o.id = order_items.order_id
                 AND o.customer_id = current_setting('app.customer_id', true)::bigint));

INSERT INTO customers SELECT i, 'customer' || i || '@example.com', 'Customer ' || i
  FROM generate_series(1, $customers) i;
INSERT INTO orders SELECT i, 1 + i % $customers,
  '2025-11-01 00:00:00+00'::timestamptz + i * interval '37 seconds', 100 + (i * 7919) % 50000
  FROM generate_series(1, $rows) i;
INSERT INTO order_items SELECT o, l, 'SKU-' || ((o * 31 + l) % 997), 1 + (o + l) % 4
  FROM generate_series(1, $rows) o, generate_series(1, 2) l;
INSERT INTO schema_migrations VALUES ('20251101090000_initial', '2025-11-01 09:00:00+00');
SQL

if [ "${SKIP_MIGRATION:-0}" = 1 ]; then
  echo "generated the pre-migration state: $rows orders (migration not applied)"
  exit 0
fi

# The bad migration: a fulfillment table and status column the new release needed, an index
# swapped for one the queries do not use, and a policy "simplified" to let every customer
# read every order.
psql <<'SQL'
BEGIN;
CREATE TABLE fulfillments (
  order_id bigint PRIMARY KEY REFERENCES orders(id),
  carrier text NOT NULL,
  shipped_at timestamptz);
INSERT INTO fulfillments SELECT id, 'pending-carrier', NULL FROM orders WHERE id % 5 = 0;
ALTER TABLE orders ADD COLUMN fulfillment_status text NOT NULL DEFAULT 'pending'
  CHECK (fulfillment_status IN ('pending', 'shipped', 'delivered'));
DROP INDEX orders_customer_id_idx;
CREATE INDEX orders_status_idx ON orders (fulfillment_status);
DROP POLICY orders_customer ON orders;
CREATE POLICY orders_any_customer ON orders USING (current_setting('app.customer_id', true) IS NOT NULL);
INSERT INTO schema_migrations VALUES ('20251204123718_order_fulfillment', '2025-12-04 12:37:18+00');
COMMIT;
SQL
echo "generated the post-migration state: $rows orders, $customers customers"
