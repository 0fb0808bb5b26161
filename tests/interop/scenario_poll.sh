# Scenario poll: `rdnp3 poll` (the poller of the rdnp3 binary) -> opendnp3 outstation. Sourced
# by run.sh, whose helpers (pick_address, pass, fail, $PY, $WORK, …) it uses; scenario_serve.sh
# builds the binary first.
#
# The poller runs for a few seconds from a config written here: the startup integrity poll must
# report every point of the demo database with its value and flags (checked by demo_db.py
# check-poll-output), the configured one-shot CROB 3 LATCH_ON must answer SUCCESS, and the
# next integrity poll must show binary-output-status 3 on.

scenario_poll() {
  echo "== interop: rdnp3 poll -> opendnp3 outstation"
  if [[ ! -x "$TARGET_DIR/release/rdnp3" ]]; then
    fail "p: the rdnp3 binary is built"
    return
  fi
  if ! pick_address; then
    fail "p: no free loopback address"
    return
  fi
  local log="$WORK/p-outstation.log"
  start_opendnp3_outstation "p: opendnp3 outstation" "$log" || return
  local peer=$PEER
  echo "opendnp3 outstation listening on $HOST:$PORT"

  local config="$WORK/poll.toml" out="$WORK/poll.out" err="$WORK/poll.err" rc
  cat >"$config" <<TOML
[master]
address = 1
threads = 1

[[outstation]]
name = "opendnp3"
connect = "$HOST:$PORT"
address = 1024
poll_ms = 500
integrity_s = 2

[[outstation.command]]
kind = "crob"
index = 3
op = "LATCH_ON"
TOML
  local name="p1: rdnp3 poll -> opendnp3 outstation, every point, CROB 3, integrity after it"
  timeout 30 "$TARGET_DIR/release/rdnp3" poll --config "$config" --seconds 5 >"$out" 2>"$err"
  rc=$?
  if [[ $rc -eq 0 ]] && "$PY" "$HERE/demo_db.py" check-poll-output "$out" opendnp3; then
    pass "$name"
  else
    fail "$name (exit code $rc)" "$out" "rdnp3 poll stdout" "$err" "rdnp3 poll stderr" "$log" "opendnp3 outstation"
  fi
  stop_pid "$peer"
}
