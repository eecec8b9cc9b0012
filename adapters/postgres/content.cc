#include "adapters/postgres/content.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "adapters/postgres/params.h"
#include "base/sha256.h"

namespace backout::adapters::postgres {
namespace {

using nlohmann::json;

// Type oids from pg_type.dat.
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

// A decimal integer of any length (a numeric sum) reduced modulo 2^64.
std::uint64_t DecimalModulo64(std::string_view text) {
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  std::uint64_t value = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') break;
    value = value * 10 + static_cast<std::uint64_t>(ch - '0');  // wraps modulo 2^64
  }
  return negative ? ~value + 1 : value;
}

std::string ArrayLiteral(const std::vector<std::string>& oids) {
  return fmt::format("{{{}}}", fmt::join(oids, ","));
}

std::vector<std::string> OidsOf(const std::vector<Table>& tables) {
  std::vector<std::string> oids;
  for (const Table& table : tables) oids.push_back(table.oid);
  return oids;
}

// Splits a Postgres text array of identifiers ("{a,\"b c\"}") as quote_ident made them.
std::vector<std::string> SplitNameArray(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false;
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    const char ch = text[i];
    if (ch == '"') {
      quoted = !quoted;
    } else if (ch == '\\' && i + 2 < text.size()) {
      current += text[++i];
    } else if (ch == ',' && !quoted) {
      out.push_back(std::move(current));
      current.clear();
    } else {
      current += ch;
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

// What a scan of `table` reads: the rows of this table, as COPY sees them (ONLY); a
// partitioned table has none of its own, so its partitions are read through it.
std::string RowsOf(const Table& table) {
  return table.kind == 'p' ? table.relation : fmt::format("ONLY {}", table.relation);
}

Table TableFromRow(const PGresult* result, int row, std::string name) {
  Table table;
  table.name = std::move(name);
  table.oid = *Value(result, row, 0);
  table.relation = *Value(result, row, 1);
  table.kind = Value(result, row, 2)->front();
  return table;
}

}  // namespace

Status BeginSnapshot(const ActionContext& context, std::string_view what) {
  return context
      .Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
            "SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres';"
            "SET LOCAL TimeZone = 'UTC'; SET LOCAL extra_float_digits = 1;"
            "SET LOCAL bytea_output = 'hex'",
            what)
      .status();
}

Result<std::optional<Table>> FindTable(const ActionContext& context, const std::string& name) {
  Result<PgResult> found = context.Query(
      "SELECT c.oid, c.oid::regclass::text, c.relkind FROM pg_class c "
      "WHERE c.oid = to_regclass($1)",
      {name}, fmt::format("looking up table '{}'", name));
  if (!found.ok()) return found.status();
  if (PQntuples(found->get()) == 0) return std::optional<Table>();
  return std::optional<Table>(TableFromRow(found->get(), 0, name));
}

Result<Table> RequireTable(const ActionContext& context, const std::string& name,
                           std::string_view what) {
  Result<std::optional<Table>> found = FindTable(context, name);
  if (!found.ok()) return found.status();
  if (!found->has_value() || ((*found)->kind != 'r' && (*found)->kind != 'p')) {
    return Status::NotFound(fmt::format("{}: table '{}' does not exist", what, name));
  }
  return **found;
}

Result<std::vector<Table>> TablesOfSchema(const ActionContext& context,
                                          const std::string& schema) {
  Result<PgResult> exists = context.Query(
      "SELECT 1 FROM pg_namespace WHERE nspname = $1", {schema}, "looking up the schema");
  if (!exists.ok()) return exists.status();
  if (PQntuples(exists->get()) == 0) {
    return Status::NotFound(fmt::format("schema '{}' does not exist", schema));
  }
  Result<PgResult> rows = context.Query(
      "SELECT c.oid, c.oid::regclass::text, c.relkind, c.relname FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
      "ORDER BY c.relname COLLATE \"C\"",
      {schema}, fmt::format("listing the tables of schema '{}'", schema));
  if (!rows.ok()) return rows.status();
  std::vector<Table> tables;
  for (int i = 0; i < PQntuples(rows->get()); ++i) {
    tables.push_back(TableFromRow(rows->get(), i, *Value(rows->get(), i, 3)));
  }
  return tables;
}

Result<RowHash> ChooseRowHash(const ActionContext& context, const Table& table) {
  if (PQserverVersion(context.conn.handle()) < 140000) return RowHash::kText;
  // Each column's type with its domains peeled off; a domain carries the type modifier of
  // its base type (numeric(10,2)), and at most one level of the chain sets one.
  Result<PgResult> allowed = context.Query(
      R"sql(
WITH RECURSIVE columns AS (
  SELECT a.attnum, a.atttypid AS typid, a.atttypmod AS typmod, a.attcollation AS collid
    FROM pg_attribute a
   WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT c.attnum, t.typbasetype, greatest(c.typmod, t.typtypmod), c.collid
    FROM columns c JOIN pg_type t ON t.oid = c.typid
   WHERE t.typtype = 'd'
)
SELECT coalesce(bool_and(
         (c.typid = ANY ('{bool,int2,int4,int8,oid,text,varchar,name,bytea,date,time,timestamp,
                           timestamptz,uuid,inet}'::regtype[])
          OR (c.typid = ANY ('{numeric,bpchar}'::regtype[]) AND c.typmod <> -1))
         AND (c.collid = 0 OR coalesce((SELECT l.collisdeterministic FROM pg_collation l
                                          WHERE l.oid = c.collid), false))), true)
  FROM columns c JOIN pg_type t ON t.oid = c.typid
 WHERE t.typtype <> 'd')sql",
      {table.oid}, fmt::format("checksum method of table '{}'", table.name));
  if (!allowed.ok()) return allowed.status();
  return *Value(allowed->get(), 0, 0) == "t" ? RowHash::kRecord : RowHash::kText;
}

Result<TableSummary> SummarizeTable(const ActionContext& context, const Table& table,
                                    common::ColumnOrder order) {
  Result<RowHash> row_hash = ChooseRowHash(context, table);
  if (!row_hash.ok()) return row_hash.status();
  std::string row = "t";
  if (order == common::ColumnOrder::kByName) {
    Result<PgResult> columns = context.Query(
        "SELECT coalesce(string_agg('t.' || quote_ident(a.attname), ', ' "
        "ORDER BY a.attname COLLATE \"C\"), '') FROM pg_attribute a "
        "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped",
        {table.oid}, fmt::format("columns of table '{}'", table.name));
    if (!columns.ok()) return columns.status();
    row = fmt::format("ROW({})", *Value(columns->get(), 0, 0));
  }
  Result<PgResult> sums = context.Exec(
      fmt::format("SELECT count(*), coalesce(sum({}), 0) FROM {} AS t",
                  *row_hash == RowHash::kRecord
                      ? fmt::format("hashtextextended(hash_record_extended({}, 0)::text, 0)", row)
                      : fmt::format("hashtextextended({}::text, 0)", row),
                  RowsOf(table)),
      fmt::format("checksum of table '{}'", table.name));
  if (!sums.ok()) return sums.status();
  TableSummary summary;
  summary.rows = std::strtoll(PQgetvalue(sums->get(), 0, 0), nullptr, 10);
  summary.checksum = fmt::format("{:016x}", DecimalModulo64(PQgetvalue(sums->get(), 0, 1)));
  return summary;
}

Result<std::int64_t> CountRows(const ActionContext& context, const Table& table) {
  Result<PgResult> count = context.Exec(fmt::format("SELECT count(*) FROM {}", RowsOf(table)),
                                        fmt::format("counting rows of table '{}'", table.name));
  if (!count.ok()) return count.status();
  return std::strtoll(PQgetvalue(count->get(), 0, 0), nullptr, 10);
}

Result<std::string> SchemaFingerprint(const ActionContext& context,
                                      const std::vector<Table>& tables,
                                      const std::vector<std::string>& missing,
                                      common::ColumnOrder order) {
  Result<PgResult> lines = context.Query(
      R"sql(
WITH rels AS (SELECT unnest($1::oid[]) AS oid),
lines AS (
  SELECT format('table %s rls=%s forced=%s', c.oid::regclass, c.relrowsecurity,
                c.relforcerowsecurity) AS line
    FROM pg_class c JOIN rels USING (oid)
  UNION ALL
  SELECT format('column %s %s%s %s not_null=%s default=%s identity=%s generated=%s',
                a.attrelid::regclass,
                CASE WHEN $2 THEN format('%s ', row_number() OVER (PARTITION BY a.attrelid
                                                                    ORDER BY a.attnum))
                     ELSE '' END,
                quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), a.attnotnull,
                coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity, a.attgenerated)
    FROM pg_attribute a JOIN rels r ON a.attrelid = r.oid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT format('constraint %s %s %s', k.conrelid::regclass, quote_ident(k.conname),
                pg_get_constraintdef(k.oid))
    FROM pg_constraint k JOIN rels r ON k.conrelid = r.oid
  UNION ALL
  SELECT format('index %s', pg_get_indexdef(i.indexrelid))
    FROM pg_index i JOIN rels r ON i.indrelid = r.oid
  UNION ALL
  SELECT format('policy %s %s permissive=%s cmd=%s roles=%s using=%s with_check=%s',
                p.polrelid::regclass, quote_ident(p.polname), p.polpermissive, p.polcmd,
                (SELECT string_agg(CASE WHEN role = 0 THEN 'public'
                                        ELSE quote_ident(pg_get_userbyid(role)) END,
                                   ',' ORDER BY 1)
                   FROM unnest(p.polroles) AS role),
                coalesce(pg_get_expr(p.polqual, p.polrelid), ''),
                coalesce(pg_get_expr(p.polwithcheck, p.polrelid), ''))
    FROM pg_policy p JOIN rels r ON p.polrelid = r.oid
  UNION ALL
  SELECT format('trigger %s', pg_get_triggerdef(t.oid))
    FROM pg_trigger t JOIN rels r ON t.tgrelid = r.oid
   WHERE NOT t.tgisinternal
)
SELECT line FROM lines ORDER BY line COLLATE "C")sql",
      {ArrayLiteral(OidsOf(tables)), order == common::ColumnOrder::kByPosition ? "true" : "false"},
      "schema fingerprint");
  if (!lines.ok()) return lines.status();
  std::vector<std::string> text;
  for (const std::string& name : missing) text.push_back("missing table " + name);
  for (int i = 0; i < PQntuples(lines->get()); ++i) text.push_back(*Value(lines->get(), i, 0));
  std::sort(text.begin(), text.end());
  return Sha256Hex(fmt::format("{}\n", fmt::join(text, "\n")));
}

Result<std::vector<ForeignKey>> ForeignKeysTouching(const ActionContext& context,
                                                    const std::vector<Table>& tables) {
  Result<PgResult> rows = context.Query(
      R"sql(
SELECT k.conname, k.conrelid::regclass::text, k.confrelid::regclass::text, k.conrelid,
       k.confrelid, k.convalidated,
       (SELECT array_agg(quote_ident(a.attname) ORDER BY x.n)
          FROM unnest(k.conkey) WITH ORDINALITY AS x(attnum, n)
          JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = x.attnum),
       (SELECT array_agg(quote_ident(a.attname) ORDER BY x.n)
          FROM unnest(k.confkey) WITH ORDINALITY AS x(attnum, n)
          JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = x.attnum)
  FROM pg_constraint k
 WHERE k.contype = 'f' AND (k.conrelid = ANY($1::oid[]) OR k.confrelid = ANY($1::oid[]))
   AND k.conparentid = 0
 ORDER BY k.conrelid::regclass::text, k.conname)sql",
      {ArrayLiteral(OidsOf(tables))}, "listing foreign keys");
  if (!rows.ok()) return rows.status();
  std::vector<ForeignKey> keys;
  const PGresult* r = rows->get();
  for (int i = 0; i < PQntuples(r); ++i) {
    ForeignKey key;
    key.name = *Value(r, i, 0);
    key.child = *Value(r, i, 1);
    key.parent = *Value(r, i, 2);
    key.child_oid = *Value(r, i, 3);
    key.parent_oid = *Value(r, i, 4);
    key.validated = *Value(r, i, 5) == "t";
    key.child_columns = SplitNameArray(Value(r, i, 6).value_or("{}"));
    key.parent_columns = SplitNameArray(Value(r, i, 7).value_or("{}"));
    keys.push_back(std::move(key));
  }
  return keys;
}

Result<std::int64_t> CountOrphans(const ActionContext& context, const ForeignKey& key) {
  std::vector<std::string> not_null;
  std::vector<std::string> join;
  for (std::size_t i = 0; i < key.child_columns.size() && i < key.parent_columns.size(); ++i) {
    not_null.push_back(fmt::format("c.{} IS NOT NULL", key.child_columns[i]));
    join.push_back(fmt::format("p.{} = c.{}", key.parent_columns[i], key.child_columns[i]));
  }
  Result<PgResult> count = context.Exec(
      fmt::format("SELECT count(*) FROM {} AS c WHERE {} AND NOT EXISTS "
                  "(SELECT 1 FROM {} AS p WHERE {})",
                  key.child, fmt::join(not_null, " AND "), key.parent, fmt::join(join, " AND ")),
      fmt::format("orphan rows of {}", key.name));
  if (!count.ok()) return count.status();
  return std::strtoll(PQgetvalue(count->get(), 0, 0), nullptr, 10);
}

Result<json> QueryFirstValue(const ActionContext& context, std::string_view sql,
                             std::string_view what) {
  Result<PgResult> result = context.Exec(sql, what);
  if (!result.ok()) return result.status();
  const PGresult* r = result->get();
  if (r == nullptr || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0 ||
      PQnfields(r) == 0 || PQgetisnull(r, 0, 0) != 0) {
    return json(nullptr);
  }
  const std::string text = *Value(r, 0, 0);
  switch (PQftype(r, 0)) {
    case kBoolOid:
      return json(text == "t");
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
      return json(std::strtoll(text.c_str(), nullptr, 10));
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid: {
      if (text.find_first_of(".eEN") == std::string::npos) {
        std::int64_t integer = 0;
        const auto [end, error] =
            std::from_chars(text.data(), text.data() + text.size(), integer);
        if (error == std::errc() && end == text.data() + text.size()) return json(integer);
      }
      const double number = std::strtod(text.c_str(), nullptr);
      if (std::isfinite(number)) return json(number);
      return json(text);
    }
    default:
      return json(text);
  }
}

}  // namespace backout::adapters::postgres
