#!/usr/bin/env bash
# Run every molecule scenario end to end (`molecule test`: create, converge, idempotence,
# verify, destroy) on booted systemd-nspawn Debian 12 hosts (molecule/shared/nspawn.sh).
#   scripts/molecule.sh                 every scenario, in parallel (MOLECULE_JOBS, default 3)
#   scripts/molecule.sh base python     only these
# Skips loudly, exit 0, where it cannot run (not root, no systemd-nspawn, no network
# namespaces); exits non-zero when a scenario fails, printing the end of its log.
# Scenarios named *-al2023 use the docker driver and are not run here (no Docker engine).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 NO_COLOR=1 PY_COLORS=0

skip() {
  echo "######################################################################" >&2
  echo "## molecule: SKIPPING every scenario: $*" >&2
  echo "## The roles base, python and fastapi_service are NOT tested on a host by this run." >&2
  echo "######################################################################" >&2
  exit 0
}

[[ $(id -u) -eq 0 ]] || skip "not root (systemd-nspawn, network namespaces and iptables need root)"
scripts/host_deps.sh || skip "the host packages (systemd-container, debootstrap, iptables) could not be installed"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is not available"
probe="molecule-probe-$$"
if ! ip netns add "$probe" 2>/dev/null; then
  skip "network namespaces cannot be created here (ip netns add failed)"
fi
ip netns del "$probe"

mapfile -t all < <(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -n1 basename | sort)
scenarios=()
for scenario in "${@:-${all[@]}}"; do
  if [[ $scenario == *-al2023 ]]; then
    echo "molecule: not running $scenario (docker driver and amazonlinux:2023; needs a Docker engine, none here)"
    continue
  fi
  [[ -f molecule/$scenario/molecule.yml ]] || { echo "molecule: no scenario $scenario" >&2; exit 2; }
  scenarios+=("$scenario")
done
((${#scenarios[@]} > 0)) || { echo "molecule: no scenario to run"; exit 0; }

# The rootfs once, before the scenarios boot hosts from it in parallel.
echo "molecule: preparing the Debian 12 rootfs (cached: $(molecule/shared/nspawn.sh rootfs))"

logs=$(mktemp -d /tmp/molecule-logs.XXXXXX)
jobs_max=${MOLECULE_JOBS:-3}
declare -A pids
for scenario in "${scenarios[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n || true; done
  echo "molecule: $scenario started (log: $logs/$scenario.log)"
  (
    start=$SECONDS
    status=0
    molecule test -s "$scenario" >"$logs/$scenario.log" 2>&1 || status=$?
    echo $((SECONDS - start)) >"$logs/$scenario.seconds"
    exit "$status"
  ) &
  pids[$scenario]=$!
done

failed=()
for scenario in "${scenarios[@]}"; do
  if wait "${pids[$scenario]}"; then
    echo "molecule: $scenario passed in $(cat "$logs/$scenario.seconds") s ($(grep -Eo '[0-9]+ passed' "$logs/$scenario.log" | tail -n1 || true); log $logs/$scenario.log)"
  else
    failed+=("$scenario")
  fi
done
for scenario in "${failed[@]}"; do
  echo "==================== molecule: $scenario FAILED; the end of its log ====================" >&2
  tail -n 120 "$logs/$scenario.log" >&2
done
echo "molecule: ${#scenarios[@]} scenario(s) in ${SECONDS} s, ${#failed[@]} failed${failed:+: ${failed[*]}}"
((${#failed[@]} == 0))
