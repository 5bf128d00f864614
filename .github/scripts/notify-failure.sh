#!/usr/bin/env bash
# The deploy workflow's last step when a step failed: tells the Slack channel of the stack's
# do-swarm:alerts (its webhook URL read from the secret config key alerts.slack.urlKey names),
# so the team hears of it where it looks. Without a Slack destination it says so and does
# nothing more: GitHub already mails the run's failure to whoever pushed.
# The webhook URL is masked in the log and reaches curl on stdin, never in an argument list.
# Usage: notify-failure.sh STACK RUN_URL    (needs the Pulumi CLI, logged in, and curl)
set -euo pipefail

[ "$#" -eq 2 ] || { echo "usage: notify-failure.sh STACK RUN_URL" >&2; exit 2; }
stack=$1
run_url=$2

# --path reads inside the structured value (the Pulumi CLI's documented form); unset: empty.
key=$(pulumi config get --path alerts.slack.urlKey --stack "$stack" 2>/dev/null || true)
if [ -z "$key" ]; then
  echo "notify-failure: stack $stack has no do-swarm:alerts.slack: nothing to notify (GitHub mails the failure)"
  exit 0
fi
url=$(pulumi config get "$key" --stack "$stack")
echo "::add-mask::$url"
text="do-swarm: the deploy of stack $stack failed: $run_url"
body=$(TEXT="$text" node -e 'process.stdout.write(JSON.stringify({ text: process.env.TEXT }))')
# curl's config on stdin: the URL stays out of argv (ps) and of the log.
if printf 'url = "%s"\n' "$url" | curl -sS --fail --max-time 20 -K - -H 'Content-Type: application/json' --data "$body" >/dev/null; then
  echo "notify-failure: told the Slack channel of stack $stack"
else
  echo "notify-failure: the Slack webhook refused the message (the run has failed anyway)" >&2
  exit 1
fi
