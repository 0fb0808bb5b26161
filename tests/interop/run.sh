#!/usr/bin/env bash
# Interoperability tests of rdnp3 against opendnp3 (the `yadnp3` wheel). See README.md here.
#
#   bash tests/interop/run.sh
#
# Environment:
#   CARGO_TARGET_DIR   where cargo builds (default: target/); the venv goes in it too
#   INTEROP_VENV       the venv to create or reuse (default: $CARGO_TARGET_DIR/interop-venv)
#   INTEROP_PYTHON     the Python that creates the venv (default: python3; yadnp3 needs CPython)
#   INTEROP_VERBOSE=1  opendnp3 protocol logs of the Python peers (on their stderr)
#
# Last line: `interop: N passed, M failed`; exit code 0 only if nothing failed.
set -uo pipefail
export PYTHONDONTWRITEBYTECODE=1 # keep tests/interop free of __pycache__

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT" || exit 1

YADNP3_VERSION=3.2.1.4
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="${INTEROP_VENV:-$TARGET_DIR/interop-venv}"
PYTHON="${INTEROP_PYTHON:-python3}"
VERBOSE=()
[[ "${INTEROP_VERBOSE:-0}" == 1 ]] && VERBOSE=(--verbose)

# Bounds (seconds).
PEER_LIFETIME=300 # a peer left running exits by itself after this
READY_TIMEOUT=20  # a peer must listen within this
MASTER_TIMEOUT=30 # one run of our master example
PYMASTER_TIMEOUT=30

START=$(date +%s)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rdnp3-interop.XXXXXX")"
PIDS=()
PASSED=0
FAILED=0

stop_pid() { # stop_pid PID: TERM, up to 5 s, then KILL; reaps it
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  PIDS=()
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "interop: interrupted"; exit 130' INT TERM

finish() {
  echo "interop: total time $(($(date +%s) - START)) s"
  echo "interop: $PASSED passed, $FAILED failed"
  [[ $FAILED -eq 0 ]] && exit 0
  exit 1
}

show() { # show TITLE FILE: a file's content, indented, last 120 lines
  echo "    --- $1"
  if [[ -s "$2" ]]; then tail -n 120 "$2" | sed 's/^/    | /'; else echo "    | (empty)"; fi
}

pass() {
  PASSED=$((PASSED + 1))
  echo "PASS $1"
}

fail() { # fail NAME [FILE TITLE]...
  local name=$1
  shift
  FAILED=$((FAILED + 1))
  echo "FAIL $name"
  while [[ $# -ge 2 ]]; do
    show "$2" "$1"
    shift 2
  done
}

setup_failed() {
  fail "$1" "${@:2}"
  finish
}

# Random loopback address below the ephemeral range (20000-29999 on 127.x.y.1), not in use.
pick_address() {
  local i
  for ((i = 0; i < 50; i++)); do
    HOST="127.$((RANDOM % 254 + 1)).$((RANDOM % 256)).1"
    PORT=$((20000 + RANDOM % 10000))
    "$PY" "$HERE/demo_db.py" wait-listen "$HOST" "$PORT" 0 || return 0
  done
  return 1
}

# ------------------------------------------------------------------------------------------
echo "== interop: setup"

if [[ -x "$VENV/bin/python" ]] &&
  "$VENV/bin/python" -c "import importlib.metadata as m, opendnp3; assert m.version('yadnp3') == '$YADNP3_VERSION'" 2>/dev/null; then
  echo "reusing venv $VENV (yadnp3 $YADNP3_VERSION)"
else
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  if ! "$PYTHON" -m venv "$VENV" >"$WORK/venv.log" 2>&1; then
    setup_failed "setup: $PYTHON -m venv $VENV" "$WORK/venv.log" "venv"
  fi
  if ! timeout 600 "$VENV/bin/python" -m pip install --disable-pip-version-check -q "yadnp3==$YADNP3_VERSION" \
    >"$WORK/pip.log" 2>&1; then
    setup_failed "setup: pip install yadnp3==$YADNP3_VERSION" "$WORK/pip.log" "pip"
  fi
fi
PY="$VENV/bin/python"
if ! "$PY" -c "import opendnp3" >"$WORK/import.log" 2>&1; then
  setup_failed "setup: import opendnp3" "$WORK/import.log" "python"
fi

echo "building the examples (release)"
if ! cargo build --release --example master --example outstation >"$WORK/build.log" 2>&1; then
  setup_failed "setup: cargo build --release --example master --example outstation" "$WORK/build.log" "cargo"
fi
MASTER="$TARGET_DIR/release/examples/master"
OUTSTATION="$TARGET_DIR/release/examples/outstation"

# ------------------------------------------------------------------------------------------
# Scenario a: our master -> opendnp3 outstation.
echo "== interop: our master -> opendnp3 outstation"

# run_master NAME EXPECTED_RC CHECK_ARGS -- MASTER_ARGS...: runs our master once against the
# opendnp3 outstation and checks exit code and output (demo_db.py check-master-output).
run_master() {
  local name=$1 want_rc=$2 check=() args=() rc
  shift 2
  while [[ $# -gt 0 && "$1" != "--" ]]; do
    check+=("$1")
    shift
  done
  shift
  args=("$@")
  local out="$WORK/$name.out" err="$WORK/$name.err"
  timeout "$MASTER_TIMEOUT" "$MASTER" --connect "$HOST:$PORT" --outstation 1024 --master 1 --once "${args[@]}" \
    >"$out" 2>"$err"
  rc=$?
  local why=""
  if [[ $rc -eq 124 ]]; then
    why="timed out after $MASTER_TIMEOUT s"
  elif [[ $rc -ne $want_rc ]]; then
    why="exit code $rc, want $want_rc"
  fi
  if ! "$PY" "$HERE/demo_db.py" check-master-output "$out" "${check[@]}" >"$WORK/$name.check" 2>&1; then
    why="${why:+$why; }output does not match the demo database"
  fi
  if [[ -z "$why" ]]; then
    pass "$name"
  else
    fail "$name ($why)" "$WORK/$name.check" "mismatches" "$out" "master stdout" "$err" "master stderr" \
      "$WORK/opendnp3-outstation.log" "opendnp3 outstation"
  fi
}

# start_opendnp3_outstation LABEL LOG [ARGS]...: starts the opendnp3 outstation (the demo
# database, link address 1024, master 1) on $HOST:$PORT from pick_address, with ARGS added,
# logging to LOG, and waits for its READY line. Its pid is in $PEER. If it never gets ready,
# records "LABEL ready on HOST:PORT" as failed and returns 1.
start_opendnp3_outstation() {
  local label=$1 log=$2
  shift 2
  timeout "$PEER_LIFETIME" "$PY" -u "$HERE/opendnp3_outstation.py" --listen "$HOST:$PORT" \
    --outstation 1024 --master 1 --seconds "$PEER_LIFETIME" "${VERBOSE[@]}" "$@" >"$log" 2>&1 &
  PEER=$!
  PIDS+=("$PEER")
  local deadline=$((SECONDS + READY_TIMEOUT))
  until grep -q '^READY' "$log" 2>/dev/null; do
    if ! kill -0 "$PEER" 2>/dev/null || ((SECONDS >= deadline)); then
      fail "$label ready on $HOST:$PORT" "$log" "opendnp3 outstation"
      return 1
    fi
    sleep 0.05
  done
}

scenario_a() {
  if ! pick_address; then
    fail "a: no free loopback address"
    return
  fi
  local log="$WORK/opendnp3-outstation.log"
  start_opendnp3_outstation "a: opendnp3 outstation" "$log" || return
  local peer=$PEER
  echo "opendnp3 outstation listening on $HOST:$PORT"

  # 1. Select-before-operate (the default), successful controls.
  run_master "a1: our master, integrity poll + SBO CROB 3 LATCH_ON + g41 2=7.5" 0 \
    --expect-command 3:SUCCESS --expect-command 2:SUCCESS \
    -- --crob 3:LATCH_ON --analog 2:7.5
  # 2. A CROB the outstation does not support; the database shows the effect of 1.
  run_master "a2: our master, CROB 12 -> NOT_SUPPORTED, exit code 1" 1 \
    --crob 3:LATCH_ON --analog 2:7.5 --expect-command 12:NOT_SUPPORTED \
    -- --crob 12:LATCH_ON
  # 3. Direct operate.
  run_master "a3: our master, direct operate CROB 5 PULSE_ON, CROB 3 LATCH_OFF, g41 4=-2.25" 0 \
    --crob 3:LATCH_ON --analog 2:7.5 \
    --expect-command 5:SUCCESS --expect-command 3:SUCCESS --expect-command 4:SUCCESS \
    -- --direct --crob 5:PULSE_ON --crob 3:LATCH_OFF --analog 4:-2.25
  # 4. The effect of every control, seen by a fresh integrity poll.
  run_master "a4: our master, integrity poll shows the controls' effects" 0 \
    --crob 3:LATCH_ON --analog 2:7.5 --crob 5:PULSE_ON --crob 3:LATCH_OFF --analog 4:-2.25 \
    --

  # 5. What the opendnp3 outstation received, in order, with the operate mode.
  local want="$WORK/a5.want" got="$WORK/a5.got"
  cat >"$want" <<'EOF'
control crob 3 LATCH_ON select SUCCESS
control analog 2 7.5 select SUCCESS
control crob 3 LATCH_ON operate SUCCESS SelectBeforeOperate
control analog 2 7.5 operate SUCCESS SelectBeforeOperate
control crob 12 LATCH_ON select NOT_SUPPORTED
control crob 5 PULSE_ON operate SUCCESS DirectOperate
control crob 3 LATCH_OFF operate SUCCESS DirectOperate
control analog 4 -2.25 operate SUCCESS DirectOperate
EOF
  grep '^control ' "$log" >"$got"
  if diff -u "$want" "$got" >"$WORK/a5.diff"; then
    pass "a5: opendnp3 outstation received exactly the expected controls"
  else
    fail "a5: opendnp3 outstation received exactly the expected controls" "$WORK/a5.diff" "diff want got" \
      "$log" "opendnp3 outstation"
  fi

  # 6. IMMED_FREEZE of all counters, then an integrity poll: frozen counters = counters.
  run_master "a6: our master, --freeze copies every counter into its frozen counter" 0 \
    --crob 3:LATCH_ON --analog 2:7.5 --crob 5:PULSE_ON --crob 3:LATCH_OFF --analog 4:-2.25 \
    --freeze -- --freeze
  # 7. FREEZE_CLEAR: the frozen counters keep the values, the counters read 0.
  run_master "a7: our master, --freeze-clear freezes then clears every counter" 0 \
    --crob 3:LATCH_ON --analog 2:7.5 --crob 5:PULSE_ON --crob 3:LATCH_OFF --analog 4:-2.25 \
    --freeze-clear -- --freeze-clear
  # 8. ASSIGN_CLASS of all analog inputs to class 2 and all counters to class 0, one request.
  run_master "a8: our master, --assign-class 2:analog --assign-class 0:counter" 0 \
    --crob 3:LATCH_ON --analog 2:7.5 --crob 5:PULSE_ON --crob 3:LATCH_OFF --analog 4:-2.25 \
    --freeze-clear -- --assign-class 2:analog --assign-class 0:counter
  want="$WORK/a9.want" got="$WORK/a9.got"
  printf 'assign-class AnalogInput Class2 0 9\nassign-class Counter Class0 0 9\n' >"$want"
  grep '^assign-class ' "$log" >"$got"
  if diff -u "$want" "$got" >"$WORK/a9.diff"; then
    pass "a9: opendnp3 outstation recorded both class assignments"
  else
    fail "a9: opendnp3 outstation recorded both class assignments" "$WORK/a9.diff" "diff want got" \
      "$log" "opendnp3 outstation"
  fi

  stop_pid "$peer"
}

# ------------------------------------------------------------------------------------------
# Scenario b: opendnp3 master -> our outstation.

scenario_b() {
  if ! pick_address; then
    fail "b: no free loopback address"
    return
  fi
  local log="$WORK/our-outstation.log"
  timeout "$PEER_LIFETIME" "$OUTSTATION" --listen "$HOST:$PORT" --outstation 1024 --master 1 \
    --seconds "$PEER_LIFETIME" >"$log" 2>&1 &
  local peer=$!
  PIDS+=("$peer")
  if ! "$PY" "$HERE/demo_db.py" wait-listen "$HOST" "$PORT" "$READY_TIMEOUT" || ! kill -0 "$peer" 2>/dev/null; then
    fail "b: our outstation listening on $HOST:$PORT" "$log" "our outstation"
    return
  fi
  echo "our outstation listening on $HOST:$PORT"

  local name="b1: opendnp3 master, integrity poll + SBO/direct controls + poll" out="$WORK/b1.out" rc
  timeout $((PYMASTER_TIMEOUT + 15)) "$PY" -u "$HERE/opendnp3_master.py" --connect "$HOST:$PORT" \
    --outstation 1024 --master 1 --timeout "$PYMASTER_TIMEOUT" "${VERBOSE[@]}" >"$out" 2>&1
  rc=$?
  sed 's/^/    /' "$out"
  if [[ $rc -eq 0 ]]; then
    pass "$name"
  else
    fail "$name (exit code $rc)" "$log" "our outstation"
  fi
  stop_pid "$peer"
}

# ------------------------------------------------------------------------------------------
# Scenario c: TLS both ways (mutual authentication with a CA made here by openssl).

# make_pki DIR: a CA and certificates for the outstation and the master (SAN outstation.test
# and 127.0.0.0/8 is not expressible: the names are checked only where a test asks), plus a
# rogue CA's master certificate.
make_pki() {
  local dir=$1 who
  mkdir -p "$dir" || return 1
  for ca in ca rogue-ca; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
      -keyout "$dir/$ca.key" -out "$dir/$ca.pem" -subj "/CN=rdnp3 interop $ca" || return 1
  done
  for who in outstation master rogue-master; do
    local ca=ca
    [[ $who == rogue-master ]] && ca=rogue-ca
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout "$dir/$who.key" -out "$dir/$who.csr" -subj "/CN=$who" || return 1
    printf 'subjectAltName=DNS:%s.test\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' \
      "${who#rogue-}" >"$dir/$who.ext"
    openssl x509 -req -days 2 -in "$dir/$who.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" \
      -CAcreateserial -extfile "$dir/$who.ext" -out "$dir/$who.pem" || return 1
  done
}

scenario_c() {
  local pki="$WORK/pki"
  if ! command -v openssl >/dev/null || ! make_pki "$pki" >"$WORK/pki.log" 2>&1; then
    fail "c: certificates made with openssl" "$WORK/pki.log" "openssl"
    return
  fi
  if ! pick_address; then
    fail "c: no free loopback address"
    return
  fi
  start_opendnp3_outstation "c: opendnp3 TLS outstation" "$WORK/opendnp3-outstation.log" \
    --tls-cert "$pki/outstation.pem" --tls-key "$pki/outstation.key" --tls-ca "$pki/ca.pem" || return
  local peer=$PEER log="$WORK/opendnp3-outstation.log"
  echo "opendnp3 TLS outstation listening on $HOST:$PORT"
  local mine=(--tls-cert "$pki/master.pem" --tls-key "$pki/master.key" --tls-ca "$pki/ca.pem")

  # 1. TLS 1.3 only, the outstation's name checked: the demo database and an SBO control.
  local c1="c1: our master over TLS 1.3 (name checked), integrity poll + SBO CROB 6 LATCH_ON"
  RUST_LOG=info run_master "$c1" 0 --expect-command 6:SUCCESS \
    -- "${mine[@]}" --tls-min 1.3 --tls-name outstation.test --crob 6:LATCH_ON
  if grep -q 'TLS: authenticated, TLSv1_3' "$WORK/$c1.err"; then
    pass "c2: the c1 session was TLS 1.3"
  else
    fail "c2: the c1 session was TLS 1.3" "$WORK/$c1.err" "master stderr"
  fi

  # 3. A wrong name: our master refuses the outstation, says why, never sends DNP3.
  local name="c3: our master refuses a certificate for another name" out="$WORK/c3.out" err="$WORK/c3.err" rc
  timeout "$MASTER_TIMEOUT" "$MASTER" --connect "$HOST:$PORT" --once "${mine[@]}" --tls-name other.test \
    >"$out" 2>"$err"
  rc=$?
  if [[ $rc -eq 1 ]] && grep -q 'not valid for "other.test"' "$err" && ! grep -q '^binary' "$out"; then
    pass "$name"
  else
    fail "$name (exit code $rc)" "$out" "master stdout" "$err" "master stderr"
  fi

  # 4. A master whose certificate the outstation's CA did not issue: opendnp3 refuses it.
  name="c4: opendnp3 refuses our master with a rogue CA's certificate"
  out="$WORK/c4.out" err="$WORK/c4.err"
  timeout "$MASTER_TIMEOUT" "$MASTER" --connect "$HOST:$PORT" --once \
    --tls-cert "$pki/rogue-master.pem" --tls-key "$pki/rogue-master.key" --tls-ca "$pki/ca.pem" \
    >"$out" 2>"$err"
  rc=$?
  if [[ $rc -eq 1 ]] && grep -q 'TLS: ' "$err" && ! grep -q '^binary' "$out"; then
    pass "$name"
  else
    fail "$name (exit code $rc)" "$out" "master stdout" "$err" "master stderr" "$log" "opendnp3 outstation"
  fi
  stop_pid "$peer"

  # 5. opendnp3 TLS master (TLS 1.2 only) -> our TLS outstation: the whole scenario b check.
  if ! pick_address; then
    fail "c5: no free loopback address"
    return
  fi
  log="$WORK/our-tls-outstation.log"
  RUST_LOG=info timeout "$PEER_LIFETIME" "$OUTSTATION" --listen "$HOST:$PORT" --outstation 1024 --master 1 \
    --seconds "$PEER_LIFETIME" --tls-cert "$pki/outstation.pem" --tls-key "$pki/outstation.key" \
    --tls-ca "$pki/ca.pem" >"$log" 2>&1 &
  peer=$!
  PIDS+=("$peer")
  if ! "$PY" "$HERE/demo_db.py" wait-listen "$HOST" "$PORT" "$READY_TIMEOUT" || ! kill -0 "$peer" 2>/dev/null; then
    fail "c5: our TLS outstation listening on $HOST:$PORT" "$log" "our outstation"
    return
  fi
  echo "our TLS outstation listening on $HOST:$PORT"
  name="c5: opendnp3 TLS 1.2 master, integrity poll + SBO/direct controls + poll"
  out="$WORK/c5.out"
  timeout $((PYMASTER_TIMEOUT + 15)) "$PY" -u "$HERE/opendnp3_master.py" --connect "$HOST:$PORT" \
    --outstation 1024 --master 1 --timeout "$PYMASTER_TIMEOUT" "${VERBOSE[@]}" \
    --tls-cert "$pki/master.pem" --tls-key "$pki/master.key" --tls-ca "$pki/ca.pem" --tls-max 1.2 >"$out" 2>&1
  rc=$?
  sed 's/^/    /' "$out"
  if [[ $rc -eq 0 ]] && grep -q 'TLS: authenticated, TLSv1_2' "$log"; then
    pass "$name"
  else
    fail "$name (exit code $rc)" "$log" "our outstation"
  fi
  stop_pid "$peer"
}

# ------------------------------------------------------------------------------------------
# Scenario d: opendnp3 outstations dial in to our master listener (tests/dial_in_interop.rs
# starts the listener and opendnp3_dial_in.py, polls every outstation and checks the values;
# once over TCP, once over TLS 1.3, once over TLS 1.2).

scenario_d() {
  local name="d1: opendnp3 outstations dial in (TCP, TLS 1.3, TLS 1.2) to our master listener and are polled"
  local out="$WORK/d1.out" rc
  if ! cargo test --release --test dial_in_interop --no-run >"$WORK/d-build.log" 2>&1; then
    fail "d: cargo test --release --test dial_in_interop --no-run" "$WORK/d-build.log" "cargo"
    return
  fi
  INTEROP_PY="$PY" timeout 120 cargo test --release --test dial_in_interop -- --ignored --nocapture \
    >"$out" 2>&1
  rc=$?
  grep '^PASS outstation' "$out" | sed 's/^/    /'
  if [[ $rc -eq 0 ]]; then
    pass "$name"
  else
    fail "$name (exit code $rc)" "$out" "cargo test"
  fi
}

scenario_a
echo "== interop: opendnp3 master -> our outstation"
scenario_b
echo "== interop: TLS (our master -> opendnp3 outstation, opendnp3 master -> our outstation)"
scenario_c

# Scenario serve: opendnp3 master -> rdnp3 serve (tests/interop/scenario_serve.sh).
# shellcheck source=tests/interop/scenario_serve.sh
source "$HERE/scenario_serve.sh"
scenario_serve

echo "== interop: opendnp3 outstations dial in -> our master listener"
scenario_d

# Scenario poll: rdnp3 poll -> opendnp3 outstation (tests/interop/scenario_poll.sh).
# shellcheck source=tests/interop/scenario_poll.sh
source "$HERE/scenario_poll.sh"
scenario_poll

finish
