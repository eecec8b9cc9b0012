#!/usr/bin/env bash
# Fails when a module includes one it must not (design section 1): the include direction is
# what lets each part be tested alone. Run by ctest as `layering`.
set -euo pipefail
cd "$(dirname "$0")/.."

# module: the project folders it must not include
rules=(
  "base:journal plan statemachine history capture engine adapters preview cli"
  "journal:plan statemachine history capture engine adapters preview cli"
  "plan:journal statemachine history capture engine adapters preview cli"
  "statemachine:journal history capture engine adapters preview cli"
  "history:engine adapters preview cli report capture"
  "capture:engine adapters preview cli report"
  "report:engine adapters preview cli"
  "adapters:journal plan statemachine history capture engine preview cli"
  "engine:preview cli"
  "preview:journal history report cli"
  "scenarios:journal history engine adapters preview report cli"
  "testing:journal plan statemachine engine preview cli tests"
  "catalog:engine adapters preview cli report"
)
status=0
for rule in "${rules[@]}"; do
  module=${rule%%:*}
  for forbidden in ${rule#*:}; do
    if hits=$(grep -rnE "#include \"$forbidden/" "$module" --include='*.h' --include='*.cc'); then
      echo "layering: $module/ must not include $forbidden/:"
      echo "$hits"
      status=1
    fi
  done
done
[ $status -eq 0 ] && echo "layering: ok (${#rules[@]} modules checked)"
exit $status
