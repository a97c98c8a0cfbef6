#!/bin/sh
# Stand-in `pulumi` for the CLI tier's wiring run (the name `pulumi` on PATH is a link to this
# file): records each invocation and answers it from a plan, failing on any call the plan does not
# expect. It proves the tier's driver and the Automation API's calls only; nothing is deployed.
set -eu
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
root=$(CDPATH='' cd -- "$here/../../.." && pwd)
exec node --import "file://$root/node_modules/tsx/dist/loader.mjs" "$here/stub.ts" "$@"
