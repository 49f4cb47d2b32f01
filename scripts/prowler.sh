#!/usr/bin/env bash
# Prowler's checks of the production hardening (issue 19) against one environment (docs/security.md).
#   scripts/prowler.sh [ENV]      ENV: local (default: the emulator of make demo), dev, prod
# local: the moto server at AWS_ENDPOINT_URL, else 127.0.0.1:$MOTO_PORT (5055), with moto's
# dummy credentials; dev/prod: AWS with the shell's credentials. One region: the inventory's
# aws_region (CloudFront is global and read from us-east-1 whatever the region).
# Prints PASS/FAIL per check and resource; exits 1 when a check fails or finds nothing to check
# (a feature that is missing), 0 when every check passes. Findings: reports/prowler-<env>-<UTC>/.
# Prowler lives in its own venv (.cache/prowler-venv, scripts/prowler-requirements.txt), never in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
env_name=${1:-${ENV:-local}}
if [[ ! -f inventories/$env_name/hosts.yml ]]; then
  echo "prowler: no inventory inventories/$env_name (try local, dev or prod)" >&2
  exit 2
fi
CHECKS=(
  cloudfront_distributions_using_waf        # WAF on CloudFront
  cloudfront_distributions_logging_enabled  # CloudFront access logs
  elbv2_logging_enabled                     # ALB access logs
  s3_bucket_server_access_logging_enabled   # S3 server access logs
  vpc_flow_logs_enabled                     # VPC flow logs
  cloudtrail_multi_region_enabled           # the audit trail, every region
  cloudtrail_log_file_validation_enabled    # its log file validation
  rds_instance_transport_encrypted          # RDS TLS only (rds.force_ssl)
)

venv=.cache/prowler-venv
requirements=scripts/prowler-requirements.txt
if ! cmp -s "$requirements" "$venv/.installed" 2>/dev/null; then
  echo "prowler: installing $(grep -v '^#' "$requirements" | xargs) into $venv (once; a few minutes)"
  python3.11 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r "$requirements"
  cp "$requirements" "$venv/.installed"
fi

# The inventory's region, as Ansible resolves it (hosts.yml: no EC2 inventory call).
region=$(.venv/bin/ansible-inventory -i "inventories/$env_name/hosts.yml" --host localhost |
  .venv/bin/python -c 'import json, sys; print(json.load(sys.stdin)["aws_region"])')
if [[ $env_name == local ]]; then
  export AWS_ENDPOINT_URL=${AWS_ENDPOINT_URL:-http://127.0.0.1:${MOTO_PORT:-5055}}
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  unset AWS_SESSION_TOKEN AWS_PROFILE
  if ! curl -fs -o /dev/null --max-time 5 "$AWS_ENDPOINT_URL/moto-api/config"; then
    echo "prowler: no emulator answers at $AWS_ENDPOINT_URL: run make demo (or set AWS_ENDPOINT_URL)" >&2
    exit 1
  fi
fi
export AWS_DEFAULT_REGION=$region AWS_REGION=$region

out="reports/prowler-$env_name-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
echo "prowler: ${#CHECKS[@]} checks in $region against ${AWS_ENDPOINT_URL:-AWS}; findings in $out"
# Exit 3 means "some check failed": the verdict below decides; anything else is a broken run.
status=0
"$venv/bin/prowler" aws --region "$region" --checks "${CHECKS[@]}" --output-formats json-ocsf \
  --output-directory "$out" --output-filename findings --no-banner --no-color >"$out/prowler.log" 2>&1 || status=$?
if [[ $status -ne 0 && $status -ne 3 ]]; then
  tail -30 "$out/prowler.log" >&2
  echo "prowler: the scan failed (exit $status); log: $out/prowler.log" >&2
  exit 1
fi

# The log bucket is the destination of every server access log: AWS advises against logging a
# bucket to itself (each delivery would log another), so its own "no server access logging" finding
# is reported as EXEMPT with that reason, never as a pass. Its name as naming.yml renders it, with the
# account's id left for the findings to fill in.
log_bucket=$(.venv/bin/ansible localhost -i "inventories/$env_name/hosts.yml" -m ansible.builtin.debug \
  -a 'msg={{ log_bucket_name }}' -e aws_account_id=ACCOUNT_ID 2>/dev/null | sed -n 's/^ *msg: //p')

"$venv/bin/python" - "$out/findings.ocsf.json" "$log_bucket" "${CHECKS[@]}" <<'PY'
"""PASS/FAIL per check and resource; exit 1 on any FAIL or on a check with no finding."""
import json
import sys

findings = json.load(open(sys.argv[1], encoding="utf-8"))
log_bucket = sys.argv[2]
EXEMPT = {"s3_bucket_server_access_logging_enabled": "the log bucket itself: AWS advises against logging a bucket to itself"}


def exempt(check: str, finding: dict) -> bool:
    account = finding.get("cloud", {}).get("account", {}).get("uid", "")
    names = {r.get("name", "") for r in finding.get("resources", [])} | {
        r.get("uid", "").rpartition(":")[2] for r in finding.get("resources", [])
    }
    return check in EXEMPT and log_bucket.replace("ACCOUNT_ID", account) in names


failed = 0
for check in sys.argv[3:]:
    mine = [f for f in findings if f["metadata"]["event_code"] == check]
    if not mine:
        print(f"FAIL  {check}: no finding (nothing of its kind exists to check)")
        failed += 1
    for finding in mine:
        status = finding["status_code"]
        if status == "FAIL" and exempt(check, finding):
            print(f"EXEMPT {check}: {finding['status_detail']} ({EXEMPT[check]})")
            continue
        failed += status == "FAIL"
        print(f"{status:<5} {check}: {finding['status_detail']}")
print(f"prowler: {'all checks pass' if not failed else f'{failed} failing'}")
sys.exit(1 if failed else 0)
PY
