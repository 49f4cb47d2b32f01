#!/usr/bin/env bash
# The local AWS emulator for `make demo`: a moto server on loopback, in the background.
#   scripts/moto.sh start   start it (or re-use a healthy one), print its endpoint
#   scripts/moto.sh stop    stop it and remove the pid file
#   scripts/moto.sh status  exit 0 when it answers
# State: .demo/moto.pid, .demo/moto.log; port MOTO_PORT (default 5055).
set -euo pipefail
cd "$(dirname "$0")/.."
# moto records every request when MOTO_ENABLE_RECORDING is set to anything, even "false".
unset MOTO_ENABLE_RECORDING
port=${MOTO_PORT:-5055}
endpoint="http://127.0.0.1:${port}"
pidfile=.demo/moto.pid
logfile=.demo/moto.log
mkdir -p .demo

# /moto-api/config is cheap; data.json serializes every resource and takes seconds on a full stack.
answers() { curl -fs -o /dev/null --max-time 5 "${endpoint}/moto-api/config"; }
running_pid() {
  [[ -f $pidfile ]] || return 1
  local pid; pid=$(<"$pidfile")
  [[ -d /proc/$pid ]] && grep -q tests.support.moto_aws "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

case "${1:-}" in
  start)
    if pid=$(running_pid) && answers; then
      echo "moto: re-using the emulator (pid $pid) at ${endpoint}"
      exit 0
    fi
    "$0" stop >/dev/null 2>&1 || true
    if answers; then
      echo "moto: port ${port} is taken by another process; set MOTO_PORT" >&2
      exit 1
    fi
    MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_ACM_VALIDATION_WAIT=${MOTO_ACM_VALIDATION_WAIT:-2} \
      MOTO_RECORDER_FILEPATH="$PWD/.demo/moto_recording" \
      setsid .venv/bin/python -m tests.support.moto_aws -H 127.0.0.1 -p "$port" >"$logfile" 2>&1 < /dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 300); do answers && break; sleep 0.1; done
    answers || { echo "moto: did not answer; see $logfile" >&2; exit 1; }
    echo "moto: started (pid $(<"$pidfile")) at ${endpoint}, log ${logfile}"
    ;;
  stop)
    if pid=$(running_pid); then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
      [[ -d /proc/$pid ]] && kill -9 "$pid" 2>/dev/null || true
      echo "moto: stopped (pid $pid)"
    fi
    rm -f "$pidfile"
    ;;
  status)
    running_pid >/dev/null && answers
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
