// backup and restore.
//
// `full` and `schema_only` go through pg_dump's custom format (and pg_restore). `tables` use
// backout's own table-data file (backup_format.h), written from COPY ... TO STDOUT (FORMAT
// binary) and read back with COPY ... FROM STDIN (FORMAT binary): no compression and no SQL
// text, so both directions run at the speed the server copies rows (a restore also builds a
// table's indexes after its load rather than row by row, where that loses nothing).
//
// Both kinds of file are written as NAME.<random>.partial (mode 0600, created exclusively),
// fsynced, renamed, and the directory fsynced: a crash leaves either no file or the complete
// one.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>

#include "adapters/common/files.h"
#include "adapters/postgres/actions.h"
#include "adapters/postgres/backup_format.h"
#include "adapters/postgres/client_programs.h"
#include "adapters/postgres/content.h"
#include "base/file_util.h"
#include "base/sha256.h"

namespace backout::adapters::postgres {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kDumpMagic = "PGDMP";

// Whether the file at `path` begins with `magic` (false too when it cannot be read).
bool BeginsWith(const fs::path& path, std::string_view magic) {
  std::ifstream in(path, std::ios::binary);
  std::string head(magic.size(), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  return in.gcount() == static_cast<std::streamsize>(head.size()) && head == magic;
}

// Where the backup goes (common::BackupFilePath): a file named after the database when `to`
// is a directory.
Result<fs::path> BackupPath(const ActionContext& context, std::string_view extension) {
  return common::BackupFilePath(context.invocation, context.Param("to"),
                                PQdb(context.conn.handle()), extension);
}

void RemoveQuietly(const fs::path& path) {
  std::error_code ignored;  // nothing there is the usual case
  fs::remove(path, ignored);
}

// The columns COPY moves: every column but generated ones (COPY FROM cannot write those).
Result<json> CopyColumns(const ActionContext& context, const Table& table) {
  Result<PgResult> rows = context.Query(
      "SELECT quote_ident(attname), format_type(atttypid, atttypmod) FROM pg_attribute "
      "WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped AND attgenerated = '' "
      "ORDER BY attnum",
      {table.oid}, fmt::format("columns of table '{}'", table.name));
  if (!rows.ok()) return rows.status();
  json columns = json::array();
  for (int i = 0; i < PQntuples(rows->get()); ++i) {
    columns.push_back({{"name", *Value(rows->get(), i, 0)}, {"type", *Value(rows->get(), i, 1)}});
  }
  return columns;
}

std::string ColumnList(const json& columns) {
  std::vector<std::string> names;
  for (const json& column : columns) names.push_back(column.at("name").get<std::string>());
  return fmt::format("{}", fmt::join(names, ", "));
}

// `tables` reordered so that a table comes after every table of the list it refers to
// (COPY checks foreign keys per statement). Ties and cycles keep the plan's order.
Result<std::vector<Table>> ParentsFirst(const ActionContext& context,
                                        const std::vector<Table>& tables) {
  Result<std::vector<ForeignKey>> keys = ForeignKeysTouching(context, tables);
  if (!keys.ok()) return keys.status();
  std::set<std::string> placed;
  std::vector<Table> order;
  while (order.size() < tables.size()) {
    bool progress = false;
    for (const Table& table : tables) {
      if (placed.count(table.oid) > 0) continue;
      const bool waits = std::any_of(keys->begin(), keys->end(), [&](const ForeignKey& key) {
        return key.child_oid == table.oid && key.parent_oid != table.oid &&
               placed.count(key.parent_oid) == 0 &&
               std::any_of(tables.begin(), tables.end(),
                           [&](const Table& t) { return t.oid == key.parent_oid; });
      });
      if (waits) continue;
      order.push_back(table);
      placed.insert(table.oid);
      progress = true;
    }
    if (!progress) {  // a cycle: the rest in the plan's order
      for (const Table& table : tables) {
        if (placed.insert(table.oid).second) order.push_back(table);
      }
    }
  }
  return order;
}

Status WriteTablesFile(const ActionContext& context, const std::vector<Table>& tables,
                       common::StreamedFile& out, json* rows_out) {
  TablesFileHeader header;
  header.database = PQdb(context.conn.handle());
  header.server_version = PQserverVersion(context.conn.handle());
  header.created_micros = context.invocation.now_micros;
  for (const Table& table : tables) {
    Result<json> columns = CopyColumns(context, table);
    if (!columns.ok()) return columns.status();
    header.tables.push_back({table.name, table.relation, table.kind, std::move(columns).value()});
  }
  TablesFileWriter writer(out);
  BACKOUT_RETURN_IF_ERROR(writer.WriteHeader(header));
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const Table& table = tables[i];
    const json& columns = header.tables[i].columns;
    context.Progress(fmt::format("table {} ({}/{})", table.name, i + 1, tables.size()));
    BACKOUT_RETURN_IF_ERROR(writer.BeginTable(i));
    const std::string copy =
        table.kind == 'p'
            ? fmt::format("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT binary)",
                          ColumnList(columns), table.relation)
            : fmt::format("COPY {} ({}) TO STDOUT (FORMAT binary)", table.relation,
                          ColumnList(columns));
    Result<std::int64_t> rows = context.conn.CopyOut(
        copy, [&](std::string_view data) { return writer.AppendData(data); },
        fmt::format("backup: copying table '{}'", table.name), context.stop);
    if (!rows.ok()) return rows.status();
    BACKOUT_RETURN_IF_ERROR(writer.EndTable(static_cast<std::uint64_t>(*rows)));
    (*rows_out)[table.name] = {{"rows", *rows}};
  }
  return writer.Finish();
}

Result<json> BackupTables(const ActionContext& context) {
  Result<fs::path> final_path = BackupPath(context, ".pgtables");
  if (!final_path.ok()) return final_path.status();
  // One snapshot for all tables: the file holds the tables as they were at one moment.
  BACKOUT_RETURN_IF_ERROR(BeginSnapshot(context, "backup"));
  std::vector<Table> tables;
  for (const json& name : context.params.at("tables")) {
    Result<Table> table = RequireTable(context, name.get<std::string>(), "backup");
    if (!table.ok()) return table.status();
    tables.push_back(std::move(table).value());
  }
  Result<std::vector<Table>> ordered = ParentsFirst(context, tables);
  if (!ordered.ok()) return ordered.status();
  common::StreamedFile out(*final_path, ".partial");
  json rows = json::object();
  Status status = out.Open();
  if (status.ok()) status = WriteTablesFile(context, *ordered, out, &rows);
  if (status.ok()) status = context.Exec("COMMIT", "backup: COMMIT").status();
  Result<FileDigest> digest = status.ok() ? out.Commit() : status;
  if (!digest.ok()) return digest.status();
  return json{{"path", final_path->string()}, {"bytes", digest->bytes},
              {"sha256", digest->sha256_hex},  {"format", kTablesFileFormat},
              {"tables", std::move(rows)}};
}

std::string AppName(const ActionContext& context, std::string_view program) {
  return fmt::format("backout run {} {}", context.invocation.run_id, program);
}

ClientCall MakeCall(const ActionContext& context, std::string program,
                    std::vector<std::string> args) {
  ClientCall call;
  call.program = std::move(program);
  call.args = std::move(args);
  call.connection = *ConnInfo::Parse(context.dsn());  // validated before the action ran
  call.application_name = AppName(context, call.program);
  call.lock_timeout = context.lock_timeout;
  call.cancel = context.invocation.cancel;
  call.timeout = context.stop.Remaining().value_or(std::chrono::milliseconds(0));
  if (call.timeout.count() == 0 && context.stop.Remaining().has_value()) {
    call.timeout = std::chrono::milliseconds(1);  // the deadline has already passed
  }
  return call;
}

// pg_dump of the whole database (or its schema) in the custom format, from a snapshot this
// connection exports, so that the row counts reported are those of the dump.
Result<json> BackupWithPgDump(const ActionContext& context, bool schema_only) {
  Result<fs::path> final_path = BackupPath(context, ".dump");
  if (!final_path.ok()) return final_path.status();
  BACKOUT_RETURN_IF_ERROR(BeginSnapshot(context, "backup"));
  Result<PgResult> snapshot = context.Exec("SELECT pg_export_snapshot()", "backup");
  if (!snapshot.ok()) return snapshot.status();
  // Created here so that the dump (all the data of the database) is private from the start,
  // under a new unpredictable name that cannot be a planted link (CreateExclusiveFile).
  Result<ExclusiveFile> created = CreateExclusiveFile(*final_path, ".partial");
  if (!created.ok()) return created.status().WithContext("backup");
  const fs::path partial = created->path;
  created->fd.Reset();
  std::vector<std::string> args = {"--format=custom", "--file=" + partial.string(),
                                   "--snapshot=" + *Value(snapshot->get(), 0, 0)};
  if (schema_only) args.push_back("--schema-only");
  if (context.lock_timeout.has_value()) {
    args.push_back(fmt::format("--lock-wait-timeout={}", context.lock_timeout->count()));
  }
  context.Progress(schema_only ? "pg_dump --schema-only" : "pg_dump");
  Result<std::string> dumped = RunClientProgram(MakeCall(context, "pg_dump", std::move(args)));
  if (!dumped.ok()) {
    RemoveQuietly(partial);
    return dumped.status().WithContext("backup");
  }
  // Every user table, with its rows counted in the dump's snapshot.
  Result<PgResult> listed = context.Exec(
      "SELECT c.oid, c.oid::regclass::text, c.relkind FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
      "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
      "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' "
      "ORDER BY 2",
      "backup: listing tables");
  if (!listed.ok()) {
    RemoveQuietly(partial);
    return listed.status();
  }
  json tables = json::object();
  Status status;
  for (int i = 0; i < PQntuples(listed->get()) && status.ok(); ++i) {
    const std::string relation = *Value(listed->get(), i, 1);
    if (schema_only) {
      tables[relation] = json::object();
      continue;
    }
    Result<PgResult> count =
        context.Exec(fmt::format("SELECT count(*) FROM {}", relation), "backup: counting rows");
    if (!count.ok()) {
      status = count.status();
    } else {
      tables[relation] = {{"rows", std::strtoll(PQgetvalue(count->get(), 0, 0), nullptr, 10)}};
    }
  }
  if (status.ok()) status = context.Exec("COMMIT", "backup: COMMIT").status();
  if (status.ok()) status = SyncPath(partial);
  if (status.ok()) status = RenameDurably(partial, *final_path).WithContext("backup");
  if (!status.ok()) {
    RemoveQuietly(partial);
    return status;
  }
  Result<FileDigest> digest = Sha256File(*final_path);
  if (!digest.ok()) return digest.status();
  return json{{"path", final_path->string()},
              {"bytes", digest->bytes},
              {"sha256", digest->sha256_hex},
              {"format", schema_only ? "pg_dump-custom-schema-only" : "pg_dump-custom"},
              {"tables", std::move(tables)}};
}

Result<fs::path> ExistingBackup(const ActionContext& context) {
  const fs::path from = context.Resolve(context.Param("from"));
  std::error_code ignored;  // "cannot tell" is reported by the read that follows
  if (!fs::exists(from, ignored)) {
    return Status::NotFound(fmt::format("restore: backup file {} does not exist", from.string()));
  }
  return from;
}

Status CheckDigest(const ActionContext& context, const fs::path& from, const std::string& sha256) {
  return common::CheckRecordedDigest(
      context.params, fmt::format("restore: backup file {}", from.string()), sha256);
}

// Refuses a TRUNCATE that would empty tables the plan did not list, unless `cascade: true`.
Status CheckReferencingTables(const ActionContext& context, const std::vector<Table>& tables) {
  if (context.params.value("cascade", false)) return Status::Ok();
  Result<std::vector<ForeignKey>> keys = ForeignKeysTouching(context, tables);
  if (!keys.ok()) return keys.status();
  std::set<std::string> listed;
  for (const Table& table : tables) listed.insert(table.oid);
  for (const ForeignKey& key : *keys) {
    if (listed.count(key.parent_oid) > 0 && listed.count(key.child_oid) == 0) {
      return Status::FailedPrecondition(fmt::format(
          "restore: table {} refers to {} (foreign key {}) and is not in the list: TRUNCATE "
          "... CASCADE would empty it too. Add it to `tables` (from a backup that holds it), "
          "or set `cascade: true` to accept that it is emptied",
          key.child, key.parent, key.name));
    }
  }
  return Status::Ok();
}

// An index of a table being restored that is dropped before the table's COPY and built
// again after it, under the same name and with the same definition: one sort per index
// instead of an index insertion per row (on 4 M rows with a bigint primary key, COPY took
// 9.7 s with the key in place, 3.7 s without it plus 1.5 s to build it).
struct RebuiltIndex {
  std::string name;
  std::string drop;    // DROP INDEX, or ALTER TABLE ... DROP CONSTRAINT for the one owning it
  std::string create;  // pg_get_indexdef, or ALTER TABLE ... ADD CONSTRAINT name <definition>
};

// The indexes of `table` that can be dropped and built again with nothing lost. Left in place
// (maintained row by row): every index of a table the role does not own (DROP needs
// ownership, TRUNCATE does not), of a partitioned table or a partition, or of a table with
// INSERT triggers (they may read the table through its indexes); and any index that carries
// something its definition does not say or that something else refers to (see the query).
Result<std::vector<RebuiltIndex>> RebuildableIndexes(const ActionContext& context,
                                                     const Table& table) {
  Result<PgResult> rows = context.Query(
      R"sql(
SELECT ic.relname,
       CASE WHEN k.oid IS NULL THEN format('DROP INDEX %s', i.indexrelid::regclass)
            ELSE format('ALTER TABLE %s DROP CONSTRAINT %I', t.oid::regclass, k.conname) END,
       CASE WHEN k.oid IS NULL THEN pg_get_indexdef(i.indexrelid)
            ELSE format('ALTER TABLE %s ADD CONSTRAINT %I %s', t.oid::regclass, k.conname,
                        pg_get_constraintdef(k.oid)) END
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = t.oid
                           AND k.contype IN ('p', 'u', 'x')
 WHERE t.oid = $1::oid
   AND t.relkind = 'r' AND NOT t.relispartition AND pg_has_role(t.relowner, 'USAGE')
   AND NOT EXISTS (SELECT 1 FROM pg_trigger g  -- 4: TRIGGER_TYPE_INSERT
                    WHERE g.tgrelid = t.oid AND NOT g.tgisinternal AND (g.tgtype & 4) <> 0)
   -- state the definitions do not hold: validity, replica identity, CLUSTER, tablespace,
   -- per-column statistics targets, attachment to a partitioned index
   AND i.indisvalid AND i.indisready AND i.indislive
   AND NOT i.indisreplident AND NOT i.indisclustered AND ic.reltablespace = 0
   AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = i.indexrelid AND coalesce(a.attstattarget, -1) <> -1)
   AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
   AND NOT EXISTS (SELECT 1 FROM pg_description d
                    WHERE (d.classoid = 'pg_class'::regclass AND d.objoid = i.indexrelid)
                       OR (d.classoid = 'pg_constraint'::regclass AND d.objoid = k.oid))
   AND NOT EXISTS (SELECT 1 FROM pg_seclabel l
                    WHERE (l.classoid = 'pg_class'::regclass AND l.objoid = i.indexrelid)
                       OR (l.classoid = 'pg_constraint'::regclass AND l.objoid = k.oid))
   -- objects that depend on it (a foreign key referencing it, a view grouping by its primary
   -- key); internal dependents, such as a deferrable constraint's trigger, come back with it
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE ((d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indexrelid)
                        OR (d.refclassid = 'pg_constraint'::regclass AND d.refobjid = k.oid))
                      AND d.deptype <> 'i')
   -- membership of an extension, which the new index would not have
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE ((d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid)
                        OR (d.classid = 'pg_constraint'::regclass AND d.objid = k.oid))
                      AND d.deptype IN ('e', 'x'))
 ORDER BY ic.relname COLLATE "C")sql",
      {table.oid}, fmt::format("restore: the indexes of table '{}'", table.name));
  if (!rows.ok()) return rows.status();
  std::vector<RebuiltIndex> indexes;
  for (int i = 0; i < PQntuples(rows->get()); ++i) {
    indexes.push_back({*Value(rows->get(), i, 0), *Value(rows->get(), i, 1),
                       *Value(rows->get(), i, 2)});
  }
  return indexes;
}

// TRUNCATE'd `table` filled from the file's chunks: its rebuildable indexes dropped, the
// COPY, the indexes built again. Returns the rows copied.
Result<std::int64_t> LoadTable(const ActionContext& context, const Table& table,
                               const std::string& columns,
                               const std::function<Result<std::string_view>()>& next_chunk) {
  Result<std::vector<RebuiltIndex>> indexes = RebuildableIndexes(context, table);
  if (!indexes.ok()) return indexes.status();
  std::vector<std::string> drops;
  for (const RebuiltIndex& index : *indexes) drops.push_back(index.drop);
  if (!drops.empty()) {
    BACKOUT_RETURN_IF_ERROR(
        context
            .Exec(fmt::format("{}", fmt::join(drops, "; ")),
                  fmt::format("restore: dropping the indexes of table '{}'", table.name))
            .status());
  }
  context.Progress(fmt::format("table {}", table.name));
  // FREEZE: the rows are written already frozen (no later vacuum pass rewriting every page),
  // allowed because the table was truncated in this transaction. Not for partitioned tables.
  const std::string copy = fmt::format("COPY {} ({}) FROM STDIN (FORMAT binary{})",
                                       table.relation, columns,
                                       table.kind == 'r' ? ", FREEZE" : "");
  Result<std::int64_t> rows = context.conn.CopyIn(
      copy, next_chunk, fmt::format("restore: loading table '{}'", table.name), context.stop);
  if (!rows.ok()) return rows.status();
  for (const RebuiltIndex& index : *indexes) {
    context.Progress(fmt::format("table {}: index {}", table.name, index.name));
    BACKOUT_RETURN_IF_ERROR(
        context
            .Exec(index.create, fmt::format("restore: building index {} of table '{}'",
                                            index.name, table.name))
            .status());
  }
  return rows;
}

// The `tables` restore, in ONE transaction: the listed tables checked against the file (same
// columns) and against foreign keys from tables not listed; one TRUNCATE of them all; then
// per table, in file order (referenced tables first): its rebuildable indexes dropped, COPY
// ... FROM STDIN (FORMAT binary, FREEZE), those indexes built again (LoadTable); the row
// counts and the file's digest checked; COMMIT. A failure, cancel, deadline or crash anywhere
// rolls it all back, the dropped indexes with it: no session ever sees a table half loaded
// or without its indexes (the TRUNCATE's ACCESS EXCLUSIVE locks keep everyone out until then).
Result<json> RestoreTables(const ActionContext& context) {
  Result<fs::path> from = ExistingBackup(context);
  if (!from.ok()) return from.status();
  TablesFileReader in;
  BACKOUT_RETURN_IF_ERROR(in.Open(*from).WithContext("restore"));
  const std::vector<TablesFileTable>& file_tables = in.header().tables;
  // What to restore: the plan's tables, each found in the file and in the database.
  std::map<std::size_t, Table> wanted;  // by index in the file
  std::vector<Table> tables;
  BACKOUT_RETURN_IF_ERROR(context.Exec("BEGIN", "restore: BEGIN").status());
  for (const json& name_json : context.params.at("tables")) {
    const std::string name = name_json.get<std::string>();
    std::optional<std::size_t> index;
    for (std::size_t i = 0; i < file_tables.size(); ++i) {
      if (file_tables[i].name == name) index = i;
    }
    if (!index.has_value()) {
      std::vector<std::string> held;
      for (const TablesFileTable& t : file_tables) held.push_back(t.name);
      return Status::NotFound(fmt::format("restore: {} holds no table '{}' (it holds: {})",
                                          from->string(), name, fmt::join(held, ", ")));
    }
    Result<Table> table = RequireTable(context, name, "restore");
    if (!table.ok()) return table.status();
    Result<json> columns = CopyColumns(context, *table);
    if (!columns.ok()) return columns.status();
    if (*columns != file_tables[*index].columns) {
      return Status::FailedPrecondition(fmt::format(
          "restore: the columns of table '{}' are not those of the backup (now: {}; backup: "
          "{}); restore the schema first",
          name, columns->dump(), file_tables[*index].columns.dump()));
    }
    wanted[*index] = *table;
    tables.push_back(std::move(table).value());
  }
  BACKOUT_RETURN_IF_ERROR(CheckReferencingTables(context, tables));
  std::vector<std::string> relations;
  for (const Table& table : tables) relations.push_back(table.relation);
  context.Progress(fmt::format("TRUNCATE {}", fmt::join(relations, ", ")));
  BACKOUT_RETURN_IF_ERROR(context
                              .Exec(fmt::format("TRUNCATE {}{}", fmt::join(relations, ", "),
                                                context.params.value("cascade", false)
                                                    ? " CASCADE"
                                                    : ""),
                                    "restore: TRUNCATE")
                              .status());
  json restored = json::object();
  for (std::size_t section = 0; section < file_tables.size(); ++section) {
    Result<std::size_t> index = in.NextTable();
    if (!index.ok()) return index.status().WithContext("restore");
    const auto it = wanted.find(*index);
    if (it == wanted.end()) {  // a table the plan did not ask for: read past it
      BACKOUT_RETURN_IF_ERROR(in.SkipTable().WithContext("restore"));
      continue;
    }
    Result<std::int64_t> rows = LoadTable(
        context, it->second, ColumnList(file_tables[*index].columns),
        [&]() -> Result<std::string_view> {
          Result<std::string_view> chunk = in.NextChunk();
          if (!chunk.ok()) return chunk.status().WithContext("restore");
          return chunk;
        });
    if (!rows.ok()) return rows.status();
    if (static_cast<std::uint64_t>(*rows) != in.recorded_rows()) {
      return Status::Corruption(fmt::format(
          "restore: table '{}' received {} rows, the backup recorded {}; rolled back",
          it->second.name, *rows, in.recorded_rows()));
    }
    restored[it->second.name] = {{"rows", *rows}};
  }
  if (Status end = in.Finish(); !end.ok()) {
    return Status(end.code(), fmt::format("restore: {}; rolled back", end.message()));
  }
  const std::string sha256 = in.Sha256();
  BACKOUT_RETURN_IF_ERROR(CheckDigest(context, *from, sha256));
  BACKOUT_RETURN_IF_ERROR(context.Exec("COMMIT", "restore: COMMIT").status());
  return json{{"from", from->string()}, {"bytes", in.bytes()},        {"sha256", sha256},
              {"format", kTablesFileFormat}, {"tables", std::move(restored)}};
}

// The tables whose data an archive's table of contents (`pg_restore --list`) holds, as
// {"NAME": {}} ("SCHEMA.NAME" outside public): a full restore reports what it loaded, uncounted (pg_restore does not
// say how many rows). A TOC line reads "ID; OID OID TABLE DATA SCHEMA NAME OWNER".
json TablesWithData(const std::string& toc) {
  json tables = json::object();
  constexpr std::string_view kTableData = " TABLE DATA ";
  std::size_t line_start = 0;
  while (line_start < toc.size()) {
    std::size_t line_end = toc.find('\n', line_start);
    if (line_end == std::string::npos) line_end = toc.size();
    const std::string_view line = std::string_view(toc).substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    if (line.empty() || line.front() == ';') continue;  // a comment
    const std::size_t at = line.find(kTableData);
    if (at == std::string_view::npos) continue;
    std::istringstream words{std::string(line.substr(at + kTableData.size()))};
    std::string schema, name;
    // Named as a full backup names them (regclass text: public tables unqualified).
    if (words >> schema >> name) {
      tables[schema == "public" ? name : schema + "." + name] = json::object();
    }
  }
  return tables;
}

// pg_restore of a custom-format dump into the target, in one transaction.
Result<json> RestoreFull(const ActionContext& context) {
  Result<fs::path> from = ExistingBackup(context);
  if (!from.ok()) return from.status();
  Result<FileDigest> digest = Sha256File(*from);
  if (!digest.ok()) return digest.status();
  BACKOUT_RETURN_IF_ERROR(CheckDigest(context, *from, digest->sha256_hex));
  if (!BeginsWith(*from, kDumpMagic)) {
    return Status::InvalidArgument(fmt::format(
        "restore: {} is not a pg_dump custom-format archive (made by a backup step with "
        "`full: true`)",
        from->string()));
  }
  // A schema-only archive restored with --clean would drop every table it names and
  // create it again empty: refuse it.
  ClientCall list = MakeCall(context, "pg_restore", {"--list", from->string()});
  list.output_capacity = 64u << 20;
  Result<std::string> toc = RunClientProgram(list);
  if (!toc.ok()) return toc.status().WithContext("restore");
  if (toc->find(" TABLE DATA ") == std::string::npos) {
    return Status::FailedPrecondition(fmt::format(
        "restore: {} holds no table data (a schema-only backup?); restoring it with --clean "
        "would drop every table it names and recreate it empty",
        from->string()));
  }
  context.Progress("pg_restore --clean --single-transaction");
  Result<std::string> restored = RunClientProgram(MakeCall(
      context, "pg_restore",
      {"--clean", "--if-exists", "--single-transaction", "--exit-on-error", from->string()}));
  if (!restored.ok()) return restored.status().WithContext("restore");
  return json{{"from", from->string()},
              {"bytes", digest->bytes},
              {"sha256", digest->sha256_hex},
              {"format", "pg_dump-custom"},
              {"tables", TablesWithData(*toc)}};
}

}  // namespace

Result<json> RunBackup(const ActionContext& context) {
  if (context.params.contains("tables")) return BackupTables(context);
  return BackupWithPgDump(context, context.params.contains("schema_only"));
}

Result<json> RunRestore(const ActionContext& context) {
  if (context.params.contains("tables")) return RestoreTables(context);
  return RestoreFull(context);
}

}  // namespace backout::adapters::postgres
