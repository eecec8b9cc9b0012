// The DynamoDB adapter's vocabulary (docs/adapters/dynamodb.md describes each action).
#include "adapters/dynamodb/dynamodb_adapter.h"

namespace backout::adapters {

const AdapterVocabulary& DynamoDbVocabulary() {
  static const AdapterVocabulary kVocabulary{
      .type = "dynamodb",
      .actions = {
          {.name = "baseline",
           .params = {{"tables", kArray, true}, {"page_size", kInteger}},
           .outputs = {{"tables", kObject}},
           .read_only = true,
           .idempotent = true},
          VerifyAction({{"page_size", kInteger}}),
          {.name = "export",
           .params = {{"tables", kArray, true},
                      {.name = "to", .type = kString, .required = true, .written_in_rehearsal_scratch = true},
                      {"page_size", kInteger}},
           .outputs = {{"files", kObject}, {"path", kString}},
           .idempotent = true},
          {.name = "import",
           .params = {{"table", kString, true}, {"from", kString, true}, {"sha256", kString}},
           .outputs = {{"table", kString},
                       {"items", kInteger},
                       {"path", kString},
                       {"bytes", kInteger},
                       {"sha256", kString}},
           .idempotent = true},
          {.name = "delete_table",
           .params = {{"tables", kArray, true}},
           .outputs = {{"deleted", kArray}, {"already_absent", kArray}},
           .idempotent = true},
          {.name = "update_billing",
           .params = {{"table", kString, true},
                      {"mode", kString, true},
                      {"read_capacity", kInteger},
                      {"write_capacity", kInteger}},
           .outputs = {{"table", kString},
                       {"mode", kString},
                       {"previous_mode", kString},
                       {"changed", kBoolean}},
           .idempotent = true},
      }};
  return kVocabulary;
}

}  // namespace backout::adapters
