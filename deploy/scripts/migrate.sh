#!/usr/bin/env bash
# migrate.sh ENVIRONMENT IMAGE_TAG
#
# Runs `standalone migrate` from the image IMAGE_TAG as a one-off Fargate
# task in the private subnets, before the services roll, and fails unless it
# exits 0. It registers a revision of the app stack's migration task
# definition with the new image (the stack's own revision still names the
# old one until the app stack is updated). deploy.sh creates the app stack
# (with no tasks) before the first migration.
set -euo pipefail
env_name=${1:?usage: migrate.sh ENVIRONMENT IMAGE_TAG}
tag=${2:?usage: migrate.sh ENVIRONMENT IMAGE_TAG}
family="${env_name}-chirper-migrate"
cluster="${env_name}-chirper"

current=$(aws ecs describe-task-definition --task-definition "$family" --query taskDefinition --output json)
image=$(printf '%s' "$current" | jq -r '.containerDefinitions[0].image | sub(":[^:]+$"; "")'):"$tag"
revision=$(printf '%s' "$current" | jq --arg image "$image" '
  .containerDefinitions[0].image = $image
  | {family, taskRoleArn, executionRoleArn, networkMode, containerDefinitions, requiresCompatibilities, cpu, memory}
  | with_entries(select(.value != null))' \
  | aws ecs register-task-definition --cli-input-json file:///dev/stdin --query taskDefinition.taskDefinitionArn --output text)

export_value() {
  aws cloudformation list-exports --query "Exports[?Name=='${env_name}-chirper-$1'].Value | [0]" --output text
}
subnets=$(export_value PrivateSubnets)
sg=$(export_value MigrationSecurityGroup)

task=$(aws ecs run-task --cluster "$cluster" --launch-type FARGATE --task-definition "$revision" \
  --network-configuration "awsvpcConfiguration={subnets=[${subnets}],securityGroups=[${sg}],assignPublicIp=DISABLED}" \
  --query 'tasks[0].taskArn' --output text)
echo "migrate: running $task ($image)" >&2
aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task"
code=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task" --query 'tasks[0].containers[0].exitCode' --output text)
if [ "$code" != "0" ]; then
  echo "migrate: the migration exited with $code; see the /chirper/${env_name}/migrate log group" >&2
  exit 1
fi
echo "migrate: the schema is up to date" >&2
