-- Rollback of migration 20251204123718_order_fulfillment (supabase/migrations/
-- 20251204123718_order_fulfillment_rollback.sql in the application's repository).
-- Written to be run again safely: every statement checks whether its work is still to do,
-- so the plan declares the step idempotent and a resumed run simply runs it once more.
DROP TABLE IF EXISTS fulfillments;
DROP INDEX IF EXISTS orders_status_idx;
ALTER TABLE orders DROP COLUMN IF EXISTS fulfillment_status;
CREATE INDEX IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);
DROP POLICY IF EXISTS orders_any_customer ON orders;
DROP POLICY IF EXISTS orders_customer ON orders;
CREATE POLICY orders_customer ON orders
  USING (customer_id = current_setting('app.customer_id', true)::bigint);
DELETE FROM schema_migrations WHERE version = '20251204123718_order_fulfillment';
