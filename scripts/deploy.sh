#!/bin/bash
# npm run deploy -- <stack> [pulumi up flags...]
# Runs `pulumi up` for one stack. Uses a local file backend unless PULUMI_BACKEND_URL is set (no
# account needed), starts the local sandbox host first for the dev stack, and explains how to
# install the Pulumi CLI when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

stack="${1:-}"
if [ -z "$stack" ]; then
    echo "usage: npm run deploy -- <stack> [pulumi up flags]   (stacks: $(find stacks -name 'Pulumi.*.yaml' | sed 's|stacks/Pulumi\.||; s|\.yaml$||' | sort | tr '\n' ' '))" >&2
    exit 2
fi
shift
if [ ! -f "stacks/Pulumi.$stack.yaml" ]; then
    echo "deploy: no stack file stacks/Pulumi.$stack.yaml" >&2
    exit 2
fi

if ! command -v pulumi >/dev/null 2>&1; then
    cat >&2 <<'MSG'
deploy: the Pulumi CLI is not installed (no `pulumi` on PATH).
Install it, then run this command again:
  curl -fsSL https://get.pulumi.com | sh        # or: brew install pulumi/tap/pulumi
  export PATH="$HOME/.pulumi/bin:$PATH"
The plugins this program needs (command, docker, random) are installed by `pulumi up` itself.
MSG
    exit 1
fi

# Pulumi.yaml's config schema (defaults, `type: object`) follows the CLI's rules as of 3.213.0.
min_version=3.213.0
version=$(pulumi version 2>/dev/null | sed -n '1s/^v//p')
if [ -z "$version" ] || [ "$(printf '%s\n%s\n' "$min_version" "$version" | sort -V | head -n 1)" != "$min_version" ]; then
    echo "deploy: the Pulumi CLI ${version:-(version unknown)} is too old: this project needs $min_version or later (its Pulumi.yaml config schema follows that release's rules). Upgrade: curl -fsSL https://get.pulumi.com | sh" >&2
    exit 1
fi

# Local file backend by default: state lives in .pulumi-state/ next to the project.
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
    mkdir -p .pulumi-state
    export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
fi
if [ "$stack" = "dev" ]; then
    # The dev stack's secrets (none by default) are encrypted with this documented passphrase.
    export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-replicated-dev}"
    npm run --silent sandbox -- start
fi
if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    echo "deploy: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) for stack $stack's secrets" >&2
    exit 1
fi

pulumi stack select --create "$stack" >/dev/null
pulumi up --stack "$stack" "$@"
