// DynamoDB target adapter: baseline, verify, export, import, delete_table, update_billing
// over DynamoDB's JSON API (AWS or any compatible endpoint). Credentials come from
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN in the process environment,
// read when a step runs; never from the plan, and never into outputs or messages.
// See docs/adapters/dynamodb.md for every parameter.
#pragma once

#include <memory>

#include "adapters/adapter.h"

namespace backout::adapters {

std::unique_ptr<Adapter> MakeDynamoDbAdapter();

// What the adapter offers (vocabulary.cc beside this header).
const AdapterVocabulary& DynamoDbVocabulary();

// The action written out for `backout plan` (adapter.h: Describe; describe.cc).
nlohmann::json DescribeDynamoDbAction(const DescribeRequest& request);

}  // namespace backout::adapters
