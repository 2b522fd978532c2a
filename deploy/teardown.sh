#!/usr/bin/env bash
# Removes a lanyard stack made by deploy/deploy.sh.
#
# usage: deploy/teardown.sh                 the stack goes; its data stays
#        deploy/teardown.sh --delete-data   and its data too, for good
#
# The stack's table (the registrations) and bucket (badges, the page) are
# kept when the stack is deleted, so removing the stack loses no attendee.
# With --delete-data (asked to confirm by typing the stack's name, unless
# LANYARD_TEARDOWN_CONFIRM holds it) the bucket is emptied of every version
# and deleted, the table's deletion protection is turned off and the table
# deleted, and the SSM parameters deploy.sh made are deleted.
#
# Settings (environment): LANYARD_STACK (default: lanyard),
# LANYARD_ADMIN_TOKEN_PARAMETER, LANYARD_ORIGIN_SECRET_PARAMETER (as for
# deploy.sh), and the AWS CLI's usual ones; the region is resolved as
# deploy.sh resolves it.
set -euo pipefail

STACK=${LANYARD_STACK:-lanyard}
PARAMETER=${LANYARD_ADMIN_TOKEN_PARAMETER:-/lanyard/admin-token}
ORIGIN_SECRET_PARAMETER=${LANYARD_ORIGIN_SECRET_PARAMETER:-/lanyard/origin-secret}
delete_data=0
case "${1:-}" in
    "") ;;
    --delete-data) delete_data=1 ;;
    *) echo "usage: deploy/teardown.sh [--delete-data]" >&2; exit 2 ;;
esac

command -v aws >/dev/null || { echo "teardown needs aws: install the AWS CLI v2" >&2; exit 1; }
command -v python3 >/dev/null || { echo "teardown needs python3" >&2; exit 1; }
REGION=${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null || true)}}
if [ -z "$REGION" ]; then
    echo "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a region in your AWS profile)" >&2
    exit 1
fi
echo "== region $REGION, stack $STACK"

output() {
    aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
if ! bucket=$(output BucketName) || ! table=$(output TableName) \
    || [ -z "$bucket" ] || [ "$bucket" = None ] || [ -z "$table" ] || [ "$table" = None ]; then
    echo "no stack $STACK in $REGION (or it has no table and bucket)" >&2
    exit 1
fi

# A table the stack was given (ExistingTableName) is not the stack's to delete.
given_table=$(aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK" \
    --query "Stacks[0].Parameters[?ParameterKey=='ExistingTableName'].ParameterValue" --output text)
case "$given_table" in None) given_table="" ;; esac

if [ "$delete_data" = 1 ]; then
    answer=${LANYARD_TEARDOWN_CONFIRM:-}
    if [ -z "$answer" ]; then
        read -r -p "This deletes every registration and badge of $STACK for good. Type the stack's name to go on: " answer
    fi
    if [ "$answer" != "$STACK" ]; then
        echo "not confirmed; nothing was deleted" >&2
        exit 1
    fi
fi

echo "== delete the stack"
aws cloudformation delete-stack --region "$REGION" --stack-name "$STACK"
aws cloudformation wait stack-delete-complete --region "$REGION" --stack-name "$STACK"

if [ "$delete_data" = 0 ]; then
    echo "kept: the table $table (registrations) and the bucket $bucket (badges)."
    echo "a new deploy makes new ones; to delete these for good: deploy/teardown.sh --delete-data before deleting the stack,"
    echo "or: aws dynamodb update-table --table-name $table --no-deletion-protection-enabled && aws dynamodb delete-table --table-name $table"
    exit 0
fi

echo "== empty and delete the bucket $bucket (every version)"
while :; do
    batch=$(aws s3api list-object-versions --region "$REGION" --bucket "$bucket" \
        --max-items 1000 --output json)
    # The versions and delete markers of this page, as delete-objects takes them.
    request=$(python3 -c '
import json, sys
page = json.loads(sys.stdin.read() or "{}")
objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
           for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
print(json.dumps({"Objects": objects, "Quiet": True}) if objects else "")
' <<<"$batch")
    [ -n "$request" ] || break
    aws s3api delete-objects --region "$REGION" --bucket "$bucket" --delete "$request" >/dev/null
done
aws s3api delete-bucket --region "$REGION" --bucket "$bucket"

if [ -n "$given_table" ]; then
    echo "kept: the table $table, which the stack was given (ExistingTableName) and did not make"
else
    echo "== delete the table $table"
    aws dynamodb update-table --region "$REGION" --table-name "$table" --no-deletion-protection-enabled >/dev/null
    aws dynamodb delete-table --region "$REGION" --table-name "$table" >/dev/null
    aws dynamodb wait table-not-exists --region "$REGION" --table-name "$table"
fi

echo "== delete the SSM parameters"
for name in "$PARAMETER" "$ORIGIN_SECRET_PARAMETER"; do
    aws ssm delete-parameter --region "$REGION" --name "$name" 2>/dev/null || true
done
if [ -n "$given_table" ]; then
    echo "deleted: $STACK and its bucket (not the table it was given)"
else
    echo "deleted: $STACK, its table and its bucket"
fi
