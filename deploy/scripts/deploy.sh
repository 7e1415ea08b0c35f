#!/usr/bin/env bash
# deploy.sh ENVIRONMENT IMAGE_TAG
#
# Deploys Chirper to AWS in stack order, from a laptop or from CI, with the
# AWS CLI v2 and credentials of the deploy role:
#   network -> data -> migration (one-off ECS task) -> app -> edge.
# The images tagged IMAGE_TAG must be in ECR already (the ci stack's
# repositories). Needs CERTIFICATE_ARN (ACM, same region) and AWS_REGION.
# Optional: CFN_ROLE_ARN (the role CloudFormation acts with; default: the ci
# stack's chirper-cloudformation role).
#
# A failed ECS deployment trips the circuit breaker, ECS rolls the service
# back, CloudFormation rolls the stack back, and this script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/../.."

env_name=${1:?usage: deploy.sh ENVIRONMENT IMAGE_TAG}
tag=${2:?usage: deploy.sh ENVIRONMENT IMAGE_TAG}
: "${CERTIFICATE_ARN:?set CERTIFICATE_ARN to the ACM certificate of the API domain}"
: "${AWS_REGION:?set AWS_REGION}"
account=$(aws sts get-caller-identity --query Account --output text)
role=${CFN_ROLE_ARN:-arn:aws:iam::${account}:role/chirper-cloudformation}

stack() { # stack NAME [PARAMETER=VALUE ...]
  local name=$1; shift
  echo "deploy: ${env_name}-chirper-${name}" >&2
  aws cloudformation deploy \
    --stack-name "${env_name}-chirper-${name}" \
    --template-file "deploy/cloudformation/${name}.yaml" \
    --role-arn "$role" \
    --capabilities CAPABILITY_IAM \
    --no-fail-on-empty-changeset \
    --parameter-overrides EnvironmentName="$env_name" "$@"
}

# Tasks per service at least (the auto scaling minimum); override with
# USERS_MIN_TASKS and the like.
scaling=(
  UsersMinTasks="${USERS_MIN_TASKS:-2}" ListChirpsMinTasks="${LIST_CHIRPS_MIN_TASKS:-2}"
  GetChirpMinTasks="${GET_CHIRP_MIN_TASKS:-2}" CreateChirpMinTasks="${CREATE_CHIRP_MIN_TASKS:-2}"
  StreamMinTasks="${STREAM_MIN_TASKS:-2}"
)

stack network
stack data
if ! aws cloudformation describe-stacks --stack-name "${env_name}-chirper-app" >/dev/null 2>&1; then
  # First deploy: the services refuse to start on an empty schema, so the
  # app stack is made with no tasks, the migration runs, then they start.
  echo "deploy: first deploy of ${env_name}: the app stack starts with no tasks" >&2
  stack app ImageTag="$tag" CertificateArn="$CERTIFICATE_ARN" \
    UsersMinTasks=0 ListChirpsMinTasks=0 GetChirpMinTasks=0 CreateChirpMinTasks=0 StreamMinTasks=0
fi
deploy/scripts/migrate.sh "$env_name" "$tag"
stack app ImageTag="$tag" CertificateArn="$CERTIFICATE_ARN" "${scaling[@]}"
cluster="${env_name}-chirper"
aws ecs wait services-stable --cluster "$cluster" --services users list-chirps get-chirp create-chirp stream
for svc in users list-chirps get-chirp create-chirp stream; do
  state=$(aws ecs describe-services --cluster "$cluster" --services "$svc" \
    --query 'services[0].deployments[?status==`PRIMARY`].rolloutState | [0]' --output text)
  if [ "$state" != "COMPLETED" ]; then
    echo "deploy: $svc rollout is $state (rolled back?)" >&2
    exit 1
  fi
done
stack edge
echo "deploy: ${env_name} runs ${tag}" >&2
